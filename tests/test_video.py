"""Video in and out: timing, audio, sizes, folders, trimming, bad inputs and interrupted writes."""

from __future__ import annotations

import os
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from steadystyle.atomic import OutputError
from steadystyle.video import (Encoding, TruncatedVideoWarning, VideoError, VideoWriter, is_folder_output, open_video,
                               probe)

from videos import audio_info, make_audio_only, make_clip, make_empty_video, phone_jpeg, picture

VFR_MS = [0, 40, 120, 130, 200, 400, 440, 480, 700, 1000]


def copy_video(src, out, **trim):
    """What the CLI does, minus the network: read, write each frame at its time, keep the sound."""
    reader = open_video(src, **trim)
    with VideoWriter(out, reader.fps, time_base=reader.time_base, audio_from=reader) as writer:
        for image, time in reader:
            writer.write(image, time)
    return reader, open_video(out)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30000, 1001)])
def test_round_trip_keeps_frame_count_rate_duration_and_pictures(tmp_path, fps):
    src, out = make_clip(tmp_path / "in.mp4", frames=25, fps=fps), tmp_path / "out.mp4"
    reader, back = copy_video(src, out)
    assert (back.width, back.height, back.frame_count, back.fps) == (64, 48, 25, fps)
    assert back.duration == pytest.approx(float(25 / fps), abs=1e-3)
    frames, frames_back = list(reader), list(back)
    assert [t for _, t in frames_back] == [t for _, t in frames] == [i / fps for i in range(25)]
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (48, 64, 3)
    assert np.abs(frames[0].image.astype(int) - picture(0)).mean() < 3  # lossy, but the same picture
    assert max(np.abs(a.astype(int) - b).mean() for (a, _), (b, _) in zip(frames, frames_back)) < 3


@pytest.mark.parametrize("name, codec, out", [("aac.mp4", "aac", "out.mp4"), ("mp3.mp4", "mp3", "out.mp4"),
                                              ("pcm.mov", "pcm_s16le", "out.mov")])
@pytest.mark.slow
def test_audio_is_copied_bit_for_bit_with_its_duration(tmp_path, name, codec, out):
    src = make_clip(tmp_path / name, audio="libmp3lame" if codec == "mp3" else codec)
    reader, back = copy_video(src, tmp_path / out)
    assert reader.has_audio and back.has_audio
    codec_in, seconds_in, packets_in = audio_info(src)
    codec_out, seconds_out, packets_out = audio_info(tmp_path / out)
    assert codec_in == codec_out == codec
    assert seconds_out == pytest.approx(seconds_in, abs=1e-3)
    assert packets_out == packets_in  # copied, not re-encoded


@pytest.mark.parametrize("audio", ["pcm_mulaw", "pcm_s16le"])
def test_audio_the_container_refuses_is_reencoded_to_aac(tmp_path, audio):
    """MP4 cannot hold mu-law; it can hold plain PCM, but many players will not play it."""
    src = make_clip(tmp_path / "pcm.mov", audio=audio)
    copy_video(src, tmp_path / "out.mp4")
    codec, seconds, _ = audio_info(tmp_path / "out.mp4")
    assert codec == "aac"
    assert seconds == pytest.approx(audio_info(src)[1], abs=0.13)  # AAC adds priming and padding


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_keeps_every_timestamp(tmp_path, suffix):
    src = make_clip(tmp_path / f"vfr{suffix}", pts=VFR_MS, time_base=Fraction(1, 1000))
    reader, back = copy_video(src, tmp_path / f"out{suffix}")
    expected = [Fraction(ms, 1000) for ms in VFR_MS]
    assert [t for _, t in reader] == expected
    assert [t for _, t in back] == expected


def test_odd_size_is_padded_by_repeating_the_edge(tmp_path):
    src = make_clip(tmp_path / "odd.mov", width=65, height=49, codec="png", pix_fmt="rgb24")  # lossless source
    reader, back = copy_video(src, tmp_path / "out.mp4")
    assert (reader.width, reader.height, back.width, back.height) == (65, 49, 66, 50)
    original, padded = next(iter(reader)).image, next(iter(back)).image
    assert np.array_equal(original, picture(0, 65, 49))
    assert np.abs(padded[:49, :65].astype(int) - original).mean() < 3
    assert np.abs(padded[:, 65].astype(int) - padded[:, 64]).max() <= 3  # a copy of the last column
    assert np.abs(padded[49].astype(int) - padded[48]).max() <= 3


