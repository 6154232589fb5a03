"""Test-time motion: the flow finds a camera's shift, the history lines up, and a shipped stable style
flickers less under camera motion with it than without."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from steadystyle.images import to_uint8
from steadystyle.metrics import warping_error
from steadystyle.models import load_model
from steadystyle.motion import Lookup, follow, grey, history_flow, warp_frame, warp_kept
from steadystyle.networks import Previous
from steadystyle.stylize import StylizeOptions, stylize_frames
from steadystyle.training import VideoTrainConfig, synthetic_sequence


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    return torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1).float()[None] / 255


def test_the_flow_finds_a_pan(photo):
    panned = torch.roll(photo, shifts=(2, -5), dims=(-2, -1))  # the scene moves 5 px left and 2 px down
    flow = history_flow(panned, photo)
    assert flow.shape == (1, 2, *photo.shape[-2:])
    interior = flow[0, :, 40:-40, 40:-40]
    assert interior[0].median() == pytest.approx(5, abs=0.5)
    assert interior[1].median() == pytest.approx(-2, abs=0.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_following_lines_the_history_up_in_its_own_precision_and_layout(photo, dtype):
    layout = torch.channels_last if dtype == torch.bfloat16 else torch.contiguous_format
    before = photo.to(dtype).contiguous(memory_format=layout)
    after = torch.roll(photo, shifts=4, dims=-1).to(dtype).contiguous(memory_format=layout)
    moved = follow(Previous(before, before * 0.5), after)
    assert moved.frame.dtype == dtype and moved.frame.is_contiguous(memory_format=layout)
    inner = (..., slice(40, -40), slice(40, -40))
    error_as_was = (before.float() - after.float())[inner].abs().mean()
    error_followed = (moved.frame.float() - after.float())[inner].abs().mean()
    assert error_followed < error_as_was / 5
    output_followed = (moved.output.float() - after.float() * 0.5)[inner].abs().mean()
    assert output_followed < error_as_was * 0.5 / 5  # the output moved alike


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_stylize_moves_the_history_as_training_does(photo, dtype):
    """`stylize` warps with OpenCV, ahead of the network; training with `follow`, in torch: the same lookups."""
    layout = torch.channels_last if dtype == torch.bfloat16 else torch.contiguous_format
    before = photo.to(dtype).contiguous(memory_format=layout)
    after = torch.roll(photo, shifts=(3, -2), dims=(-2, -1)).to(dtype).contiguous(memory_format=layout)
    output = (1 - before.float()).to(dtype)
    trained = follow(Previous(before, output), after)
    lookup = Lookup.between(grey(after[0]), grey(before[0]), *after.shape[-2:])
    for moved, reference in ((warp_frame(before, lookup), trained.frame), (warp_kept(output, lookup), trained.output)):
        assert moved.dtype == dtype and moved.is_contiguous(memory_format=layout)
        assert (moved.float() - reference.float()).abs().max() <= (1e-4 if dtype == torch.float32 else 1 / 128)


def _sharpness(image: torch.Tensor) -> float:
    grey = image.float().mean(1)
    return float((grey[..., 1:, :] - grey[..., :-1, :]).abs().mean() + (grey[..., 1:] - grey[..., :-1]).abs().mean())


@pytest.mark.slow
def test_a_kept_output_is_neither_blurred_nor_sharpened_by_following_a_slow_pan(photo):
    """The history carried along 60 frames of a 0.37 px/frame pan stays as sharp as the frame it lands on
    (bilinear lookups blur it a little every frame, plain bicubic ones ring)."""
    def frame(i: int) -> torch.Tensor:
        h, w = photo.shape[-2:]
        theta = torch.tensor([[[0.5, 0, -0.3 + 2 * 0.37 * i / w], [0, 0.5, 0]]])
        grid = torch.nn.functional.affine_grid(theta, (1, 3, 160, 208), align_corners=False)
        return torch.nn.functional.grid_sample(photo, grid, align_corners=False)

    history = Previous(frame(0), frame(0))
    for i in range(1, 61):
        history = follow(history, frame(i))
        history = Previous(frame(i), history.output)  # the network keeps all it was shown
    assert _sharpness(history.output) == pytest.approx(_sharpness(frame(60)), rel=0.15)


@pytest.mark.slow
def test_a_shipped_stable_style_keeps_more_under_camera_motion_with_flow(photo):
    clip = synthetic_sequence(photo[0], (160, 208), 8, torch.Generator().manual_seed(1))
    frames = [to_uint8(f) for f in clip.frames]
    model = load_model("starry_night")

    def flicker(motion: str) -> float:
        ys = [to_uint8(y) for y in stylize_frames(frames, model, StylizeOptions(motion=motion))]
        return warping_error(ys, flows=list(clip.flows), masks=list(clip.masks)).mean

    assert flicker("flow") < 0.7 * flicker("none")


def test_bad_motion_is_refused_and_old_runs_resume_without_it():
    with pytest.raises(ValueError, match="unknown motion 'optical'"):
        list(stylize_frames([np.zeros((32, 32, 3), np.uint8)], load_model("udnie"), StylizeOptions(motion="optical")))
    recorded = VideoTrainConfig(style="wave").as_dict()
    del recorded["motion"]
    assert VideoTrainConfig.from_dict(recorded).motion == "none"
    assert VideoTrainConfig(style="wave").motion == "flow"
