"""Resumable video jobs: a long run survives Ctrl-C, SIGTERM, SIGKILL or a power cut, and `--resume` goes on.

Why: minutes to hours of network time (days, for per-frame optimisation) should not be lost to one
interruption. While a video is written, its work folder beside OUT (`.OUT.resume/`) holds the video so far
as numbered H.264 segments, each closed and renamed into place only when complete, and one checkpoint
file, replaced atomically after each segment: frames done, the time of the last one, the recurrent state
(tensors) and a fingerprint of the input, model and options. A resumed run skips the frames done,
restores the state and carries on; at the end the segments' packets are joined with the audio into OUT
(no re-encoding) and the folder is removed. A folder of PNG frames as output is written in one go.

One run at a time per output: a job holds an OS file lock beside OUT (see locks.py) from `open_job` to the
end of its with-block, so a second run stops at once naming the first, and a crash releases it. Holding it,
a job removes the temporary files a killed run left, and a resumed one trusts nothing it reads unchecked
(the checkpoint's fields, each segment's presence, readability and frame count): a damaged file is named,
with `--restart` as the way to start over.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from ..atomic import atomic_output, check_free_space
from ..locks import Lock
from ..networks import Previous
from ._reader import VideoError, VideoReader
from ._sidecar import claim_output
from ._writer import Encoding, VideoWriter, is_folder_output

CHECKPOINT_EVERY = 10.0  # seconds of work a kill may cost at most (plus the frame in flight)
# Disk bytes per pixel of a stylized frame, for the free-space check: H.264 at the default crf 16 measured 0.105
# on the sample clip at 320x180 (larger frames take fewer), twice, since at the end the segments and the joined
# file exist together; PNG 2.1 on the same frames.
H264_BYTES_PER_PIXEL, PNG_BYTES_PER_PIXEL = 0.2, 2.0
CHECKPOINT = "checkpoint.safetensors"
_SEGMENT = "{:05d}.mp4"
_PROBE = 1 << 20  # bytes hashed at each end of an input: a different file is caught without reading all of it

State = dict[str, torch.Tensor]  # what the next frame needs from the previous ones; {} for nothing


class JobError(ValueError):
    """A leftover job that this run may not take over; the message says how to continue or discard it."""


def work_folder(output: str | Path) -> Path:
    """Where the job writing `output` keeps its segments and checkpoint: hidden, beside it, on the same disk."""
    output = Path(output)
    return output.with_name(f".{output.name}.resume")


def file_identity(path: str | Path) -> str:
    """Size and the SHA-256 of both ends of a file, or of a folder's file names and sizes: cheap on a long
    video, and a resume with another input is refused."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for child in sorted(path.iterdir()):
            digest.update(f"{child.name}:{child.stat().st_size};".encode())
        return digest.hexdigest()
    size = path.stat().st_size
    with path.open("rb") as f:
        digest.update(f.read(_PROBE))
        f.seek(max(0, size - _PROBE))
        digest.update(f.read(_PROBE))
    return f"{size}:{digest.hexdigest()}"


