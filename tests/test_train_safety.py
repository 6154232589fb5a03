"""Training work folders are safe to share and to run twice: a planted checkpoint runs no code, a damaged
one is refused naming it, and a second run on the same folder stops at once, naming the first."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from steadystyle.cli import main
from steadystyle.locks import lock_path
from steadystyle.paintings import painting_path


class Payload:
    """What a hostile checkpoint holds: unpickling it creates `marker` (torch.load without weights_only runs it)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory) -> Path:
    import skimage.data

    folder = tmp_path_factory.mktemp("content")
    for name in ("astronaut", "coffee"):
        Image.fromarray(getattr(skimage.data, name)()).resize((96, 72)).save(folder / f"{name}.jpg")
    return folder


def _train(out: Path, content: Path, *extra: str) -> list[str]:
    return ["train", "image", "--painting", str(painting_path("wave")), "--content", str(content), "--size", "32",
            "--painting-size", "48", "--arch", "slim", "-o", str(out), "-q", *extra]


@pytest.mark.slow
def test_a_planted_checkpoint_is_refused_and_its_payload_never_runs(tmp_path, content_dir, capsys):
    marker = tmp_path / "payload-ran"
    for command in ("image", "style"):
        out = tmp_path / command / "m.safetensors"
        work = out.with_name("m-train") if command == "image" else out.with_name("m-per-frame-train")
        work.mkdir(parents=True)
        torch.save({"step": 1, "net": Payload(marker)}, work / "checkpoint.pt")
        argv = _train(out, content_dir, "--steps", "2", "--resume") if command == "image" else [
            "train", "style", "--painting", str(painting_path("wave")), "--content", str(content_dir), "--size",
            "32", "--arch", "slim", "--image-steps", "2", "--video-steps", "2", "-o", str(out), "-q"]
        assert main(argv) == 2  # `train style` continues a checkpointed stage by itself
        err = capsys.readouterr().err
        assert str(work / "checkpoint.pt") in err and "could run code" in err and f"delete {work}" in err
        assert "Traceback" not in err and not marker.exists() and not out.exists()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(work / "checkpoint.pt", weights_only=True)
    torch.load(work / "checkpoint.pt", weights_only=False)  # the payload is live: loaded unsafely, it runs
    assert marker.exists()


@pytest.mark.parametrize("damage, says", [
    ("truncated", "not a readable checkpoint"),
    ("no step", "field 'step' is missing"),
    ("step is text", "field 'step' is str"),
    ("weights are not tensors", "not all named tensors"),
    ("a list", "a list instead of a dict"),
    ("foreign config", "settings this version does not know"),
])
@pytest.mark.slow
def test_a_damaged_checkpoint_is_refused_naming_it(tmp_path, content_dir, capsys, damage, says):
    out = tmp_path / "m.safetensors"
    assert main(_train(out, content_dir, "--steps", "1")) == 0
    checkpoint = out.with_name("m-train") / "checkpoint.pt"
    state = torch.load(checkpoint, weights_only=True)
    if damage == "truncated":
        checkpoint.write_bytes(checkpoint.read_bytes()[:5000])
    else:
        changed = {"no step": {k: v for k, v in state.items() if k != "step"}, "step is text": {**state, "step": "1"},
                   "weights are not tensors": {**state, "net": {"w": [1, 2]}}, "a list": [state],
                   "foreign config": {**state, "config": {**state["config"], "gpu_fans": 3}}}[damage]
        torch.save(changed, checkpoint)
    before = checkpoint.read_bytes()
    assert main(_train(out, content_dir, "--steps", "2", "--resume")) == 2
    err = capsys.readouterr().err
    assert str(checkpoint) in err and says in err and "start afresh" in err and "Traceback" not in err
    assert checkpoint.read_bytes() == before


@pytest.mark.slow
def test_a_second_run_on_a_work_folder_stops_at_once_and_a_dead_runs_lock_is_taken_over(tmp_path, content_dir):
    out = tmp_path / "m.safetensors"
    work, lock = out.with_name("m-train"), lock_path(out.with_name("m-train"))
    first = subprocess.Popen([sys.executable, "-m", "steadystyle", *_train(out, content_dir, "--steps", "100000",
                                                                                "--checkpoint-minutes", "0.0001")],
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (work / "checkpoint.pt").is_file() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.poll() is None, first.communicate()[1]
        started = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "steadystyle", *_train(out, content_dir, "--steps", "3",
                                                                             "--resume")],
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert f"process {first.pid} since" in second.stderr and str(work) in second.stderr
        assert time.monotonic() - started < 60  # at once: no model, no painting, no data loaded first
    finally:
        first.kill()
        first.communicate()
    assert lock.is_file()  # SIGKILL left the lock file, but the OS released its lock
    assert main(_train(out, content_dir, "--steps", "3", "--resume")) == 0
    assert out.is_file() and not lock.exists()
