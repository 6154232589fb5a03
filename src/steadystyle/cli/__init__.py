"""The `steadystyle` command: a thin layer over the Python API (argument parsing and messages only).

Each command group is a module here with `register(commands)`, which adds its parser(s) and sets each
one's `run(args)`; `run` turns the arguments into the API's option objects, calls the API and prints.
"""

from __future__ import annotations

import argparse
import signal
import sys

from ..errors import USER_ERRORS, interrupt
from ..version import __version__
from . import analyze, evaluate, export, optimize, studio, stylize, train, weights

__all__ = ["USER_ERRORS", "build_parser", "main"]

# In the order `steadystyle --help` lists them.
COMMAND_GROUPS = (weights, stylize, analyze, evaluate, optimize, train, export, studio)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="steadystyle",
        description="Neural style transfer for video that does not flicker (Gupta et al. 2017).",
        epilog="Run `steadystyle COMMAND --help` for the options of each command.")
    parser.add_argument("--version", action="version", version=f"steadystyle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # `kill` (SIGTERM) ends a command as Ctrl-C does: temporary files removed, a video job's work kept for --resume.
    signal.signal(signal.SIGTERM, interrupt)
    try:
        return args.run(args)
    except USER_ERRORS as e:
        print(f"steadystyle: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsteadystyle: interrupted; no output was written under the final name", file=sys.stderr)
        return 130
