"""Running a trained network: one image, or a stream of frames with or without the recurrence.

`stylize_frames` is the one loop that the CLI, the webcam and any other front end share.
"""

from __future__ import annotations

import copy
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .device import native_bf16, resolve_device
from .fusion import fused
from .images import keep_colours, resize_max_side, to_uint8
from .models import Model
from .motion import MOTIONS, Lookup, grey, warp_frame, warp_kept
from .networks import Previous
from .pipeline import Background, prefetch
from .video import (CHECKPOINT_EVERY, Encoding, file_identity, open_job, open_video, restored_state, saved_state,
                    tensors_identity, write_sidecar)

MODES = ("stable", "per-frame")
# Mean absolute difference (RGB in [0, 1]) between 64-pixel-wide thumbnails of consecutive frames above
# which a shot cut is assumed. Fast pans stay well below 0.15 on real footage; cuts between shots
# of different content are typically 0.2-0.5.
CUT_THRESHOLD = 0.2


@dataclass
class StylizeOptions:
    mode: str | None = None  # None: "stable" for a recurrent model, else "per-frame"
    motion: str = "flow"  # stable mode: the history warped along the motion first ("flow", see motion.py) or not
    strength: float = 1.0  # 1 = the network's output, 0 = the original
    preserve_color: bool = False
    max_side: int | None = None
    cut_threshold: float | None = CUT_THRESHOLD  # None disables cut detection
    precision: str = "auto"  # "auto": bf16 where the CPU computes it natively (AVX512-BF16, AMX), else fp32
    compile: bool = False  # torch.compile the network for the frame size; pays seconds of compiling first
    device: str = "auto"  # a CUDA GPU when there is one, else the CPU (see device.resolve_device)

    def resolved_mode(self, model: Model) -> str:
        mode = self.mode or ("stable" if model.recurrent else "per-frame")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
        if mode == "stable" and not model.recurrent:
            raise ValueError(f"{model.style} is a per-frame (image) model; --mode stable needs a recurrent model "
                             "(train one with `steadystyle train video`)")
        if mode == "per-frame" and model.recurrent:
            raise ValueError(f"{model.style} is a recurrent model; for --mode per-frame give its image model "
                             "(shipped styles: NAME-per-frame)")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"--strength must be between 0 and 1, got {self.strength}")
        if self.motion not in MOTIONS:
            raise ValueError(f"unknown motion {self.motion!r}; use one of {MOTIONS}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; use one of {PRECISIONS}")
        return mode

    @property
    def target(self) -> torch.device:
        return resolve_device(self.device)

    @property
    def dtype(self) -> torch.dtype:
        if self.precision == "auto":
            native = torch.cuda.is_bf16_supported() if self.target.type == "cuda" else native_bf16()
            return torch.bfloat16 if native else torch.float32
        return torch.bfloat16 if self.precision == "bf16" else torch.float32


PRECISIONS = ("auto", "fp32", "bf16")