def tensors_identity(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of a model's weights: the same network whatever file or name it was loaded from."""
    digest = hashlib.sha256()
    for name, t in sorted(tensors.items()):
        digest.update(name.encode())
        digest.update(t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def saved_state(previous: Previous | None) -> State:
    """What a checkpoint keeps of the recurrence: copies, as the loop goes on while they are saved."""
    return {} if previous is None else {name: t.detach().clone() for name, t in previous._asdict().items()}


def restored_state(state: State) -> Previous | None:
    return Previous(**state) if state else None


# What jobs written before an option existed ran with: the x264 preset, and stable mode's history unwarped.
_BEFORE = {"--preset": "medium", "--motion": "none"}


def open_job(output: str | Path, reader: VideoReader, fingerprint: dict[str, str], *,
             encoding: Encoding = Encoding(), resume: bool = False, restart: bool = False,
             every: float = CHECKPOINT_EVERY) -> VideoJob:
    """The job that writes `output` from `reader`: fresh, or the leftover one when `resume`.

    `fingerprint` names what the result depends on (input, model, options, as "what": "value"); a leftover
    job with another fingerprint is refused. A leftover job without `resume` or `restart` is an error that
    says how to go on; a folder left without a checkpoint holds nothing worth keeping and is discarded.
    A job writing the same output already is a LockedError; the returned job holds the lock until its
    with-block ends, so use it in one (`with open_job(...) as job:`) and write the sidecar inside.
    """
    if resume and restart:
        raise JobError("--resume continues the leftover job and --restart discards it; give one of them")
    lock = claim_output(Path(output))
    try:
        job = _open(Path(output), reader, fingerprint, encoding, resume, restart, every)
    except BaseException:
        lock.release()
        raise
    job.lock = lock
    return job


def _open(output: Path, reader: VideoReader, fingerprint: dict[str, str], encoding: Encoding, resume: bool,
          restart: bool, every: float) -> VideoJob:
    """open_job's work, while it holds the output's lock."""
    # The encoding too: the joined file keeps the first segment's stream parameters for all of them.
    fingerprint = fingerprint | {"--crf": str(encoding.crf), "--preset": encoding.preset}
    folder = work_folder(output)
    if is_folder_output(output):
        if resume:
            raise JobError(f"-o {output}: only a video file (.mp4, .mov, .m4v, .mkv) can be resumed; a folder of "
                           "frames is written in one go, so run again without --resume")
        _check_space(output, reader, PNG_BYTES_PER_PIXEL)
        return VideoJob(output, reader, fingerprint, encoding, None)
    if restart and folder.exists():
        shutil.rmtree(folder)
    saved = read_checkpoint(folder / CHECKPOINT) if folder.is_dir() else None
    if saved is not None and not resume:
        raise JobError(f"{output}: an interrupted run left {saved['frames']} frames done in {folder}; add --resume to "
                       f"continue it, or --restart to discard it and start over (or delete {folder})")
    if saved is not None and resume:
        check_same_job(output, folder, saved["fingerprint"], fingerprint)
    if saved is None and folder.exists():
        shutil.rmtree(folder)
    _check_space(output, reader, H264_BYTES_PER_PIXEL, 1 - saved["frames"] / reader.frame_count
                 if saved is not None and reader.frame_count else 1.0)
    folder.mkdir(exist_ok=True)
    job = VideoJob(output, reader, fingerprint, encoding, every)
    if saved is not None:
        job.restore(saved)
    return job


def fingerprint_changes(was: dict[str, str], now: dict[str, str]) -> list[str]:
    """What a leftover job was made from that differs now: "style", "--crf (18 then, 23 now)"."""
    compared = [*now, *(what for what in was if what not in now)]
    was = _BEFORE | was  # what a job made before a setting existed was made with
    return [what + (f" ({was.get(what, 'not set')} then, {now.get(what, 'not set')} now)" if what.startswith("--")
                    else "") for what in compared if was.get(what) != now.get(what)]


def check_same_job(output: Path, folder: Path, was: dict[str, str], now: dict[str, str]) -> None:
    """Refuse to take up the work in `folder` when it was made from another input, model or options."""
    if changed := fingerprint_changes(was, now):
        raise JobError(f"{output}: the interrupted run in {folder} was made with a different {', '.join(changed)}; "
                       "resume with the same input, style and options, or start over with --restart")


def _check_space(output: Path, reader: VideoReader, per_pixel: float, share: float = 1.0) -> None:
    """Refuse up front an output that clearly will not fit (`share` of it still to write); without a frame count
    there is no estimate, and a disk that fills is reported when it does."""
    frames = reader.frame_count or (round(reader.duration * reader.fps) if reader.duration else 0)
    needed = int(per_pixel * frames * reader.width * reader.height * share)
    check_free_space(output, needed, f"the video ({frames} frames of {reader.width}x{reader.height})")


class VideoJob:
    """Writes one video as checkpointed segments (or, with `every` None, straight to its output).

    Use: `with job: job.add(image, time, state)` for each new frame, then `job.finish()`. `add` with a
    state checkpoints (when one is due: see `due`); without, it only writes the frame.
    """

    def __init__(self, output: Path, reader: VideoReader, fingerprint: dict[str, str], encoding: Encoding,
                 every: float | None) -> None:
        self.output, self.reader, self.every = output, reader, every
        self.encoding, self.fingerprint = encoding, fingerprint
        self.folder = work_folder(output)
        self.frames = 0  # done, over all runs
        self.last_time: Fraction | None = None  # of the last frame in a checkpoint
        self.segments = 0  # complete and checkpointed
        self.state: State = {}
        self._seconds = 0.0  # spent by the runs before this one, up to their last checkpoint
        self._started = time.perf_counter()
        self._next_checkpoint = self._started + (every or 0)
        self._writer: VideoWriter | None = None
        self._time_written: Fraction | None = None
        self.lock: Lock | None = None  # the output's, from open_job; released when the with-block ends

    @property
    def seconds(self) -> float:
        return self._seconds + time.perf_counter() - self._started

    def restore(self, saved: dict) -> None:
        """Take up a checkpoint (read_checkpoint checked its fields) once its segments are checked: each one
        there and readable to its end, and together exactly the frames it counts."""
        self.frames, self.segments, self.state = saved["frames"], saved["segments"], saved["state"]
        self.last_time, self._seconds = Fraction(saved["time"]), saved["seconds"]
        for stray in self.folder.iterdir():  # segments written after the checkpoint, and half-written files
            if stray.name != CHECKPOINT and stray not in self._segment_paths():
                shutil.rmtree(stray) if stray.is_dir() else stray.unlink()
        frames = sum(segment_frames(segment) for segment in self._segment_paths())
        if frames != self.frames:
            raise JobError(f"{self.folder / CHECKPOINT}: damaged, it counts {self.frames} frames done but its "
                           f"segments hold {frames}; start over with --restart")

    def is_done(self, t: Fraction) -> bool:
        """Whether the frame shown at `t` is already in a segment (a resumed run skips it)."""
        return self.last_time is not None and t <= self.last_time

    def due(self) -> bool:
        """Whether the frame about to be added should end a segment; asks once (the clock restarts)."""
        if self.every is None or time.perf_counter() < self._next_checkpoint:
            return False
        self._next_checkpoint = time.perf_counter() + self.every
        return True

    def add(self, image: np.ndarray, t: Fraction, state: State | None = None) -> None:
        """Write a frame; with `state` (what the next frame needs), close the segment and checkpoint."""
        if self._writer is None:
            self._writer = self._open_writer()
        self._writer.write(image, t)
        self.frames, self._time_written = self.frames + 1, t
        if state is not None and self.every is not None:
            self.state = state
            self._end_segment()

    def finish(self) -> None:
        """Close the last segment and join all of them, with the audio, into the output; remove the folder."""
        if self.every is None:
            self._writer.close()
            return
        if self._writer is not None:  # the last segment is checkpointed too: a kill while joining loses nothing
            self._end_segment()
        with VideoWriter(self.output, self.reader.fps, time_base=self.reader.time_base,
                         audio_from=self.reader) as writer:
            join_segments(self._segment_paths(), writer)
        # The checkpoint first: a kill while the rest goes leaves a folder that the next run discards.
        (self.folder / CHECKPOINT).unlink()
        shutil.rmtree(self.folder)

    def __enter__(self) -> VideoJob:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Release the output's lock. On an error, first drop the unfinished segment (its frames are redone on
        resume); a job that never reached a checkpoint has nothing to resume and leaves nothing behind."""
        try:
            if exc is None:
                return
            if self._writer is not None:
                self._writer.__exit__(exc_type, exc, tb)
                self._writer = None
            if self.every is not None and not (self.folder / CHECKPOINT).exists():
                shutil.rmtree(self.folder, ignore_errors=True)
        finally:
            if self.lock is not None:
                self.lock.release()

    def _open_writer(self) -> VideoWriter:
        if self.every is None:
            writer = VideoWriter(self.output, self.reader.fps, time_base=self.reader.time_base,
                                 audio_from=self.reader, encoding=self.encoding)
        else:
            writer = VideoWriter(self.folder / _SEGMENT.format(self.segments), self.reader.fps,
                                 time_base=self.reader.time_base, encoding=self.encoding)
        return writer.__enter__()

    def _end_segment(self) -> None:
        """Close the segment (renamed into place, flushed to disk), then checkpoint: never the other way round."""
        self._writer.close()
        self._writer = None
        _sync(self.folder / _SEGMENT.format(self.segments))
        self.segments, self.last_time = self.segments + 1, self._time_written
        self._checkpoint()

    def _segment_paths(self) -> list[Path]:
        return [self.folder / _SEGMENT.format(i) for i in range(self.segments)]

    def _checkpoint(self) -> None:
        info = {"fingerprint": self.fingerprint, "frames": self.frames, "segments": self.segments,
                "time": str(self.last_time), "seconds": self.seconds}
        tensors = {name: t.detach().cpu().contiguous() for name, t in self.state.items()}
        with atomic_output(self.folder / CHECKPOINT) as tmp:
            tmp.write_bytes(save(tensors, metadata={"job": json.dumps(info)}))  # a full disk: an OSError
            _sync(tmp)
        _sync(self.folder)


def read_checkpoint(path: Path) -> dict | None:
    """The checkpoint's fields and state, each checked before it is trusted, or None when there is none (a run
    killed before its first)."""
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), "pt") as f:
            info = json.loads(f.metadata()["job"])
            info["state"] = {name: f.get_tensor(name) for name in f.keys()}
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as e:
        raise JobError(f"{path}: unreadable checkpoint ({e}); start over with --restart") from e
    problem = _problem(info)
    if problem:
        raise JobError(f"{path}: damaged checkpoint ({problem}); start over with --restart")
    return info


_FIELDS = {"fingerprint": dict, "frames": int, "segments": int, "time": str, "seconds": (int, float)}


def _problem(info: object) -> str:
    """What is wrong with a job checkpoint's fields, or ''."""
    if not isinstance(info, dict):
        return "its record is no JSON object"
    for name, kind in _FIELDS.items():
        if not isinstance(info.get(name), kind) or isinstance(info.get(name), bool):
            return f"field {name!r} is {type(info[name]).__name__ if name in info else 'missing'}"
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in info["fingerprint"].items()):
        return "its fingerprint is not all text"
    if not 0 < info["segments"] <= info["frames"] or not 0 <= info["seconds"] < float("inf"):
        return f"{info['segments']} segments, {info['frames']} frames and {info['seconds']} s do not fit together"
    try:
        Fraction(info["time"])
    except (ValueError, ZeroDivisionError):
        return f"the time {info['time']!r} is no number"
    state = info["state"]
    if state and (set(state) != set(Previous._fields) or len({t.shape for t in state.values()}) != 1
                  or not all(t.is_floating_point() and t.isfinite().all() for t in state.values())):
        return f"the saved recurrent state {sorted(state)} is not a frame and an output of one size"
    return ""


