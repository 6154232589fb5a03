"""Hostile or huge inputs are refused by name before they cost memory (issue 34): decompression bombs as
input or painting, model files whose metadata asks for absurd networks; and a huge painting shrunk on load
costs little more memory than a small one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from steadystyle.cli import main
from steadystyle.images import MAX_PIXELS, load_rgb
from steadystyle.models import save_model
from steadystyle.networks import SLIM, TransformNet

from videos import picture

PEAK_MEMORY = """
import resource, sys
from steadystyle.images import load_rgb
load_rgb(sys.argv[1], 512)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kb(path: Path) -> int:
    """The peak resident memory of a fresh process that loads `path` shrunk to 512 px, as a painting is."""
    done = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.fixture(scope="module")
def huge(tmp_path_factory) -> dict[str, Path]:
    """An 8000x8000 painting as JPEG, PNG and palette PNG (smooth, so the files stay small), and a 600 px one."""
    folder = tmp_path_factory.mktemp("huge")
    g = Image.linear_gradient("L").resize((8000, 8000))
    image = Image.merge("RGB", (g, g.rotate(90), g.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))
    paths = {"small": folder / "small.png", "jpeg": folder / "big.jpg", "png": folder / "big.png",
             "palette": folder / "big-palette.png"}
    image.resize((600, 600)).save(paths["small"])
    image.save(paths["jpeg"], quality=90)
    image.save(paths["png"], compress_level=1)
    image.convert("P").save(paths["palette"], compress_level=1)
    return paths


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["jpeg", "png", "palette"])
def test_an_8000_px_painting_shrunk_to_512_costs_under_1_gb_more_than_a_small_one(huge, kind):
    extra_gb = (_peak_kb(huge[kind]) - _peak_kb(huge["small"])) / 2**20
    assert extra_gb < 1.0, f"{kind}: {extra_gb:.2f} GB more"
    # Shrunk on load, yet the picture a full decode and one smooth resize give.
    with Image.open(huge[kind]) as im:
        reference = np.asarray(im.convert("RGB").resize((512, 512), Image.Resampling.LANCZOS), dtype=np.float32)
    loaded = load_rgb(huge[kind], 512).permute(1, 2, 0).numpy() * 255
    assert loaded.shape == (512, 512, 3) and np.abs(loaded - reference).mean() < 2.0


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """1-bit PNGs of a few MB that decode to 156 megapixels (over our limit) and 200 (over Pillow's too)."""
    folder = tmp_path_factory.mktemp("bombs")
    paths = {}
    for name, size in {"over ours": (13_000, 12_000), "over Pillow's": (20_000, 10_000)}.items():
        paths[name] = folder / f"{size[0]}x{size[1]}.png"
        Image.new("1", size).save(paths[name])
    return paths


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_model(TransformNet(SLIM), tmp_path_factory.mktemp("m") / "slim.safetensors", "test")


@pytest.mark.parametrize("bomb", ["over ours", "over Pillow's"])
@pytest.mark.parametrize("role", ["input", "painting"])
def test_a_decompression_bomb_is_refused_by_name(bombs, model, tmp_path, capsys, bomb, role):
    path = bombs[bomb]
    assert path.stat().st_size < 5e6 and 13_000 * 12_000 > MAX_PIXELS
    photo = tmp_path / "photo.png"
    Image.fromarray(picture(0)).save(photo)
    argv = (["stylize", path, "-s", model, "-o", tmp_path / "out.png"] if role == "input" else
            ["optimize", "image", photo, path, "-o", tmp_path / "out.png", "--iters", "1", "-q"])
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "megapixels" in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()


HOSTILE_ARCH = {
    "negative width": ({"width": -16}, "width must be a whole number from 1 to 256, got -16"),
    "enormous width": ({"width": 10**6}, "got 1000000"),
    "4000 residual blocks": ({"res_blocks": 4000}, "res_blocks must be a whole number from 0 to 40"),
    "width as text": ({"width": "16"}, "got '16'"),
    "fractional width": ({"width": 16.5}, "got 16.5"),
    "huge head": ({"layout": "fast", "head": 10**5}, "head must be"),
    "head on the classic layout": ({"head": 8}, "only for the fast layout"),
    "unknown layout": ({"layout": "../../etc"}, "unknown network layout"),
    "recurrent as text": ({"recurrent": "yes"}, "recurrent must be true or false"),
    "unknown field": ({"gpus": 8}, "unexpected keyword argument"),
}


@pytest.mark.parametrize("case", HOSTILE_ARCH)
def test_model_metadata_asking_for_an_absurd_network_is_refused_before_it_is_built(model, tmp_path, capsys, case):
    change, says = HOSTILE_ARCH[case]
    with safe_open(str(model), "pt") as f:
        meta, tensors = json.loads(f.metadata()["steadystyle"]), {k: f.get_tensor(k) for k in f.keys()}
    meta["arch"] |= change
    hostile = tmp_path / "hostile.safetensors"
    save_file(tensors, str(hostile), metadata={"steadystyle": json.dumps(meta)})
    photo = tmp_path / "photo.png"
    Image.fromarray(picture(0)).save(photo)
    assert main(["stylize", str(photo), "-s", str(hostile), "-o", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err
    assert str(hostile) in err and says in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()
