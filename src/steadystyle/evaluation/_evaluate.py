"""Scoring stylised versions of one video (or image) side by side: stability, style, content, artifacts, speed.

Every stylised video is read in lockstep with the source, so the flow is computed once, on the source,
for all of them, and only the current and previous frame of each video are held, however long it is.
Scores are comparable across runs and methods because they are taken at one stated size, with the
loss the networks are trained on (`NETWORK_WEIGHTS`: relative Gram errors up to relu4_3) and the same flow.
The artifact score (`artifacts.artifact_score`, grid or hatch) is taken at each video's own size on a few
frames spread over the clip. A single image is scored alike, with no E_warp.

How a video was made (speed, model, mode) is recorded beside it by `stylize` and `optimize video` in
a sidecar file (see `video.write_sidecar`); `evaluate` reports that fps when the file is there. The
report (tables, plot, strip, animation) is written by _evaluate_report.py from what this module returns.
"""


from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import count
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..artifacts import artifact_score
from ..flow import DEFAULT_PRESET, flow_and_mask, read_flo
from ..images import load_rgb, resize_max_side, resize_to, to_uint8
from ..losses import NETWORK_WEIGHTS, PerceptualLoss
from ..metrics import flicker_kept, warping_error
from ..vgg import VGGFeatures, VGGWeights, cached_weights
from ..video import VideoReader, open_video, read_sidecar

STRIP_FRAMES = 3  # rows of the report's side-by-side strip, spread over the clip
ARTIFACT_FRAMES = 8  # frames spread over the clip whose artifact score is taken (a pattern shows on every frame)
GIF_FRAMES = 48  # the report's animation shows the first ~2 s: enough to see flicker, small enough to open anywhere
GIF_SIDE = 160  # longer side of each panel of the animation
# Ground-truth flow folders use the peer's (Ruder et al.'s) names: backward_J_I.flo is the backward flow of
# frame J (pixels of J into frame I = J - 1), with its certainty in reliable_J_I.pgm (255 = reliable).
FLO_NAME = re.compile(r"backward_(\d+)_(\d+)\.flo")


class EvaluationError(ValueError):
    """Inputs that cannot be compared (frame counts, sizes, flow files); the message says what to fix."""


# --- inputs --------------------------------------------------------------------------------------------------

def method_paths(specs: Sequence[str]) -> dict[str, Path]:
    """`PATH` or `NAME=PATH` -> {name: path}; the name defaults to the file (or folder) name without suffix."""
    methods: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or Path(spec).exists():
            name, path = Path(spec).stem, spec
        if not name:
            raise EvaluationError(f"{spec!r}: empty method name; write NAME=PATH")
        if name in methods:
            raise EvaluationError(f"two stylized inputs are called {name!r} ({methods[name]} and {path}); "
                                  "name them with NAME=PATH")
        methods[name] = Path(path)
    return methods


