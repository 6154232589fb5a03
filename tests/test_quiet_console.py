"""The console shows steadystyle's own lines only: no notes from the ONNX exporter or OpenCV (issue 34)."""

from __future__ import annotations

import pytest

import subprocess
import sys


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "steadystyle", *argv], capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_export_prints_only_its_own_lines(tmp_path):
    done = _run("export", "-s", "starry_night-per-frame", "-o", str(tmp_path / "x.onnx"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert all(line.startswith((str(tmp_path), "wrote ")) for line in done.stdout.splitlines()), done.stdout


@pytest.mark.slow
def test_a_missing_webcam_is_one_line_of_error(tmp_path):
    done = _run("stylize", "webcam:9", "-s", "starry_night", "--no-window", "--frames", "1")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()] and done.stderr.startswith("steadystyle: error: ")