def segment_frames(segment: Path) -> int:
    """The frames of a complete segment; a JobError naming it when it is missing, unreadable or cut short."""
    try:
        with av.open(str(segment)) as container:
            packets = [p for p in container.demux(container.streams.video[0]) if p.pts is not None]
    except (OSError, av.FFmpegError, IndexError) as e:
        reason = "is missing" if not segment.exists() else f"is unreadable ({e})"
        raise JobError(f"{segment}: damaged, the segment {reason}; start over with --restart") from None
    if any(p.is_corrupt for p in packets):
        raise JobError(f"{segment}: damaged, the segment is cut short or corrupt; start over with --restart")
    return len(packets)


def join_segments(segments: list[Path], writer: VideoWriter) -> None:
    """Copy the segments' packets into `writer` in order, with decoding times recomputed for the whole
    stream: each segment's encoder started its own (B-frame) delay, which may not fit the one before."""
    pts = [_packet_times(s) for s in segments]
    decode_times = _decode_times(pts)
    size = None
    for segment in segments:
        with av.open(str(segment)) as container:
            stream = container.streams.video[0]
            size = size or (stream.width, stream.height)
            if (stream.width, stream.height) != size:  # one stream has one size: its packets would decode wrongly
                raise VideoError(f"{writer.path}: the frames change size from {size[0]}x{size[1]} to {stream.width}x"
                                 f"{stream.height}; resize frames to one size (--max-side) or cut the video there")
            packets = (p for p in container.demux(stream) if p.pts is not None)
            writer.write_packets((_with_dts(p, next(decode_times)) for p in packets), stream)


def _with_dts(packet: av.Packet, dts: int) -> av.Packet:
    packet.dts = dts
    return packet


def _packet_times(segment: Path) -> list[int]:
    with av.open(str(segment)) as container:
        stream = container.streams.video[0]
        return [p.pts for p in container.demux(stream) if p.pts is not None]


def _decode_times(segments: list[list[int]]) -> Iterator[int]:
    """Rising decoding times that never pass a packet's own pts: the (i - delay)-th smallest pts for packet i,
    where the delay is the deepest reordering in any segment (what a decoder buffers)."""
    delay = 0
    for pts in segments:
        rank = {p: k for k, p in enumerate(sorted(pts))}
        delay = max([delay, *(i - rank[p] for i, p in enumerate(pts))])
    ordered = sorted(p for pts in segments for p in pts)
    step = ordered[1] - ordered[0] if len(ordered) > 1 else 1
    for i in range(len(ordered)):
        yield ordered[i - delay] if i >= delay else ordered[0] - (delay - i) * step


def _sync(path: Path) -> None:
    """Flush a file or folder to disk, so that after a power cut the checkpoint never names lost data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

