"""Where benchmark figures live and how they reach the docs: one JSON per benchmark under results/, and
each generated table in a docs page rewritten from it between its `<!-- NAME:start -->` and
`<!-- NAME:end -->` markers, so no figure is ever copied by hand."""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path

from steadystyle.atomic import atomic_output

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "docs"
DOCS = PAGES / "images"  # the pictures the docs show
BENCHMARKS_PAGE = PAGES / "benchmarks.md"  # the generated tables of measurements
TRAINING_PAGE = PAGES / "training.md"  # the temporal-weight table, beside the recipe it supports
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
        raise SystemExit(f"{path} does not exist yet: run the benchmark without --docs first")
    return json.loads(path.read_text())


def _split(page: Path, marker: str) -> tuple[str, str, str]:
    """The page before, between and after the two marker lines named `marker`."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = page.read_text()
    if text.count(start) != 1 or text.count(end) != 1:
        raise SystemExit(f"{page} needs exactly one '{start}' line and one '{end}' line to hold this table")
    head, rest = text.split(start)
    body, tail = rest.split(end)
    return head + start, body, end + tail


def table_in(page: Path, marker: str) -> str:
    """What `page` holds between the two marker lines named `marker`."""
    return _split(page, marker)[1].strip("\n")


def rewrite_table(page: Path, marker: str, body: str) -> None:
    """Replace what `page` holds between the two marker lines named `marker`."""
    head, _, tail = _split(page, marker)
    with atomic_output(page) as tmp:
        Path(tmp).write_text(f"{head}\n{body}\n{tail}")


def docs_flag(p: argparse.ArgumentParser, page: Path, what: str) -> None:
    """--docs: rewrite `what` in `page` (--readme, the same flag's other spelling, is kept for scripts)."""
    p.add_argument("--docs", action="store_true", help=f"{what} in {page.relative_to(ROOT)}")
    p.add_argument("--readme", dest="docs", action="store_true", help=argparse.SUPPRESS)
