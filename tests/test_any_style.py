"""Any picture as a style: a network conditioned on a code of the picture, trained on several paintings at
once; a tiny one trained here on real textures for a few steps."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from steadystyle.conditioning import encode
from steadystyle.images import ImageError
from steadystyle.models import ModelError, load_model, load_model_file, per_frame_file, picture_style
from steadystyle.networks import ANY_STYLE_ARCH, FAST, TransformNet
from steadystyle.stylize import StylizeOptions, job_fingerprint, stylize_frames
from steadystyle.training import VideoTrainConfig
from steadystyle.training._any_style import AnyStyleConfig, AnyStyleTrainer, AnyStyleVideoTrainer


@pytest.fixture(scope="module")
def frames():
    photo = skimage.data.coffee()[::4, ::4]
    return [photo, photo, np.roll(photo, 3, axis=1)]


def test_a_new_conditioned_network_paints_as_the_network_it_was_made_from():
    conditioned = TransformNet(replace(FAST, style_dim=8))
    plain = TransformNet(FAST)
    plain.load_state_dict({k: v for k, v in conditioned.state_dict().items() if not k.startswith("style.")})
    conditioned.style.condition(torch.randn(1, 8))
    x = torch.rand(1, 3, 48, 64)
    assert torch.allclose(conditioned(x), plain(x), atol=1e-5)
    with pytest.raises(ValueError, match="exists only for the fast2 layout"):
        replace(FAST, layout="classic", head=0, style_dim=8)


def test_an_unconditioned_network_asks_for_a_picture():
    with pytest.raises(ValueError, match="give it one first"):
        TransformNet(ANY_STYLE_ARCH)(torch.rand(1, 3, 40, 40))


@pytest.mark.slow
def test_training_learns_the_encoder_and_the_moves_with_the_network(paintings, trained):
    model = load_model_file(per_frame_file(trained))
    log = (per_frame_file(trained).parent / "any-per-frame-train" / "log.jsonl").read_text()
    assert '"step": 4' in log
    assert model.takes_a_picture and model.net.arch.style_dim == ANY_STYLE_ARCH.style_dim
    assert model.net.style.project.weight.abs().sum() > 0  # the moves left zero
    codes = [encode(model.net.style.encoder, torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1) / 255)
             for p in sorted(paintings.iterdir())]
    assert all(c.shape == (1, 100) for c in codes) and (codes[0] - codes[1]).abs().max() > 1e-3


@pytest.mark.slow
def test_any_picture_paints_stable_and_per_frame_and_pictures_differ(paintings, trained, frames):
    grass = picture_style(paintings / "grass.png", network=trained)
    assert grass.style == "grass" and grass.recurrent
    per_frame = picture_style(paintings / "grass.png", per_frame=True, network=trained)
    assert not per_frame.recurrent
    stable = list(stylize_frames(frames, grass, StylizeOptions()))
    single = list(stylize_frames(frames, per_frame, StylizeOptions()))
    brick = list(stylize_frames(frames, picture_style(paintings / "brick.png", network=trained), StylizeOptions()))
    again = list(stylize_frames(frames, grass, StylizeOptions()))
    assert len(stable) == len(single) == 3 and stable[0].shape == (3, *frames[0].shape[:2])
    assert torch.equal(stable[0], again[0])
    assert (stable[0] - brick[0]).abs().mean() > 1e-4  # after four steps the pictures' moves are still small
    # a resumed video job must not continue another picture's frames: one network, two identities
    fingerprints = [job_fingerprint(paintings / "grass.png", m, StylizeOptions(), None, None)["style"]
                    for m in (grass, picture_style(paintings / "brick.png", network=trained))]
    assert fingerprints[0] != fingerprints[1]


@pytest.mark.slow
def test_stage_two_needs_a_temporal_weight(paintings, trained, tmp_path):
    video = VideoTrainConfig(style=str(paintings), init=str(per_frame_file(trained)), steps=1, clips="none")
    with pytest.raises(ValueError, match="needs a --temporal-weight"):
        AnyStyleVideoTrainer(video, tmp_path / "any.safetensors", progress=False)


def _teacher(path, side: int = 256, dim: int = 100):
    """A tiny ONNX style predictor: the mean colour of the view through a fixed 3 x dim matrix."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    matrix = numpy_helper.from_array(np.random.default_rng(0).normal(size=(3, dim)).astype(np.float32), "m")
    nodes = [helper.make_node("ReduceMean", ["view", "axes"], ["mean"], keepdims=0),
             helper.make_node("MatMul", ["mean", "m"], ["flat"]),
             helper.make_node("Reshape", ["flat", "shape"], ["code"])]
    graph = helper.make_graph(nodes, "teacher", [helper.make_tensor_value_info("view", TensorProto.FLOAT, [1, side, side, 3])],
                              [helper.make_tensor_value_info("code", TensorProto.FLOAT, [1, 1, 1, dim])],
                              [matrix, numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
                               numpy_helper.from_array(np.array([1, 1, 1, dim], np.int64), "shape")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return path


@pytest.mark.slow
def test_the_encoder_can_learn_a_teachers_codes(paintings, tmp_path):
    config = AnyStyleConfig(style=str(paintings), steps=2, size=64, style_size=128, batch=2, log_every=1,
                            teacher=str(_teacher(tmp_path / "teacher.onnx")), code_weight=1e6)
    AnyStyleTrainer(config, tmp_path / "any.safetensors", progress=False).run()
    rows = [json.loads(line) for line in (tmp_path / "any-train" / "log.jsonl").read_text().splitlines()[1:]]
    assert [r["step"] for r in rows] == [1, 2] and all(r["code"] > 0 for r in rows)
    config = replace(config, teacher=str(_teacher(tmp_path / "wrong.onnx", side=224)))
    with pytest.raises(ValueError, match=r"takes \[1, 224, 224, 3\]"):
        AnyStyleTrainer(config, tmp_path / "other.safetensors", progress=False).run()


@pytest.mark.slow
def test_bad_style_pictures_and_networks_are_refused(tmp_path, paintings, trained):
    (tmp_path / "notes.png").write_text("not an image")
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ImageError):
        picture_style(tmp_path / "notes.png", network=trained)
    with pytest.raises(ImageError, match="at least 16 px"):
        picture_style(tmp_path / "dot.png", network=trained)
    with pytest.raises(ImageError):
        picture_style(tmp_path / "missing.jpg", network=trained)
    one_style = tmp_path / "one.safetensors"
    shutil.copy(load_model("udnie").path, one_style)
    with pytest.raises(ModelError, match="cannot take a picture"):
        picture_style(paintings / "grass.png", network=one_style)
    with pytest.raises(ModelError, match="no network for pictures"):
        picture_style(paintings / "grass.png", network=tmp_path / "absent.safetensors")


@pytest.mark.slow
def test_the_cli_stylizes_and_exports_with_a_picture_as_the_style(paintings, trained, tmp_path, monkeypatch, capsys):
    """`-s PICTURE` in stylize and export, with the tiny network standing where the shipped one installs."""
    import onnxruntime as ort

    from steadystyle import models
    from steadystyle.cli import main
    from steadystyle.export import onnx_difference
    from steadystyle.images import load_rgb

    monkeypatch.setenv(models.ANY_STYLE_VARIABLE, str(trained))
    photo = tmp_path / "photo.png"
    Image.fromarray(skimage.data.chelsea()[::3, ::3]).save(photo)
    for mode in ("stable", "per-frame"):
        assert main(["stylize", str(photo), "-s", str(paintings / "grass.png"), "--mode", mode,
                     "-o", str(tmp_path / f"{mode}.png"), "-q"]) == 0
        assert load_rgb(tmp_path / f"{mode}.png").shape == load_rgb(photo).shape
    assert main(["stylize", str(photo), "-s", str(trained), "-o", str(tmp_path / "no.png")]) == 2
    assert "needs one: give the picture itself" in capsys.readouterr().err
    out = tmp_path / "grass.onnx"
    assert main(["export", "-s", str(paintings / "grass.png"), "-o", str(out)]) == 0
    assert {p.name for p in tmp_path.glob("grass*")} == {"grass.onnx", "grass.md", "grass-per-frame.onnx",
                                                          "grass-per-frame.md", "grass-encoder.onnx"}
    assert "`style` (1, 100)" in out.with_suffix(".md").read_text()
    # The graph takes the style as an input: another code, far from the exported example, still matches
    model = picture_style(paintings / "grass.png", network=trained)
    frames = [torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    with torch.no_grad():
        before = model.net(frames[0][None])
        model.net.style.condition(torch.randn(1, 100, generator=torch.Generator().manual_seed(0)) * 10)
        assert (model.net(frames[0][None]) - before).abs().max() > 5 / 255
    assert onnx_difference(model, out, frames) < 1 / 255
    view = torch.rand(1, 3, 64, 48)
    code = ort.InferenceSession(str(tmp_path / "grass-encoder.onnx")).run(None, {"picture": view.numpy()})[0]
    assert np.abs(code - model.net.style.encoder(view).detach().numpy()).max() < 1e-3
