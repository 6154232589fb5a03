"""The public-domain paintings behind the shipped styles, bundled so that training a style and the
tests need no files from outside the package (provenance: `paintings/README.md`)."""

from __future__ import annotations

from pathlib import Path

PAINTINGS_DIR = Path(__file__).parent / "paintings"


def painting_names() -> list[str]:
    """Names of the bundled paintings (file stems), sorted."""
    return sorted(p.stem for p in PAINTINGS_DIR.glob("*.jpg"))


def painting_path(name: str) -> Path:
    """The JPEG of the bundled painting `name`, e.g. "starry_night"; an unknown name lists the known ones."""
    names = painting_names()
    if name not in names:
        raise ValueError(f"no bundled painting named {name!r}; bundled paintings: {', '.join(names)}")
    return PAINTINGS_DIR / f"{name}.jpg"
