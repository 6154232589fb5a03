"""`--backend onnxruntime`: ONNX Runtime paints the frames PyTorch paints, the export is made once per model and
found again, and what it does not run is refused with a message that says what to do."""

from __future__ import annotations

from itertools import islice

import pytest
import torch

from steadystyle.cli import main
from steadystyle.models import load_model
from steadystyle.runtime import onnx_path
from steadystyle.stylize import StylizeOptions, as_tensor, stylize_frames
from steadystyle.video import SAMPLE_CLIP, open_video

SIDE = 160


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STEADYSTYLE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def sample_frames(count: int = 6) -> list[torch.Tensor]:
    return [as_tensor(f.image) for f in islice(open_video(SAMPLE_CLIP), count)]


@pytest.mark.slow
def test_onnxruntime_paints_what_pytorch_paints_and_exports_each_model_once(cache):
    frames = sample_frames()
    per_frame, stable = load_model("starry_night-per-frame"), load_model("starry_night")
    for model in (per_frame, stable):
        torch_run = list(stylize_frames(frames, model, StylizeOptions(precision="fp32", max_side=SIDE)))
        onnx_run = list(stylize_frames(frames, model, StylizeOptions(backend="onnxruntime", max_side=SIDE)))
        gaps = [(a - b).abs() for a, b in zip(torch_run, onnx_run, strict=True)]
        # PyTorch runs the network with its norms folded into the convolutions (fusion.py), which moves a pixel
        # by a few levels at most; ONNX Runtime runs it as trained.
        assert max(float(g.mean()) for g in gaps) < 1 / 255 and max(float(g.max()) for g in gaps) < 8 / 255
    x = frames[0][None, :, :90, :SIDE]
    with torch.no_grad():
        as_trained = per_frame.net(x).clamp(0, 1)[0]
    (alone,) = stylize_frames([x[0]], per_frame, StylizeOptions(backend="onnxruntime"))
    assert float((alone - as_trained).abs().max()) < 1e-4
    exports = sorted(cache.glob("onnx/*.onnx"))
    assert exports == sorted([onnx_path(per_frame), onnx_path(stable)])
    made = [p.stat().st_mtime_ns for p in exports]
    list(stylize_frames(frames[:2], stable, StylizeOptions(backend="onnxruntime", max_side=SIDE)))
    assert [p.stat().st_mtime_ns for p in exports] == made  # found, not made again


@pytest.mark.parametrize("flags, says", [
    (["--precision", "bf16"], "does not take --precision bf16 (it runs fp32)"),
    (["--compile"], "does not take --compile"),
])
def test_what_onnxruntime_does_not_run_is_refused_before_any_work(cache, tmp_path, capsys, flags, says):
    out = tmp_path / "out.mp4"
    assert main(["stylize", str(SAMPLE_CLIP), "-s", "starry_night", "-o", str(out), "-q", "--backend",
                 "onnxruntime", *flags]) == 2
    err = capsys.readouterr().err
    assert says in err and "--backend torch" in err and "Traceback" not in err
    assert not out.exists() and not cache.exists()
