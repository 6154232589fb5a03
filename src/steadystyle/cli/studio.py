"""`steadystyle studio`: the web interface, served on this machine (or, when asked, on the network)."""

from __future__ import annotations

import argparse

from .args import port


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("studio", help="open the studio: stylize, train and measure in a web browser",
                            description="Serve the studio, a web page for stylizing, training and measuring, and "
                                        "print its address. Ctrl-C stops it.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 127.0.0.1 (default) keeps the studio to this machine; 0.0.0.0 "
                        "exposes it to everyone who can reach this machine on the network, who can then upload "
                        "files and start jobs here")
    p.add_argument("--port", type=port, default=7860, help="default: %(default)s")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..studio import serve  # gradio takes seconds to import: only this command pays for it

    serve(args.host, args.port)
    return 0
