"""Agreement of steadystyle.flow.consistency_mask with the peer's occlusion masks on their DeepFlow flows.

    python benchmarks/peer_masks.py [SHARED]     # SHARED defaults to ../shared/data beside the repository

The peer fixtures (Ruder et al.'s artistic-videos: five marple8 frames, DeepFlow .flo flows both ways
and their checker's reliable_J_I.pgm) may not be redistributed, so the tests check the mask on
generated flows and this script, run where the fixtures are, checks it against the peer's own output.
Prints, per pair J -> I, the share of pixels on which the two masks agree (thresholded at one half).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from readme_tables import save_results
from steadystyle.flow import consistency_mask, read_flo

RESULTS = "peer_masks"

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path("peer-fixtures") / "artistic-videos" / "deepflow"
PAIRS = [(2, 1), (3, 2), (4, 3), (5, 4), (1, 2), (2, 3), (3, 4), (4, 5)]  # (J, I): the mask of the flow J -> I


def flow(folder: Path, a: int, b: int) -> np.ndarray:
    """The peer's flow a -> b; they call a later -> earlier flow "backward"."""
    return read_flo(folder / f"{'backward' if a > b else 'forward'}_{a}_{b}.flo")


def agreement(folder: Path, j: int, i: int) -> float:
    """Share of pixels where our mask of the flow j -> i and the peer's reliable_j_i.pgm agree."""
    mask = consistency_mask(flow(folder, j, i), flow(folder, i, j))
    peer = cv2.imread(str(folder / f"reliable_{j}_{i}.pgm"), cv2.IMREAD_GRAYSCALE)
    if peer is None or peer.shape != mask.shape:
        raise SystemExit(f"{folder / f'reliable_{j}_{i}.pgm'}: missing, unreadable or not {mask.shape}")
    return float(np.mean((mask >= 0.5) == (peer >= 128)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", nargs="?", type=Path, default=SHARED, help=f"the shared data folder ({SHARED})")
    folder = parser.parse_args().shared / FIXTURES
    if not folder.is_dir():
        sys.exit(f"no peer fixtures at {folder}")
    scores = [agreement(folder, j, i) for j, i in PAIRS]
    for (j, i), score in zip(PAIRS, scores):
        print(f"{j} -> {i}: {100 * score:6.2f}% of pixels agree")
    print(f"mean:   {100 * np.mean(scores):6.2f}% (the tests used to require at least 97% for every pair)")
    save_results(RESULTS, "python benchmarks/peer_masks.py", {"agreement": {f"{j}->{i}": s for (j, i), s in zip(PAIRS, scores)}})


def table_cell(results: dict) -> str:
    shares = [100 * s for s in results["agreement"].values()]
    return f"{min(shares):.2f}-{max(shares):.2f}% on all {len(shares)} pairs"


if __name__ == "__main__":
    main()
