"""`evaluate`: ranks a jittery stylization worse, scores exact motion ~0, reads .flo folders, writes reports."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from videos import make_clip

from steadystyle.cli import main
from steadystyle.evaluation._evaluate import GroundTruthFlow
from steadystyle.flow import inside_image, write_flo
from steadystyle.images import to_uint8
from steadystyle.models import Model
from steadystyle.networks import SLIM, TransformNet
from steadystyle.stylize import StylizeOptions, stylize_video
from steadystyle.training import synthetic_sequence
from steadystyle.video import Encoding, VideoWriter, read_sidecar, sidecar_path, write_sidecar

FRAMES, SHIFT = 6, 2  # the camera pans SHIFT px to the right per frame
METHOD_KEYS = {"name", "path", "warping_error", "warping_error_per_frame", "style_loss", "content_loss", "artifacts",
               "fps", "made_with"}


def _write_folder(folder: Path, frames: list[np.ndarray]) -> Path:
    folder.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:04d}.png")
    return folder


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """A smooth pan over a photo (64x48), a fixed colour transform of it (follows the motion exactly), the
    same plus fresh noise on every frame (jitter), a painting, and the pan's exact flows as an npz."""
    root = tmp_path_factory.mktemp("clips")
    photo = skimage.data.coffee()[::4, ::4]  # 100x150
    pan = [np.ascontiguousarray(photo[20:68, 10 + SHIFT * t: 74 + SHIFT * t]) for t in range(FRAMES)]
    steady = [255 - f[..., ::-1] for f in pan]
    rng = np.random.default_rng(0)
    jittery = [np.clip(f + rng.normal(0, 20, f.shape), 0, 255).astype(np.uint8) for f in steady]
    flow = np.zeros((48, 64, 2), np.float32)
    flow[..., 0] = SHIFT  # frame t shows at x what frame t-1 showed at x + SHIFT
    np.savez(root / "exact.npz", flows=np.repeat(flow[None], FRAMES - 1, 0),
             masks=np.repeat(inside_image(flow)[None].astype(np.float32), FRAMES - 1, 0))
    with VideoWriter(root / "steady.mp4", 25, encoding=Encoding(crf=0)) as writer:
        for frame in steady:
            writer.write(frame)
    write_sidecar(root / "steady.mp4", {"command": "test", "model": "colour", "mode": "per-frame", "fps": 123.0})
    Image.fromarray(skimage.data.astronaut()[::4, ::4]).save(root / "painting.png")
    return {"source": _write_folder(root / "source", pan), "steady": root / "steady.mp4",
            "steady_frames": _write_folder(root / "steady_frames", steady),
            "jittery": _write_folder(root / "jittery", jittery), "npz": root / "exact.npz",
            "painting": root / "painting.png", "root": root}


