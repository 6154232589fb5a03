"""Shared fixtures: the ../shared data folder (tests skip without it) and the real VGG-16 weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} is absent (it sits beside the repository in CI)")
    return SHARED


@pytest.fixture(scope="session")
def vgg_weights():
    """The real ImageNet VGG-16; the test extra installs its source, so its absence is a failure."""
    from steadystyle.vgg import cached_weights

    return cached_weights()
