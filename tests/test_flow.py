"""Flow I/O, warping, DIS and the occlusion mask, checked against exact answers.

The mask's agreement with the peer's DeepFlow masks (not redistributable) is benchmarks/peer_masks.py."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from steadystyle.flow import (
    DIS_PRESETS,
    consistency_mask,
    estimate_flow,
    flow_and_mask,
    inside_image,
    read_flo,
    warp_numpy,
    warp_torch,
    write_flo,
)

RNG = np.random.default_rng(0)
IMAGE = RNG.random((24, 32, 3), dtype=np.float32)


def constant_flow(h: int, w: int, u: float, v: float) -> np.ndarray:
    return np.broadcast_to(np.array([u, v], np.float32), (h, w, 2)).copy()


def both_warps(img: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(warp_torch, warp_numpy) of the same channels-last image, channels last."""
    as_torch = warp_torch(torch.from_numpy(img).permute(2, 0, 1)[None], torch.from_numpy(flow).permute(2, 0, 1)[None])
    return as_torch[0].permute(1, 2, 0).numpy(), warp_numpy(img, flow)


def test_flo_round_trip_is_exact(tmp_path):
    flow = RNG.normal(size=(7, 5, 2)).astype(np.float32) * 10
    write_flo(tmp_path / "a.flo", flow)
    assert np.array_equal(read_flo(tmp_path / "a.flo"), flow)
    assert (tmp_path / "a.flo").stat().st_size == 12 + 7 * 5 * 8
    assert [p.name for p in tmp_path.iterdir()] == ["a.flo"]  # no temporary file left behind


def test_write_flo_rejects_non_flow(tmp_path):
    with pytest.raises(ValueError, match="H, W, 2"):
        write_flo(tmp_path / "a.flo", np.zeros((4, 4, 3), np.float32))
    assert not (tmp_path / "a.flo").exists()


def test_read_flo_names_the_file_on_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "bad.flo"
    bad.write_bytes(np.array([1.0, 0, 0], "<f4").tobytes())
    with pytest.raises(ValueError, match=r"bad\.flo.*not a \.flo"):
        read_flo(bad)
    write_flo(tmp_path / "cut.flo", np.zeros((6, 6, 2), np.float32))
    data = (tmp_path / "cut.flo").read_bytes()
    (tmp_path / "cut.flo").write_bytes(data[:-8])
    with pytest.raises(ValueError, match=r"cut\.flo.*truncated.*6x6"):
        read_flo(tmp_path / "cut.flo")


@pytest.mark.parametrize("u, v", [(3, -2), (-1, 4), (0.25, 0.5), (-0.75, 0.125)])
def test_warps_reproduce_a_translation_exactly(u, v):
    """out(y, x) = img(y + v, x + u), bilinear between the four neighbours, for integer and sub-pixel shifts."""
    h, w = IMAGE.shape[:2]
    x0, y0 = int(np.floor(u)), int(np.floor(v))
    ax, ay = u - x0, v - y0
    ys, xs = np.mgrid[6 : h - 6, 6 : w - 6]
    expected = sum(
        wy * wx * IMAGE[ys + y0 + dy, xs + x0 + dx]
        for dy, wy in ((0, 1 - ay), (1, ay))
        for dx, wx in ((0, 1 - ax), (1, ax))
    )
    for warped in both_warps(IMAGE, constant_flow(h, w, u, v)):
        np.testing.assert_allclose(warped[6 : h - 6, 6 : w - 6], expected, atol=1e-5)


def test_torch_and_numpy_warps_agree_on_smooth_motion():
    h, w = 48, 64
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([np.sin(xs / 5), np.cos(ys / 7), np.sin((xs + ys) / 9)], -1).astype(np.float32)
    flow = np.stack([3 * np.sin(ys / 11) + 0.37, 2 * np.cos(xs / 13) - 1.21], -1).astype(np.float32)
    by_torch, by_numpy = both_warps(img, flow)
    assert np.abs(by_torch - by_numpy).max() < 5e-3  # OpenCV 4's remap rounds positions to 1/32 px
    assert np.abs(by_torch - by_numpy).mean() < 1e-3


def test_warp_torch_is_differentiable_in_flow_and_image():
    """On the ramp img = x, out = x + u, so d sum(out) / du is 1 at every interior pixel."""
    h, w = 8, 10
    ramp = torch.arange(w, dtype=torch.float32).expand(1, 1, h, w).clone().requires_grad_(True)
    flow = torch.tensor([0.3, 0.0]).expand(1, h, w, 2).permute(0, 3, 1, 2).clone().requires_grad_(True)
    warp_torch(ramp, flow).sum().backward()
    torch.testing.assert_close(flow.grad[0, 0, :, 1:-1], torch.ones(h, w - 2))
    torch.testing.assert_close(flow.grad[0, 1, :-1], torch.zeros(h - 1, w))  # the last row borders zeros
    assert ramp.grad.abs().sum() > 0


def test_consistency_mask_marks_a_disocclusion_and_keeps_the_rest():
    """A 12x12 square moves 4 px right between frame i and frame j over a static background."""
    h, w, left, top, size, step = 40, 48, 14, 12, 12, 4
    backward = np.zeros((h, w, 2), np.float32)  # j -> i at j's pixels: the square came from 4 px left
    backward[top : top + size, left + step : left + step + size, 0] = -step
    forward = np.zeros((h, w, 2), np.float32)  # i -> j at i's pixels
    forward[top : top + size, left : left + size, 0] = step
    mask = consistency_mask(backward, forward)
    assert mask.dtype == np.float32 and mask.shape == (h, w)
    assert mask.min() >= 0 and mask.max() <= 1
    assert mask[top + 2 : top + size - 2, left : left + step - 1].max() < 0.5  # uncovered background
    assert mask[top + 3 : top + size - 3, left + step + 3 : left + step + size - 3].min() > 0.99  # the square
    far = np.ones((h, w), bool)
    far[top - 3 : top + size + 3, left - 3 : left + step + size + 3] = False
    assert mask[far].min() > 0.99


