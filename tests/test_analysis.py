"""`analyze`: Gram traces behave as the theory says, the rotation demo holds, and the command writes its report."""

from __future__ import annotations

import json
import math
import sys

import pytest
import scipy.stats
import torch
from PIL import Image

from steadystyle.cli import main
from steadystyle.evaluation import PERTURBATIONS, AnalysisSettings, default_content
from steadystyle.evaluation._analysis import (aligned_mse, instability, network_instability, perturbed_pair,
                                              rotation_demo, spearman)
from steadystyle.images import load_rgb
from steadystyle.losses import TRACE_LAYERS, gram, gram_traces
from steadystyle.models import load_model, shipped_styles
from steadystyle.paintings import painting_path
from steadystyle.vgg import VGGFeatures


def trace(features: torch.Tensor) -> float:
    return float(torch.diagonal(gram(features)[0]).sum())


@pytest.fixture(scope="module")
def painting() -> torch.Tensor:
    return load_rgb(painting_path("starry_night"), 96)


@pytest.fixture(scope="module")
def vgg(vgg_weights) -> VGGFeatures:
    return VGGFeatures(vgg_weights, list(TRACE_LAYERS))


@pytest.mark.slow
def test_trace_of_scaled_features_grows_as_the_square(painting, vgg):
    with torch.no_grad():
        feats = vgg(painting[None])["relu2_2"]
    for s in (0.5, 2.0, 3.0):
        assert trace(s * feats) == pytest.approx(s**2 * trace(feats), rel=1e-5)


@pytest.mark.slow
def test_higher_contrast_painting_has_larger_traces(painting, vgg):
    low = 0.5 + 0.5 * (painting - 0.5)
    high, flat = gram_traces(painting, vgg), gram_traces(low, vgg)
    assert set(high) == {*TRACE_LAYERS, "total"}
    assert high["total"] == pytest.approx(sum(high[k] for k in TRACE_LAYERS))
    assert all(high[k] > flat[k] for k in high), (high, flat)


@pytest.mark.slow
def test_rotated_minimisers_have_zero_style_loss_and_spread_with_the_trace():
    rows = rotation_demo(scales=(0.5, 1.0, 2.0, 4.0))["rows"]
    traces = [r["trace"] for r in rows]
    assert traces == pytest.approx([traces[1] * s**2 for s in (0.5, 1.0, 2.0, 4.0)], rel=1e-5)
    for r in rows:
        assert r["max_style_loss"] < 1e-9 * r["trace"] ** 2  # the Gram matrix is matched exactly
        # random rotations put minimisers ~sqrt(2 * trace) apart (RMS): far apart, and more so as the trace grows
        assert r["distance_over_sqrt_trace"] == pytest.approx(math.sqrt(2), rel=0.1)
    distances = [r["rms_distance"] for r in rows]
    assert distances == sorted(distances) and distances[-1] > 7 * distances[0]


def test_spearman_matches_scipy_with_ties():
    x, y = [3, 1, 4, 1, 5, 9, 2, 6], [2.7, 1.8, 2.8, 1.8, 4.5, 9.0, 0.4, 5.2]
    assert spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1)
    assert spearman([1.0], [2.0]) is None
    assert spearman([1, 2, 3], [5, 5, 5]) is None


def test_shift_is_undone_before_comparing(content_photo):
    photo = load_rgb(content_photo, 64)
    first, second, shift = perturbed_pair(photo, AnalysisSettings(perturb="shift"))
    assert shift == 1 and first.shape == second.shape
    assert aligned_mse(first, second, shift) == 0
    assert aligned_mse(first, second, 0) > 1e-4


@pytest.mark.slow
def test_identical_frames_are_perfectly_stable(painting, content_photo, vgg_weights):
    photo = load_rgb(content_photo, 48)
    same = instability(painting, photo, vgg_weights, AnalysisSettings(content_size=48, iters=10, noise_std=0.0),
                       progress=False)
    assert same["input_mse"] == 0 and same["instability"] == 0
    assert same["final_style"] > 0 and same["final_total"] > 0


@pytest.mark.slow
def test_shifted_frames_start_from_noise_that_moves_with_them(painting, content_photo, vgg_weights):
    # with an unmoved noise start the aligned results would differ by the noise itself (MSE ~1/6)
    photo = load_rgb(content_photo, 48)
    panned = instability(painting, photo, vgg_weights, AnalysisSettings(content_size=48, iters=5, perturb="shift"),
                         progress=False)
    assert panned["input_mse"] == 0 and panned["instability"] < 0.02


