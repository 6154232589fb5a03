"""Video in and out the way people who edit video expect.

Reading: any file FFmpeg (through PyAV) reads, or a folder of numbered images. Frames are
streamed one at a time as RGB uint8 (H, W, 3) with the rotation the camera recorded already
applied, each with its exact presentation time as a Fraction of a second (0 = first frame of
the trimmed clip), so variable frame rate survives untouched.

Writing: H.264 (libx264, yuv420p, BT.709) in MP4/M4V/MOV/MKV, or a folder of numbered PNGs.
Each frame keeps the time it is given; the source's audio is copied packet for packet (no
re-encoding) when the output container accepts the codec, else re-encoded to AAC. Output
appears under its final name only when complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc
from PIL import Image

from . import __version__
from .atomic import atomic_output, check_writable
from .images import ImageError, list_images, load_rgb, to_uint8

VIDEO_OUT_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv"}
# What the CLI treats as a video input (anything PyAV reads works through the API).
VIDEO_IN_SUFFIXES = VIDEO_OUT_SUFFIXES | {".avi", ".webm", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp", ".gif"}
DEFAULT_FOLDER_FPS = Fraction(25)
# A 5 s clip with sound shipped in the package (Big Buck Bunny, CC BY 3.0; see data/README.md), so a
# fresh installation can stylize a video straight away: `steadystyle stylize sample ...`.
SAMPLE_CLIP = Path(__file__).parent / "data" / "sample.mp4"
_FASTSTART = {".mp4", ".m4v", ".mov"}  # index at the front, so the file plays while it downloads


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
    with _open_input(path) as container:
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


def _open_input(path: Path) -> av.container.InputContainer:
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
    with _open_input(reader.path) as container:
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
        with contextlib.suppress(av.FFmpegError):  # unseekable input: decode from the top instead
            container.seek(first_pts, stream=stream)
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
        raise VideoError(f"{e} (a frame of folder {folder}); remove or replace it") from e


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


def is_folder_output(path: str | Path) -> bool:
    """The output rule: an existing folder, or a name without a suffix, means a folder of PNG frames.

    A name ending in .mp4/.m4v/.mov/.mkv means an H.264 video; any other suffix is refused.
    """
    path = Path(path)
    if path.is_dir() or not path.suffix:
        return True
    if path.suffix.lower() in VIDEO_OUT_SUFFIXES:
        return False
    raise VideoError(f"{path}: cannot write {path.suffix!r} video; name the output .mp4 (or .mov, .m4v, .mkv), "
                     "or give a folder name without a suffix for numbered PNG frames")


def check_output(path: str | Path) -> bool:
    """Fail before any work when `path` cannot take a video or frame folder; True for a folder."""
    path = Path(path)
    if is_folder_output(path):
        _check_folder_writable(path)
        return True
    check_writable(path)
    return False


class VideoWriter:
    """Write RGB frames to an H.264 video or a folder of numbered PNGs; use it as a context manager.

    ``with VideoWriter(out, reader.fps, time_base=reader.time_base, audio_from=reader) as w:
    for image, t in frames: w.write(image, t)`` keeps the source's timing and audio.

    - Timing: each frame is stamped with the `time` given (seconds, ideally the reader's exact
      Fraction), rounded to `time_base` (default 1/fps); frames without a time follow at 1/fps.
      Variable frame rate therefore stays variable. A PNG folder keeps the order only.
    - Odd sizes: H.264 4:2:0 needs even sides, so an odd width or height is padded by one
      pixel, repeating the last column/row: no picture is lost, the video is 1 pixel larger.
    - Audio: the first audio stream of `audio_from` (a VideoReader, whose trim window is
      honoured, or a path), copied packet for packet when the container takes the codec, else
      re-encoded to AAC. A trimmed copy is cut at packet boundaries (within ~20 ms).
    - Safety: the path is checked before any work; frames go to a temporary file or folder
      beside it that is renamed when the writer closes cleanly, and removed on any exception
      (KeyboardInterrupt included). An existing folder must not already hold images.
    """

    def __init__(self, path: str | Path, fps: float | Fraction, width: int | None = None, height: int | None = None,
                 *, crf: int = 18, preset: str = "medium", time_base: Fraction | None = None,
                 audio_from: VideoReader | str | Path | None = None) -> None:
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1_000_000)
        self.time_base = Fraction(time_base) if time_base else 1 / self.fps
        self.size = (height, width) if width and height else None
        self.crf, self.preset = crf, preset
        self.to_folder = check_output(self.path)
        if audio_from is not None and not isinstance(audio_from, VideoReader):
            audio_from = open_video(audio_from)
        if self.to_folder and audio_from is not None and audio_from.has_audio:
            warnings.warn(f"{self.path}: a folder of frames cannot hold audio; the sound of {audio_from.path} "
                          "is dropped (write a .mp4 to keep it)", stacklevel=2)
        self.audio_from = audio_from if audio_from is not None and audio_from.has_audio else None
        self.frames_written = 0
        self._stack: contextlib.ExitStack | None = None
        self._tmp: Path | None = None
        self._out: av.container.OutputContainer | None = None
        self._video: av.video.stream.VideoStream | None = None
        self._audio: Iterator[av.Packet] | None = None
        self._audio_next: av.Packet | None = None
        self._last_pts = -1

    def __enter__(self) -> VideoWriter:
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(_atomic_folder(self.path) if self.to_folder else atomic_output(self.path))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self._abort(exc)

    def write(self, image: np.ndarray, time: Fraction | float | None = None) -> None:
        """Add one (H, W, 3) uint8 RGB frame shown at `time` seconds (default: right after the last, at 1/fps)."""
        if self._tmp is None:
            raise RuntimeError("use VideoWriter in a with-block, so an interrupted write leaves no file")
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise VideoError(f"{self.path}: frames must be (H, W, 3) uint8 RGB, got {image.dtype} {image.shape}; "
                             "convert with steadystyle.images.to_uint8")
        if self.size is None:
            self.size = image.shape[:2]
        if image.shape[:2] != self.size:
            raise VideoError(f"{self.path}: frame {self.frames_written + 1} is {image.shape[1]}x{image.shape[0]} "
                             f"but the video is {self.size[1]}x{self.size[0]}; resize frames to one size")
        if self.to_folder:
            Image.fromarray(image).save(self._tmp / f"{self.frames_written + 1:06d}.png")
        else:
            self._encode(image, Fraction(self.frames_written) / self.fps if time is None else Fraction(time))
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file (flush the encoder, copy the remaining audio) and move it to its final name."""
        if self._stack is None:
            return
        try:
            if not self.frames_written:
                raise VideoError(f"{self.path}: no frames were written, so no video was made")
            if self._out is not None:
                self._mux(self._video.encode(None))
                self._pump_audio(None)
                self._out.close()
        except BaseException as e:
            self._abort(e)
            raise
        stack, self._stack, self._tmp = self._stack, None, None
        stack.close()

    def _abort(self, exc: BaseException) -> None:
        """Close quietly and let atomic_output delete the temporary file: nothing under the final name."""
        with contextlib.suppress(Exception):
            if self._out is not None:
                self._out.close()
        stack, self._stack, self._tmp = self._stack, None, None
        if stack is not None:
            stack.__exit__(type(exc), exc, exc.__traceback__)

    def _encode(self, image: np.ndarray, time: Fraction) -> None:
        if self._out is None:
            self._start(*image.shape[:2])
        if image.shape[0] % 2 or image.shape[1] % 2:
            image = np.pad(image, ((0, image.shape[0] % 2), (0, image.shape[1] % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
            format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
        # Timestamps must rise: a repeated or backward time (a broken source) moves one tick on.
        self._last_pts = frame.pts = max(round(time / self.time_base), self._last_pts + 1)
        frame.time_base = self.time_base
        self._pump_audio(self._last_pts * self.time_base)
        self._mux(self._video.encode(frame))

    def _start(self, height: int, width: int) -> None:
        """Open the container at the first frame, when the size is known; audio is set up alongside."""
        options = {"movflags": "+faststart"} if self.path.suffix.lower() in _FASTSTART else {}
        self._out = av.open(str(self._tmp), "w", options=options)
        video = self._out.add_stream("libx264", rate=self.fps, options={"crf": str(self.crf), "preset": self.preset})
        video.width, video.height = width + width % 2, height + height % 2
        video.pix_fmt = "yuv420p"
        cc = video.codec_context
        cc.time_base = video.time_base = self.time_base
        cc.colorspace, cc.color_range = Colorspace.ITU709, ColorRange.MPEG
        cc.color_trc, cc.color_primaries = ColorTrc.BT709, ColorPrimaries.BT709
        self._video = video
        if self.audio_from is not None:
            self._audio = _audio_packets(self.audio_from, self._out, self._stack)
            self._audio_next = next(self._audio, None)

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            self._out.mux(packet)

    def _pump_audio(self, until: Fraction | None) -> None:
        """Mux the audio due before `until` seconds (all of it for None), keeping the file interleaved."""
        while (packet := self._audio_next) is not None and (until is None or packet.pts * packet.time_base < until):
            self._out.mux(packet)
            self._audio_next = next(self._audio, None)


def _audio_packets(source: VideoReader, out: av.container.OutputContainer,
                   stack: contextlib.ExitStack) -> Iterator[av.Packet]:
    """Add an audio stream to `out` and yield its packets, in the reader's trim window, re-timed to it.

    Copying keeps the exact bits; codecs the container refuses are decoded and re-encoded to AAC,
    and so is PCM bound for .mp4/.m4v, which FFmpeg accepts but many players do not play. Packets
    are shifted by the same origin as the video frames, so sync is kept.
    """
    container = stack.enter_context(_open_input(source.path))
    src = container.streams.audio[0]
    codec = src.codec_context.codec.canonical_name
    pcm_in_mp4 = codec.startswith("pcm_") and Path(out.name).suffix.lower() in {".mp4", ".m4v"}
    copy = codec in out.supported_codecs and not pcm_in_mp4
    if copy:
        dst = out.add_stream_from_template(src)
    else:
        dst = out.add_stream("aac", rate=src.codec_context.sample_rate)
        dst.layout = src.codec_context.layout
    return _retimed_packets(source, container, src, dst, copy)


def _retimed_packets(source: VideoReader, container: av.container.InputContainer, src: av.audio.stream.AudioStream,
                     dst: av.audio.stream.AudioStream, copy: bool) -> Iterator[av.Packet]:
    tb = src.time_base
    shift = round(source.first_pts * source.time_base / tb)  # the source time of the video's time 0
    end = None if source.end_pts is None else (source.end_pts - source.first_pts) * source.time_base
    # Untrimmed, packets before time 0 are encoder priming (AAC starts at -1024 samples): keep them.
    skip_before = source.first_pts > 0
    if skip_before:
        with contextlib.suppress(av.FFmpegError):
            container.seek(shift, stream=src)
    try:
        for packet in container.demux(src):
            if packet.pts is None:
                continue  # the flush packet at the end
            start = (packet.pts - shift) * tb
            if end is not None and start >= end:
                break
            if skip_before and start + (packet.duration or 0) * tb <= 0:
                continue
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            if copy:
                packet.stream = dst
                yield packet
            else:
                for frame in packet.decode():
                    yield from dst.encode(frame)
    except av.FFmpegError:
        warnings.warn(f"{source.path}: the audio is damaged; kept what was read before the damage",
                      TruncatedVideoWarning, stacklevel=2)
    if not copy:
        yield from dst.encode(None)


def _check_folder_writable(path: Path) -> None:
    """A folder output must be creatable, or be an existing folder that holds no images yet."""
    if path.is_dir():
        if list_images(path):
            raise VideoError(f"{path}: folder already holds images; choose an empty or new folder "
                             "(frames are never mixed with, or written over, existing ones)")
        check_writable(path / "000001.png")
    else:
        check_writable(path)


@contextlib.contextmanager
def _atomic_folder(path: Path) -> Iterator[Path]:
    """Like atomic_output, for a folder: frames go to a hidden folder beside it, moved in on success."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result should look like any new folder
    try:
        yield tmp
        if path.is_dir():
            for frame in sorted(tmp.iterdir()):
                os.replace(frame, path / frame.name)
            tmp.rmdir()
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --- the sidecar: how a video was made ------------------------------------------------------------------
# OUTPUT + ".json" (`clip.mp4` -> `clip.mp4.json`, a frame folder `frames` -> `frames.json`): one JSON
# object with at least "made_by" (steadystyle and its version), "command", "model", "mode", "fps" (frames
# per second of the whole run, decoding and encoding included, wall clock), "frames" and "seconds".

SIDECAR_SUFFIX = ".json"


def sidecar_path(output: str | Path) -> Path:
    return Path(output).with_name(Path(output).name + SIDECAR_SUFFIX)


def write_sidecar(output: str | Path, info: dict) -> Path:
    """Record how `output` was made beside it , atomically."""
    path = sidecar_path(output)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps({"made_by": f"steadystyle {__version__}", **info}, indent=2, default=str) + "\n")
    return path


def read_sidecar(video: str | Path) -> dict | None:
    """The sidecar of `video`, or None when it has none; a damaged one is reported and ignored, since the
    scores do not depend on it."""
    path = sidecar_path(video)
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        warnings.warn(f"{path}: unreadable ({e}); the speed of {video} is reported as unknown", stacklevel=2)
        return None
    return info if isinstance(info, dict) else None
