"""Where benchmark figures live and how they reach the README: one JSON per benchmark under results/,
and each README table rewritten from it between its `<!-- NAME:start -->` and `<!-- NAME:end -->` markers,
so no figure is ever copied by hand."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from steadystyle.atomic import atomic_output

README = Path(__file__).resolve().parents[1] / "README.md"
DOCS = README.parent / "docs" / "images"
RESULTS = Path(__file__).with_name("results")


def save_results(name: str, command: str, data: dict) -> Path:
    """results/NAME.json, atomically, stamped with the date, the command and the machine's core count."""
    path = RESULTS / f"{name}.json"
    RESULTS.mkdir(exist_ok=True)
    stamped = {"date": datetime.date.today().isoformat(), "command": command, "cpus": os.cpu_count(), **data}
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(stamped, indent=1) + "\n")
    return path


def load_results(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"{path} does not exist yet: run the benchmark without --readme first")
    return json.loads(path.read_text())


def _split(marker: str) -> tuple[str, str, str]:
    """The README before, between and after the two marker lines named `marker`."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = README.read_text()
    if text.count(start) != 1 or text.count(end) != 1:
        raise SystemExit(f"{README} needs exactly one '{start}' line and one '{end}' line to hold this table")
    head, rest = text.split(start)
    body, tail = rest.split(end)
    return head + start, body, end + tail


def table_in_readme(marker: str) -> str:
    return _split(marker)[1].strip("\n")


def rewrite_table(marker: str, body: str) -> None:
    """Replace what the README holds between the two marker lines named `marker`."""
    head, _, tail = _split(marker)
    with atomic_output(README) as tmp:
        Path(tmp).write_text(f"{head}\n{body}\n{tail}")