def test_consistency_mask_rejects_lookups_that_leave_the_image():
    flow = constant_flow(20, 30, 2.5, 0)  # columns >= 27 look beyond the right edge
    mask = consistency_mask(flow, -flow)
    assert mask[:, 28:].max() < 0.5
    assert mask[:, :25].min() > 0.99


def camera_and_box(seed: int, h: int = 96, w: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact flows both ways between frames i and j, and which pixels of j were visible in i.

    The camera turns, zooms and pans (frame j's pixel x shows frame i's point a x + b); a box slides by
    `step` over it, hiding part of frame i's background and uncovering another part in frame j.
    """
    rng = np.random.default_rng(seed)
    angle, zoom = np.radians(rng.uniform(-2, 2)), np.exp(rng.uniform(-0.03, 0.03))
    a = zoom * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([w - 1, h - 1]) / 2
    b = centre - a @ centre + rng.uniform(-3, 3, 2)
    size = np.array([w, h]) * rng.uniform(0.2, 0.35, 2)
    corner = np.array([w, h]) * rng.uniform(0.2, 0.5, 2)  # the box's top-left in frame i
    heading = rng.uniform(0, 2 * np.pi)
    step = rng.uniform(6, 9) * np.array([np.cos(heading), np.sin(heading)])  # the box's motion from i to j
    pixels = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).astype(np.float64)

    def on_box(points: np.ndarray, top_left: np.ndarray) -> np.ndarray:
        return np.all((points >= top_left) & (points < top_left + size), -1)

    backward = np.where(on_box(pixels, corner + step)[..., None], -step, pixels @ a.T + b - pixels)
    forward = np.where(on_box(pixels, corner)[..., None], step, (pixels - b) @ np.linalg.inv(a).T - pixels)
    visible = on_box(pixels, corner + step) | (inside_image(backward) & ~on_box(pixels + backward, corner))
    return backward.astype(np.float32), forward.astype(np.float32), visible


@pytest.mark.parametrize("seed", range(4))
def test_consistency_mask_of_flo_files_finds_the_true_occlusions(tmp_path, seed):
    """Generated flows written and read as .flo files: the mask flags what frame i did not show and keeps
    the rest, but for the thin band on the box's motion boundary that the check rejects on purpose."""
    backward, forward, visible = camera_and_box(seed)
    write_flo(tmp_path / "backward_2_1.flo", backward)
    write_flo(tmp_path / "forward_1_2.flo", forward)
    mask = consistency_mask(read_flo(tmp_path / "backward_2_1.flo"), read_flo(tmp_path / "forward_1_2.flo")) >= 0.5
    uncovered, outside = ~visible & inside_image(backward), ~inside_image(backward)
    assert uncovered.sum() > 150 and np.mean(~mask[uncovered]) > 0.97  # the background the box hid in frame i
    assert not mask[outside].any()
    assert np.mean(mask == visible) > 0.97


def shifted_pair(dx: int, dy: int, size: int = 192) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) crops of a real photo with b(x) = a(x + (dx, dy)): the flow a -> b is (-dx, -dy)."""
    photo = skimage.data.astronaut()
    r, c = 100, 150
    return photo[r : r + size, c : c + size], photo[r + dy : r + dy + size, c + dx : c + dx + size]


@pytest.mark.parametrize(
    "method, preset, share",  # Farneback returns no motion on the photo's flat areas: only its median is held
    [("dis", p, 0.85) for p in DIS_PRESETS] + [("farneback", "medium", 0.5)],
)
def test_estimate_flow_recovers_the_shift_of_a_real_photo(method, preset, share):
    a, b = shifted_pair(5, -3)
    flow = estimate_flow(a, b, method=method, preset=preset)
    assert flow.dtype == np.float32 and flow.shape == (192, 192, 2)
    inner = flow[16:-16, 16:-16].reshape(-1, 2)
    np.testing.assert_allclose(np.median(inner, 0), [-5, 3], atol=0.1)
    assert np.mean(np.linalg.norm(inner - [-5, 3], axis=1) < 0.5) > share


def test_estimate_flow_accepts_float_frames():
    a, b = shifted_pair(-4, 2)
    flow = estimate_flow(a / 255.0, b.astype(np.float32) / 255)
    np.testing.assert_allclose(np.median(flow[16:-16, 16:-16].reshape(-1, 2), 0), [4, -2], atol=0.1)


def test_flow_and_mask_flags_content_that_came_from_outside():
    """Frame t is frame t-1 moved 6 px left: its right-most columns were never seen in t-1."""
    prev, cur = shifted_pair(6, 0)
    flow, mask = flow_and_mask(cur, prev)
    np.testing.assert_allclose(np.median(flow[8:-8, 8:-8].reshape(-1, 2), 0), [6, 0], atol=0.1)
    assert mask[:, -5:].mean() < 0.2
    assert mask[8:-8, 8:-14].mean() > 0.95


def test_bad_method_and_preset_are_named():
    a, b = shifted_pair(1, 1, size=32)
    with pytest.raises(ValueError, match="unknown flow method 'raft'"):
        estimate_flow(a, b, method="raft")
    with pytest.raises(ValueError, match="unknown DIS preset 'slow'"):
        estimate_flow(a, b, preset="slow")
    with pytest.raises(ValueError, match="differ in size"):
        estimate_flow(a, b[1:])
