"""Video outputs survive concurrent runs, killed runs and damaged work folders (issue 34): a second run on
the same output stops at once naming the first, a dead run's lock and temporary files are cleared by the
next, and a resume trusts nothing it reads unchecked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import save_file
from videos import make_clip

from steadystyle.cli import main
from steadystyle.locks import lock_path
from steadystyle.video import CHECKPOINT, open_video, read_sidecar, work_folder

ARGS = ["-s", "starry_night", "-q"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=60, audio="aac")


def _command(clip: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "steadystyle", "stylize", str(clip), "-o", str(out), *ARGS, *extra]


def _assert_whole(out: Path, frames: int = 60) -> None:
    """The output holds every frame once, its sidecar says so, and nothing else is left beside it."""
    assert len(list(open_video(out))) == frames and read_sidecar(out)["frames"] == frames
    assert sorted(p.name for p in out.parent.iterdir() if out.stem in p.name) == [out.name, out.name + ".json"]


@pytest.mark.slow
def test_a_second_run_on_the_same_output_stops_at_once_and_the_first_completes(tmp_path):
    clip = make_clip(tmp_path / "long.mp4", frames=300, width=160, height=120)  # ~30 s: time for 3 refusals
    out = tmp_path / "out.mp4"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(_command(clip, out, "--checkpoint-every", "0"), stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        deadline = time.monotonic() + 300
        while not (work_folder(out) / CHECKPOINT).exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()[1]
        # The user presses Enter twice; a script retries with --resume (as a leftover job's message says),
        # or with --restart (which would discard the first run's work): all at once, while the first runs.
        others = [subprocess.Popen(_command(clip, out, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=env) for extra in ([], ["--resume"], ["--restart"])]
        for other in others:
            _, err = other.communicate(timeout=300)
            assert other.returncode == 2, err
            assert f"writing {out}: another run is at it (process {first.pid} since" in err and "Traceback" not in err
        assert first.poll() is None  # the refusals came while the first run went on
        assert first.wait(timeout=600) == 0, first.communicate()[1]
    finally:
        first.kill()
        first.communicate()
    _assert_whole(out, 300)
    assert not lock_path(out).exists() and not work_folder(out).exists()


@pytest.mark.slow
def test_what_a_killed_run_left_is_cleared_by_the_next(clip, tmp_path):
    """A lock file whose process is gone, the temporary files of a join and a sidecar cut off by a kill, and a
    work folder whose checkpoint was already removed: the next run takes over and leaves only its result."""
    out = tmp_path / "out.mp4"
    lock_path(out).write_text(json.dumps({"pid": 999_999_999, "since": "yesterday", "command": "killed"}))
    (tmp_path / ".out.k1ll3d_x.part.mp4").write_bytes(b"half a join")
    (tmp_path / ".out.mp4.k1ll3d_y.part.json").write_text("{")
    work_folder(out).mkdir()
    (work_folder(out) / "00003.mp4").write_bytes(b"a segment of a finished job")
    unrelated = tmp_path / ".other.k1ll3d_z.part.mp4"  # another output's: not this run's to remove
    unrelated.write_bytes(b"")
    assert main(["stylize", str(clip), "-o", str(out), *ARGS]) == 0
    _assert_whole(out)
    assert not lock_path(out).exists() and not work_folder(out).exists() and unrelated.exists()


@pytest.fixture
def interrupted(clip, tmp_path, monkeypatch, interrupt_after) -> Path:
    """An output whose run was stopped after 20 frames, with a segment per frame in its work folder: 16 at
    least, since the interrupt drops what waits in the encoder's queue (4 frames, redone on resume)."""
    import steadystyle.stylize as stylize_module

    out = tmp_path / "out.mp4"
    interrupt_after(stylize_module, 20)
    assert main(["stylize", str(clip), "-o", str(out), *ARGS, "--checkpoint-every", "0"]) == 130
    monkeypatch.undo()
    assert len(list(work_folder(out).glob("*.mp4"))) >= 16
    return out


def _rewrite_checkpoint(out: Path, change) -> None:
    path = work_folder(out) / CHECKPOINT
    with safe_open(str(path), "pt") as f:
        info, tensors = json.loads(f.metadata()["job"]), {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(path), metadata={"job": json.dumps(change(info))})


def _segment(out: Path, index: int) -> Path:
    return work_folder(out) / f"{index:05d}.mp4"


DAMAGE = {
    "checkpoint without its fingerprint": (lambda out: _rewrite_checkpoint(out, lambda i: {
        k: v for k, v in i.items() if k != "fingerprint"}), CHECKPOINT, "field 'fingerprint' is missing"),
    "checkpoint counting more frames": (lambda out: _rewrite_checkpoint(out, lambda i: {**i, "frames": i["frames"] + 5}),
                                        CHECKPOINT, "segments hold"),
    "checkpoint with a negative count": (lambda out: _rewrite_checkpoint(out, lambda i: {**i, "segments": -1}),
                                         CHECKPOINT, "do not fit together"),
    "checkpoint with text for a time": (lambda out: _rewrite_checkpoint(out, lambda i: {**i, "time": "soon"}),
                                        CHECKPOINT, "is no number"),
    "truncated segment": (lambda out: _segment(out, 3).write_bytes(_segment(out, 3).read_bytes()[:900]),
                          "00003.mp4", "cut short"),
    "missing segment": (lambda out: _segment(out, 5).unlink(), "00005.mp4", "is missing"),
    "segment that is no video": (lambda out: _segment(out, 0).write_bytes(b"\0" * 3000), "00000.mp4", "unreadable"),
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_work_folder_is_named_and_restart_starts_over(interrupted, clip, capsys, damage):
    out = interrupted
    spoil, culprit, says = DAMAGE[damage]
    spoil(out)
    capsys.readouterr()
    assert main(["stylize", str(clip), "-o", str(out), *ARGS, "--resume"]) == 2
    err = capsys.readouterr().err
    assert str(work_folder(out) / culprit) in err and says in err and "--restart" in err and "Traceback" not in err
    assert not out.exists() and not lock_path(out).exists()
    assert main(["stylize", str(clip), "-o", str(out), *ARGS, "--restart"]) == 0
    _assert_whole(out)
