"""`--backend onnxruntime`: ONNX Runtime paints the frames PyTorch paints, the export is made once per model and
found again, and what it does not run is refused before any work with a message that says what to do."""

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


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: each model is exported once, by the first test that runs it."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STEADYSTYLE_CACHE", str(folder))
        yield folder


def sample_frames(count: int = 6) -> list[torch.Tensor]:
    return [as_tensor(f.image) for f in islice(open_video(SAMPLE_CLIP), count)]


@pytest.mark.slow
def test_onnxruntime_paints_what_pytorch_paints_and_exports_each_model_once(cache):
    frames = sample_frames()
    per_frame, stable = load_model("starry_night-per-frame"), load_model("starry_night")
    for model in (per_frame, stable):
        torch_run = list(stylize_frames(frames, model, StylizeOptions(precision="fp32", max_side=SIDE)))
        onnx_run = list(stylize_frames(frames, model, StylizeOptions(backend="onnxruntime", max_side=SIDE)))
        assert max(float((a - b).abs().max()) for a, b in zip(torch_run, onnx_run, strict=True)) < 1e-4
    exports = sorted(cache.glob("onnx/*.onnx"))
    assert exports == sorted([onnx_path(per_frame), onnx_path(stable)])
    made = [p.stat().st_mtime_ns for p in exports]
    list(stylize_frames(frames[:2], stable, StylizeOptions(backend="onnxruntime", max_side=SIDE)))
    assert [p.stat().st_mtime_ns for p in exports] == made  # found, not made again
    with pytest.raises(ValueError, match=r"at least \d+ px a side, not 20x20; use --backend torch"):
        next(stylize_frames([frames[0][:, :20, :20]], stable, StylizeOptions(backend="onnxruntime")))


@pytest.mark.parametrize("flags, says", [
    (["--precision", "bf16"], "does not take --precision bf16 (it runs fp32)"),
    (["--compile"], "does not take --compile"),
])
def test_what_onnxruntime_does_not_run_is_refused_before_any_work(cache, tmp_path, capsys, flags, says):
    out = tmp_path / "out.mp4"
    for workers in ([], ["--workers", "2"]):  # the pieces' driver settles precision and device: checked first
        assert main(["stylize", str(SAMPLE_CLIP), "-s", "starry_night", "-o", str(out), "-q", "--backend",
                     "onnxruntime", *flags, *workers]) == 2
        err = capsys.readouterr().err
        assert says in err and "--backend torch" in err and "Traceback" not in err
        assert not out.exists()
