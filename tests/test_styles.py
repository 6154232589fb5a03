"""The styles shipped inside the package: each loads, its figures come from one measured source, and it is
steadier than its per-frame twin on noisy footage, measured here."""

from __future__ import annotations

import json

import pytest
import torch

from steadystyle.cli import main
from steadystyle.models import PER_FRAME_SUFFIX, STYLES_DIR, ModelError, load_model, shipped_styles
from steadystyle.stylize import StylizeOptions, stylize_frames
from steadystyle.training import VideoTrainConfig

STABLE = sorted(name for name in shipped_styles() if not name.endswith(PER_FRAME_SUFFIX))


def test_stable_styles_ship_with_their_per_frame_models():
    assert len(STABLE) >= 4, "the package should ship at least four stable styles"
    for name in STABLE:
        assert f"{name}{PER_FRAME_SUFFIX}" in shipped_styles()


@pytest.mark.parametrize("name", STABLE)
def test_shipped_style_loads_has_a_card_and_its_evaluation_is_of_these_weights(name, benchmarks_importable):
    from style_cards import load_evaluation, model_hashes

    stable, per_frame = load_model(name), load_model(name + PER_FRAME_SUFFIX)
    assert stable.recurrent and not per_frame.recurrent
    card = (STYLES_DIR / f"{name}.md").read_text()
    assert "E_warp" in card
    # The card's commands reproduce these weights: `train style` with their temporal weight and their stage-2
    # steps whenever those are not today's default, then `train more` to the steps of a carried-on model.
    trained = stable.meta["training"]
    assert f"--temporal-weight {trained['temporal_weight']:g}" in card
    more = f"train more {name}.safetensors -o {name}-more.safetensors --steps {trained['steps_done']}"
    assert (more in card) == bool(trained.get("carry_on"))
    style_steps = VideoTrainConfig.steps if trained.get("carry_on") else trained["steps_done"]
    assert (f"--video-steps {style_steps}" in card) == (style_steps != VideoTrainConfig.steps)
    for path in (stable.path, per_frame.path):
        assert path.stat().st_size < 5e6
    # The figures in the JSON were measured on exactly these files (benchmarks/evaluate_styles.py).
    assert load_evaluation(name)["sha256"] == model_hashes(name)


def test_every_shipped_style_has_an_evaluation(benchmarks_importable):
    from style_cards import evaluated_styles

    assert set(evaluated_styles()) == set(STABLE)


@pytest.fixture(scope="module")
def noisy_static_clip() -> list[torch.Tensor]:
    """A tripod shot: one real photo (scikit-image's chelsea, no model was chosen on it) with fresh sensor
    noise in each of 12 frames."""
    import skimage.data

    photo = torch.from_numpy(skimage.data.chelsea()[::3, ::3].copy()).permute(2, 0, 1).float() / 255
    g = torch.Generator().manual_seed(0)
    return [(photo + 3 / 255 * torch.randn(photo.shape, generator=g)).clamp(0, 1) for _ in range(12)]


@pytest.mark.slow
@pytest.mark.parametrize("name", STABLE)
def test_stable_style_is_steadier_than_its_per_frame_twin_on_noisy_footage(name, noisy_static_clip):
    """Measured now, not read from a file: consecutive outputs of the stable net change less."""
    def change(mode: str, spec: str) -> float:
        ys = list(stylize_frames(noisy_static_clip, load_model(spec), StylizeOptions(mode=mode, precision="fp32")))
        return sum((b - a).abs().mean().item() for a, b in zip(ys[2:], ys[3:])) / (len(ys) - 3)

    assert change("stable", name) < 0.8 * change("per-frame", name + PER_FRAME_SUFFIX)


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
