"""Full disks and awkward names end in a message naming the file, exit 2 and nothing half-written (issue 34):
output names are checked up front with their temporary suffix, long work checks free space first, and a disk
that fills meanwhile (a real one: a small tmpfs) loses nothing under a final name."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch
from PIL import Image
from videos import make_clip, picture

from steadystyle.atomic import NAME_EXTRA, OutputError
from steadystyle.cli import main
from steadystyle.models import save_model
from steadystyle.networks import SLIM, TransformNet
from steadystyle.paintings import painting_path
from steadystyle.training._checkpoint import save_checkpoint


@pytest.fixture
def disk(tmp_path) -> Path:
    """A 16 MB file system of its own (tmpfs; mounting needs root, as the tests run here)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def fill(disk: Path, leave: int) -> None:
    """Take all but about `leave` bytes of the disk."""
    import shutil

    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave))


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_model(TransformNet(SLIM), tmp_path_factory.mktemp("m") / "slim.safetensors", "test")


@pytest.mark.slow
def test_a_video_that_fills_the_disk_is_a_message_and_leaves_nothing(disk, tmp_path, model, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=40, width=128, height=96)
    before = clip.read_bytes()
    fill(disk, 200_000)  # passes the free-space estimate; lossless frames take more
    out = disk / "out.mp4"
    assert main(["stylize", str(clip), "-s", str(model), "-o", str(out), "--crf", "0", "-q"]) == 2
    err = capsys.readouterr().err
    assert "the disk is full" in err and str(disk) in err and "Traceback" not in err
    assert not out.exists() and not any(".part" in name or name.endswith(".lock") for name in _files(disk))
    assert clip.read_bytes() == before


def test_an_image_and_a_training_checkpoint_on_a_full_disk_are_messages(disk, tmp_path, model, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(picture(0, 256, 192)).save(photo)
    fill(disk, 20_000)
    assert main(["stylize", str(photo), "-s", str(model), "-o", str(disk / "out.png")]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {disk / 'out.png'}: the disk is full" in err and "Traceback" not in err
    assert _files(disk) == ["filler"]

    # Training checks for room for two checkpoints and the model before it builds anything ...
    content = tmp_path / "content"
    content.mkdir()
    Image.fromarray(picture(1, 96, 72)).save(content / "a.jpg")
    train = ["train", "image", "--painting", str(painting_path("wave")), "--content", str(content), "--size", "32",
             "--painting-size", "48", "--steps", "1", "-q", "-o", str(disk / "m.safetensors")]
    assert main(train) == 2
    err = capsys.readouterr().err
    assert "MB free in" in err and "training's checkpoints and model" in err and "Traceback" not in err
    assert _files(disk) == ["filler"]
    # ... and a checkpoint that meets a disk filled meanwhile (torch.save's own error says "unexpected pos")
    # is a message too, leaving the previous checkpoint as it was.
    checkpoint = disk / "checkpoint.pt"
    save_checkpoint(checkpoint, "image", {}, {"w": torch.zeros(10)}, {}, {}, 1, 1.0)
    with pytest.raises(OutputError, match=f"cannot write {checkpoint}: the disk is full"):
        save_checkpoint(checkpoint, "image", {}, {"w": torch.zeros(100_000)}, {}, {}, 2, 2.0)
    assert torch.load(checkpoint, weights_only=True)["step"] == 1 and _files(disk) == ["checkpoint.pt", "filler"]


@pytest.mark.slow
def test_a_video_larger_than_the_free_space_is_refused_before_any_work(disk, tmp_path, model, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=200, width=320, height=240)  # ~3 MB by the estimate
    fill(disk, 1_000_000)
    assert main(["stylize", str(clip), "-s", str(model), "-o", str(disk / "out.mp4"), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {disk / 'out.mp4'}" in err and "MB free" in err and "200 frames of 320x240" in err
    assert _files(disk) == ["filler"]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["image", "video"])
def test_a_name_too_long_with_its_temporary_suffix_fails_before_any_work(tmp_path, model, capsys, command):
    photo = tmp_path / "photo.png"
    Image.fromarray(picture(0)).save(photo)
    source = photo if command == "image" else make_clip(tmp_path / "clip.mp4", frames=3)
    suffix = ".png" if command == "image" else ".mp4"
    longest = "n" * (255 - NAME_EXTRA - len(suffix)) + suffix  # 240 bytes: its temporary file's name has 255
    if command == "video":
        longest = longest[len(".json"):]  # and so has the temporary of its sidecar, OUT.json
    too_long = "n" + longest
    before = _files(tmp_path)
    assert main(["stylize", str(source), "-s", str(model), "-o", str(tmp_path / too_long), "-q"]) == 2
    err = capsys.readouterr().err
    assert too_long in err and "its name is" in err and "shorter name" in err and "Traceback" not in err
    assert _files(tmp_path) == before
    assert main(["stylize", str(source), "-s", str(model), "-o", str(tmp_path / longest), "-q"]) == 0
    assert (tmp_path / longest).is_file()