@pytest.mark.parametrize("preset, subme", [("veryfast", 2), ("medium", 7)])
def test_the_encoding_reaches_x264(tmp_path, preset, subme):
    """x264 writes its settings into the stream; each preset has its own subpixel search depth."""
    out = tmp_path / "out.mp4"
    with VideoWriter(out, 25, encoding=Encoding(crf=21, preset=preset)) as writer:
        for i in range(3):
            writer.write(picture(i))
    settings = out.read_bytes()
    assert b"crf=21.0" in settings and f"subme={subme} ".encode() in settings


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="veryfast"):
        Encoding(preset="quick")


def test_a_video_starting_after_zero_keeps_exact_timestamps(tmp_path):
    """A resumed job's segments start mid-video; at 24 fps their times are not whole milliseconds, which
    the MP4 edit list rounded to before the movie's clock ran in the stream's time base."""
    out, time_base = tmp_path / "segment.mp4", Fraction(1, 12288)
    with VideoWriter(out, 24, time_base=time_base) as writer:
        for i in range(46, 52):
            writer.write(picture(i), Fraction(i, 24))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        times = sorted(p.pts * stream.time_base for p in container.demux(stream) if p.pts is not None)
    assert times == [Fraction(i, 24) for i in range(46, 52)]


def test_rotation_metadata_is_applied(tmp_path):
    src = make_clip(tmp_path / "phone.mp4", frames=3, rotation=-90)  # stored landscape, shown turned clockwise
    reader = open_video(src)
    image = next(iter(reader)).image
    assert (reader.rotation, reader.width, reader.height, image.shape) == (270, 48, 64, (64, 48, 3))
    assert np.abs(image.astype(int) - np.rot90(picture(0), -1)).mean() < 3


def test_frame_folders_in_and_out(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(12):
        Image.fromarray(picture(i)).save(frames / f"frame_{i:03d}.png")
    reader = open_video(frames, fps=12)
    assert (reader.is_folder, reader.frame_count, reader.fps, reader.duration) == (True, 12, 12, 1.0)
    assert [t for _, t in reader] == [Fraction(i, 12) for i in range(12)]
    assert np.array_equal(next(iter(reader)).image, picture(0))  # PNG in, exact pixels out

    assert is_folder_output(tmp_path / "stylized") and not is_folder_output(tmp_path / "a.mp4")
    for out in (tmp_path / "stylized", tmp_path / "existing_empty"):
        if out.name == "existing_empty":
            out.mkdir()
        with VideoWriter(out, reader.fps) as writer:
            for image, time in reader:
                writer.write(image, time)
        assert leftovers(out) == [f"{i:06d}.png" for i in range(1, 13)]
        assert np.array_equal(np.asarray(Image.open(out / "000012.png")), picture(11))
    assert open_video(tmp_path / "stylized").frame_count == 12
    with pytest.raises(VideoError, match="already holds images"):
        VideoWriter(tmp_path / "stylized", 12)  # never mixes frames with an earlier run's
    with pytest.raises(VideoError, match="cannot write '.avi'"):
        VideoWriter(tmp_path / "out.avi", 25)


def test_start_and_duration_trim_video_and_audio_alike(tmp_path):
    src = make_clip(tmp_path / "long.mp4", frames=50, audio="aac")  # 2 s
    reader, back = copy_video(src, tmp_path / "cut.mp4", start=0.48, duration=0.8)
    assert [t for _, t in reader] == [Fraction(i, 25) for i in range(20)]
    assert reader.duration == back.duration == pytest.approx(0.8)
    assert back.frame_count == 20
    assert np.abs(next(iter(reader)).image.astype(int) - picture(12)).mean() < 3  # the frame at 0.48 s
    assert audio_info(tmp_path / "cut.mp4")[1] == pytest.approx(0.8, abs=2 * 1024 / 16000)  # packet accuracy
    assert len(list(open_video(tmp_path / "cut.mp4", start=0.2))) == 15
    with pytest.raises(VideoError, match="no frames from 5 s on"):
        open_video(src, start=5)


def test_missing_and_unreadable_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="junk.mp4: not a readable video"):
        probe(junk)
    with pytest.raises(VideoError, match="audio only"):
        probe(make_audio_only(tmp_path / "song.m4a"))
    with pytest.raises(VideoError, match="no decodable video frames"):
        probe(make_empty_video(tmp_path / "empty.mkv"))
    with pytest.raises(VideoError, match="image folders only"):
        probe(make_clip(tmp_path / "a.mp4", frames=2), fps=10)
    (tmp_path / "no_images").mkdir()
    with pytest.raises(VideoError, match="holds no images"):
        probe(tmp_path / "no_images")