def _unshipped_copy(painting, folder):
    """The painting under a name no shipped style has, so no network is measured for it unless given."""
    copy = folder / "my_painting.jpg"
    copy.write_bytes(painting.read_bytes())
    return copy


@pytest.mark.slow
def test_analyze_writes_plot_json_and_report(content_photo, tmp_path, capsys):
    # a painting with no shipped style of its name, and one (wave) with one
    styles = [_unshipped_copy(painting_path("udnie"), tmp_path), painting_path("wave")]
    report = tmp_path / "report"
    argv = ["analyze", *map(str, styles), "--content", str(content_photo),
            "--size", "64", "--content-size", "48", "--iters", "10", "--report", str(report), "--json", "-q"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((report / "analysis.json").read_text())
    assert printed == saved
    assert set(saved) == {"settings", "styles", "spearman", "network_spearman", "theory"}
    assert saved["settings"]["trace_size"] == 64 and saved["settings"]["iters"] == 10
    assert [s["name"] for s in saved["styles"]] == ["my_painting", "wave"]
    for s in saved["styles"]:
        assert set(s["traces"]) == {*TRACE_LAYERS, "total"} and max(s["size"]) == 64
        assert s["instability"] > 0 and s["input_mse"] > 0
    first, second = saved["styles"]  # two styles: +1 when the larger trace is the less stable one, else -1
    agree = (first["traces"]["total"] - second["traces"]["total"]) * (first["instability"] - second["instability"])
    assert saved["spearman"] == pytest.approx(1 if agree > 0 else -1)
    # wave is a shipped style, so its networks are measured too; my_painting has none
    mine, wave = saved["styles"]
    assert mine["networks"] == {} and set(wave["networks"]) == {"per-frame", "stable"}
    assert saved["network_spearman"] == {"per-frame": None, "stable": None}  # one point each
    with Image.open(report / "instability_vs_trace.png") as im:
        assert im.format == "PNG" and im.size[0] > 100
    text = (report / "report.md").read_text()
    assert "](instability_vs_trace.png)" in text and "| my_painting |" in text and "Spearman" in text
    assert "per-frame network (MSE)" in text
    assert sorted(p.name for p in report.iterdir()) == ["analysis.json", "instability_vs_trace.png", "report.md"]


@pytest.mark.slow
def test_recurrence_steadies_a_shipped_network(content_photo):
    photo = load_rgb(content_photo, 96)
    stable, per_frame = load_model("the_scream"), load_model("the_scream-per-frame")
    assert network_instability(per_frame, photo, AnalysisSettings(noise_std=0.0)) < 1e-10  # the same frame twice
    for perturb in PERTURBATIONS:
        settings = AnalysisSettings(perturb=perturb)
        assert network_instability(stable, photo, settings) < 0.5 * network_instability(per_frame, photo, settings)


@pytest.mark.slow
def test_network_option_names_a_painting_and_a_model(content_photo, tmp_path, capsys):
    mine = _unshipped_copy(painting_path("udnie"), tmp_path)
    common = [str(mine), "--content", str(content_photo), "--size", "64",
              "--content-size", "48", "--iters", "2", "--json", "-q"]
    model = str(shipped_styles()["wave-per-frame"])
    assert main(["analyze", *common, "--network", f"my_painting={model}"]) == 0
    row = json.loads(capsys.readouterr().out)["styles"][0]
    assert set(row["networks"]) == {"per-frame"} and row["networks"]["per-frame"] > 0
    assert main(["analyze", *common, "--network", f"monet={model}"]) == 2
    assert "PAINTING=MODEL" in capsys.readouterr().err


@pytest.mark.slow
def test_missing_or_unreadable_painting_fails_with_no_report(content_photo, tmp_path, capsys):
    good = painting_path("wave")
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    for painting, message in ((tmp_path / "missing.jpg", "no such file"), (bad, "not a readable image")):
        report = tmp_path / "report"
        assert main(["analyze", str(good), str(painting), "--content", str(content_photo), "--report", str(report),
                     "-q"]) == 2
        err = capsys.readouterr().err
        assert message in err and str(painting) in err
        assert not report.exists()


def test_default_content_is_a_real_photo_from_an_installed_wheel():
    photo = load_rgb(default_content())
    assert photo.shape == (3, 427, 640) and photo.std() > 0.1


def test_missing_default_content_asks_for_one(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn.datasets.images", None)  # as if scikit-learn were not installed
    assert main(["analyze", str(painting_path("wave")), "-q"]) == 2
    err = capsys.readouterr().err
    assert "--content" in err and "Traceback" not in err
