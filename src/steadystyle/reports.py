"""What the reports of `evaluate` and `analyze` share: their folder, Markdown tables, figures and files.

Every file is written atomically, so a report interrupted half way leaves the previous one readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import OutputError, atomic_output, check_writable

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def check_folder(folder: str | Path) -> Path:
    """Refuse a report folder that is a file, before minutes of computing; creates nothing."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--report {folder} is a file; give a folder (it is created if missing)")
    return folder


def prepare_folder(folder: str | Path, first_file: str) -> Path:
    """Create the report folder and check it takes files."""
    folder = check_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    check_writable(folder / first_file)
    return folder


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; it reads as plain text in a terminal too."""
    return "\n".join(["| " + " | ".join(header) + " |", "|---" * len(header) + "|",
                      *("| " + " | ".join(row) + " |" for row in rows)])


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib figure drawn off screen (no display, no global pyplot state); imported only when plotting,
    since matplotlib takes a while to import."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def write_text(path: Path, text: str) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return path
