"""`steadystyle analyze`: Gram traces and measured instability of paintings (Gupta et al. Section 3)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..evaluation import (ANALYSIS_FILES, ANALYSIS_JSON, ANALYSIS_PLOT, PERTURBATIONS, AnalysisSettings, analyze,
                          default_content, markdown_tables, protocol_note, write_analysis_report)
from ..models import PER_FRAME_SUFFIX, Model, shipped_styles
from ..training import with_suggestions
from ..vgg import find_weights
from .args import (PAINTING_HELP, REPORT_REPLACED, check_report, json_arg, loss_weight_args, loss_weights,
                   non_negative_float, painting, pixels, positive_int, quiet_arg, resolve_model, seed, vgg_arg)


def register(commands: argparse._SubParsersAction) -> None:
    a = AnalysisSettings()
    p = commands.add_parser("analyze", help="Gram traces and measured instability of paintings (Gupta et al. Sec. 3)",
                            description="Per painting: the trace of its VGG Gram matrices, and its instability: how "
                                        "far two Gatys optimisations of nearly identical frames land apart (a stand-in "
                                        "for the paper's per-style networks), and, where the painting has trained "
                                        "networks, how far their outputs move (the paper's measure). Then the rank "
                                        "correlations with the trace, and a numeric demonstration of why a large "
                                        "trace means many distant minimisers.")
    p.add_argument("paintings", nargs="+", type=painting, metavar="PAINTING", help=PAINTING_HELP)
    p.add_argument("--content", type=Path, metavar="PHOTO",
                   help="the photo to perturb (default: scikit-learn's china.jpg, installed with the train extra)")
    p.add_argument("--size", type=pixels, default=a.trace_size,
                   help="longer side of each painting, for its traces and as the style target (default: %(default)s)")
    p.add_argument("--content-size", type=pixels, default=a.content_size, metavar="PX",
                   help="longer side of the frames that are stylized (default: %(default)s)")
    p.add_argument("--iters", type=positive_int, default=a.iters,
                   help="L-BFGS iterations per frame (default: %(default)s)")
    p.add_argument("--perturb", choices=PERTURBATIONS, default=a.perturb,
                   help="noise: Gaussian noise on the second frame; shift: the second frame panned 1 px "
                        "(default: %(default)s)")
    p.add_argument("--noise-std", type=non_negative_float, default=a.noise_std,
                   help="in RGB 0-1 units (default: %(default)g)")
    p.add_argument("--seed", type=seed, default=a.seed, help="of the shared noise init and the perturbation")
    p.add_argument("--network", action="append", default=[], metavar="PAINTING=MODEL",
                   help="also measure a trained model of that painting (a file stem, e.g. wave=wave.safetensors); "
                        "paintings named like a shipped style get its networks without this. Repeatable")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help=f"write report.md, instability_vs_trace.png and analysis.json into DIR. {REPORT_REPLACED}")
    json_arg(p)
    quiet_arg(p)
    loss_weight_args(p, a.loss)
    vgg_arg(p)
    p.set_defaults(run=run)


def _networks(paintings: list[Path], given: list[str]) -> dict[str, dict[str, Model]]:
    """Painting stem -> {kind: Model}: the shipped styles named like a painting, then PAINTING=MODEL overrides."""
    shipped = shipped_styles()
    pairs = [(stem, name) for stem in (p.stem for p in paintings) for name in (stem, stem + PER_FRAME_SUFFIX)
             if name in shipped]
    for spec in given:
        stem, sep, path = spec.partition("=")
        if not sep or stem not in {p.stem for p in paintings}:
            raise ValueError(f"--network {spec}: give PAINTING=MODEL, PAINTING being the file name (without its "
                             f"suffix) of one of the paintings analysed")
        pairs.append((stem, path))
    networks: dict[str, dict[str, Model]] = {}
    for stem, spec in pairs:
        model = resolve_model(spec, "--network")
        networks.setdefault(stem, {})["stable" if model.recurrent else "per-frame"] = model
    return networks


def run(args: argparse.Namespace) -> int:
    networks = _networks(args.paintings, args.network)
    if args.report is not None:
        models = [m.path for kinds in networks.values() for m in kinds.values()]
        check_report(args.report, ANALYSIS_FILES, [*args.paintings, args.content, *models, args.vgg_weights])
    settings = AnalysisSettings(trace_size=args.size, content_size=args.content_size, iters=args.iters,
                                perturb=args.perturb, noise_std=args.noise_std, seed=args.seed,
                                loss=loss_weights(args, AnalysisSettings().loss))
    content = args.content or default_content()  # fails before the VGG loads when there is none
    weights = find_weights(args.vgg_weights)
    result = analyze(args.paintings, weights, content, settings, networks, progress=not args.quiet)
    if settings.trace_size == AnalysisSettings().trace_size:  # the size the suggestion's evidence is measured at
        result = with_suggestions(result, weights)
    report = write_analysis_report(result, args.report) if args.report is not None else None
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{protocol_note(result)}\n\n{markdown_tables(result)}")
    if report is not None:
        print(f"\nwrote {report}, {report.parent / ANALYSIS_PLOT} and {report.parent / ANALYSIS_JSON}")
    return 0
