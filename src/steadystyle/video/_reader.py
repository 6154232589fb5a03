"""Reading video the way people who edit video expect.

Any file FFmpeg (through PyAV) reads, or a folder of numbered images. Frames are streamed one at a
time as RGB uint8 (H, W, 3) with the rotation the camera recorded already applied, each with its exact
presentation time as a Fraction of a second (0 = first frame of the trimmed clip), so variable frame
rate survives untouched. A damaged file gives the frames that decode, with a warning, never a hang.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from ..images import ImageError, list_images, load_rgb, to_uint8

VIDEO_OUT_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv"}
# What the CLI treats as a video input (anything PyAV reads works through the API).
VIDEO_IN_SUFFIXES = VIDEO_OUT_SUFFIXES | {".avi", ".webm", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp", ".gif"}
DEFAULT_FOLDER_FPS = Fraction(25)
# A 5 s clip with sound shipped in the package (Big Buck Bunny, CC BY 3.0; see data/README.md), so a
# fresh installation can stylize a video straight away: `steadystyle stylize sample ...`.
SAMPLE_CLIP = Path(__file__).parents[1] / "data" / "sample.mp4"  # the package's data folder


SEEK_MARGIN = 2  # seconds decoded before a trimmed start or a piece's first frame (see _decode)


class VideoError(ValueError):
    """A video that cannot be read or written; the message names the file, the problem and a fix."""


class TruncatedVideoWarning(UserWarning):
    """The input ended early or had damaged packets; the frames that decoded were used.

    Turn it into an error with ``warnings.simplefilter("error", TruncatedVideoWarning)``.
    """


class Frame(NamedTuple):
    """One picture and when it is shown; unpacks as ``for image, time in reader``."""

    image: np.ndarray  # (H, W, 3) uint8 RGB, rotation applied
    time: Fraction  # presentation time in seconds from the start of the (trimmed) clip; exact


@dataclass(frozen=True)
class VideoReader:
    """What a video (or image folder) holds; iterate it for `Frame`s.

    Each iteration reopens the source, so a reader can be iterated more than once and holds
    no open file between passes. Sizes are as displayed (after rotation).
    """

    path: Path
    width: int
    height: int
    fps: Fraction  # average frame rate; for a folder, the rate it was given
    time_base: Fraction  # tick of the source timestamps: pass it to VideoWriter to keep them exact
    frame_count: int | None  # exact; None when the container does not record it, or a file is trimmed
    duration: float | None  # seconds, after trimming
    has_audio: bool = False
    rotation: int = 0  # degrees counter-clockwise that were applied to the stored frames
    first_pts: int = 0  # trim window [first_pts, end_pts) in time_base ticks: time 0 is first_pts
    end_pts: int | None = None

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()

    def __iter__(self) -> Iterator[Frame]:
        return _folder_frames(self) if self.is_folder else _file_frames(self)

    def _time(self, pts: int) -> Fraction:
        return (pts - self.first_pts) * self.time_base


def open_video(
    path: str | Path, start: float | None = None, duration: float | None = None, fps: float | Fraction | None = None
) -> VideoReader:
    """Open a video file or a folder of numbered images, keeping only [start, start + duration) seconds.

    A frame is decoded here, so a file that is not a video, has no frames in the window or
    cannot be decoded fails now with a VideoError rather than after a model has loaded. `fps`
    is the rate of an image folder (default 25); video files keep their own rate.
    """
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file or folder; check the path")
    if start is not None and start < 0 or duration is not None and duration <= 0:
        raise VideoError(f"{path}: start must be >= 0 and duration > 0 (got start={start}, duration={duration})")
    if path.is_dir():
        reader = _open_folder(path, Fraction(fps or DEFAULT_FOLDER_FPS).limit_denominator(1_000_000))
    elif fps is not None:
        raise VideoError(f"{path}: fps applies to image folders only; a video file keeps its own frame rate")
    else:
        reader = _open_file(path)
    trimmed = _trim(reader, start, duration)
    if trimmed is not reader and next(iter(trimmed), None) is None:
        lasts = f"the video lasts {reader.duration:g} s, so " if reader.duration else ""
        raise VideoError(f"{path}: no frames from {start or 0} s on; {lasts}choose an earlier start")
    return trimmed


def probe(path: str | Path, start: float | None = None, duration: float | None = None,
          fps: float | Fraction | None = None) -> VideoReader:
    """Fail fast, before loading a model: the input exists, is a video and has a frame in the window.

    Cheap: opens the container and decodes a frame or two. Returns the reader for later use.
    """
    return open_video(path, start, duration, fps)


def _open_file(path: Path) -> VideoReader:
    with open_container(path) as container:
        stream = _video_stream(container, path)
        first = next(_decode(container, stream, path), None)
        if first is None:
            raise VideoError(f"{path}: contains no decodable video frames (empty or damaged); re-export the video")
        rotation = _rotation(stream, first)
        width, height = (first.height, first.width) if rotation % 180 else (first.width, first.height)
        tb = Fraction(stream.time_base)
        duration = stream.duration * tb if stream.duration else None
        if duration is None and container.duration:
            duration = Fraction(container.duration, av.time_base)
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate or DEFAULT_FOLDER_FPS
        return VideoReader(path, width, height, Fraction(fps), tb, stream.frames or None,
                           None if duration is None else float(duration), bool(container.streams.audio),
                           rotation, stream.start_time or 0)


def open_container(path: Path) -> av.container.InputContainer:
    """Open a file for reading; failure is a VideoError that says how to get a readable copy."""
    try:
        return av.open(str(path), metadata_errors="replace")
    except (av.FFmpegError, OSError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise VideoError(f"{path}: not a readable video ({reason}); if the file is incomplete "
                         "(an interrupted download or recording) re-export or re-download it") from e


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The first real video stream; cover art in music files (an 'attached picture') does not count."""
    attached = av.stream.Disposition.attached_pic
    streams = [s for s in container.streams.video if not s.disposition & attached]
    if not streams:
        kind = "audio only" if container.streams.audio else "no video stream"
        raise VideoError(f"{path}: {kind}; give a video file (or a folder of frames)")
    return streams[0]


