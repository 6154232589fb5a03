"""`steadystyle weights`: find the VGG-16 loss network's weights, check them, and optionally export them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ..atomic import atomic_output, check_not_inputs
from ..vgg import find_weights, to_torchvision_state
from .args import REPLACED, json_arg, vgg_arg


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("weights", help="find and check the VGG-16 loss network weights")
    vgg_arg(p)
    p.add_argument("--export", type=Path, metavar="PATH",
                   help=f"also write them as a torchvision-format state dict (RGB, 0-1, mean/std input). {REPLACED}")
    json_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    w = find_weights(args.vgg_weights)
    if args.export:
        check_not_inputs([args.export], [w.path, args.vgg_weights])
        with atomic_output(args.export) as tmp, tmp.open("wb") as f:  # a file object: a full disk is reported
            torch.save(to_torchvision_state(w), f)
        print(f"wrote {args.export}: a torchvision-format vgg16 state dict (features only) of these weights")
    info = {"source": w.source, "path": str(w.path), "normalisation": w.norm.name,
            "conv1_1": list(w.tensors["features.0.weight"].shape),
            "conv1_1_bias_head": [round(v, 4) for v in w.tensors["features.0.bias"][:4].tolist()],
            "tensors": len(w.tensors), "checksum": w.checksum(), "check": "ok"}
    if args.json:
        print(json.dumps(info))
    else:
        for k, v in info.items():
            print(f"{k:18} {v}")
    return 0