def test_truncated_files_error_or_give_their_decodable_frames(tmp_path):
    whole = make_clip(tmp_path / "whole.mp4", frames=50).read_bytes()  # index (moov) at the end
    (tmp_path / "cut.mp4").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(VideoError, match="re-export or re-download"):
        probe(tmp_path / "cut.mp4")

    front = make_clip(tmp_path / "front.mp4", frames=50, options={"movflags": "faststart"}).read_bytes()
    (tmp_path / "front_cut.mp4").write_bytes(front[: len(front) // 2])
    with pytest.warns(TruncatedVideoWarning, match="used the .* of 50 frames"):
        frames = list(probe(tmp_path / "front_cut.mp4"))
    assert 0 < len(frames) < 50
    (tmp_path / "front_stub.mp4").write_bytes(front[: len(front) // 20])
    with pytest.raises(VideoError, match="no decodable video frames"):
        probe(tmp_path / "front_stub.mp4")


@pytest.mark.parametrize("interrupt", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("name", ["out.mp4", "frames"])
def test_interrupted_write_leaves_no_output(tmp_path, interrupt, name):
    src = make_clip(tmp_path / "in.mp4", frames=60, audio="aac") if name.endswith(".mp4") else None
    before = leftovers(tmp_path)
    with pytest.raises(interrupt):
        with VideoWriter(tmp_path / name, 25, audio_from=src) as writer:
            for i in range(55):  # past x264's lookahead, so packets are already in the file
                writer.write(picture(i))
            raise interrupt()
    assert leftovers(tmp_path) == before  # no output and no temporary file


def test_bad_outputs_fail_before_any_work(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "out.mp4", 25)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if not os.access(locked, os.W_OK):  # root can write anywhere
        with pytest.raises(OutputError, match="not writable"):
            VideoWriter(locked / "out.mp4", 25)
    with pytest.raises(VideoError, match="no frames were written"):
        with VideoWriter(tmp_path / "empty.mp4", 25):
            pass
    with pytest.raises(VideoError, match="frame 2 is 32x32 but the video is 64x48"):
        with VideoWriter(tmp_path / "sizes.mp4", 25) as writer:
            writer.write(picture(0))
            writer.write(picture(1, 32, 32))
    assert not (tmp_path / "empty.mp4").exists() and not (tmp_path / "sizes.mp4").exists()


def resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_frames_are_streamed_not_held(tmp_path):
    """200 frames of 320x240 are 46 MB if held (PyAV's arrays live in FFmpeg memory, which
    tracemalloc cannot see, hence resident memory); streaming keeps it flat after warm-up."""
    reader = open_video(make_clip(tmp_path / "long.mkv", frames=200, width=320, height=240))
    growth = 0
    for i, _ in enumerate(reader):
        if i == 20:
            warm = resident_bytes()
        elif i > 20:
            growth = max(growth, resident_bytes() - warm)
    assert i == 199
    assert growth < 10e6


def test_clean_file_gives_no_truncation_warning(tmp_path):
    src = make_clip(tmp_path / "ok.mp4", frames=10, audio="aac")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(open_video(src))) == 10


def test_frame_folders_apply_exif_orientation(tmp_path):
    frames = tmp_path / "portrait_frames"
    frames.mkdir()
    for i in range(2):
        phone_jpeg(frames / f"{i}.jpg")  # stored 130x90, shown 90x130
    reader = open_video(frames)
    image = next(iter(reader)).image
    assert (reader.width, reader.height, image.shape) == (90, 130, (130, 90, 3))
    assert np.abs(image[:8, -8:].astype(int) - (255, 0, 0)).mean() < 25  # the red corner, now top right
