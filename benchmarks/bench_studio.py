"""How long `steadystyle studio` takes from the command to a page a browser can load (#14: under 10 s).

    python benchmarks/bench_studio.py            # 3 cold starts, a fresh process each
    python benchmarks/bench_studio.py --runs 5

Each run starts the real command in a new process, polls its address until the page answers with
HTTP 200, and stops it. The first run after installing also pays for Python's bytecode compilation.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

from readme_tables import save_results

RESULTS = "studio_start"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_seconds(timeout: float = 120.0) -> float:
    """Seconds from launching the command until its page loads."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "steadystyle", "studio", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"studio exited with code {proc.returncode} before serving its page")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - t0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise SystemExit(f"studio did not serve its page within {timeout:.0f} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = [start_seconds() for _ in range(args.runs)]
    for i, t in enumerate(times, 1):
        print(f"run {i}: {t:.2f} s")
    print(f"studio start to page, median of {len(times)}: {statistics.median(times):.2f} s (target < 10 s)")
    print(f"kept in {save_results(RESULTS, f'python benchmarks/bench_studio.py --runs {args.runs}', {'seconds': times})}")


def table_cell(results: dict) -> str:
    return f"{statistics.median(results['seconds']):.1f} s (median of {len(results['seconds'])} cold starts)"


if __name__ == "__main__":
    main()
