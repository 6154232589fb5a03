"""What real cameras do between two frames of an unchanged scene: sensor noise, compression, exposure flicker.

Why: a per-frame style network turns these invisible differences into visible, boiling brush strokes
(Gupta et al. 2017: the Gram loss's minimisers form a sphere, so small input changes move the output
far). Training sequences get them on top of their motion, with the flow and masks untouched, so the
temporal loss teaches the recurrent network to ignore them. Levels follow ordinary footage: noise of
1-4/255 (8-bit video after denoising), JPEG quality 50-95, exposure steps of about 1%.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


@dataclass(frozen=True)
class Nuisance:
    """Ranges the degradations are drawn from; a zero disables one."""

    noise: float = 4 / 255  # largest std of the signal-independent (read) noise, per channel
    shot: float = 0.02  # largest shot-noise scale: std = shot * sqrt(intensity)
    jpeg: float = 0.5  # share of sequences that are JPEG-compressed (each frame on its own)
    jpeg_quality: tuple[int, int] = (50, 95)
    exposure: float = 0.01  # std of each frame's global gain around 1

    def apply(self, frames: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """(T, 3, H, W) in [0, 1] -> the same frames as one camera would record them, frame by frame."""
        t = frames.shape[0]
        read = self.noise * torch.rand((), generator=g)
        shot = self.shot * torch.rand((), generator=g)
        gain = 1 + self.exposure * torch.randn(t, 1, 1, 1, generator=g)
        x = frames * gain
        std = (read ** 2 + shot ** 2 * x.clamp_min(0)).sqrt()
        x = (x + std * torch.randn(x.shape, generator=g)).clamp(0, 1)
        if torch.rand((), generator=g) < self.jpeg:
            low, high = self.jpeg_quality
            quality = int(torch.randint(low, high + 1, (1,), generator=g))
            x = torch.stack([jpeg_roundtrip(f, quality) for f in x])
        return x


def jpeg_roundtrip(frame: torch.Tensor, quality: int) -> torch.Tensor:
    """(3, H, W) in [0, 1] through an 8-bit JPEG at `quality` and back: block and ringing artefacts."""
    array = (frame.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return torch.from_numpy(decoded.copy()).permute(2, 0, 1).float() / 255.0
