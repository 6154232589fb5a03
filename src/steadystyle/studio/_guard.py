"""The studio's door: which requests reach Gradio at all.

A page on another site can make the browser send requests to 127.0.0.1 (cross-site uploads), and a
domain that the attacker points at 127.0.0.1 (DNS rebinding) even reads the answers. Both are refused
here: the Host header must name the address the studio serves, and an Origin, when the browser sends
one, must be that same address. A password (HTTP Basic), when set, guards every route alike, ours
included. Gradio's own file route would serve anything under the folders it may read (the studio's
whole folder among them); here it serves only its cache, which holds what the pages were given.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from gradio.utils import get_upload_folder
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/")
# Gradio calls this itself while it starts, without the password; it only starts the queue, once.
STARTUP_ROUTE = "/gradio_api/startup-events"
ANY_ADDRESS = ("0.0.0.0", "::", "")
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
REALM = 'Basic realm="steadystyle studio", charset="UTF-8"'


@dataclass(frozen=True)
class Door:
    """What the studio accepts: its address (as `--host` gave it), its port, and the optional password."""

    host: str
    port: int
    auth: tuple[str, str] | None = None

    def names(self) -> set[str]:
        """Host names that mean this studio; an IP literal is always safe from rebinding, a name is not."""
        host = self.host.lower()
        if host in ANY_ADDRESS:
            return LOOPBACK_NAMES | {socket.gethostname().lower(), socket.getfqdn().lower()}
        if host in LOOPBACK_NAMES or _is_loopback(host):
            return LOOPBACK_NAMES | {host}
        return {host}

    def accepts_host(self, header: str | None) -> bool:
        name, port = split_host(header or "")
        if port != self.port:
            return False
        return name in self.names() or (self.host in ANY_ADDRESS and _is_ip(name))

    def accepts_origin(self, origin: str | None, host: str) -> bool:
        """No Origin (a typed address, curl) or the page's own; 'null' and other sites are refused."""
        return origin is None or origin.lower() in (f"http://{host}".lower(), f"https://{host}".lower())

    def accepts_credentials(self, header: str | None) -> bool:
        if self.auth is None:
            return True
        scheme, _, encoded = (header or "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = ":".join(self.auth).encode()
        return scheme.lower() == "basic" and secrets.compare_digest(given, expected)


def split_host(header: str) -> tuple[str, int | None]:
    """("name", port) of a Host header; port None when absent or not a number."""
    header = header.strip().lower()
    if header.startswith("["):  # [IPv6]:port
        name, _, rest = header[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        name, _, port = header.rpartition(":") if ":" in header else (header, "", "")
    return name, int(port) if port.isdigit() else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    return _is_ip(name) and ipaddress.ip_address(name).is_loopback


def is_cached_file(target: str) -> bool:
    """Whether a file route's path is in Gradio's cache (uploads and what the pages were given)."""
    if "://" in target:
        return False  # Gradio would fetch a URL for the caller: the studio never asks it to
    cache = Path(get_upload_folder()).resolve()
    return Path(os.path.abspath(target)).resolve().is_relative_to(cache)


class Guard:
    """ASGI middleware applying the Door to every HTTP and WebSocket request before Gradio sees it."""

    def __init__(self, app: ASGIApp, door: Door):
        self.app, self.door = app, door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            status, text = refusal
            headers = {"WWW-Authenticate": REALM} if status == 401 else None
            await PlainTextResponse(text, status, headers)(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, reason) when the request may not pass, else None."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.door.accepts_host(host):
            return 403, "This studio answers only at its own address."
        if not self.door.accepts_origin(headers.get("origin"), host):
            return 403, "Requests from other sites are refused."
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none") \
                and headers.get("sec-fetch-mode") != "navigate":
            return 403, "Requests from other sites are refused."
        path = scope["path"]
        if path != STARTUP_ROUTE and not self.door.accepts_credentials(headers.get("authorization")):
            return 401, "This studio needs its user name and password."
        target = next((path[len(route):] for route in FILE_ROUTES if path.startswith(route)), None)
        if target is not None and not is_cached_file(target):
            return 403, "Only results and the files shown in the page can be downloaded."
        return None
