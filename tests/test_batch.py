"""Many videos in one run: one output each in a folder, a broken file that does not stop the others, and a
re-run that skips what is finished and resumes what is not."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from steadystyle.cli import main
from steadystyle.video import read_sidecar
from videos import make_clip


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    make_clip(folder / "a.mp4", frames=10, width=96, height=64)
    make_clip(folder / "b.mov", frames=7, width=80, height=48, audio="aac")
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    (folder / "notes.txt").write_text("not a video: left alone")
    return folder


def _frames(path: Path) -> int:
    with av.open(str(path)) as video:
        return sum(1 for _ in video.decode(video=0))


@pytest.mark.slow
def test_a_folder_of_videos_each_into_the_output_folder_and_a_broken_one_does_not_stop_them(clips, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["stylize", str(clips), "-s", "udnie", "-o", str(out), "-q"]) == 1  # one failed
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.mp4")) == ["a.mp4", "b.mp4"]
    assert _frames(out / "a.mp4") == 10 and _frames(out / "b.mp4") == 7
    assert "broken.mp4" in printed and "failed: " in printed and "not a readable video" in printed
    assert "2 of 3 videos" in printed

    # Again: the finished ones are skipped, untouched; other options make them anew.
    made = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    (clips / "broken.mp4").unlink()
    assert main(["stylize", str(clips / "*.mp4"), str(clips / "b.mov"), "-s", "udnie", "-o", str(out), "-q"]) == 0
    assert capsys.readouterr().out.count("skipped") == 2
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == made
    assert main(["stylize", str(clips / "a.mp4"), str(clips / "b.mov"), "-s", "udnie", "--strength", "0.5",
                 "-o", str(out), "-q"]) == 0
    assert read_sidecar(out / "a.mp4")["made_from"]["--strength"] == "0.5"


@pytest.mark.slow
def test_an_interrupted_batch_resumes_where_it_stopped(clips, tmp_path, interrupt_after, monkeypatch, capsys):
    import steadystyle.stylize as stylize_module

    (clips / "broken.mp4").unlink()
    out = tmp_path / "out"
    args = ["stylize", str(clips), "-s", "udnie", "-o", str(out), "-q", "--checkpoint-every", "0"]
    interrupt_after(stylize_module, 13)  # a.mp4's 10 frames, then 3 of b.mov's
    assert main(args) == 130
    monkeypatch.undo()
    assert (out / "a.mp4").is_file() and not (out / "b.mp4").exists()
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "skipped" in printed and _frames(out / "b.mp4") == 7
    assert read_sidecar(out / "b.mp4")["frames"] == 7


@pytest.mark.slow
def test_an_interrupted_video_rerun_with_other_options_is_made_anew(clips, tmp_path, interrupt_after, monkeypatch):
    import steadystyle.stylize as stylize_module

    (clips / "broken.mp4").unlink()
    out = tmp_path / "out"
    args = ["stylize", str(clips), "-s", "udnie", "-o", str(out), "-q", "--checkpoint-every", "0"]
    interrupt_after(stylize_module, 13)
    assert main(args) == 130
    monkeypatch.undo()
    assert main([*args, "--strength", "0.5"]) == 0  # its leftover job had other options: not an error
    assert read_sidecar(out / "b.mp4")["made_from"]["--strength"] == "0.5" and _frames(out / "b.mp4") == 7


def test_clashing_names_and_a_file_as_the_output_folder_are_refused(clips, tmp_path, capsys):
    make_clip(clips / "a.mov", frames=3)
    assert main(["stylize", str(clips / "a.mp4"), str(clips / "a.mov"), "-s", "udnie", "-o", str(tmp_path / "o")]) == 2
    assert "would both become" in capsys.readouterr().err
    assert main(["stylize", str(clips / "a.mp4"), str(clips / "b.mov"), "-s", "udnie", "-o", str(tmp_path / "o.mp4")]) == 2
    assert "give a folder name" in capsys.readouterr().err
    assert main(["stylize", str(clips), str(clips / "notes.txt"), "-s", "udnie", "-o", str(tmp_path / "o")]) == 2
    assert "a batch takes videos only" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
