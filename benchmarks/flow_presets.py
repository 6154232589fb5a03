"""Speed vs accuracy of the flow estimators, to choose steadystyle.flow.DEFAULT_PRESET.

Run: python benchmarks/flow_presets.py   (single-threaded, about a minute on one core)

Prints, per method/preset: milliseconds per frame at 640x360; endpoint error (px) against exact flow
on synthetic clips (camera motion + a moving occluder, see steadystyle.training.synthetic_sequence) over the pixels that
stay visible; and endpoint error against the peer's DeepFlow flow on real frames (../shared/data) over
the pixels the peer's checker marks reliable.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
import torch

from readme_tables import save_results
from steadystyle.flow import DEFAULT_PRESET, DIS_PRESETS, estimate_flow, read_flo
from steadystyle.images import to_uint8
from steadystyle.training import synthetic_sequence

PEER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "peer-fixtures" / "artistic-videos"
CANDIDATES = [("dis", p) for p in DIS_PRESETS] + [("farneback", "-")]
RESULTS = "flow_presets"
PHOTOS = ("astronaut", "coffee", "rocket", "chelsea")


def endpoint_error(estimate: np.ndarray, truth: np.ndarray, weight: np.ndarray) -> float:
    return float(np.sum(np.linalg.norm(estimate - truth, axis=-1) * weight) / np.sum(weight))


Clip = tuple[list[np.ndarray], np.ndarray, np.ndarray]


def synthetic_clips(size: tuple[int, int], seq_len: int = 4) -> list[Clip]:
    """(uint8 frames, exact backward flows (T-1, H, W, 2), masks (T-1, H, W)) per photo."""
    clips = []
    for seed, name in enumerate(PHOTOS):
        image = torch.from_numpy(getattr(skimage.data, name)()).permute(2, 0, 1).float() / 255
        seq = synthetic_sequence(image, size, seq_len, torch.Generator().manual_seed(seed))
        flows, masks = seq.flows.permute(0, 2, 3, 1).numpy(), seq.masks[:, 0].numpy()
        clips.append(([to_uint8(f) for f in seq.frames], flows, masks))
    return clips


def peer_pairs() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(frame t, frame t-1, DeepFlow backward flow, peer reliability) for the peer's real frames."""
    if not PEER.is_dir():
        return []
    frames = [cv2.cvtColor(cv2.imread(str(PEER / f"marple8_0{i}.ppm")), cv2.COLOR_BGR2RGB) for i in range(1, 6)]
    pairs = []
    for j in range(2, 6):
        reliable = cv2.imread(str(PEER / "deepflow" / f"reliable_{j}_{j - 1}.pgm"), cv2.IMREAD_GRAYSCALE) >= 128
        flow = read_flo(PEER / "deepflow" / f"backward_{j}_{j - 1}.flo")
        pairs.append((frames[j - 1], frames[j - 2], flow, reliable.astype(np.float32)))
    return pairs


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    timing = synthetic_clips((360, 640), seq_len=6)[0][0]
    accuracy = synthetic_clips((256, 256))
    peer = peer_pairs()
    if not peer:
        print(f"(no peer fixtures at {PEER}: DeepFlow column left empty)", file=sys.stderr)
    print(f"{'method':10} {'preset':10} {'ms/frame 640x360':>17} {'EPE synthetic':>14} {'EPE vs DeepFlow':>16}")
    rows = []
    for method, preset in CANDIDATES:
        kwargs = {"method": method} if method != "dis" else {"method": method, "preset": preset}
        estimate_flow(timing[1], timing[0], **kwargs)  # warm-up
        start = time.perf_counter()
        for _ in range(3):
            for prev, cur in zip(timing, timing[1:]):
                estimate_flow(cur, prev, **kwargs)
        ms = (time.perf_counter() - start) * 1000 / (3 * (len(timing) - 1))
        synthetic = np.mean([
            endpoint_error(estimate_flow(frames[t], frames[t - 1], **kwargs), flows[t - 1], masks[t - 1])
            for frames, flows, masks in accuracy
            for t in range(1, len(frames))
        ])
        deepflow = [endpoint_error(estimate_flow(cur, prev, **kwargs), ref, rel) for cur, prev, ref, rel in peer]
        deepflow_cell = f"{np.mean(deepflow):16.3f}" if peer else f"{'-':>16}"
        print(f"{method:10} {preset:10} {ms:17.1f} {synthetic:14.3f} {deepflow_cell}")
        rows.append({"method": method, "preset": preset, "ms": ms, "epe_synthetic": float(synthetic),
                     "epe_deepflow": float(np.mean(deepflow)) if peer else None})
    save_results(RESULTS, "python benchmarks/flow_presets.py", {"rows": rows})


def table_cell(results: dict) -> str:
    rows = {(r["method"], r["preset"]): r for r in results["rows"]}
    dis, farneback = rows["dis", DEFAULT_PRESET], rows["farneback", "-"]
    return (f"DIS {DEFAULT_PRESET} (the default) {dis['ms']:.0f} ms/frame, {dis['epe_synthetic']:.2f} px on exact "
            f"motion; Farneback {farneback['ms']:.0f} ms/frame, {farneback['epe_synthetic']:.2f} px")


if __name__ == "__main__":
    main()
