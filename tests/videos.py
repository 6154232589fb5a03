"""Tiny test clips made with PyAV, so the video tests need no files from elsewhere."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def picture(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    """A smooth gradient that brightens with `i`: easy for H.264, and each frame is recognisable."""
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 160 // max(1, width - 1), y * 160 // max(1, height - 1), np.full_like(x, 60)], axis=-1)
    return (base + (i * 7) % 90).astype(np.uint8)


def make_clip(path: Path, frames: int = 25, fps: Fraction | int = 25, width: int = 64, height: int = 48, *,
              pts: list[int] | None = None, time_base: Fraction | None = None, audio: str | None = None,
              sample_rate: int = 16000, rotation: int = 0, codec: str = "libx264", pix_fmt: str = "yuv420p",
              options: dict | None = None) -> Path:
    """Write a clip (H.264 unless `codec`); `pts` (in `time_base`) gives variable frame rate, `audio` a 440 Hz tone."""
    time_base = time_base or 1 / Fraction(fps)
    pts = pts if pts is not None else list(range(frames))
    with av.open(str(path), "w", options=options or {}) as out:
        video = out.add_stream(codec, rate=fps, options={"preset": "ultrafast"} if codec == "libx264" else {})
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.codec_context.time_base = video.time_base = time_base
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream(audio, rate=sample_rate, layout="mono") if audio else None
        for i, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(picture(i, width, height), format="rgb24")
            frame.pts, frame.time_base = p, time_base
            out.mux(video.encode(frame))
        if sound is not None:
            seconds = float((pts[-1] - pts[0]) * time_base) + float(1 / Fraction(fps))
            write_tone(out, sound, seconds, sample_rate)
        out.mux(video.encode(None))
    return path


def write_tone(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float,
               sample_rate: int) -> None:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, len(wave), 1024):
        frame = av.AudioFrame.from_ndarray(wave[None, start:start + 1024], format="flt", layout="mono")
        frame.sample_rate, frame.pts = sample_rate, start
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def make_audio_only(path: Path, seconds: float = 1.0, sample_rate: int = 16000) -> Path:
    with av.open(str(path), "w") as out:
        write_tone(out, out.add_stream("aac", rate=sample_rate, layout="mono"), seconds, sample_rate)
    return path


def make_empty_video(path: Path) -> Path:
    """A valid MKV with a video stream that has not one frame (and a little sound, so the file is not empty)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        write_tone(out, out.add_stream("aac", rate=16000, layout="mono"), 0.5, 16000)
    return path


def audio_info(path: Path) -> tuple[str, float, list[bytes]]:
    """(codec, duration in seconds, the first packets' bytes) of the first audio stream."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        packets = [p for p in container.demux(stream) if p.size]
        first, last = packets[0], packets[-1]
        seconds = float((last.pts + last.duration - first.pts) * stream.time_base)
        return stream.codec_context.codec.canonical_name, seconds, [bytes(p) for p in packets[1:4]]


def phone_jpeg(path: Path, width: int = 130, height: int = 90) -> Path:
    """A JPEG stored landscape with EXIF orientation 6, as phones save portraits: a viewer turns it a
    quarter clockwise and shows height x width, the stored top-left corner (red) at the top right."""
    image = picture(0, width, height)
    image[:12, :12] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    Image.fromarray(image).save(path, exif=exif, quality=95)
    return path


def make_shots(path: Path, shots: int = 3, frames: int = 12, width: int = 160, height: int = 90,
               audio: str | None = "aac") -> Path:
    """A clip of `shots` shots cut hard one after another, each `frames` frames of the real sample clip seen
    differently (as it is, upside down in negative, mirrored with its colours turned), with a tone."""
    from steadystyle.video import SAMPLE_CLIP, open_video

    looks = [lambda a: a, lambda a: 255 - a[::-1], lambda a: a[:, ::-1, [2, 0, 1]]]
    source = [np.asarray(Image.fromarray(f.image).resize((width, height))) for _, f in
              zip(range(frames * shots), open_video(SAMPLE_CLIP))]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream(audio, rate=16000, layout="mono") if audio else None
        for i, image in enumerate(source):
            look = looks[(i // frames) % len(looks)]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(look(image)), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        if sound is not None:
            write_tone(out, sound, len(source) / 25, 16000)
        out.mux(video.encode(None))
    return path
