"""`steadystyle evaluate`: score stylized versions of one video for flicker, style, content and speed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..evaluation import (REPORT_FILES, REPORT_HTML, EvaluateSettings, evaluate_videos, flicker_note, method_paths,
                          results_table, settings_note, write_report)
from ..images import load_rgb
from ..vgg import find_weights
from .args import (PAINTING_HELP, REPORT_REPLACED, check_report, flow_args, json_arg, non_negative_float,
                   painting_args, pixels, positive_float, quiet_arg, renamed, vgg_arg)


def register(commands: argparse._SubParsersAction) -> None:
    e = EvaluateSettings()
    p = commands.add_parser("evaluate", help="score stylized versions of one video or image: flicker (E_warp), style, "
                                             "content, artifacts, speed",
                            description="Score each stylized video (or frame folder) of SOURCE: the warping error "
                                        "E_warp (mean and per frame; lower is steadier), the style loss against --painting "
                                        "and the content loss against SOURCE (default loss weights, at --size), the "
                                        "artifact score (grid or hatch 2-8 px apart: the share of fine detail in "
                                        "spectral peaks, at full size; photos score about 0.07-0.12), and "
                                        "the speed recorded beside the video when steadystyle made it (OUT.mp4.json). "
                                        "Frames are streamed, so videos of any length work. Images are scored "
                                        "the same way, without E_warp.")
    p.add_argument("source", type=Path, metavar="SOURCE", help="the original video, frame folder or image")
    p.add_argument("stylized", nargs="+", metavar="STYLIZED",
                   help="stylized videos or frame folders of SOURCE, frame for frame; NAME=PATH names a method "
                        "(default: the file name). With two, the first is read as the stable network's and the "
                        "second as the per-frame network's, and the flicker kept is reported: (E_warp first - "
                        "source) / (E_warp second - source)")
    p.add_argument("--gt-flow", type=Path, metavar="FLOW",
                   help="ground-truth backward flows: a folder of backward_J_I.flo (J = I + 1, the first for "
                        "SOURCE's second frame), with reliable_J_I.pgm masks or none, or an .npz with flows "
                        "(T-1, H, W, 2) and optional masks (T-1, H, W); default: DIS flow and consistency mask "
                        "on SOURCE")
    painting_args(p, help=f"the painting, for the style loss (none without it): {PAINTING_HELP}")
    p.add_argument("--size", type=pixels, default=e.size,
                   help="longer side of the frames scored; SOURCE is never enlarged (default: %(default)s)")
    renamed(p, "--painting-size", "--style-size", type=pixels, metavar="PX",
            help="longer side of the painting (default: --size)")
    flow_args(p, e.flow_method, e.flow_preset, "SOURCE")
    p.add_argument("--start", type=non_negative_float, metavar="SEC", help="SOURCE from here (as the videos were made)")
    p.add_argument("--duration", type=positive_float, metavar="SEC", help="only this many seconds of SOURCE")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write report.md, report.html, the per-frame plot, a frame strip and a GIF into DIR. "
                        + REPORT_REPLACED)
    json_arg(p)
    quiet_arg(p)
    vgg_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    methods = method_paths(args.stylized)
    if args.style is not None:
        load_rgb(args.style)  # a bad painting fails before the videos are read
    if args.report is not None:
        check_report(args.report, REPORT_FILES,
                     [args.source, *methods.values(), args.style, args.gt_flow, args.vgg_weights])
    settings = EvaluateSettings(size=args.size, style_size=args.style_size, flow_method=args.flow,
                                flow_preset=args.flow_preset)
    result = evaluate_videos(args.source, methods, find_weights(args.vgg_weights), args.style, args.gt_flow, settings,
                             start=args.start, duration=args.duration, previews=args.report is not None,
                             progress=not args.quiet)
    report = write_report(result, args.report) if args.report is not None else None
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    print("\n\n".join(part for part in (results_table(result), flicker_note(result), settings_note(result)) if part))
    if report is not None:
        print(f"\nwrote {report} and {report.parent / REPORT_HTML}")
    return 0