@dataclass
class GroundTruthFlow:
    """Backward flows (H, W, 2) and masks (H, W) or None, for frames 2..T: a .flo folder or an .npz.

    Folder: backward_J_I.flo with I = J - 1 and contiguous J (the first file belongs to the video's
    second frame), plus reliable_J_I.pgm for every flow or for none (none: only lookups outside the
    image are ignored). npz: `flows` (T-1, H, W, 2) and optionally `masks` (T-1, H, W) in [0, 1].
    Folder flows are read one at a time.
    """

    path: Path
    flows: list[Path] | np.ndarray
    masks: list[Path] | np.ndarray | None

    @classmethod
    def load(cls, path: str | Path) -> GroundTruthFlow:
        path = Path(path)
        if path.is_dir():
            return cls._folder(path)
        if path.suffix.lower() != ".npz" or not path.is_file():
            raise EvaluationError(f"--gt-flow {path}: give a folder of backward_J_I.flo files or an .npz file")
        try:
            with np.load(path) as data:
                flows = data["flows"].astype(np.float32)
                masks = data["masks"].astype(np.float32) if "masks" in data else None
        except (OSError, ValueError, KeyError) as e:
            raise EvaluationError(f"--gt-flow {path}: not an .npz with a 'flows' array ({e})") from e
        if flows.ndim != 4 or flows.shape[-1] != 2:
            raise EvaluationError(f"--gt-flow {path}: flows must be (T-1, H, W, 2), got {flows.shape}")
        if masks is not None and masks.shape != flows.shape[:3]:
            raise EvaluationError(f"--gt-flow {path}: masks must be {flows.shape[:3]}, got {masks.shape}")
        return cls(path, flows, masks)

    @classmethod
    def _folder(cls, path: Path) -> GroundTruthFlow:
        found = {int(m[1]): path / m[0] for p in path.iterdir() if (m := FLO_NAME.fullmatch(p.name))
                 and int(m[1]) == int(m[2]) + 1}
        if not found:
            raise EvaluationError(f"--gt-flow {path}: no backward_J_I.flo files (J = I + 1) in the folder")
        frames = sorted(found)
        if frames != list(range(frames[0], frames[0] + len(frames))):
            missing = sorted(set(range(frames[0], frames[-1] + 1)) - set(frames))
            raise EvaluationError(f"--gt-flow {path}: flows of frames {missing} are missing; they must be contiguous")
        masks = [path / f"reliable_{j}_{j - 1}.pgm" for j in frames]
        present = [m.is_file() for m in masks]
        if any(present) and not all(present):
            raise EvaluationError(f"--gt-flow {path}: {masks[present.index(False)].name} is missing; "
                                  "give a reliable_J_I.pgm for every flow or for none")
        return cls(path, [found[j] for j in frames], masks if all(present) else None)

    def __len__(self) -> int:
        return len(self.flows)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for i, flow in enumerate(self.flows):
            mask = None if self.masks is None else self.masks[i]
            if isinstance(flow, Path):
                flow, mask = read_flo(flow), None if mask is None else _read_mask(mask)
            yield flow, mask


def _read_mask(path: Path) -> np.ndarray:
    """A reliable_J_I.pgm as (H, W) float32 in [0, 1] (255 = reliable)."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), np.float32) / 255
    except OSError as e:
        raise EvaluationError(f"{path}: not a readable mask image ({e}); re-create it, or remove every "
                              "reliable_*.pgm to score without masks") from e


def fit_motion(flow: np.ndarray, mask: np.ndarray | None, size: tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Resample a flow (and mask) to frames of `size` (H, W): displacements scale with the image."""
    (h0, w0), (h, w) = flow.shape[:2], size
    if (h0, w0) == (h, w):
        return flow, mask
    if abs(w / w0 - h / h0) > 0.02 * max(w / w0, h / h0):
        raise EvaluationError(f"the ground-truth flow is {w0}x{h0} but the frames are {w}x{h} (another aspect "
                              "ratio); give the flow of this video")
    interpolation = cv2.INTER_AREA if w < w0 else cv2.INTER_LINEAR
    flow = cv2.resize(flow, (w, h), interpolation=interpolation) * np.array([w / w0, h / h0], np.float32)
    return flow, None if mask is None else cv2.resize(mask, (w, h), interpolation=interpolation)


def _float_frame(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1).float() / 255


def _lockstep(readers: Sequence[VideoReader]) -> Iterator[list[np.ndarray]]:
    """One frame of every reader at a time; a reader that ends before the others is an error, not a zip."""
    iterators = [iter(r) for r in readers]
    for index in count():
        frames = [next(it, None) for it in iterators]
        if all(f is None for f in frames):
            return
        if any(f is None for f in frames):
            short = readers[[f is None for f in frames].index(True)].path
            long = readers[[f is not None for f in frames].index(True)].path
            raise EvaluationError(f"{short} has {index} frames but {long} has more; every stylized video must "
                                  "be made from the same frames of the source (same --start/--duration)")
        yield [f.image for f in frames]


def _check_counts(readers: Sequence[VideoReader], flows: GroundTruthFlow | None) -> None:
    """Fail before any work when the containers already say the frame counts differ."""
    counts = {r.path: r.frame_count for r in readers}
    known = {p: n for p, n in counts.items() if n is not None}
    if len(set(known.values())) > 1:
        listed = ", ".join(f"{p} has {n}" for p, n in known.items())
        raise EvaluationError(f"frame counts differ: {listed}; every stylized video must be made from the same "
                              "frames of the source (same --start/--duration)")
    frames = counts[readers[0].path]
    if flows is not None and frames is not None and len(flows) != frames - 1:
        raise EvaluationError(f"--gt-flow {flows.path} has {len(flows)} flows but {readers[0].path} has "
                              f"{frames} frames; it needs one flow per frame after the first")


# --- scoring -----------------------------------------------------------------------------------------------

