"""Inputs are never touched, and bad arguments fail at parse time: every command that writes, on real files.

Each refusal is checked the way a user would notice it: exit status 2, a message naming the file or
flag, and every file in the folder byte for byte as it was (so no output and no temporary file either).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from steadystyle import models
from steadystyle.cli.args import model_source
from steadystyle.cli import build_parser, main
from steadystyle.models import save_model, shipped_styles
from steadystyle.networks import SLIM, TransformNet
from steadystyle.vgg import EXPECTED_SHAPES

from videos import make_clip, picture


def run(*argv) -> int:
    return main([str(a) for a in argv])


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under `folder` with its bytes (None for a folder)."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_model(TransformNet(SLIM), tmp_path_factory.mktemp("m") / "slim.safetensors", "test")


@pytest.fixture
def files(tmp_path, model_file) -> dict[str, Path]:
    """A photo, a clip, a frame folder and a model, all inside tmp_path."""
    photo = tmp_path / "photo.png"
    Image.fromarray(picture(0, 90, 60)).save(photo)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        Image.fromarray(picture(i)).save(frames / f"{i:03d}.png")
    model = tmp_path / "model.safetensors"
    model.write_bytes(model_file.read_bytes())
    return {"photo": photo, "clip": make_clip(tmp_path / "clip.mp4", frames=4), "frames": frames, "model": model}


# name -> (argv with {placeholders} for files, what the message says)
REFUSED = {
    "stylize image onto itself": ("stylize {photo} -s {model} -o {photo}", "is the input"),
    "stylize image, another spelling": ("stylize {photo} -s {model} -o {tmp}/frames/../photo.png", "is the input"),
    "stylize image onto a hard link": ("stylize {photo} -s {model} -o {tmp}/hardlink.png", "is the input"),
    "stylize image onto a symlink": ("stylize {photo} -s {model} -o {tmp}/symlink.png", "is the input"),
    "stylize image into its own folder": ("stylize {photo} -s {model} -o {tmp}", "is the input"),
    "stylize video onto itself": ("stylize {clip} -s {model} -o {clip} -q", "is the input"),
    "stylize video onto the model": ("stylize {clip} -s {model} -o {model} -q", "is the input"),
    "stylize frame folder into itself": ("stylize {frames} -s {model} -o {frames} -q", "is the input"),
    "stylize frame folder into a file inside it": ("stylize {frames} -s {model} -o {frames}/out.mp4 -q",
                                                   "inside the input folder"),
    "webcam record over its source": ("stylize webcam --source {clip} -s {model} --record {clip} --no-window "
                                      "--frames 1", "is the input"),
    "optimize image onto the content": ("optimize image {photo} {photo} -o {photo} -q", "is the input"),
    "optimize video onto the source": ("optimize video {clip} {photo} -o {clip} -q", "is the input"),
    "evaluate report into the source folder": ("evaluate {frames} {clip} --report {frames} -q", "is the input"),
    "analyze report over a painting": ("analyze {tmp}/report/instability_vs_trace.png --report {tmp}/report -q",
                                       "is the input"),
    "train image onto the painting": ("train image --style {photo} -o {photo} -q", "is the input"),
    "train video onto its init model": ("train video --init {model} --style {photo} -o {model} -q", "is the input"),
    "train style into the content folder": ("train style --style {photo} --content {frames} -o {frames}/x.safetensors",
                                            "inside the input folder"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", REFUSED)
def test_an_output_that_is_an_input_is_refused_before_any_work(case, files, tmp_path, capsys):
    os.link(files["photo"], tmp_path / "hardlink.png")
    (tmp_path / "symlink.png").symlink_to(files["photo"])
    (tmp_path / "report").mkdir()
    Image.fromarray(picture(5)).save(tmp_path / "report" / "instability_vs_trace.png")
    argv, message = REFUSED[case]
    before = snapshot(tmp_path)
    code = run(*argv.format(tmp=tmp_path, **files).split())
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "never" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before  # inputs byte for byte, and nothing written


@pytest.mark.slow
def test_weights_export_over_the_weights_read_is_refused(tmp_path, capsys):
    vgg = tmp_path / "vgg16.pth"
    torch.save({k: torch.zeros(shape) for k, shape in EXPECTED_SHAPES.items()}, vgg)
    before = snapshot(tmp_path)
    assert run("weights", "--vgg-weights", vgg, "--export", vgg) == 2
    assert "is the input" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
    assert run("weights", "--vgg-weights", vgg, "--export", tmp_path / "copy.pth") == 0  # elsewhere is fine


def test_an_image_with_a_video_name_for_output_says_what_to_use(files, tmp_path, capsys):
    before = snapshot(tmp_path)
    for name in ("out.mp4", "out.txt"):
        assert run("stylize", files["photo"], "-s", files["model"], "-o", tmp_path / name) == 2
        err = capsys.readouterr().err
        assert f"-o {tmp_path / name}" in err and ".png" in err
    assert snapshot(tmp_path) == before  # no folder named out.mp4


def test_two_inputs_with_one_name_are_refused(files, tmp_path, capsys):
    (tmp_path / "other").mkdir()
    Image.fromarray(picture(3, 90, 60)).save(tmp_path / "other" / "photo.jpg")
    before = snapshot(tmp_path)
    assert run("stylize", files["photo"], tmp_path / "other" / "photo.jpg", "-s", files["model"],
               "-o", tmp_path / "outs") == 2
    assert "share a name" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_writing_beside_the_inputs_is_fine(files, tmp_path):
    """The checks refuse only what would touch an input: a new name in the same folder works."""
    assert run("stylize", files["photo"], "-s", files["model"], "-o", tmp_path / "photo_styled.png") == 0
    assert Image.open(tmp_path / "photo_styled.png").size == (90, 60)
    other = tmp_path / "other.jpg"
    Image.fromarray(picture(1, 90, 60)).save(other)
    assert run("stylize", other, "-s", files["model"], "-o", tmp_path) == 0  # other.png beside other.jpg
    assert (tmp_path / "other.png").is_file()


# --- numbers are checked when the command line is parsed ------------------------------------------------

def _subparsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) for every command and subcommand."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subparsers(sub, (*path, name))


def test_no_option_takes_an_unchecked_number():
    loose = [(" ".join(path), a.option_strings) for path, p in _subparsers(build_parser()) for a in p._actions
             if a.type in (int, float)]
    assert loose == []


BAD_NUMBERS = [
    ("stylize {photo} -s {model} -o {out} --max-side 0", "--max-side", ">= 16"),
    ("stylize {photo} -s {model} -o {out} --max-side -5", "--max-side", ">= 16"),
    ("stylize {photo} -s {model} -o {out} --max-side 12.5", "--max-side", "whole number"),
    ("stylize {photo} -s {model} -o {out} --strength 1.5", "--strength", "<= 1"),
    ("stylize {photo} -s {model} -o {out} --strength nan", "--strength", ">= 0"),
    ("stylize {clip} -s {model} -o {out} --crf 60", "--crf", "<= 51"),
    ("stylize {clip} -s {model} -o {out} --start -1", "--start", ">= 0"),
    ("stylize {clip} -s {model} -o {out} --duration 0", "--duration", "> 0"),
    ("stylize {clip} -s {model} -o {out} --cut-threshold -0.1", "--cut-threshold", ">= 0"),
    ("stylize webcam --source {clip} -s {model} --frames 0", "--frames", ">= 1"),
    ("optimize image {photo} {photo} -o {out} --iters 0", "--iters", ">= 1"),
    ("optimize image {photo} {photo} -o {out} --size 3", "--size", ">= 16"),
    ("optimize image {photo} {photo} -o {out} --lr -1", "--lr", "> 0"),
    ("optimize image {photo} {photo} -o {out} --seed -1", "--seed", ">= 0"),
    ("optimize image {photo} {photo} -o {out} --style-weight inf", "--style-weight", ">= 0"),
    ("optimize video {clip} {photo} -o {out} --first-iters 0", "--first-iters", ">= 1"),
    ("optimize video {clip} {photo} -o {out} --temporal-weight -3", "--temporal-weight", ">= 0"),
    ("train image --style {photo} -o {out} --batch 0", "--batch", ">= 1"),
    ("train image --style {photo} -o {out} --checkpoint-minutes -1", "--checkpoint-minutes", ">= 0"),
    ("train video --init {model} -o {out} --seq-len 1", "--seq-len", ">= 2"),
    ("train video --init {model} -o {out} --synthetic 2", "--synthetic", "<= 1"),
    ("train video --init {model} -o {out} --tv-weight -1", "--tv-weight", ">= 0"),
    ("train style --style {photo} -o {out} --image-steps 0", "--image-steps", ">= 1"),
    ("train style --style {photo} -o {out} --nuisance 2", "--nuisance", "<= 1"),
    ("studio --port 70000", "--port", "<= 65535"),
    ("analyze {photo} --noise-std -0.5", "--noise-std", ">= 0"),
    ("analyze {photo} --content-size 8", "--content-size", ">= 16"),
    ("evaluate {clip} {clip} --size 0", "--size", ">= 16"),
    ("evaluate {clip} {clip} --style-size ten", "--style-size", "whole number"),
]


@pytest.mark.parametrize("argv, flag, allowed", BAD_NUMBERS, ids=[" ".join(c[0].split()[:2]) + " " + c[1]
                                                                   for c in BAD_NUMBERS])
@pytest.mark.slow
def test_bad_numbers_fail_at_parse_time_naming_the_flag_and_range(argv, flag, allowed, files, tmp_path, capsys):
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        run(*argv.format(out=tmp_path / "out.png", **files).split())
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"argument {flag}: must be" in err and allowed in err and "Traceback" not in err
    assert snapshot(tmp_path) == before


OUTPUT_FLAGS = [(("stylize",), "--output"), (("stylize",), "--record"), (("optimize", "image"), "--output"),
                (("optimize", "video"), "--output"), (("train", "image"), "--output"),
                (("train", "video"), "--output"), (("train", "style"), "--output"), (("weights",), "--export"),
                (("export",), "--output"),
                (("evaluate",), "--report"), (("analyze",), "--report")]


@pytest.mark.parametrize("command, flag", OUTPUT_FLAGS)
def test_every_output_flag_says_how_existing_files_and_inputs_are_treated(command, flag):
    parser = dict(_subparsers(build_parser()))[command]
    action = next(a for a in parser._actions if flag in a.option_strings)
    assert "replaced atomically" in action.help and "input is never overwritten" in action.help


# --- a shipped style's name is not hidden by a folder of that name ------------------------------------------

def test_shipped_style_name_wins_over_a_same_named_folder(files, tmp_path, monkeypatch, capsys):
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "mystyle.safetensors").write_bytes(files["model"].read_bytes())
    monkeypatch.setattr(models, "STYLES_DIR", styles)  # an installation that ships "mystyle"
    monkeypatch.chdir(tmp_path)
    Path("mystyle").mkdir()  # e.g. a folder of results named like the style
    assert run("stylize", files["photo"], "-s", "mystyle", "-o", "out.png") == 0
    assert Image.open("out.png").size == (90, 60)
    assert run("stylize", files["photo"], "-s", "./mystyle", "-o", "out2.png") == 2  # looks like a path: the folder
    err = capsys.readouterr().err
    assert "-s ./mystyle is a folder" in err and "mystyle" in err and not Path("out2.png").exists()


def test_real_shipped_names_resolve_to_the_package_even_with_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = next(iter(shipped_styles()))
    Path(name).mkdir()
    assert model_source(name) == shipped_styles()[name]
    assert model_source(f"./{name}") == f"./{name}"
    assert model_source(f"{name}.safetensors") == f"{name}.safetensors"
