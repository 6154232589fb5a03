"""The command line: outputs of the right size, and bad input that fails clearly, with no output left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from steadystyle.cli import build_parser, main
from steadystyle.cli import train as train_command
from steadystyle.cli.stylize import options as stylize_options
from steadystyle.images import MIN_SIDE, load_rgb
from steadystyle.models import save_model
from steadystyle.networks import FULL, PRESETS, SLIM, TransformNet
from steadystyle.paintings import painting_path
from steadystyle.stylize import StylizeOptions
from steadystyle.training import TrainConfig, VideoTrainConfig, suggest_temporal_weight

from videos import make_clip, phone_jpeg, picture


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


@pytest.mark.slow
def test_optimize_image_json(photo, tmp_path, capsys):
    out = tmp_path / "gatys.png"
    code = run("optimize", "image", photo, painting_path("wave"), "-o", out, "--size", "48",
               "--iters", "5", "--json", "-q")
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert {"style", "content", "tv", "total"} <= set(result) and result["style"] > 0
    assert Image.open(out).size[0] == 48


@pytest.mark.slow
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


@pytest.mark.slow
def test_module_entry_point_and_help():
    result = subprocess.run([sys.executable, "-m", "steadystyle", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "stylize" in result.stdout and "train" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "steadystyle", "stylize"], capture_output=True, text=True)
    assert bad.returncode == 2 and "required" in bad.stderr


def test_exif_orientation_is_applied(model_file, tmp_path):
    """A phone portrait stored sideways (EXIF orientation 6) comes out upright, as the viewer shows it."""
    photo = phone_jpeg(tmp_path / "portrait.jpg")  # stored 130x90
    assert Image.open(photo).size == (130, 90)
    upright = load_rgb(photo)
    assert upright.shape == (3, 130, 90)
    assert upright[:, :8, -8:].mean(dim=(1, 2)).tolist() == pytest.approx([1, 0, 0], abs=0.1)  # red, top right
    assert run("stylize", photo, "-s", model_file, "-o", tmp_path / "out.png") == 0
    assert Image.open(tmp_path / "out.png").size == (90, 130)


def _tiny_inputs(tmp_path: Path) -> dict[str, tuple[Path, list[str], str]]:
    """input, extra arguments, the size the message must give."""
    tiny = tmp_path / "tiny.png"
    Image.fromarray(picture(0, 3, 3)).save(tiny)
    strip = tmp_path / "strip.png"
    Image.fromarray(picture(0, 200, 20)).save(strip)
    folder = tmp_path / "tiny_frames"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(picture(i, 12, 4)).save(folder / f"{i}.png")
    return {"3x3 image": (tiny, [], "3x3 px"),
            "shrunk by --max-side": (strip, ["--max-side", "64"], "64x6 px once its longer side is shrunk to 64"),
            "8x8 video": (make_clip(tmp_path / "tiny.mp4", frames=3, width=8, height=8), [], "8x8 px"),
            "frame folder of 12x4 frames": (folder, [], "12x4 px")}


def test_images_too_small_for_the_network_fail_clearly(model_file, tmp_path, capsys):
    for why, (src, extra, size) in _tiny_inputs(tmp_path).items():
        out = tmp_path / ("out.mp4" if src.suffix in {".mp4", ""} else "out.png")
        assert run("stylize", src, "-s", model_file, "-o", out, "-q", *extra) == 2, why
        err = capsys.readouterr().err
        assert src.name in err and size in err and f"at least {MIN_SIDE} px" in err, why
        assert "Traceback" not in err and not out.exists(), why


def test_the_smallest_allowed_image_is_stylized(model_file, tmp_path):
    square = tmp_path / "square.png"
    Image.fromarray(picture(0, MIN_SIDE, MIN_SIDE)).save(square)
    assert run("stylize", square, "-s", model_file, "-o", tmp_path / "out.png") == 0
    assert Image.open(tmp_path / "out.png").size == (MIN_SIDE, MIN_SIDE)


# --- options reach the API as its own option objects -------------------------------------------------------

def test_precision_and_compile_flags_reach_the_stylize_options(model_file, photo, tmp_path, capsys):
    argv = ["stylize", "in.png", "-s", "m"]
    parse = build_parser().parse_args
    assert stylize_options(parse(argv)) == StylizeOptions()  # the command's defaults are the API's
    assert stylize_options(parse([*argv, "--bf16"])).precision == "bf16"  # the old flag, kept hidden
    chosen = stylize_options(parse([*argv, "--precision", "fp32", "--compile"]))
    assert (chosen.precision, chosen.compile) == ("fp32", True)
    assert not stylize_options(parse([*argv, "--compile", "--no-compile"])).compile
    with pytest.raises(SystemExit):
        parse(["stylize", "--help"])
    help_text = capsys.readouterr().out
    assert "--precision {auto,fp32,bf16}" in help_text and "--no-compile" in help_text and "--bf16" not in help_text

    assert run("stylize", photo, "-s", model_file, "-o", tmp_path / "a.png") == 0
    assert "(auto: " in capsys.readouterr().out  # which precision auto chose is shown
    assert run("stylize", photo, "-s", model_file, "-o", tmp_path / "b.png", "--precision", "fp32") == 0
    assert "; fp32)" in capsys.readouterr().out


@pytest.mark.slow
def test_training_defaults_are_the_config_classes(monkeypatch, tmp_path, capsys):
    image, video = TrainConfig(style=""), VideoTrainConfig(style="")
    parse = build_parser().parse_args
    args = parse(["train", "video", "--init", "m", "-o", "x.safetensors"])
    assert (args.steps, args.seq_len, args.synthetic, args.nuisance, args.temporal_weight, args.lr) == \
        (video.steps, video.seq_len, video.synthetic, video.nuisance, video.temporal_weight, video.lr)
    calls = []
    monkeypatch.setattr(train_command, "train_style", lambda *a, **k: calls.append(a))
    out = tmp_path / "w.safetensors"
    assert run("train", "style", "--painting", "wave", "-o", out, "--image-steps", "7", "--nuisance", "0.5",
               "--style-weight", "5e6") == 0
    style, given_out, given_image, given_video = calls[0]
    assert style == painting_path("wave") and given_out == out  # a bundled painting by name
    assert given_image.steps == 7 and given_image.weights == replace(image.weights, style=5e6)
    assert "relu4_3" not in given_image.weights.style_layers  # trained without it (losses.TRAIN_WEIGHTS)
    assert given_image.deep_steps is None  # ... but for the first steps: 2500 of 3300, the same share of 7
    calls.clear()
    assert run("train", "style", "--painting", "wave", "-o", out, "--from", "wave") == 0
    assert calls[0][2].deep_steps == 0  # a trained network has its large strokes
    assert run("train", "image", "--painting", "wave", "-o", out, "--steps", "9", "--deep-steps", "9") == 2
    assert "would count relu4_3 to the end of 9 steps" in capsys.readouterr().err
    calls.clear()
    assert run("train", "style", "--painting", "wave", "-o", out, "--style-layers", "relu1_2,relu4_3") == 0
    assert calls[0][2].weights.style_layers == ("relu1_2", "relu4_3")
    with pytest.raises(SystemExit) as refused:
        run("train", "style", "--painting", "wave", "-o", out, "--style-layers", "relu9_9")
    assert refused.value.code == 2 and "relu9_9: give VGG-16 layers among" in capsys.readouterr().err
    calls.clear()
    assert run("train", "style", "--painting", "wave", "-o", out, "--image-steps", "7", "--nuisance", "0.5",
               "--style-weight", "5e6") == 0
    style, given_out, given_image, given_video = calls[0]
    assert (given_image.arch, given_image.style_size, given_image.size) == (image.arch, image.style_size, image.size)
    assert (given_video.steps, given_video.nuisance) == (video.steps, 0.5)
    # no --temporal-weight: the painting's suggestion, said aloud
    assert video.temporal_weight is None
    assert given_video.temporal_weight == suggest_temporal_weight("wave", PRESETS[image.arch].head).temporal_weight
    assert f"temporal weight {given_video.temporal_weight:g}, suggested" in capsys.readouterr().out
    # a finished stage 1 is what stage 2 trains on: its layout (no head here) decides the suggestion
    save_model(TransformNet(SLIM), tmp_path / "w-per-frame.safetensors", "wave")
    assert run("train", "style", "--style", "wave", "-o", out) == 0
    assert calls[1][3].temporal_weight == suggest_temporal_weight("wave", SLIM.head).temporal_weight
    assert calls[1][3].temporal_weight != given_video.temporal_weight


@pytest.mark.parametrize("command, sized", [
    (["train", "style", "-o", "x.safetensors"], True),
    (["train", "image", "-o", "x.safetensors"], True),
    (["train", "video", "--init", "m", "-o", "x.safetensors"], True),
    (["train", "more", "m", "-o", "x.safetensors", "--steps", "2"], False),
    (["evaluate", "a.mp4", "b.mp4"], True),
    (["optimize", "image", "a.jpg", "wave", "-o", "x.png"], True),
])
def test_the_glossary_flags_show_and_their_old_spellings_still_work(command, sized, capsys):
    """--painting and --painting-size (docs/glossary.md) are the flags shown; --style and --style-size, the
    spellings scripts may hold, parse the same and stay out of --help."""
    parse = build_parser().parse_args
    size = ["--painting-size", "96"] if sized else []
    painting = ["--painting", "wave"] if command[0] != "optimize" else []
    new = parse([*command, *painting, *size])
    old = parse([*command, *(["--style", "wave"] if painting else []), *(["--style-size", "96"] if sized else [])])
    assert vars(new) == vars(old)
    if painting:
        assert new.style == painting_path("wave")
    if sized:
        assert new.style_size == 96
    with pytest.raises(SystemExit):
        parse([*command, "--help"])
    shown = capsys.readouterr().out
    assert ("--painting" in shown) == bool(painting or sized)
    assert "--style " not in shown and "--style-size" not in shown


def test_a_required_painting_is_asked_for_by_its_glossary_name(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "style", "-o", "x.safetensors"])
    assert "one of the arguments --painting is required" in capsys.readouterr().err


def test_studio_serves_on_the_address_given(monkeypatch):
    served = []
    studio = types.ModuleType("steadystyle.studio")
    studio.serve = lambda host, port, **options: served.append((host, port))
    monkeypatch.setitem(sys.modules, "steadystyle.studio", studio)  # the real one needs a browser to test
    assert run("studio") == 0 and run("studio", "--host", "0.0.0.0", "--port", "8000") == 0
    assert served == [("127.0.0.1", 7860), ("0.0.0.0", 8000)]
    with pytest.raises(SystemExit):
        run("studio", "--port", "0")
