"""Where benchmark figures live and how they reach the README: one JSON per benchmark under results/,
and each README table rewritten from it between its `<!-- NAME:start -->` and `<!-- NAME:end -->` markers,
so no figure is ever copied by hand."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from steadystyle.atomic import atomic_output
from steadystyle.style_cards import replace_between

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
    return json.loads((RESULTS / f"{name}.json").read_text())


def _markers(marker: str) -> tuple[str, str]:
    return f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"


def table_in_readme(marker: str) -> str:
    """What the README holds between the two marker lines named `marker`."""
    start, end = _markers(marker)
    return README.read_text().split(start, 1)[1].split(end, 1)[0].strip("\n")


def rewrite_table(marker: str, body: str) -> None:
    """Replace what the README holds between the two marker lines named `marker`."""
    with atomic_output(README) as tmp:
        Path(tmp).write_text(replace_between(README.read_text(), *_markers(marker), body))
