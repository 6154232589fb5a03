"""Synthetic clips: their flows and masks must be exact, since training trusts them blindly."""

from __future__ import annotations

import pytest
import skimage.data
import torch
import torch.nn.functional as F

from steadystyle.flow import warp_torch
from steadystyle.training import synthetic_sequence

PHOTO = torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1).float() / 255
STILL_CAMERA = {"max_shift": 0.0, "max_rotation": 0.0, "max_zoom": 0.0}


def clip(seed: int, size: int | tuple[int, int] = 96, seq_len: int = 4, **kwargs):
    return synthetic_sequence(PHOTO, size, seq_len, torch.Generator().manual_seed(seed), **kwargs)


def test_shapes_range_and_binary_masks():
    seq = clip(0, size=(64, 80), seq_len=5)
    assert seq.frames.shape == (5, 3, 64, 80) and seq.frames.dtype == torch.float32
    assert seq.flows.shape == (4, 2, 64, 80) and seq.flows.dtype == torch.float32
    assert seq.masks.shape == (4, 1, 64, 80)
    assert 0 <= seq.frames.min() and seq.frames.max() <= 1
    assert set(seq.masks.unique().tolist()) == {0.0, 1.0}


def test_same_seed_same_clip_other_seed_other_clip():
    a, b, c = clip(3), clip(3), clip(4)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.flows, b.flows) and torch.equal(a.masks, b.masks)
    assert not torch.equal(a.frames, c.frames)


@pytest.mark.parametrize("seed", range(4))
def test_flows_warp_the_previous_frame_onto_the_next_inside_the_mask(seed):
    seq = clip(seed)
    error = (warp_torch(seq.frames[:-1], seq.flows) - seq.frames[1:]).abs()
    kept = seq.masks.expand_as(error).bool()
    still = (seq.frames[:-1] - seq.frames[1:]).abs().mean()
    # What remains is only the blur of resampling twice, far below the change between frames.
    assert error[kept].mean() < 0.01 and error[kept].mean() < 0.2 * still
    assert error[~kept].mean() > 5 * error[kept].mean()  # masked-out pixels really are wrong
    assert 0.5 < seq.masks.mean() < 1


def test_mask_is_zero_exactly_where_the_object_uncovers_background():
    """With a still camera only the object moves: its pixels have non-zero flow, the rest zero flow."""
    seq = clip(1, seq_len=4, **STILL_CAMERA)
    on_object = seq.flows.abs().sum(1, keepdim=True) > 1e-3  # frames 1..3
    assert on_object.flatten(1).any(1).all()  # every frame shows the object
    for t in (2, 3):  # frames whose previous frame's object we know from its flow
        was_object = on_object[t - 2]
        uncovered = was_object & ~on_object[t - 1]
        assert uncovered.sum() > 20
        assert (seq.masks[t - 1][uncovered] == 0).all()
        # background at least 2 px from where the object was is seen unchanged in the previous frame
        near = F.max_pool2d(was_object.float()[None], 5, stride=1, padding=2)[0].bool()
        assert (seq.masks[t - 1][~on_object[t - 1] & ~near] == 1).all()
        assert seq.masks[t - 1][on_object[t - 1]].mean() > 0.7  # the object itself stays trackable
    assert seq.flows[~on_object.expand_as(seq.flows)].abs().max() < 1e-6


def test_object_image_supplies_the_patch():
    red = torch.zeros(3, 50, 70)
    red[0] = 1
    seq = clip(2, object_image=red, **STILL_CAMERA)
    on_object = (seq.flows.abs().sum(1) > 1e-3)[:, None].expand(-1, 3, -1, -1)
    frames = seq.frames[1:]
    torch.testing.assert_close(frames[on_object], red[:, :1, :1].expand_as(frames)[on_object])
    pure_red = (frames[:, 0] > 0.99) & (frames[:, 1:] < 0.01).all(1)
    assert not pure_red[~on_object[:, 0]].any()


def test_large_camera_motion_never_samples_outside_the_image():
    """On an all-white source any lookup beyond its border would show up as a darker pixel."""
    white = torch.ones(3, 200, 300)
    seq = synthetic_sequence(
        white, 64, 6, torch.Generator().manual_seed(5), max_shift=60, max_rotation=15, max_zoom=0.2
    )
    torch.testing.assert_close(seq.frames, torch.ones_like(seq.frames))
    assert seq.flows.abs().amax() > 10  # the motion was indeed large


def test_needs_two_frames():
    with pytest.raises(ValueError, match="seq_len"):
        clip(0, seq_len=1)