@dataclass
class EvaluateSettings:
    size: int = 256  # longer side of the evaluation frames (the source is never enlarged)
    style_size: int | None = None  # longer side of the painting; None: `size`
    flow_method: str = "dis"
    flow_preset: str = DEFAULT_PRESET


@dataclass
class MethodScores:
    name: str
    path: str
    warping_error: float | None  # None for a single image
    warping_error_per_frame: list[float]  # frames 2..T
    style_loss: float | None  # mean over frames of NETWORK_WEIGHTS' style term; None without --painting
    content_loss: float  # mean over frames of NETWORK_WEIGHTS' content term against the source
    artifacts: float  # mean of `artifacts.artifact_score` (grid or hatch) over ARTIFACT_FRAMES frames
    fps: float | None  # from the sidecar, when the video has one
    made_with: dict | None  # the whole sidecar


@dataclass
class Previews:
    """Small copies of a few frames of every video, kept while streaming, for the report's strip and GIF."""

    strip_at: list[int]
    strip: list[list[np.ndarray]] = field(default_factory=list)
    gif: list[list[np.ndarray]] = field(default_factory=list)

    def add(self, index: int, frames: list[torch.Tensor]) -> None:
        if index in self.strip_at:
            self.strip.append([to_uint8(f) for f in frames])
        if index < GIF_FRAMES:
            self.gif.append([to_uint8(resize_max_side(f, GIF_SIDE)) for f in frames])


@dataclass
class Evaluation:
    source: str
    frames: int
    size: tuple[int, int]  # (H, W) of the evaluation frames
    flow: str
    style: str | None
    settings: dict
    vgg: str
    source_warping_error: float | None  # the source's own E_warp under the same flow: what perfect tracking scores
    source_warping_error_per_frame: list[float]
    methods: list[MethodScores]
    source_artifacts: float  # the source's own artifact score: what the photo's texture alone scores
    fps: float  # of the source, for the animation
    # With exactly two methods, the share of the second's flicker the first keeps (`metrics.flicker_kept`):
    # `evaluate SOURCE STABLE PER_FRAME` reads the first as the stable network and the second as per-frame.
    flicker_kept: float | None = None
    previews: Previews | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """Everything but the thumbnails: what `--json` prints."""
        data = asdict(replace(self, previews=None))
        del data["previews"]
        return data


def _mean(values: list[float]) -> float | None:
    """The mean E_warp, None for a single image (no motion to score)."""
    return float(np.mean(values)) if values else None


def scoring_loss(vgg: VGGWeights, style: torch.Tensor | None = None) -> PerceptualLoss:
    """The perceptual loss `evaluate` scores style and content with: the networks' own (`NETWORK_WEIGHTS`), against
    the (3, H, W) painting `style`; without one only the content layers are built. Public so that other
    measurements (the benchmarks) score with exactly this loss and stay comparable with `evaluate`."""
    if style is not None:
        return PerceptualLoss.build(vgg, style[None], NETWORK_WEIGHTS)
    weights = replace(NETWORK_WEIGHTS, style_layers=())
    return PerceptualLoss(VGGFeatures(vgg, list(weights.content_layers)), {}, weights)


