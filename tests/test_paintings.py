"""The bundled paintings: one for every shipped style, small, readable, and with their provenance."""

from __future__ import annotations

import pytest
from PIL import Image

from steadystyle.models import PER_FRAME_SUFFIX, shipped_styles
from steadystyle.paintings import PAINTINGS_DIR, painting_names, painting_path


def test_every_shipped_style_has_its_painting():
    stable = {name for name in shipped_styles() if not name.endswith(PER_FRAME_SUFFIX)}
    assert stable and stable <= set(painting_names())
    assert "woman_with_a_hat" in painting_names()  # a painting with no shipped style, to train a new one


@pytest.mark.parametrize("name", painting_names())
def test_painting_is_a_small_readable_image_with_provenance(name):
    path = painting_path(name)
    assert path.stat().st_size < 1_100_000
    with Image.open(path) as image:
        assert image.format == "JPEG" and image.mode == "RGB" and max(image.size) >= 512
    rows = (PAINTINGS_DIR / "README.md").read_text().splitlines()
    row = next(line for line in rows if line.startswith(f"| {name}.jpg |"))
    assert "public domain" in row


def test_unknown_painting_names_the_available_ones():
    with pytest.raises(ValueError, match="monet") as error:
        painting_path("monet")
    assert all(name in str(error.value) for name in painting_names())
