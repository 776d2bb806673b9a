"""Debian's kernel source packages for the trees tier: found in a directory of .debs, fetched
there with ``apt-get download`` where apt can (bookworm has linux-source-6.1 and -6.12), and
unpacked at test time -- only mm/mremap.c and the top Makefile, nothing of them committed.

``MODELCHECK_DEBS`` names the directory (default ~/.cache/modelcheck/debs).  The 7.x packages
are in newer suites, which may be added to apt's sources only to download them::

    echo 'deb http://deb.debian.org/debian trixie-backports main' > /etc/apt/sources.list.d/newer.list
    echo 'deb http://deb.debian.org/debian sid main' >> /etc/apt/sources.list.d/newer.list
    apt-get update && (cd ~/.cache/modelcheck/debs && apt-get download linux-source-7.2 linux-source-7.3)
    rm /etc/apt/sources.list.d/newer.list && apt-get update
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

DEBS = Path(os.environ.get("MODELCHECK_DEBS", Path.home() / ".cache" / "modelcheck" / "debs"))
#: the versions the tier knows, and whether bookworm's apt can fetch them
VERSIONS = {"6.1": True, "6.12": True, "7.2": False, "7.3": False}


def _deb(version: str) -> Path | None:
    found = sorted(DEBS.glob(f"linux-source-{version}_*.deb"))
    return found[-1] if found else None


def _download(version: str) -> str:
    """Try apt-get download into DEBS; the reason it failed, or ''."""
    if shutil.which("apt-get") is None:
        return "apt-get is not installed"
    DEBS.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(["apt-get", "download", f"linux-source-{version}"], cwd=DEBS, capture_output=True,
                           text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "apt-get download timed out"
    return "" if r.returncode == 0 else (r.stderr.strip().splitlines() or ["apt-get download failed"])[-1]


def tree(version: str) -> Path:
    """An unpacked tree of linux-source-VERSION (mm/mremap.c and Makefile), or a skip saying why."""
    deb = _deb(version)
    if deb is None:
        why = _download(version) if VERSIONS[version] else f"linux-source-{version} is not in bookworm"
        deb = _deb(version)
        if deb is None:
            pytest.skip(f"no linux-source-{version} .deb in {DEBS} ({why}; see tests/common/kernel_trees.py)")
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    root = DEBS / "trees" / deb.stem
    top = root / f"linux-source-{version}"
    if not (top / "mm" / "mremap.c").is_file():
        root.mkdir(parents=True, exist_ok=True)
        inner = f"./usr/src/linux-source-{version}.tar.xz"
        script = (f"dpkg-deb --fsys-tarfile '{deb}' | tar -xO '{inner}' | "
                  f"tar -xJ -C '{root}' linux-source-{version}/mm/mremap.c linux-source-{version}/Makefile")
        r = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail(f"cannot unpack {deb}: {r.stderr.strip()}")
    return top
