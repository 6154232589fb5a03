"""`export`: a shipped style's stable and per-frame networks as ONNX that onnxruntime runs as PyTorch does."""

from __future__ import annotations

import pytest

import os
import subprocess
import sys
from itertools import islice
from pathlib import Path

import av
import numpy as np
import skimage.data
import torch

from steadystyle.cli import main
from steadystyle.cli import export as export_command
from steadystyle.export import export_onnx, onnx_difference
from steadystyle.models import load_model, save_model
from steadystyle.networks import FAST, SLIM, TransformNet, recurrent_from_image
from steadystyle.stylize import as_tensor
from steadystyle.video import SAMPLE_CLIP

STYLE = "udnie"


def pan_frames() -> list[torch.Tensor]:
    """Other frames than the command checks on: a pan over a real photo at an odd size (99x75)."""
    photo = skimage.data.coffee()[::4, ::4]  # 100x150
    return [as_tensor(np.ascontiguousarray(photo[10:85, 4 * t:99 + 4 * t])) for t in range(5)]


@pytest.mark.slow
def test_a_shipped_style_gives_both_networks_and_onnxruntime_matches_pytorch(tmp_path, capsys):
    out = tmp_path / f"{STYLE}.onnx"
    assert main(["export", "-s", STYLE, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in (STYLE, f"{STYLE}-per-frame"):
        path = tmp_path / f"{name}.onnx"
        assert f"{path}: onnxruntime and PyTorch differ by at most" in printed
        card = path.with_suffix(".md").read_text()
        assert "onnxruntime" in card and ("recurrent" in card) == (name == STYLE)
        assert onnx_difference(load_model(name), path, pan_frames()) < 1 / 255


@pytest.mark.slow
def test_a_model_file_gives_its_one_network(tmp_path):
    torch.manual_seed(0)
    model = save_model(TransformNet(SLIM), tmp_path / "slim.safetensors", "test")
    assert main(["export", "-s", str(model), "-o", str(tmp_path / "slim.onnx")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slim.md", "slim.onnx", "slim.safetensors"]


@pytest.mark.slow
def test_a_mismatch_is_refused_and_leaves_no_output(tmp_path, monkeypatch, capsys):
    torch.manual_seed(0)
    model = save_model(TransformNet(SLIM), tmp_path / "slim.safetensors", "test")
    monkeypatch.setattr(export_command, "onnx_difference", lambda *args: 2 / 255)
    assert main(["export", "-s", str(model), "-o", str(tmp_path / "slim.onnx")]) == 2
    err = capsys.readouterr().err
    assert "2.00/255" in err and "removed" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slim.safetensors"]


def test_an_output_not_named_onnx_is_refused_before_exporting(tmp_path, capsys):
    assert main(["export", "-s", STYLE, "-o", str(tmp_path / "udnie.pt")]) == 2
    assert "NAME.onnx" in capsys.readouterr().err and not any(tmp_path.iterdir())


def docs_onnx_example() -> str:
    text = (Path(__file__).resolve().parents[1] / "docs" / "usage.md").read_text()
    block = text.split("<!-- onnx-example:start -->")[1].split("<!-- onnx-example:end -->")[0]
    return block.split("```python")[1].split("```")[0]


@pytest.mark.slow
def test_the_docs_onnx_example_stylizes_a_clip_with_onnxruntime_and_pyav_alone(tmp_path):
    torch.manual_seed(0)
    net = recurrent_from_image(TransformNet(FAST))
    export_onnx(load_model(save_model(net, tmp_path / "net.safetensors", "test")), tmp_path / "starry_night.onnx")
    with av.open(str(SAMPLE_CLIP)) as src, av.open(str(tmp_path / "clip.mp4"), "w") as dst:  # 10 frames of it
        out = dst.add_stream("libx264", rate=25)
        out.width, out.height = src.streams.video[0].width, src.streams.video[0].height
        for frame in islice(src.decode(video=0), 10):
            dst.mux(out.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")))
        dst.mux(out.encode())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-I", "-c", docs_onnx_example()], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with av.open(str(tmp_path / "out.mp4")) as result:
        frames = [f.to_ndarray(format="rgb24") for f in result.decode(video=0)]
    assert len(frames) == 10 and frames[0].shape == (270, 480, 3)
    assert frames[-1].std() > 5  # a picture, not a blank
