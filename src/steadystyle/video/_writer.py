"""Writing video: H.264 (libx264, yuv420p, BT.709) in MP4/M4V/MOV/MKV, or a folder of numbered PNGs.

Each frame keeps the time it is given; the source's audio is copied packet for packet (no re-encoding)
when the output container accepts the codec, else re-encoded to AAC. Output appears under its final
name only when complete.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc
from PIL import Image

from ..atomic import atomic_output, check_writable
from ..images import list_images
from ._reader import (VIDEO_OUT_SUFFIXES, TruncatedVideoWarning, VideoError, VideoReader, open_container,
                           open_video)

_FASTSTART = {".mp4", ".m4v", ".mov"}  # index at the front, so the file plays while it downloads
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
CRF_RANGE = (0, 51)  # x264's quality scale: 0 is lossless


@dataclass(frozen=True)
class Encoding:
    """libx264 settings. The default trades bits for time: on stylized frames veryfast at crf 16 matched
    medium at crf 18 in PSNR (33.5 dB) for ~18% more bits and a third of the encoding CPU (measured once,
    on 240 stylized 640x360 frames), and on 2 cores that CPU is the network's: `benchmarks/bench_video.py`
    times both settings end to end."""

    crf: int = 16
    preset: str = "veryfast"

    def __post_init__(self) -> None:
        low, high = CRF_RANGE
        if not low <= self.crf <= high:
            raise ValueError(f"crf {self.crf} is outside x264's range {low}-{high} (lower is better, 0 lossless)")
        if self.preset not in X264_PRESETS:
            raise ValueError(f"unknown x264 preset {self.preset!r}; choose one of {', '.join(X264_PRESETS)}")


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
                 *, encoding: Encoding = Encoding(), time_base: Fraction | None = None,
                 audio_from: VideoReader | str | Path | None = None) -> None:
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1_000_000)
        self.time_base = Fraction(time_base) if time_base else 1 / self.fps
        self.size = (height, width) if width and height else None
        self.encoding = encoding
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
        self._open_container()
        options = {"crf": str(self.encoding.crf), "preset": self.encoding.preset}
        video = self._out.add_stream("libx264", rate=self.fps, options=options)
        video.width, video.height = width + width % 2, height + height % 2
        video.pix_fmt = "yuv420p"
        cc = video.codec_context
        cc.time_base = video.time_base = self.time_base
        cc.colorspace, cc.color_range = Colorspace.ITU709, ColorRange.MPEG
        cc.color_trc, cc.color_primaries = ColorTrc.BT709, ColorPrimaries.BT709
        self._video = video
        self._open_audio()

    def write_packets(self, packets: Iterable[av.Packet], template: av.video.stream.VideoStream) -> None:
        """Add H.264 packets encoded elsewhere, with their own pts and dts, without re-encoding: how a resumable
        job joins its segments (see _resume.py). The first call takes the stream's parameters from `template`;
        audio is interleaved and the file finished as for frames."""
        if self._tmp is None:
            raise RuntimeError("use VideoWriter in a with-block, so an interrupted write leaves no file")
        if self._out is None:
            self._open_container()
            self._video = self._out.add_stream_from_template(template)
            self._video.time_base = template.time_base
            self._open_audio()
        for packet in packets:
            self._pump_audio(packet.dts * packet.time_base)
            packet.stream = self._video
            self._out.mux(packet)
            self.frames_written += 1

    def _open_container(self) -> None:
        options = {}
        if self.path.suffix.lower() in _FASTSTART:
            # The index at the front, so the file plays while it downloads; and a movie clock (default:
            # milliseconds) that also ticks in the video's time base, so that a video starting after 0 (a
            # resumed job's segment, see _resume.py) keeps its exact timestamps through the edit list, and the
            # audio's edit list keeps its millisecond precision.
            ticks = math.lcm(self.time_base.denominator, 1000)
            options = {"movflags": "+faststart",
                       "movie_timescale": str(ticks if ticks < 2**31 else self.time_base.denominator)}
        self._out = av.open(str(self._tmp), "w", options=options)

    def _open_audio(self) -> None:
        """Audio is set up once the video stream exists, so that the video stays the first stream."""
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
    container = stack.enter_context(open_container(source.path))
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
