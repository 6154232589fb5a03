"""Flow I/O, warping, DIS and the occlusion mask, checked against exact answers and the peer's masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from steadystyle.flow import (
    DIS_PRESETS,
    consistency_mask,
    estimate_flow,
    flow_and_mask,
    read_flo,
    warp_numpy,
    warp_torch,
    write_flo,
)

RNG = np.random.default_rng(0)
IMAGE = RNG.random((24, 32, 3), dtype=np.float32)
PEER_PAIRS = [(2, 1), (3, 2), (4, 3), (5, 4), (1, 2), (2, 3), (3, 4), (4, 5)]


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


@pytest.mark.parametrize("j, i", PEER_PAIRS)
def test_consistency_mask_agrees_with_the_peer(shared_data, j, i):
    """Fed the peer's DeepFlow flows, the mask matches their reliable_j_i.pgm on >= 97% of pixels."""
    folder = shared_data / "peer-fixtures" / "artistic-videos" / "deepflow"
    def flo(a: int, b: int) -> np.ndarray:  # the peer names a flow later -> earlier "backward"
        return read_flo(folder / f"{'backward' if a > b else 'forward'}_{a}_{b}.flo")

    mask = consistency_mask(flo(j, i), flo(i, j))
    peer = cv2.imread(str(folder / f"reliable_{j}_{i}.pgm"), cv2.IMREAD_GRAYSCALE)
    assert peer is not None and peer.shape == mask.shape
    agreement = np.mean((mask >= 0.5) == (peer >= 128))
    assert agreement >= 0.97, f"pair {j}->{i}: {agreement:.4f}"


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