def as_tensor(frame: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(H, W, 3) uint8 or (3, H, W) float in [0, 1] -> (3, H, W) float."""
    if isinstance(frame, np.ndarray):
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame.dtype} {frame.shape}")
        return torch.from_numpy(frame).permute(2, 0, 1).float().div_(255.0)  # in place: 7x faster at 720p
    return frame.float()


# The network made from a model's for the options that shape it: a worker stylizing the pieces of a video
# one after another, or a program calling stylize_frames again, casts and compiles once. Keyed by the model's
# network and its weights' versions (an in-place change to a weight makes anew); a network that takes a
# picture as its style, conditioned anew for each picture, is made each time.
_MADE: weakref.WeakKeyDictionary[torch.nn.Module, dict[tuple, torch.nn.Module]] = weakref.WeakKeyDictionary()


def _network(model: Model, opts: StylizeOptions) -> torch.nn.Module:
    """The network to run, made once per model, weights and options (`_MADE`)."""
    if model.net.style is not None:
        return _make(model, opts)
    made = _MADE.setdefault(model.net, {})
    key = (opts.dtype, opts.target, opts.compile, tuple(t._version for t in model.net.state_dict().values()))
    if key not in made:
        made.clear()  # an earlier version of the weights, or other options: the caller has moved on
        made[key] = _make(model, opts)
    return made[key]


def _make(model: Model, opts: StylizeOptions) -> torch.nn.Module:
    """The network in the options' precision: weights cast once (casting every layer's input,
    as autocast does, costs more than the bf16 convolutions save) and, in bf16, channels-last (the
    layout oneDNN's bf16 kernels want: 1.3x faster). Compiled for a fixed frame size on request, which
    is worth it for a long video, not for a few images."""
    net = fused(model.net)  # faster, and the output moves less than bf16 moves it (fusion.py); a copy where it fused
    if opts.dtype != torch.float32 or opts.target.type != "cpu":
        net = (copy.deepcopy(net) if net is model.net else net).to(opts.target, opts.dtype,
                                                                    memory_format=torch.channels_last)
    return torch.compile(net, dynamic=False) if opts.compile else net


def _batch(x: torch.Tensor, opts: StylizeOptions) -> torch.Tensor:
    """(3, H, W) float -> the network's (1, 3, H, W) input on its device, in its precision and layout."""
    x = x[None].to(opts.target, opts.dtype)
    return x if opts.dtype == torch.float32 else x.contiguous(memory_format=torch.channels_last)


def _finish(y: torch.Tensor, x: torch.Tensor, opts: StylizeOptions) -> torch.Tensor:
    """Post-processing the user asked for; the recurrence always sees the network's own output."""
    y = y.clamp(0, 1)
    if opts.preserve_color:
        y = keep_colours(y, x)
    if opts.strength < 1.0:
        y = opts.strength * y + (1.0 - opts.strength) * x
    return y


def thumbnail(x: torch.Tensor) -> torch.Tensor:
    """A 64-pixel-wide average of a (3, H, W) frame: what cut detection compares."""
    h, w = x.shape[-2:]
    return F.interpolate(x[None].float(), size=(max(1, round(64 * h / w)), 64), mode="area")


def is_cut(previous: torch.Tensor, current: torch.Tensor, threshold: float) -> bool:
    """A shot cut: consecutive frames differ a lot on average even at thumbnail scale (motion does not)."""
    return _differ(thumbnail(previous), thumbnail(current), threshold)


def _differ(a: torch.Tensor, b: torch.Tensor, threshold: float) -> bool:
    return a.shape == b.shape and (a - b).abs().mean().item() > threshold


def stylize_image(model: Model, image: torch.Tensor, opts: StylizeOptions | None = None) -> torch.Tensor:
    """(3, H, W) -> (3, H', W') stylized with a per-frame model (H', W' follow max_side)."""
    opts = opts or StylizeOptions(mode="per-frame")
    if model.recurrent:
        # A still image is a one-frame video: the recurrent net's first-frame rule applies.
        return next(stylize_frames([image], model, StylizeOptions(**{**opts.__dict__, "mode": "stable"})))
    opts.resolved_mode(model)
    x = resize_max_side(image, opts.max_side) if opts.max_side else image
    with torch.no_grad():
        y = _network(model, opts)(_batch(x, opts)).float()[0].cpu()
    return _finish(y, x, opts)


@dataclass
class _Prepared:
    """A frame made ready for the network from the input alone: converted, resized, its motion found."""

    x: torch.Tensor  # (3, H, W) float, after --max-side: what the output is finished against
    xin: torch.Tensor  # the network's input (see _batch)
    fresh: bool  # stable mode: no history (the first frame, a cut, a new frame size)
    frame: torch.Tensor | None = None  # stable mode, flow: the previous input moved onto this one
    lookup: Lookup | None = None  # ... and how, for the previous output


def _prepare(frames: Iterable[np.ndarray | torch.Tensor], opts: StylizeOptions, stable: bool,
             last: torch.Tensor | None) -> Iterator[_Prepared]:
    """Each frame as the network takes it, with what the history needs from the input: whether it starts
    fresh and, with flow, the lookup into the previous frame. `last` is the previous input (a resumed job)."""
    follows = stable and opts.motion == "flow"
    seen = (thumbnail(last[0]) if last is not None and opts.cut_threshold is not None else None,
            grey(last[0]) if last is not None and follows else None)
    for frame in frames:
        item, seen = _prepared(frame, opts, stable, last, seen)
        last = item.xin
        yield item  # outside no_grad (see stylize_frames)


@torch.no_grad()
def _prepared(frame: np.ndarray | torch.Tensor, opts: StylizeOptions, stable: bool, last: torch.Tensor | None,
              seen: tuple) -> tuple[_Prepared, tuple]:
    """One frame of `_prepare`; `seen` is the last frame's (thumbnail, grey), and this one's is returned."""
    x = as_tensor(frame)
    if opts.max_side:
        x = resize_max_side(x, opts.max_side)
    xin = _batch(x, opts)
    if not stable:
        return _Prepared(x, xin, fresh=True), seen
    thumb = thumbnail(x) if opts.cut_threshold is not None else None
    fresh = last is None or last.shape != xin.shape or (thumb is not None and _differ(seen[0], thumb, opts.cut_threshold))
    now = grey(xin[0]) if opts.motion == "flow" else None  # from xin, as a resumed job has it
    if fresh or now is None:
        return _Prepared(x, xin, fresh), (thumb, now)
    lookup = Lookup.between(now, seen[1], *x.shape[-2:])
    return _Prepared(x, xin, fresh, warp_frame(last, lookup), lookup), (thumb, now)


def starts_fresh(frames: Iterable[np.ndarray | torch.Tensor], opts: StylizeOptions) -> Iterator[bool]:
    """For each frame, whether the stable mode starts it with no history (the first frame, a cut, a new size):
    the frames where a video can be cut into pieces that stylize apart into the frames of one run."""
    return (item.fresh for item in _prepare(frames, replace(opts, motion="none"), True, None))


def stylize_frames(frames: Iterable[np.ndarray | torch.Tensor], model: Model,
                   opts: StylizeOptions | None = None, previous: Previous | None = None,
                   on_state: Callable[[Previous | None], None] | None = None) -> Iterator[torch.Tensor]:
    """Stylize a stream of frames lazily, yielding (3, H, W) float tensors in [0, 1].

    In stable mode the recurrent network sees the previous frame and its own output for it. The first
    frame of a video (and the first after a detected cut) starts fresh, with no history, as the first
    frame of every training sequence did. `previous` continues where an earlier run stopped (a resumed
    job); `on_state` sees, after each frame, what the next one will remember: what a checkpoint saves.
    Frames are prepared (converted, resized, their motion found) in this thread: on 2 cores another thread
    beside the network's slowed a 640x360 video from 20.3 to 18.3 frames/s.
    """
    opts = opts or StylizeOptions()
    mode = opts.resolved_mode(model)
    net = _network(model, opts)
    prepared = _prepare(frames, opts, mode == "stable", previous.frame if previous is not None else None)
    for item in prepared:
        # no_grad per frame, not around the loop: a generator paused at `yield` inside the block would leave
        # gradients off in its caller's code until it is resumed or collected.
        with torch.no_grad():
            if mode == "per-frame":
                y = net(item.xin)
            else:
                if item.fresh:
                    previous = None
                elif item.lookup is not None:
                    previous = Previous(item.frame, warp_kept(previous.output, item.lookup))
                y = net(item.xin, previous).clamp(0, 1)
                previous = Previous(item.xin, y)
            result = _finish(y[0].float().cpu(), item.x, opts)
        if on_state is not None:
            on_state(previous)
        yield result


@dataclass
class VideoSummary:
    frames: int
    seconds: float
    output: Path

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        return f"wrote {self.output}: {self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} frames/s)"


def frames_to_come(reader) -> int | None:
    """How many frames a video will give, for a progress bar: the reader's count, else duration x rate, else None."""
    return reader.frame_count or (round(reader.duration * reader.fps) if reader.duration else None)


def job_fingerprint(source: str | Path, model: Model, opts: StylizeOptions, start: float | None = None,
                    duration: float | None = None, encoding: Encoding = Encoding()) -> dict[str, str]:
    """What the frames depend on, by the flag that sets it: a job is resumed only with the same, and a batch
    skips a finished video only when its sidecar records the same (`made_from`)."""
    mode = opts.resolved_mode(model)
    weights = model.net.state_dict()
    if model.takes_a_picture:  # one network for every picture: the picture's code tells them apart
        weights["style.code"] = model.net.style.code
    values = {"input": file_identity(source), "style": tensors_identity(weights),
              "--mode": mode, "--motion": opts.motion if mode == "stable" else "none", "--strength": opts.strength,
              "--preserve-color": opts.preserve_color, "--max-side": opts.max_side,
              "--cut-threshold": opts.cut_threshold, "--precision": opts.dtype, "--start": start,
              "--duration": duration, "--crf": encoding.crf, "--preset": encoding.preset}
    return {what: str(value) for what, value in values.items()}


def stylize_video(source: str | Path, model: Model, output: str | Path, opts: StylizeOptions | None = None, *,
                  start: float | None = None, duration: float | None = None,
                  encoding: Encoding = Encoding(),
                  progress: bool = True, on_frame: Callable[[int, int | None], None] | None = None,
                  resume: bool = False, restart: bool = False,
                  checkpoint_every: float = CHECKPOINT_EVERY) -> VideoSummary:
    """Decode, stylize and encode frame by frame, keeping timestamps and audio; memory stays flat.

    Decoding and encoding run in threads beside the network (see pipeline.py). `on_frame(done, total)`
    is called after each frame (total None when unknown); an exception it raises stops the job and
    leaves no output, which is how a front end cancels.

    A video file is written as a resumable job (see video/_resume.py): every `checkpoint_every` seconds the
    work so far is saved beside the output, an interrupted run keeps it, `resume` continues it and
    `restart` discards it; without either, a leftover job is a JobError that says so.

    The output appears under its final name only when the whole video is written; then the sidecar
    OUTPUT.json records the speed, model and mode for `evaluate` (see `evaluate.write_sidecar`). A second
    run on the same output meanwhile is refused at once (a LockedError naming this one's process).
    """
    opts = opts or StylizeOptions()
    mode = opts.resolved_mode(model)
    reader = open_video(source, start, duration)
    fingerprint = job_fingerprint(source, model, opts, start, duration, encoding)
    job = open_job(output, reader, fingerprint, encoding=encoding, resume=resume, restart=restart,
                   every=checkpoint_every)
    times: deque = deque()

    def images() -> Iterator[np.ndarray]:
        for frame in reader:
            if not job.is_done(frame.time):
                times.append(frame.time)
                yield frame.image

    previous = [restored_state(job.state)]  # after the latest frame, as on_state sees it
    frames = job.frames
    total = frames_to_come(reader)
    with job:
        with tqdm(total=total, initial=frames, desc="stylizing", unit="frame", disable=not progress) as bar, \
                Background(lambda item: job.add(*item)) as encoder:
            for y in stylize_frames(prefetch(images()), model, opts, previous[0],
                                    on_state=lambda state: previous.__setitem__(0, state)):
                encoder.put((to_uint8(y), times.popleft(), saved_state(previous[0]) if job.due() else None))
                frames += 1
                bar.update(1)
                if on_frame:
                    on_frame(frames, total)
        job.finish()
        summary = VideoSummary(frames, job.seconds, Path(output))
        name = model.path.name if model.path else model.style
        write_sidecar(output, {"command": "stylize", "model": name, "mode": mode, "fps": summary.fps,
                               "frames": frames, "seconds": summary.seconds, "made_from": fingerprint})
    return summary
