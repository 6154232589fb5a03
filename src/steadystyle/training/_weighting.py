"""How much stage 2's temporal loss should count for a painting, said before any training.

The style loss is relative (each layer's Gram error over the target's own norm), so it pulls about
equally hard for every painting, while the flicker the temporal loss sees grows with the painting's
Gram trace (Gupta et al.: equally good outputs lie ~sqrt(trace) apart, so squared differences grow as
the trace). One temporal weight therefore counts for more on a high-trace painting, and the weight
that keeps the same share of flicker falls as 1 / trace. The constant comes from the shipped styles, each
of whose weights met every bar on real clips: the geometric mean of weight x trace over the styles of the
network's layout (with or without a head, which holds steady at a lower weight).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TypeVar

from ..images import load_rgb
from ..losses import TRACE_LAYERS, TRACE_SIZE, gram_traces
from ..models import PER_FRAME_SUFFIX, load_model, shipped_styles
from ..networks import DEFAULT_ARCH, PRESETS
from ..paintings import painting_names, painting_path
from ..vgg import VGGFeatures, VGGWeights, cached_weights


@dataclass(frozen=True)
class Evidence:
    """A shipped style: its painting's total Gram trace and the temporal weight it was trained with."""

    style: str
    trace: float
    temporal_weight: float
    head: int = 0  # Arch.head of its network


@dataclass(frozen=True)
class Suggestion:
    trace: float  # of the painting, total over TRACE_LAYERS at TRACE_SIZE
    temporal_weight: float  # rounded to two significant figures
    constant: float  # weight x trace for the network's layout (full runs', without the fine-tuning factor)
    evidence: tuple[Evidence, ...]  # the shipped styles the constant is fitted on


def traces(paintings: list[str | Path], weights: VGGWeights | None = None) -> list[float]:
    """Total Gram trace of each painting, measured as `analyze` does."""
    vgg = VGGFeatures(weights or cached_weights(), list(TRACE_LAYERS))
    return [gram_traces(load_rgb(p, TRACE_SIZE), vgg)["total"] for p in paintings]


def shipped_evidence(weights: VGGWeights | None = None) -> list[Evidence]:
    """The shipped stable styles whose painting is bundled, with the temporal weight and layout in their model file."""
    models = {n: load_model(n) for n in shipped_styles() if not n.endswith(PER_FRAME_SUFFIX) and n in painting_names()}
    measured = traces([painting_path(n) for n in models], weights)
    return [Evidence(n, t, float(m.meta["training"]["temporal_weight"]), m.meta["arch"].get("head", 0))
            for (n, m), t in zip(models.items(), measured)]


def fit(evidence: list[Evidence]) -> float:
    """The constant c of weight = c / trace that fits the evidence best in log terms."""
    if not evidence:
        raise ValueError("no shipped styles to learn the temporal weight from: give one (--temporal-weight, or "
                         "VideoTrainConfig(temporal_weight=...) in Python)")
    return math.exp(sum(math.log(e.temporal_weight * e.trace) for e in evidence) / len(evidence))


# A network with a head holds steady at a lower weight than one without (the fit does not tell a fast2 3x3
# head from the earlier 9x9 one until fast2 styles ship): the shipped styles, all with the
# head, are trained at a third (starry_night, chosen on the selection clips) to two thirds (udnie) of the weight
# the same painting needs without it, about half on geometric mean, and meet every bar. A layout without shipped styles of its own takes the other layout's
# constant times this ratio (a head network) or divided by it (a network without).
HEAD_RATIO = 1 / 2


def layout_fit(evidence: list[Evidence], head: int) -> tuple[float, list[Evidence]]:
    """The constant for networks of this `head` (Arch.head), and the evidence it rests on: the styles of that
    layout, or when there are none, all of them scaled by HEAD_RATIO (times it for a head, divided without)."""
    same = [e for e in evidence if bool(e.head) == bool(head)]
    if same:
        return fit(same), same
    return fit(evidence) * (HEAD_RATIO if head else 1 / HEAD_RATIO), evidence


def round2(x: float) -> float:
    """Two significant figures: a weight is a choice, not a measurement."""
    return float(f"{x:.2g}")


# Fine-tuning (`train style --from`) takes this multiple of the suggestion. Its short stage 2 starts from a
# per-frame network that had only a short stage 1 (not yet as sharp as a full run's, so steadiness costs
# little of its look) and has few steps to learn steadiness in. On the selection clips (carphone, sample;
# benchmarks/selection.py) 1x kept 7% and 24% of the flicker at style 1.04x and 0.84x, 1.5x 4% and 16%
# at 1.06x and 0.97x, 2x 1% and 12% at 1.06x and 1.00x (measured without the head; docs/training.md has the head's).
FINE_TUNE_FACTOR = 2.0


def suggest_temporal_weight(painting: str | Path, head: int, weights: VGGWeights | None = None,
                            evidence: list[Evidence] | None = None, fine_tune: bool = False) -> Suggestion:
    """The temporal weight for `painting` (a file or bundled name) on a network with this `head` (Arch.head),
    from its trace and the shipped styles'; `fine_tune`: for a short stage 2 started from a trained style
    (FINE_TUNE_FACTOR x it)."""
    evidence = shipped_evidence(weights) if evidence is None else evidence
    path = Path(painting) if Path(painting).is_file() else painting_path(str(painting))
    (trace,) = traces([path], weights)
    c, used = layout_fit(evidence, head)
    weight = round2(c / trace)  # what `analyze` shows; fine-tuning takes exactly a multiple
    return Suggestion(trace, weight * FINE_TUNE_FACTOR if fine_tune else weight, c, tuple(used))


Config = TypeVar("Config")


def with_temporal_weight(config: Config, head: int, vgg_weights: str | Path | None = None) -> Config:
    """`config` with a temporal weight left open (None) set to its painting's suggestion for a network with
    this `head` (for fine-tuning, when `config.start` is set, FINE_TUNE_FACTOR x it), once per run.

    Stage 1's configs have no temporal weight and a number is the user's choice: both are kept as given.
    """
    if getattr(config, "temporal_weight", 0.0) is not None:
        return config
    suggestion = suggest_temporal_weight(config.style, head, cached_weights(vgg_weights),
                                         fine_tune=bool(getattr(config, "start", "")))
    return replace(config, temporal_weight=suggestion.temporal_weight)


def with_suggestions(result: dict, weights: VGGWeights | None = None) -> dict:
    """`evaluation.analyze`'s result plus each painting's suggested temporal weight on the default network and
    the evidence behind it."""
    c, used = layout_fit(shipped_evidence(weights), PRESETS[DEFAULT_ARCH].head)
    return {**result, "styles": [{**r, "temporal_weight": round2(c / r["traces"]["total"])} for r in result["styles"]],
            "temporal_weight": {"constant": c, "arch": DEFAULT_ARCH, "evidence": [asdict(e) for e in used]}}
