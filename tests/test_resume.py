"""Resumable video jobs (issue 13): an interrupted `stylize` continues from its last checkpoint and the
finished file is the one an uninterrupted run makes: same frames, timestamps and sound."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from videos import audio_info

from steadystyle.cli import main
from steadystyle.video import CHECKPOINT, SAMPLE_CLIP, open_video, sidecar_path, work_folder

# Small frames so the whole sample clip (132 frames, with sound) runs in seconds; lossless H.264, so
# the comparison with an uninterrupted run is exact rather than "up to encoder noise".
ARGS = ["-s", "starry_night", "--max-side", "96", "--crf", "0", "-q"]


def _stylize(out: Path, *extra: str) -> int:
    return main(["stylize", "sample", "-o", str(out), *ARGS, *extra])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("reference") / "whole.mp4"
    assert _stylize(out) == 0
    return out


def _assert_same_video(resumed: Path, reference: Path) -> None:
    a, b = list(open_video(reference)), list(open_video(resumed))
    assert len(b) == len(a) == 132  # every frame exactly once
    assert [f.time for f in b] == [f.time for f in a]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    assert audio_info(resumed) == audio_info(reference) == audio_info(SAMPLE_CLIP)  # codec, seconds, packets
    with av.open(str(resumed)) as r, av.open(str(reference)) as w:
        assert r.duration == w.duration
    assert not work_folder(resumed).exists() and sidecar_path(resumed).is_file()


@pytest.mark.slow
def test_a_run_stopped_midway_resumes_to_the_uninterrupted_video(tmp_path, reference, capsys, monkeypatch,
                                                                 interrupt_after):
    out = tmp_path / "out.mp4"
    import steadystyle.stylize as stylize_module

    interrupt_after(stylize_module, 50)
    assert _stylize(out, "--checkpoint-every", "0") == 130
    assert "--resume" in capsys.readouterr().err
    monkeypatch.undo()
    assert not out.exists() and (work_folder(out) / CHECKPOINT).is_file()

    # Without --resume the leftover job is an error that says how to go on; nothing is touched.
    before = sorted(p.name for p in work_folder(out).iterdir())
    assert _stylize(out) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "--restart" in err and str(work_folder(out)) in err
    assert sorted(p.name for p in work_folder(out).iterdir()) == before

    # Another style (or other options) cannot continue it.
    assert main(["stylize", "sample", "-o", str(out), *ARGS[2:], "-s", "wave", "--resume"]) == 2
    assert "different style" in capsys.readouterr().err
    assert main(["stylize", "sample", "-o", str(out), *ARGS, "--strength", "0.5", "--resume"]) == 2
    assert "--strength" in capsys.readouterr().err
    assert main(["stylize", "sample", "-o", str(out), *ARGS, "--preset", "medium", "--resume"]) == 2
    assert "--preset (veryfast then, medium now)" in capsys.readouterr().err

    assert _stylize(out, "--resume") == 0
    assert "132 frames" in capsys.readouterr().out
    _assert_same_video(out, reference)


@pytest.mark.slow
def test_a_killed_process_resumes_to_the_uninterrupted_video(tmp_path, reference):
    out = tmp_path / "out.mp4"
    checkpoint = work_folder(out) / CHECKPOINT
    command = [sys.executable, "-m", "steadystyle", "stylize", "sample", "-o", str(out), *ARGS,
               "--checkpoint-every", "0.2"]
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}  # bf16 sums depend on the thread count
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 600
        while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        _, err = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, err.decode()
    assert not out.exists() and checkpoint.is_file()

    assert _stylize(out, "--resume") == 0
    _assert_same_video(out, reference)


@pytest.mark.slow
def test_restart_discards_a_leftover_job_and_resume_without_one_starts_afresh(tmp_path, reference):
    out = tmp_path / "out.mp4"
    work_folder(out).mkdir()
    (work_folder(out) / CHECKPOINT).write_bytes(b"not a checkpoint")
    assert _stylize(out, "--resume") == 2  # damaged: says to restart
    assert _stylize(out, "--restart") == 0
    _assert_same_video(out, reference)
    fresh = tmp_path / "fresh.mp4"
    assert _stylize(fresh, "--resume") == 0
    _assert_same_video(fresh, reference)


def test_resume_and_restart_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["stylize", "sample", "-o", str(tmp_path / "x.mp4"), *ARGS, "--resume", "--restart"])
    assert exit_.value.code == 2 and "not allowed with" in capsys.readouterr().err


@pytest.mark.slow
def test_optimize_video_resumes_after_an_interruption(tmp_path, monkeypatch, interrupt_after):
    import skimage.data
    from PIL import Image
    from videos import make_clip

    import steadystyle.optimize as optimize_module

    clip = make_clip(tmp_path / "clip.mp4", frames=5, width=64, height=48, audio="aac")
    Image.fromarray(skimage.data.astronaut()[::8, ::8]).save(tmp_path / "painting.png")

    def optimize(out: Path, *extra: str) -> int:
        return main(["optimize", "video", str(clip), str(tmp_path / "painting.png"), "-o", str(out), "--size", "48",
                     "--iters", "3", "--first-iters", "4", "--crf", "0", "-q", *extra])

    whole, out = tmp_path / "whole.mp4", tmp_path / "out.mp4"
    assert optimize(whole) == 0
    interrupt_after(optimize_module, 3)
    assert optimize(out, "--checkpoint-every", "0") == 130
    monkeypatch.undo()
    assert not out.exists() and (work_folder(out) / CHECKPOINT).is_file()
    assert optimize(out) == 2  # a leftover job
    assert optimize(out, "--resume", "--iters", "4") == 2  # other settings
    assert optimize(out, "--resume") == 0
    a, b = list(open_video(whole)), list(open_video(out))
    assert len(b) == 5 and [f.time for f in b] == [f.time for f in a]
    assert max(np.abs(x.image.astype(int) - y.image.astype(int)).max() for x, y in zip(a, b)) <= 1
    assert audio_info(out) == audio_info(whole) and not work_folder(out).exists()