def _evaluate_json(capsys, *argv) -> dict:
    assert main(["evaluate", *map(str, argv), "--json", "-q"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_jittery_method_ranks_worse_and_every_key_is_reported(clips, capsys):
    result = _evaluate_json(capsys, clips["source"], clips["steady"], f"noisy={clips['jittery']}",
                            "--style", clips["painting"], "--size", 64)
    assert {"source", "frames", "size", "flow", "style", "settings", "vgg", "source_warping_error",
            "source_warping_error_per_frame", "methods", "source_artifacts", "fps"} <= set(result)
    assert result["frames"] == FRAMES and result["size"] == [48, 64] and result["settings"]["size"] == 64
    steady, noisy = result["methods"]
    assert steady["name"] == "steady" and noisy["name"] == "noisy"
    for m in (steady, noisy):
        assert set(m) == METHOD_KEYS and len(m["warping_error_per_frame"]) == FRAMES - 1
        assert m["style_loss"] > 0 and m["content_loss"] > 0
    assert noisy["warping_error"] > 10 * steady["warping_error"]
    assert min(noisy["warping_error_per_frame"]) > max(steady["warping_error_per_frame"])
    assert noisy["content_loss"] > steady["content_loss"]  # the noise is not in the source either
    assert steady["fps"] == 123.0 and steady["made_with"]["model"] == "colour"
    assert noisy["fps"] is None and noisy["made_with"] is None
    # Two methods: the first is read as stable, the second as per-frame; the steady one keeps little flicker.
    source = result["source_warping_error"]
    expected = (steady["warping_error"] - source) / (noisy["warping_error"] - source)
    assert result["flicker_kept"] == pytest.approx(expected) and 0 <= result["flicker_kept"] < 0.1
    # Given the other way round, the noisy one keeps far more than all of the steady one's flicker (or none is
    # defined, when the steady one is not above the source).
    swapped = _evaluate_json(capsys, clips["source"], f"noisy={clips['jittery']}", clips["steady"], "--size", 64)
    assert swapped["flicker_kept"] is None or swapped["flicker_kept"] > 10


@pytest.mark.slow
def test_exact_flow_scores_a_perfectly_warped_sequence_near_zero(clips, capsys):
    result = _evaluate_json(capsys, clips["source"], clips["steady_frames"], clips["jittery"],
                            "--gt-flow", clips["npz"], "--size", 64)
    steady, noisy = result["methods"]
    assert "ground truth" in result["flow"] and steady["style_loss"] is None
    assert steady["warping_error"] < 1e-9 and result["source_warping_error"] < 1e-9
    assert noisy["warping_error"] > 1e-3
    # Scored at half size the exact flow is resampled to match, and still explains the motion.
    half = _evaluate_json(capsys, clips["source"], clips["steady_frames"], clips["jittery"],
                          "--gt-flow", clips["npz"], "--size", 32)
    assert half["size"] == [24, 32]
    assert half["methods"][0]["warping_error"] < half["methods"][1]["warping_error"] / 10


@pytest.mark.slow
def test_flo_folder_with_masks_is_accepted(tmp_path, capsys):
    """A generated clip whose exact flows and masks are laid out as the peer's DeepFlow folders are:
    backward_J_I.flo with reliable_J_I.pgm, the first for the second frame."""
    photo = torch.from_numpy(skimage.data.chelsea()).permute(2, 0, 1).float() / 255
    clip = synthetic_sequence(photo, (120, 160), 5, torch.Generator().manual_seed(0))
    frames = [to_uint8(f) for f in clip.frames]
    folder = tmp_path / "flow"
    folder.mkdir()
    for j, (flow, mask) in enumerate(zip(clip.flows.permute(0, 2, 3, 1).numpy(), clip.masks[:, 0].numpy()), 2):
        write_flo(folder / f"backward_{j}_{j - 1}.flo", flow)
        Image.fromarray((mask * 255).astype(np.uint8)).save(folder / f"reliable_{j}_{j - 1}.pgm")
    flows = GroundTruthFlow.load(folder)
    assert len(flows) == 4 and flows.masks is not None
    flow, mask = next(iter(flows))
    assert np.array_equal(flow, clip.flows[0].permute(1, 2, 0).numpy())
    assert np.array_equal(mask, clip.masks[0, 0].numpy())
    rng = np.random.default_rng(1)
    noisy = [np.clip(f + rng.normal(0, 60, f.shape), 0, 255).astype(np.uint8) for f in frames]
    source = _write_folder(tmp_path / "source", frames)
    result = _evaluate_json(capsys, source, f"same={source}", _write_folder(tmp_path / "noisy", noisy),
                            "--gt-flow", folder, "--size", 96)
    same, jittery = result["methods"]
    assert result["size"] == [72, 96]
    assert same["warping_error"] == pytest.approx(result["source_warping_error"])
    assert same["warping_error"] < 2e-3 and jittery["warping_error"] > 3 * same["warping_error"]


@pytest.mark.slow
def test_report_writes_markdown_html_plot_strip_and_gif(clips, tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["evaluate", str(clips["source"]), str(clips["steady"]), str(clips["jittery"]), "--size", "64",
                 "--report", str(report), "-q"]) == 0
    out = capsys.readouterr().out
    assert "| steady |" in out and "| jittery |" in out and "report.html" in out
    md, page = (report / "report.md").read_text(), (report / "report.html").read_text()
    for text in (out, md, html.unescape(page)):
        assert re.search(r"Flicker kept: steady keeps \d+% of jittery's flicker", text)
    for name in ("warping_error.png", "frames.png", "methods.gif"):
        assert name in md and name in page
    assert "<td>jittery</td>" in page and "123" in md
    assert Image.open(report / "warping_error.png").format == "PNG"
    strip = Image.open(report / "frames.png")
    assert strip.width >= 3 * 64 and strip.height >= 3 * 48  # source + 2 methods, 3 frames
    gif = Image.open(report / "methods.gif")
    assert gif.format == "GIF" and gif.n_frames == FRAMES


@pytest.mark.slow
def test_stylize_records_its_speed_for_evaluate(tmp_path, capsys):
    torch.manual_seed(0)
    model = Model(TransformNet(SLIM).eval(), "test")
    clip = make_clip(tmp_path / "clip.mp4", frames=4)
    out = tmp_path / "styled.mp4"
    summary = stylize_video(clip, model, out, StylizeOptions(mode="per-frame"), progress=False)
    info = read_sidecar(out)
    assert sidecar_path(out).name == "styled.mp4.json"
    assert info["command"] == "stylize" and info["mode"] == "per-frame" and info["frames"] == 4
    assert info["fps"] == pytest.approx(summary.fps)
    result = _evaluate_json(capsys, clip, out, "--size", 64)
    assert result["methods"][0]["fps"] == pytest.approx(summary.fps)


def test_inputs_that_cannot_be_compared_exit_2(clips, tmp_path, capsys):
    short = tmp_path / "short"
    short.mkdir()
    for frame in sorted(clips["jittery"].iterdir())[:-1]:
        shutil.copy(frame, short)
    assert main(["evaluate", str(clips["source"]), str(clips["steady"]), str(short), "-q"]) == 2
    err = capsys.readouterr().err
    assert "frame counts differ" in err and str(short) in err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    assert main(["evaluate", str(clips["source"]), str(broken), "-q"]) == 2
    assert "broken.mp4" in capsys.readouterr().err
    trimmed = tmp_path / "trimmed.npz"
    with np.load(clips["npz"]) as data:
        np.savez(trimmed, flows=data["flows"][:-1])
    assert main(["evaluate", str(clips["source"]), str(clips["steady"]), "--gt-flow", str(trimmed), "-q"]) == 2
    assert "4 flows" in capsys.readouterr().err
