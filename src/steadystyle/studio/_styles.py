"""The styles the studio offers: the shipped ones, the user's own (trained here or uploaded) and any picture
the user gives (painted by the network for any picture), each shown by a small picture: its painting when there
is one, else the sample clip's first frame stylized.

A style is a name with up to two models, NAME (stable, recurrent) and NAME-per-frame, as shipped, or a picture
with the network for any picture. Thumbnails are made once and kept in the studio's folder, so the page opens fast.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_output
from ..images import IMAGE_SUFFIXES, check_size, load_rgb, to_uint8
from ..models import (PER_FRAME_SUFFIX, any_style_network, Model, ModelError, load_model, load_model_file, per_frame_file,
                      picture_style, shipped_styles)
from ..paintings import painting_names, painting_path
from ..stylize import as_tensor, stylize_image
from ..video import SAMPLE_CLIP, open_video
from ._base import subfolder

MODES = ("stable", "per-frame")
THUMB_SIDE = 256  # longer side of a gallery picture
PHOTO_SIDE = 192  # the stylized sample frame standing for a style without a painting
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
PICTURE_PREFIX = "picture-"  # a picture given as a style keeps this before its file's name


@dataclass(frozen=True)
class Style:
    name: str
    stable: Path | None = None
    per_frame: Path | None = None
    painting: Path | None = None
    picture: bool = False  # painted by the network for any picture (stable, per_frame), conditioned on `painting`

    def load(self, mode: str) -> Model:
        """The model for `mode`, ready to paint."""
        if self.picture:
            return picture_style(self.painting, per_frame=mode == "per-frame", network=self.stable)
        return load_model(self.model_file(mode))

    def model_file(self, mode: str) -> Path:
        """The model for `mode`, or an error naming the mode this style does have."""
        path = self.stable if mode == "stable" else self.per_frame
        if path is None:
            other = "per-frame" if mode == "stable" else "stable"
            raise ModelError(f"the style {self.name} has no {mode} model, only a {other} one; choose {other}")
        return path


class StyleLibrary:
    """Shipped styles plus the studio's `models/` folder (trained here or uploaded)."""

    def __init__(self, root: Path):
        self.models = subfolder(root, "models")
        self.paintings = subfolder(root, "paintings")
        self.thumbs = subfolder(root, "thumbs")

    def own_models(self) -> dict[str, Path]:
        """Finished model files in the studio (half-written ones start with a dot)."""
        return {p.stem: p for p in sorted(self.models.glob("*.safetensors")) if not p.name.startswith(".")}

    def styles(self) -> dict[str, Style]:
        """Every style by name, shipped ones first; a shipped name always means the shipped style."""
        shipped = shipped_styles()
        taken = style_names(shipped)
        own = {k: v for k, v in self.own_models().items() if k.removesuffix(PER_FRAME_SUFFIX) not in taken}
        files = {**own, **shipped}
        names = sorted(taken) + sorted(style_names(own))
        styles = {n: Style(n, files.get(n), files.get(n + PER_FRAME_SUFFIX), self.painting_of(n)) for n in names}
        network = any_style_network()
        return {**styles, **{p.stem: Style(p.stem, network, per_frame_file(network), p, picture=True)
                             for p in self.pictures() if p.stem not in styles}}

    def pictures(self) -> list[Path]:
        """Pictures given as styles (painted by the network for any picture, when this installation has it)."""
        return [p for p in sorted(self.paintings.glob(f"{PICTURE_PREFIX}*")) if any_style_network().is_file()]

    def add_picture(self, file: str | Path) -> str:
        """Keep an uploaded picture as a style, named after its file; returns the name. Its code is computed
        whenever a job or the live view starts with it (well under a second)."""
        file = Path(file)
        if not any_style_network().is_file():
            raise ModelError("this installation has no network for pictures as styles yet; train a style from "
                             "the picture in the Train tab instead")
        if file.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"{file.name}: a style picture is an image ({', '.join(sorted(IMAGE_SUFFIXES))})")
        check_size(file.name, *load_rgb(file).shape[-2:])  # not an image, too small, a bomb: said here
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", file.stem)[:40] or "picture"
        name = f"{PICTURE_PREFIX}{stem}"
        taken = set(self.styles())
        name = next(n for n in (name, *(f"{name}-{i}" for i in range(2, 1000))) if n not in taken)
        with atomic_output(self.paintings / f"{name}{file.suffix.lower()}") as tmp:
            shutil.copyfile(file, tmp)
        return name

    def get(self, name: str | None) -> Style:
        styles = self.styles()
        if not name or name not in styles:
            raise ModelError(f"choose a style in the gallery (known: {', '.join(styles)})")
        return styles[name]

    def own_painting(self, name: str) -> Path | None:
        """The painting kept when the style `name` was trained here."""
        return next(iter(sorted(self.paintings.glob(f"{name}.*"))), None)

    def painting_of(self, name: str) -> Path | None:
        """The painting a style was made from: the one kept when it was trained here, else a bundled one."""
        own = self.own_painting(name)
        if own:
            return own
        return painting_path(name) if name in painting_names() else None

    def thumbnail(self, style: Style) -> Path:
        """A small JPEG for the gallery, remade only when the painting or model behind it changes."""
        source = style.painting or style.stable or style.per_frame
        thumb = self.thumbs / f"{style.name}.jpg"
        if thumb.is_file() and thumb.stat().st_mtime >= source.stat().st_mtime:
            return thumb
        image = Image.open(style.painting).convert("RGB") if style.painting else stylized_sample(source)
        image.thumbnail((THUMB_SIDE, THUMB_SIDE))
        with atomic_output(thumb) as tmp:
            image.save(tmp, format="JPEG", quality=88)
        return thumb

    def gallery(self) -> list[tuple[str, str]]:
        """(thumbnail, name) for every style, as gr.Gallery takes them."""
        return [(str(self.thumbnail(s)), s.name) for s in self.styles().values()]

    def check_new_name(self, name: str) -> str:
        """A name for a new style: file-safe, and not one the gallery already shows."""
        name = name.strip()
        if not NAME_PATTERN.fullmatch(name) or name.endswith(PER_FRAME_SUFFIX):
            raise ValueError(f"{name!r} cannot name a style: use letters, digits, '-' and '_' (up to 64), "
                             f"not ending in {PER_FRAME_SUFFIX}")
        if name in self.styles():
            raise ValueError(f"a style named {name} exists already; choose another name")
        return name

    def add_models(self, files: list[str | Path]) -> list[str]:
        """Copy uploaded model files into the studio after checking each loads; returns the style names."""
        added = []
        for file in map(Path, files):
            if file.suffix != ".safetensors":
                raise ModelError(f"{file.name}: a model is a .safetensors file made by `steadystyle train`")
            load_model_file(file)  # a damaged or foreign file fails here, with the reason
            name = file.stem.removesuffix(PER_FRAME_SUFFIX)
            if name in style_names(shipped_styles()):
                raise ModelError(f"{file.name}: a shipped style is called {name}; rename the file (keeping "
                                 f"{PER_FRAME_SUFFIX} at the end of a per-frame model's name)")
            with atomic_output(self.models / f"{file.stem}.safetensors") as tmp:
                shutil.copyfile(file, tmp)
            added.append(name)
        return added


def style_names(files: dict[str, Path]) -> set[str]:
    """Style names of model files named NAME and NAME-per-frame."""
    return {stem.removesuffix(PER_FRAME_SUFFIX) for stem in files}


def stylized_sample(model_file: Path) -> Image.Image:
    """The sample clip's first frame through a model: what a style looks like when there is no painting."""
    image = Image.fromarray(next(iter(open_video(SAMPLE_CLIP))).image)
    image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    return Image.fromarray(to_uint8(stylize_image(load_model(model_file), as_tensor(np.array(image)))))
