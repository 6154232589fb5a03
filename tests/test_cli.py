"""The command line: outputs of the right size, and bad input that fails clearly, with no output left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from steadystyle.cli import main
from steadystyle.models import save_model
from steadystyle.networks import FULL, SLIM, TransformNet


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_model(TransformNet(SLIM), tmp_path_factory.mktemp("m") / "slim.safetensors", "test")


@pytest.fixture
def photo(tmp_path) -> Path:
    import skimage.data

    path = tmp_path / "coffee.png"
    Image.fromarray(skimage.data.coffee()).resize((90, 60)).save(path)
    return path


def run(*argv: str) -> int:
    return main([str(a) for a in argv])


def test_stylize_writes_the_right_size(model_file, photo, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert run("stylize", photo, "-s", model_file, "-o", out) == 0
    assert Image.open(out).size == (90, 60)
    assert run("stylize", photo, "-s", model_file, "-o", tmp_path / "small.jpg", "--max-side", "45",
               "--strength", "0.5", "--preserve-color") == 0
    assert Image.open(tmp_path / "small.jpg").size == (45, 30)


def test_strength_zero_returns_the_original(model_file, photo, tmp_path):
    out = tmp_path / "same.png"
    assert run("stylize", photo, "-s", model_file, "-o", out, "--strength", "0") == 0
    diff = np.abs(np.asarray(Image.open(out), dtype=int) - np.asarray(Image.open(photo), dtype=int))
    assert diff.max() <= 1


def test_several_inputs_go_to_a_folder(model_file, photo, tmp_path):
    other = tmp_path / "other.jpg"
    Image.open(photo).save(other)
    assert run("stylize", photo, other, "-s", model_file, "-o", tmp_path / "outs") == 0
    assert sorted(p.name for p in (tmp_path / "outs").iterdir()) == ["coffee.png", "other.png"]


def test_unusual_images_are_converted(model_file, tmp_path):
    """Grayscale and 16-bit images come out as RGB; an RGBA cut-out keeps its alpha."""
    gray = tmp_path / "gray.png"
    Image.fromarray((np.arange(48 * 64).reshape(48, 64) % 256).astype(np.uint8)).save(gray)
    deep = tmp_path / "deep.png"
    Image.fromarray((np.arange(48 * 64).reshape(48, 64) * 20).astype(np.uint16)).save(deep)
    rgba = tmp_path / "rgba.png"
    arr = np.zeros((48, 64, 4), np.uint8)
    arr[..., 3] = 255
    arr[:, :20, 3] = 0
    Image.fromarray(arr).save(rgba)
    for src in (gray, deep, rgba):
        out = tmp_path / f"out_{src.name}"
        assert run("stylize", src, "-s", model_file, "-o", out) == 0
        im = Image.open(out)
        assert im.size == (64, 48)
        assert im.mode == ("RGBA" if src == rgba else "RGB")
    alpha = np.asarray(Image.open(tmp_path / "out_rgba.png"))[..., 3]
    assert alpha[:, :19].max() == 0 and alpha[:, 21:].min() == 255


def _bad_inputs(tmp_path: Path, photo: Path) -> dict[str, Path]:
    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image")
    truncated = tmp_path / "truncated.jpg"
    Image.open(photo).convert("RGB").save(tmp_path / "full.jpg")
    truncated.write_bytes((tmp_path / "full.jpg").read_bytes()[:600])
    return {"missing": tmp_path / "missing.png", "not an image": text, "truncated": truncated}


def test_bad_images_fail_clearly_with_no_output(model_file, photo, tmp_path, capsys):
    for why, bad in _bad_inputs(tmp_path, photo).items():
        out = tmp_path / f"out_{bad.stem}.png"
        assert run("stylize", bad, "-s", model_file, "-o", out) == 2, why
        err = capsys.readouterr().err
        assert str(bad) in err and "error" in err, why
        assert not out.exists(), why
    # One bad input among good ones: nothing is written at all.
    assert run("stylize", photo, tmp_path / "missing.png", "-s", model_file, "-o", tmp_path / "batch") == 2
    assert not (tmp_path / "batch").exists() or not any((tmp_path / "batch").iterdir())


def test_bad_models_fail_clearly_with_no_output(model_file, photo, tmp_path, capsys):
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    # A file whose metadata says "slim" but whose tensors are the full network's.
    other = tmp_path / "other.safetensors"
    meta_src = save_model(TransformNet(FULL), tmp_path / "full.safetensors", "full")
    from safetensors import safe_open

    with safe_open(str(model_file), "pt") as f:
        meta = f.metadata()
    save_file(load_file(str(meta_src)), str(other), metadata=meta)
    cases = {truncated: "truncated", other: "do not match", tmp_path / "none.safetensors": "does not exist",
             "no_such_style": "shipped styles"}
    for bad, message in cases.items():
        out = tmp_path / "out.png"
        assert run("stylize", photo, "-s", bad, "-o", out) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()


def test_unwritable_output_fails_before_work(model_file, photo, tmp_path, capsys):
    assert run("stylize", photo, "-s", model_file, "-o", tmp_path / "no" / "such" / "dir.png") == 2
    assert "does not exist" in capsys.readouterr().err


def test_optimize_image_json(photo, shared_data, tmp_path, capsys):
    out = tmp_path / "gatys.png"
    code = run("optimize", "image", photo, shared_data / "styles" / "wave.jpg", "-o", out, "--size", "48",
               "--iters", "5", "--json", "-q")
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert {"style", "content", "tv", "total"} <= set(result) and result["style"] > 0
    assert Image.open(out).size[0] == 48


def test_weights_json_and_export(capsys, tmp_path):
    assert run("weights", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["conv1_1"] == [64, 3, 3, 3] and len(info["checksum"]) == 16
    exported = tmp_path / "vgg16.pth"
    assert run("weights", "--export", exported) == 0
    capsys.readouterr()
    assert run("weights", "--vgg-weights", exported, "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["source"] == "torchvision state dict" and again["checksum"] != info["checksum"]


def test_module_entry_point_and_help():
    result = subprocess.run([sys.executable, "-m", "steadystyle", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "stylize" in result.stdout and "train" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "steadystyle", "stylize"], capture_output=True, text=True)
    assert bad.returncode == 2 and "required" in bad.stderr
