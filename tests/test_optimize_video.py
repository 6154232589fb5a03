"""The Ruder et al. 2016 baseline: the temporal term does its job, and `optimize video` writes a real video."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from videos import make_clip

from steadystyle.cli import main
from steadystyle.metrics import warping_error
from steadystyle.optimize import VideoOptimizeSettings, optimize_frames
from steadystyle.video import open_video, read_sidecar

SHIFT = 2  # px per frame of the pan


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255


@pytest.fixture(scope="module")
def pan() -> tuple[list[torch.Tensor], np.ndarray]:
    """Two 48x36 frames of a photo panning SHIFT px to the right, and their exact backward flow."""
    photo = skimage.data.coffee()[::8, ::8]
    frames = [_tensor(photo[5:41, 5 + SHIFT * t: 53 + SHIFT * t]) for t in range(2)]
    flow = np.zeros((36, 48, 2), np.float32)
    flow[..., 0] = SHIFT
    return frames, flow


@pytest.fixture(scope="module")
def painting() -> torch.Tensor:
    return _tensor(skimage.data.astronaut()[::8, ::8])


def _run(pan, painting, vgg, **overrides):
    frames, flow = pan
    settings = VideoOptimizeSettings(iters=8, first_iters=15, **overrides)
    out = list(optimize_frames(frames, painting, vgg, settings=settings, progress=False))
    return out, warping_error([o.image for o in out], flows=[flow]).mean


@pytest.mark.slow
def test_temporal_term_falls_over_frame_two_and_steadies_the_result(pan, painting, vgg_weights):
    warped, e_warped = _run(pan, painting, vgg_weights)
    from_content, e_content = _run(pan, painting, vgg_weights, later_init="content")
    plain, e_plain = _run(pan, painting, vgg_weights, temporal=False)
    # Budgets: a frame started from scratch gets first_iters, one started from the warped result iters.
    assert [len(o.history) for o in warped] == [15, 8]
    assert [len(o.history) for o in from_content] == [len(o.history) for o in plain] == [15, 15]
    assert "temporal" not in warped[0].history[0] and "temporal" not in plain[1].history[0]
    temporal = [h["temporal"] for h in from_content[1].history]
    assert temporal[-1] < temporal[0] / 3 and min(temporal[-3:]) < min(temporal[:3])
    # Started from the warped previous result the term begins near its minimum (only the mask's soft edges).
    assert warped[1].history[0]["temporal"] < temporal[0] / 20
    # Same budget as plain per-frame optimisation, steadier; the warped start steadier still.
    assert e_warped < e_content < e_plain
    assert all(o.image.shape == pan[0][0].shape and 0 <= o.image.min() and o.image.max() <= 1 for o in warped)


@pytest.mark.slow
def test_optimize_video_writes_a_playable_clip_with_its_timing_audio_and_sidecar(tmp_path, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=3, width=64, height=48, audio="aac")
    Image.fromarray(skimage.data.astronaut()[::8, ::8]).save(tmp_path / "painting.png")
    common = ["--size", "48", "--iters", "3", "--first-iters", "4", "-q"]
    out = tmp_path / "ruder.mp4"
    assert main(["optimize", "video", str(clip), str(tmp_path / "painting.png"), "-o", str(out), *common]) == 0
    assert "wrote" in capsys.readouterr().out
    reader = open_video(out)
    frames = list(reader)
    assert len(frames) == 3 and frames[0].image.shape == (36, 48, 3) and reader.has_audio
    assert [f.time for f in frames] == [f.time for f in open_video(clip)]
    info = read_sidecar(out)
    assert info["command"] == "optimize video" and info["mode"] == "ruder" and info["model"] == "painting.png"
    assert info["frames"] == 3 and info["fps"] > 0 and info["settings"]["first_iters"] == 4

    plain = tmp_path / "plain.mp4"
    assert main(["optimize", "video", str(clip), str(tmp_path / "painting.png"), "-o", str(plain), "--no-temporal",
                 *common]) == 0
    assert len(list(open_video(plain))) == 3 and read_sidecar(plain)["mode"] == "per-frame-optimisation"


def test_optimize_video_fails_fast_on_bad_input(tmp_path, capsys):
    Image.fromarray(skimage.data.astronaut()[::8, ::8]).save(tmp_path / "painting.png")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    assert main(["optimize", "video", str(broken), str(tmp_path / "painting.png"), "-o", str(tmp_path / "o.mp4")]) == 2
    assert "broken.mp4" in capsys.readouterr().err and not (tmp_path / "o.mp4").exists()
    clip = make_clip(tmp_path / "clip.mp4", frames=2)
    assert main(["optimize", "video", str(clip), str(tmp_path / "painting.png"), "-o", str(tmp_path / "o.gif")]) == 2
