"""Still images in and out, as RGB float tensors in [0, 1], plus the colour operations styles need."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from .atomic import atomic_output, check_writable

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
# The smallest side anything here stylizes. Measured failures: the classic network below 5 px, the fast
# layout below 9 px, VGG-16 (optimisation, training) below 4 px; 16 keeps a margin, and a smaller
# picture shows no style anyway.
MIN_SIDE = 16
# The largest picture read (150 megapixels: above a 100-megapixel camera's, and ~0.5 GB decoded, which shrinking
# on load then frees); Pillow's own limit lies above it (179 megapixels; it only warns from 89). Larger ones
# are refused, named.
MAX_PIXELS = 150_000_000
# Above this many pixels a picture is shrunk while it is read (bounded memory); smaller ones are read whole, so
# the paintings' style targets, and every figure measured with them, stay as they were.
SHRINK_ON_LOAD = 16_000_000
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "RGBX", "I", "F", "CMYK"}  # modes Image.reduce takes


class ImageError(ValueError):
    """An input image that cannot be used; the message names the file and what to do."""


def load_image(path: str | Path, max_side: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Read an image as ((3, H, W) RGB in [0, 1], (1, H, W) alpha or None), upright as a viewer shows it.

    The EXIF orientation is applied (phones store portraits sideways and say so there). Grayscale is
    replicated to RGB, 16-bit is scaled by 65535, palette images are expanded and an alpha channel is
    returned separately so a cut-out can stay a cut-out. Images under MIN_SIDE (after `max_side`) fail.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, expected an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below, against ours
            opened = Image.open(path)
        with opened as im:
            _check_pixels(path, im.width, im.height)
            im, full = _decoded(im, max_side)
    except Image.DecompressionBombError as e:  # past Pillow's own limit, which lies above ours
        raise ImageError(f"{path}: {e}; more than the {MAX_PIXELS / 1e6:.0f} megapixels read here") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ImageError(f"{path}: not a readable image ({e}); use PNG, JPEG, BMP, TIFF or WebP") from e
    check_size(path, *full, max_side)
    target = fit_size(*full, max_side)
    alpha = None
    if im.mode.startswith("I"):  # 16-bit grayscale; Pillow itself reduces 16-bit RGB to 8 bits
        gray = np.asarray(im).astype(np.float32) / 65535.0
        arr = np.repeat(gray[..., None], 3, axis=-1)
    else:
        if "A" in im.getbands() or im.mode == "P" and "transparency" in im.info:
            rgba = im.convert("RGBA")
            alpha = torch.from_numpy(np.asarray(rgba)[..., 3].astype(np.float32) / 255.0)[None]
            im = rgba
        arr = np.asarray(im.convert("RGB")).astype(np.float32) / 255.0
    rgb = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).clamp(0, 1)
    if tuple(rgb.shape[-2:]) != target:
        rgb = resize_to(rgb, target)
        if alpha is not None:
            alpha = resize_to(alpha, target)
    return rgb, alpha


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageError(f"{path}: {width}x{height} px is {width * height / 1e6:.0f} megapixels, more than the "
                         f"{MAX_PIXELS / 1e6:.0f} read here (a decompression bomb, or a picture to shrink first)")


def _decoded(im: Image.Image, max_side: int | None) -> tuple[Image.Image, tuple[int, int]]:
    """Decode, upright; a picture over SHRINK_ON_LOAD pixels that will be shrunk anyway is shrunk on the way in:
    a JPEG decoded at 1/2 to 1/8 scale, any other picture reduced by a whole factor, each to no less than
    `max_side` (the final resize is smooth). Memory then follows the size wanted, not the file's: an 8000x8000 painting costs ~0.2 GB, not 2.3.
    Also returns the upright picture's full (H, W): the final size follows from it, whatever the shrinking on
    the way in rounded to."""
    sideways = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientations that swap width and height
    full = (im.width, im.height) if sideways else (im.height, im.width)
    shrink = bool(max_side) and im.width * im.height > SHRINK_ON_LOAD
    if shrink:
        im.draft(im.mode, fit_size(im.height, im.width, max_side)[::-1])
    im.load()
    factor = max(1, max(im.size) // max_side) if shrink else 1
    if factor > 1:
        if im.mode not in _REDUCIBLE:  # palette, 1-bit and 16-bit pictures: to a mode that reduces, as read below
            alpha = "A" in im.getbands() or "transparency" in im.info
            im = im.convert("I" if im.mode.startswith("I;16") else "RGBA" if alpha else "RGB")
        im = im.reduce(factor)
    return ImageOps.exif_transpose(im), full


def load_rgb(path: str | Path, max_side: int | None = None) -> torch.Tensor:
    """Like load_image but only the colour, for style and content images."""
    return load_image(path, max_side)[0]


def fit_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """(H, W) scaled so the longer side is at most `max_side` (never enlarged; None: unchanged)."""
    scale = max_side / max(height, width) if max_side else 1.0
    if scale >= 1:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


def check_size(name: str | Path, height: int, width: int, max_side: int | None = None) -> None:
    """Refuse a picture too small to stylize (as it will be after shrinking to `max_side`), naming it."""
    h, w = fit_size(height, width, max_side)
    if min(h, w) >= MIN_SIDE:
        return
    shrunk = f" once its longer side is shrunk to {max_side} px" if (h, w) != (height, width) else ""
    fix = f"give a size larger than {max_side}" if shrunk else "use a larger picture (or scale it up first)"
    raise ImageError(f"{name}: {w}x{h} px{shrunk}, but styles need at least {MIN_SIDE} px on each side; {fix}")


def resize_max_side(img: torch.Tensor, max_side: int) -> torch.Tensor:
    """Scale (C, H, W) so its longer side is at most `max_side` (never upscales)."""
    size = fit_size(*img.shape[-2:], max_side)
    if size == tuple(img.shape[-2:]):
        return img
    return F.interpolate(img[None], size=size, mode="bilinear", antialias=True, align_corners=False)[0]


def resize_to(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize (C, H, W) or (B, C, H, W) to (H, W)."""
    batched = img.ndim == 4
    out = F.interpolate(img if batched else img[None], size=size, mode="bilinear", antialias=True, align_corners=False)
    return out if batched else out[0]


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> (H, W, C) uint8. In-place steps after one copy: 5x faster than
    chained out-of-place ones, which matters at video rates. A channels-last input gives a contiguous array."""
    return img.detach().cpu().float().mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def _image_format(path: Path) -> str:
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        kind = f"as {path.suffix!r}" if path.suffix else "without a suffix"
        raise ImageError(f"{path}: cannot write an image {kind}; name it .png or .jpg")
    return fmt


def check_image_output(path: str | Path) -> Path:
    """Fail before any work when `path` is not an image name this can write, or cannot be created."""
    _image_format(Path(path))
    return check_writable(path)


def save_image(img: torch.Tensor, path: str | Path, alpha: torch.Tensor | None = None) -> Path:
    """Write (3, H, W) in [0, 1] atomically; the alpha channel is kept when the format has one."""
    path = Path(path)
    fmt = _image_format(path)
    arr = to_uint8(img)
    if alpha is not None and path.suffix.lower() in {".png", ".webp", ".tif", ".tiff"}:
        arr = np.concatenate([arr, to_uint8(alpha.expand(1, *alpha.shape[-2:]))], axis=-1)
    with atomic_output(path) as tmp:
        Image.fromarray(arr).save(tmp, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


# ITU-R BT.601 luma and chroma, as in Gatys et al. 2017's colour-preserving transfer.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rgb_to_yiq(img: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", _RGB_TO_YIQ.to(img), img)


def yiq_to_rgb(img: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(_RGB_TO_YIQ).to(img), img)


def luminance(img: torch.Tensor) -> torch.Tensor:
    """The luma channel replicated to 3 channels, so a colour network can look at it."""
    y = rgb_to_yiq(img)[..., :1, :, :]
    return y.expand(*img.shape[:-3], 3, *img.shape[-2:])


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's luma to the content's mean and spread (Gatys et al. 2017, eq. 1)."""
    ys, yc = luminance(style), luminance(content)
    return ((ys - ys.mean()) * (yc.std() / ys.std().clamp_min(1e-6)) + yc.mean()).clamp(0, 1)


def keep_colours(stylized: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """The stylized image's luma with the original's chroma: the style's strokes, the photo's colours."""
    s, o = rgb_to_yiq(stylized), rgb_to_yiq(original)
    return yiq_to_rgb(torch.cat([s[..., :1, :, :], o[..., 1:, :, :]], dim=-3)).clamp(0, 1)


def list_images(folder: str | Path) -> list[Path]:
    """Image files in a folder, sorted by name (numbered frames come out in order)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
