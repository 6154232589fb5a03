"""The artifact measure: a fine regular pattern stands out, photos, paintings and coarse texture do not."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from steadystyle.artifacts import artifact_score
from steadystyle.cli import main
from steadystyle.paintings import painting_names, painting_path

PHOTOS = {"astronaut": skimage.data.astronaut, "coffee": skimage.data.coffee, "chelsea": skimage.data.chelsea}


def with_pattern(image: np.ndarray, period: float, amplitude: float, angle: float = 45.0) -> np.ndarray:
    """`image` plus parallel stripes `period` px apart at `angle` degrees, as a network's hatch would add."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    t = np.radians(angle)
    stripes = amplitude * 255 * np.sin(2 * np.pi * (xx * np.cos(t) + yy * np.sin(t)) / period)
    return np.clip(image + stripes[..., None], 0, 255).astype(np.uint8)


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS)
def test_a_faint_fine_hatch_stands_out_on_a_photo(name):
    photo = PHOTOS[name]()
    clean = artifact_score(photo)
    assert clean < 0.2
    assert artifact_score(with_pattern(photo, 3, 0.02)) > clean + 0.2
    assert artifact_score(with_pattern(photo, 4, 0.02, angle=0)) > clean + 0.2  # venetian-blind bands


def test_coarse_stripes_are_picture_not_pattern():
    photo = PHOTOS["astronaut"]()
    assert artifact_score(with_pattern(photo, 16, 0.05)) < artifact_score(photo) + 0.05


@pytest.mark.slow
def test_the_shipped_paintings_score_low():
    for name in painting_names():
        painting = np.asarray(Image.open(painting_path(name)).convert("RGB"))
        assert artifact_score(painting) < 0.2, name


@pytest.mark.slow
def test_tensor_and_uint8_inputs_agree_and_bad_shapes_are_refused():
    photo = PHOTOS["coffee"]()
    tensor = torch.from_numpy(photo).permute(2, 0, 1).float() / 255
    assert artifact_score(tensor) == pytest.approx(artifact_score(photo), abs=1e-4)
    assert 0 <= artifact_score(photo[:20, :30]) <= 1  # smaller than a tile
    with pytest.raises(ValueError, match="H, W, 3"):
        artifact_score(photo[..., 0])


@pytest.mark.slow
def test_evaluate_scores_images_without_warping_error(tmp_path, capsys):
    photo = PHOTOS["chelsea"]()
    paths = {name: tmp_path / f"{name}.png" for name in ("photo", "hatched", "clean")}
    Image.fromarray(photo).save(paths["photo"])
    Image.fromarray(with_pattern(photo, 3, 0.03)).save(paths["hatched"])
    Image.fromarray(photo).save(paths["clean"])
    assert main(["evaluate", str(paths["photo"]), str(paths["hatched"]), str(paths["clean"]), "--json", "-q"]) == 0

    result = json.loads(capsys.readouterr().out)
    scores = {m["name"]: m for m in result["methods"]}
    assert result["frames"] == 1 and result["flicker_kept"] is None
    assert scores["hatched"]["warping_error"] is None
    assert scores["hatched"]["artifacts"] > scores["clean"]["artifacts"] + 0.2
    assert scores["clean"]["artifacts"] == pytest.approx(result["source_artifacts"])
