"""The suggested temporal weight: c / Gram trace, c fitted to the shipped styles, used unless one is given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from steadystyle.cli import main
from steadystyle.networks import FAST
from steadystyle.paintings import painting_path
from steadystyle.training import (FINE_TUNE_FACTOR, HEAD_RATIO, TrainConfig, VideoTrainConfig, layout_fit,
                                  shipped_evidence, suggest_temporal_weight)
from steadystyle.training._weighting import Evidence, fit, with_temporal_weight


@pytest.fixture(scope="module")
def evidence(vgg_weights) -> list[Evidence]:
    return shipped_evidence(vgg_weights)


def test_fit_is_the_geometric_mean_of_weight_times_trace():
    assert fit([Evidence("a", 2e5, 2e9), Evidence("b", 8e5, 5e8)]) == pytest.approx(4e14)  # both 4e14
    assert fit([Evidence("a", 1e5, 1e9), Evidence("b", 1e5, 4e9)]) == pytest.approx(2e14)  # sqrt(1e14 * 4e14)
    with pytest.raises(ValueError, match="--temporal-weight"):
        fit([])


def test_each_layout_is_fitted_on_its_own_styles_or_the_others_times_the_head_ratio():
    plain = [Evidence("a", 1e5, 4e9), Evidence("b", 4e5, 1e9)]  # both 4e14
    headed = [Evidence("c", 2e5, 5e8, head=8)]  # 1e14
    assert layout_fit(plain + headed, 0) == (pytest.approx(4e14), plain)
    assert layout_fit(plain + headed, 8) == (pytest.approx(1e14), headed)
    assert layout_fit(plain, 8) == (pytest.approx(4e14 * HEAD_RATIO), plain)  # no head styles yet
    assert layout_fit(headed, 0) == (pytest.approx(1e14 / HEAD_RATIO), headed)


@pytest.mark.slow
def test_the_mapping_predicts_each_shipped_weight_from_the_others(evidence, vgg_weights):
    assert sorted(e.style for e in evidence) == ["composition_vii", "starry_night", "the_scream", "udnie", "wave"]
    assert {e.head for e in evidence} == {FAST.head}  # all have the head: a network without it uses HEAD_RATIO
    for e in evidence:
        others = [o for o in evidence if o is not e]
        predicted = suggest_temporal_weight(e.style, e.head, vgg_weights, others).temporal_weight
        # Each weight was set before training as a share of the painting's no-head weight (a third to two thirds;
        # those had been tuned on real clips, and foresaw each other within 1.6x) and kept once it met every bar,
        # so they spread wider (weight x trace up to 4x apart, all keeping 14-24% of the flicker at worst).
        assert 1 / 3 < predicted / e.temporal_weight < 3, e.style


@pytest.mark.slow
def test_a_higher_contrast_painting_gets_a_lower_weight(tmp_path, vgg_weights, evidence):
    """Doubling the contrast raises the trace (the flicker grows), so the suggested weight falls."""
    painting = painting_path("woman_with_a_hat")
    with Image.open(painting) as im:
        bold = Image.eval(im.convert("RGB"), lambda v: max(0, min(255, 2 * (v - 128) + 128)))
    bold.save(tmp_path / "bold.png")
    plain, strong = (suggest_temporal_weight(p, FAST.head, vgg_weights, evidence)
                     for p in (painting, tmp_path / "bold.png"))
    assert strong.trace > 1.2 * plain.trace and strong.temporal_weight < plain.temporal_weight


@pytest.mark.slow
def test_training_settles_an_open_weight_for_the_layout_and_keeps_a_given_one(vgg_weights):
    painting = str(painting_path("woman_with_a_hat"))
    settled = with_temporal_weight(VideoTrainConfig(style=painting), FAST.head)
    assert settled.temporal_weight == suggest_temporal_weight(painting, FAST.head, vgg_weights).temporal_weight
    # the head holds steady at a lower weight: a network without it gets more
    assert with_temporal_weight(VideoTrainConfig(style=painting), 0).temporal_weight > 1.5 * settled.temporal_weight
    tuned = with_temporal_weight(VideoTrainConfig(style=painting, start="the_scream"), FAST.head)  # a multiple
    assert tuned.temporal_weight == FINE_TUNE_FACTOR * settled.temporal_weight
    given = VideoTrainConfig(style=painting, temporal_weight=2e8)
    assert with_temporal_weight(given, FAST.head) is given
    image = TrainConfig(style=painting)  # stage 1 has no temporal term
    assert with_temporal_weight(image, FAST.head) is image


@pytest.mark.slow
def test_analyze_shows_the_suggestion_at_the_default_size(content_photo, capsys, vgg_weights):
    painting = painting_path("woman_with_a_hat")
    argv = ["analyze", str(painting), "--content", str(content_photo), "--content-size", "32", "--iters", "2", "-q"]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (row,) = result["styles"]
    # for the default network (the head), fitted on the shipped styles that have it
    assert row["temporal_weight"] == suggest_temporal_weight(painting, FAST.head, vgg_weights).temporal_weight
    fitted = result["temporal_weight"]["evidence"]
    assert fitted and {e["head"] for e in fitted} == {FAST.head}
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "suggested temporal weight" in text and f"| {row['temporal_weight']:g} |" in text


@pytest.mark.slow
def test_docs_weight_table_shows_the_shipped_models(evidence):
    """docs/training.md's table (benchmarks/weight_evidence.py --docs) matches the weights and traces shipped."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text()
    table = page.split("<!-- weight-table:start -->")[1].split("<!-- weight-table:end -->")[0]
    assert len(table.strip().splitlines()) >= 2 + len(evidence)
    for e in evidence:
        layout = "head" if e.head else "no head"
        assert f"| `{e.style}` | {layout} | {e.trace:.3g} | {e.temporal_weight:g} |" in table
