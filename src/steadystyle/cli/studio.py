"""`steadystyle studio`: the web interface, served on this machine (or, when asked, on the network)."""

from __future__ import annotations

import argparse
import os

from .args import port, positive_int

AUTH_ENV = "STEADYSTYLE_STUDIO_AUTH"
MAX_UPLOAD_MB = 2048  # the studio's own default (studio._app), repeated so that --help needs no gradio import


def user_and_password(text: str) -> tuple[str, str]:
    """An argparse type for USER:PASSWORD, both parts non-empty (the password may contain ':')."""
    user, colon, password = text.partition(":")
    if not (user and colon and password):
        raise argparse.ArgumentTypeError("must be USER:PASSWORD, both non-empty")
    return user, password


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("studio", help="open the studio: stylize, train and measure in a web browser",
                            description="Serve the studio, a web page for stylizing, training and measuring, and "
                                        "print its address. Ctrl-C stops it.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 127.0.0.1 (default) keeps the studio to this machine; 0.0.0.0 "
                        "exposes it to everyone who can reach this machine on the network, who can then upload "
                        "files and start jobs here (see --auth). The studio answers only requests addressed to "
                        "it by this address (or, for 0.0.0.0, by this machine's name or an IP address)")
    p.add_argument("--port", type=port, default=7860, help="default: %(default)s")
    p.add_argument("--auth", type=user_and_password, metavar="USER:PASSWORD",
                   default=user_and_password(os.environ[AUTH_ENV]) if os.environ.get(AUTH_ENV) else None,
                   help="ask every visitor for this user name and password (the browser's own prompt; sent "
                        "readable over plain HTTP, so use it on a network you trust). Other users of this "
                        f"machine can see a command line: ${AUTH_ENV} takes the same value unseen")
    p.add_argument("--max-upload-mb", type=positive_int, default=MAX_UPLOAD_MB, metavar="MB",
                   help="refuse uploaded files larger than this (default: %(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..studio import serve  # gradio takes seconds to import: only this command pays for it

    serve(args.host, args.port, auth=args.auth, max_upload_mb=args.max_upload_mb)
    return 0
