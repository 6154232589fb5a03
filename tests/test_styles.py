"""The styles shipped inside the package: each loads, has a model card, and stylizes."""

from __future__ import annotations

import json

import pytest
import torch

from steadystyle.cli import main
from steadystyle.models import PER_FRAME_SUFFIX, STYLES_DIR, ModelError, load_model, shipped_styles
from steadystyle.stylize import StylizeOptions, stylize_frames

STABLE = sorted(name for name in shipped_styles() if not name.endswith(PER_FRAME_SUFFIX))


def test_stable_styles_ship_with_their_per_frame_models():
    assert len(STABLE) >= 4, "the package should ship at least four stable styles"
    for name in STABLE:
        assert f"{name}{PER_FRAME_SUFFIX}" in shipped_styles()


@pytest.mark.parametrize("name", STABLE)
def test_shipped_style_loads_has_a_card_and_stylizes(name):
    stable, per_frame = load_model(name), load_model(name + PER_FRAME_SUFFIX)
    assert stable.recurrent and not per_frame.recurrent
    card = (STYLES_DIR / f"{name}.md").read_text()
    assert "public domain" in card and "E_warp" in card
    for path in (stable.path, per_frame.path):
        assert path.stat().st_size < 5e6
    frames = [torch.rand(3, 36, 50) for _ in range(2)]
    for model in (stable, per_frame):
        out = list(stylize_frames(frames, model, StylizeOptions()))
        assert all(y.shape == (3, 36, 50) and torch.isfinite(y).all() for y in out)
    evaluation = json.loads((STYLES_DIR / f"{name}.json").read_text())
    for clip in evaluation["clips"].values():
        assert clip["stable"]["warping_error"] < clip["per-frame"]["warping_error"]
    # The quality bar a style must have met on the held-out clip to ship (benchmarks/evaluate_styles.py).
    carphone = next(c for label, c in evaluation["clips"].items() if label.startswith("carphone"))
    assert carphone["per-frame"]["warping_error"] >= 3 * carphone["stable"]["warping_error"]
    assert carphone["stable"]["style_loss"] <= 1.2 * carphone["per-frame"]["style_loss"]


def test_models_lists_every_style(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == set(shipped_styles())
    assert all(r["recurrent"] == (not r["name"].endswith(PER_FRAME_SUFFIX)) for r in rows)
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    assert all(name in table for name in STABLE)


def test_unknown_style_lists_the_available_ones(tmp_path, capsys):
    with pytest.raises(ModelError, match=STABLE[0]):
        load_model("van_gogh_sunflowers")
    assert main(["stylize", "sample", "-s", "van_gogh_sunflowers", "-o", str(tmp_path / "out.mp4")]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in STABLE) and not (tmp_path / "out.mp4").exists()


def test_per_frame_mode_with_a_style_name_uses_its_image_model(tmp_path, capsys):
    out = tmp_path / "pf.mp4"
    assert main(["stylize", "sample", "-s", STABLE[0], "--mode", "per-frame", "-o", str(out), "--duration", "0.2",
                 "--max-side", "64", "-q"]) == 0
    made = json.loads(out.with_name(out.name + ".json").read_text())
    assert made["mode"] == "per-frame" and made["model"].endswith(f"{STABLE[0]}{PER_FRAME_SUFFIX}.safetensors")