def _rotation(stream: av.video.stream.VideoStream, frame: av.VideoFrame) -> int:
    """Counter-clockwise degrees to display upright: the display matrix, else the old `rotate` tag (clockwise)."""
    if frame.rotation:
        return round(frame.rotation / 90) * 90 % 360
    tag = stream.metadata.get("rotate", "0")
    return -round(float(tag) / 90) * 90 % 360 if tag.lstrip("-").isdigit() else 0


def _trim(reader: VideoReader, start: float | None, duration: float | None) -> VideoReader:
    """Turn seconds into a window of timestamp ticks, so trimming is exact in the source's own clock."""
    if not start and not duration:
        return reader
    first = reader.first_pts + round(Fraction(start or 0) / reader.time_base)
    end = None if duration is None else first + round(Fraction(duration) / reader.time_base)
    left = None if reader.duration is None else max(0.0, reader.duration - (start or 0))
    if duration is not None:
        left = duration if left is None else min(left, duration)
    count = None
    if reader.is_folder:
        count = max(0, min(reader.frame_count, end or reader.frame_count) - first)
    return replace(reader, first_pts=first, end_pts=end, duration=left, frame_count=count)


def _file_frames(reader: VideoReader) -> Iterator[Frame]:
    k = reader.rotation // 90
    with open_container(reader.path) as container:
        stream = _video_stream(container, reader.path)
        stream.thread_type = "AUTO"
        for frame in _decode(container, stream, reader.path, reader.first_pts, reader.end_pts, reader.frame_count):
            image = frame.to_ndarray(format="rgb24", src_color_range=frame.color_range)
            yield Frame(np.ascontiguousarray(np.rot90(image, k)) if k else image, reader._time(frame.pts))


def _decode(container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path,
            first_pts: int | None = None, end_pts: int | None = None, expected: int | None = None
            ) -> Iterator[av.VideoFrame]:
    """Frames with first_pts <= pts < end_pts, seeking to the keyframe before first_pts.

    Like the ffmpeg tool, a packet that fails to decode is skipped and a read error ends the
    stream: a damaged or truncated file gives the frames that can be decoded (with a
    TruncatedVideoWarning once they are used up), never a crash or a hang. A file counts as
    cut short when it holds fewer frames than its header says *and* ends before its stated
    duration (either alone happens in sound files: edit lists, a long last frame).
    """
    first_pts = (stream.start_time or 0) if first_pts is None else first_pts
    if first_pts > (stream.start_time or 0):
        # Seek SEEK_MARGIN early: with open GOPs (x265's default) a seek to a frame that precedes its keyframe in
        # time lands on that keyframe and skips the frame; the frames before first_pts are dropped below.
        with contextlib.suppress(av.FFmpegError):  # unseekable input: decode from the top instead
            container.seek(max(stream.start_time or 0, first_pts - round(SEEK_MARGIN / stream.time_base)),
                           stream=stream)
    damaged, count, last_pts = False, 0, None
    step = max(1, round(1 / (stream.average_rate or DEFAULT_FOLDER_FPS) / stream.time_base))
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                damaged = True
                continue
            for frame in frames:
                if frame.pts is None:  # raw streams (.h264) carry no timestamps: count at the average rate
                    frame.pts = first_pts if last_pts is None else last_pts + step
                if end_pts is not None and frame.pts >= end_pts:
                    return
                if frame.pts >= first_pts:
                    count, last_pts = count + 1, frame.pts
                    yield frame
    except av.FFmpegError:
        damaged = True
    stated_end = (stream.start_time or 0) + (stream.duration or 0)
    short = expected is not None and count < expected and last_pts is not None and last_pts + step < stated_end
    if count and (damaged or short):
        of = f" of {expected}" if short else ""
        warnings.warn(f"{path}: damaged or truncated; used the {count}{of} frames that decoded",
                      TruncatedVideoWarning, stacklevel=3)


def _open_folder(path: Path, fps: Fraction) -> VideoReader:
    images = list_images(path)
    if not images:
        raise VideoError(f"{path}: folder holds no images (.png, .jpg, .tif, .bmp, .webp); "
                         "give a video file or a folder of numbered frames")
    height, width = _load_frame(images[0], path).shape[:2]
    return VideoReader(path, width, height, fps, 1 / fps, len(images), float(len(images) / fps))


def _load_frame(image: Path, folder: Path) -> np.ndarray:
    try:
        return to_uint8(load_rgb(image))
    except ImageError as e:
        raise VideoError(f"in the frame folder {folder}: {e}") from e


def _folder_frames(reader: VideoReader) -> Iterator[Frame]:
    """Images sorted by name, one frame each at the folder's rate; all must share the first one's size."""
    images = list_images(reader.path)
    end = len(images) if reader.end_pts is None else min(reader.end_pts, len(images))
    for pts in range(reader.first_pts, end):
        image = _load_frame(images[pts], reader.path)
        if image.shape[:2] != (reader.height, reader.width):
            raise VideoError(f"{images[pts]}: {image.shape[1]}x{image.shape[0]} but the first frame is "
                             f"{reader.width}x{reader.height}; all frames in a folder must have the same size")
        yield Frame(image, reader._time(pts))