def _step_motion(x: torch.Tensor, prev_x: torch.Tensor, truth: Iterator[tuple[np.ndarray, np.ndarray | None]] | None,
                 settings: EvaluateSettings) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(backward flow, mask) of frame x at its size: the next ground truth, else estimated on the source.

    None when the ground truth has run out.
    """
    if truth is None:
        return flow_and_mask(x.permute(1, 2, 0).numpy(), prev_x.permute(1, 2, 0).numpy(), settings.flow_method,
                             settings.flow_preset)
    motion = next(truth, None)
    return None if motion is None else fit_motion(*motion, tuple(x.shape[-2:]))


def evaluate_videos(source: str | Path, stylized: Mapping[str, str | Path], vgg: VGGWeights | None = None,
                    style: str | Path | None = None, gt_flow: str | Path | None = None,
                    settings: EvaluateSettings | None = None, *, start: float | None = None,
                    duration: float | None = None, previews: bool = False, progress: bool = True) -> Evaluation:
    """Score each stylised video of `source` (a video file or frame folder each; {name: path}).

    E_warp (see `metrics.warping_error`) with ground-truth flow when given, else DIS flow and the
    consistency mask on the source; style loss against the painting `style` and content loss against the
    source frame, both with `NETWORK_WEIGHTS` and averaged over frames. Frames are scored at the
    source's size shrunk to longer side `settings.size`; stylised frames of another size are resized to
    it. `vgg`: the loss network's weights (default: found as `steadystyle weights` finds them).
    `previews` keeps the thumbnails that `write_report` needs.
    """
    settings = settings or EvaluateSettings()
    vgg = vgg or cached_weights()
    if not stylized:
        raise EvaluationError("give at least one stylized video to evaluate")
    src = open_video(source, start, duration)
    readers = [open_video(p) for p in stylized.values()]
    flows = GroundTruthFlow.load(gt_flow) if gt_flow is not None else None
    _check_counts([src, *readers], flows)
    painting = load_rgb(style, settings.style_size or settings.size) if style is not None else None
    loss = scoring_loss(vgg, painting)
    names = list(stylized)
    expected = src.frame_count or round((src.duration or 0) * src.fps) or 1
    kept = Previews(sorted({round(i) for i in np.linspace(0, expected - 1, STRIP_FRAMES)})) if previews else None

    truth = iter(flows) if flows is not None else None
    per_frame: list[list[float]] = [[] for _ in range(len(names) + 1)]  # the source's own first
    style_sum, content_sum = np.zeros(len(names)), np.zeros(len(names))
    artifact_sum = np.zeros(len(names) + 1)  # the source's own first
    artifact_at = {round(i) for i in np.linspace(0, expected - 1, ARTIFACT_FRAMES)}  # a 1080p frame takes seconds
    previous: list[torch.Tensor] = []
    frames = 0
    with tqdm(total=src.frame_count, desc="evaluating", unit="frame", disable=not progress) as bar:
        for images in _lockstep([src, *readers]):
            full = [_float_frame(image) for image in images]
            if frames in artifact_at:  # at full size: a pattern is a few pixels apart
                artifact_sum += [artifact_score(f) for f in full]
            x = resize_max_side(full[0], settings.size)
            current = [x, *(resize_to(f, x.shape[-2:]) for f in full[1:])]
            if previous:
                motion = _step_motion(x, previous[0], truth, settings)
                if motion is None:
                    raise EvaluationError(f"--gt-flow {gt_flow} has {len(flows)} flows but {source} has more than "
                                          f"{len(flows) + 1} frames; it needs one flow per frame after the first")
                flow, mask = motion
                for scores, prev, cur in zip(per_frame, previous, current):
                    scores.append(warping_error((prev, cur), flows=(flow,),
                                                masks=None if mask is None else (mask,)).per_frame[0])
            with torch.no_grad():
                targets = loss.content_targets(x[None])
                for i, y in enumerate(current[1:]):
                    terms = loss(y[None], targets)
                    style_sum[i] += float(terms["style"])
                    content_sum[i] += float(terms["content"])
            if kept is not None:
                kept.add(frames, current)
            previous, frames = current, frames + 1
            bar.update(1)
    if flows is not None and len(flows) != frames - 1:
        raise EvaluationError(f"--gt-flow {gt_flow} has {len(flows)} flows but {source} has {frames} frames; "
                              "it needs one flow per frame after the first")
    scored = len(artifact_at & set(range(frames)))
    methods = []
    for i, (name, path) in enumerate(stylized.items()):
        info = read_sidecar(path)
        fps = info.get("fps") if info else None
        fps = float(fps) if isinstance(fps, (int, float)) else None
        methods.append(MethodScores(name, str(path), _mean(per_frame[i + 1]), per_frame[i + 1],
                                    float(style_sum[i] / frames) if style is not None else None,
                                    float(content_sum[i] / frames), float(artifact_sum[i + 1] / scored), fps, info))
    flow_note = (f"ground truth ({flows.path})" if flows is not None
                 else f"{settings.flow_method} ({settings.flow_preset}) on the source, with the consistency mask")
    source_error = _mean(per_frame[0])
    kept_share = (flicker_kept(methods[0].warping_error, methods[1].warping_error, source_error)
                  if len(methods) == 2 and frames > 1 else None)
    return Evaluation(str(source), frames, tuple(x.shape[-2:]), flow_note, None if style is None else str(style),
                      asdict(settings), vgg.source, source_error, per_frame[0], methods,
                      float(artifact_sum[0] / scored), float(src.fps), kept_share, kept)
