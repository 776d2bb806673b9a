"""C reproducers: generated for the reachable gallery counterexamples, compiled with
gcc -static -Wall -Werror, and run on this machine's kernel when it matches the geometry."""

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.runs.kernel import gallery_cases
from modelcheck.userspace.recipe import find_recipe
from modelcheck.userspace.reproduce import reproducer

from conftest import build

GALLERY = Path(__file__).resolve().parents[2] / "counterexamples"


def _static_gcc() -> str | None:
    """Why a static C program cannot be built here, or None."""
    if shutil.which("gcc") is None:
        return "gcc is not installed"
    probe = subprocess.run(["gcc", "-print-file-name=libc.a"], capture_output=True, text=True)
    if not Path(probe.stdout.strip()).is_file():
        return "no static libc (libc.a) for gcc -static"
    return None


NO_GCC = _static_gcc()
needs_gcc = pytest.mark.skipif(NO_GCC is not None, reason=NO_GCC or "")


def _reachable(geometry: str, limit: int | None = None):
    return gallery_cases(GALLERY, geometry=geometry)[:limit]


def _compile_and_maybe_run(tmp_path: Path, scenario: Path, run: bool) -> str:
    c = tmp_path / "repro.c"
    r = CliRunner().invoke(cli, ["reproduce", str(scenario), "-o", str(c)])
    assert r.exit_code == 0, r.output
    cmd = re.search(r"Build: (gcc .*) -o repro repro.c", c.read_text()).group(1).split()
    exe = tmp_path / "repro"
    done = subprocess.run([*cmd, "-o", str(exe), str(c)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    if not run:
        return ""
    done = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    # a correct kernel (every released one: no realignment before v6.7, the merged code since)
    # moves exactly the request; 4 is kselftest's skip (an address is taken here)
    assert done.returncode in (0, 4), done.stdout
    # (1..3 for a move with an allocation failure: the third test is the kernel log's WARNINGs)
    assert done.stdout.startswith("TAP version 13\n1..2\n") or done.stdout.startswith("TAP version 13\n1..3\n")
    return done.stdout


HOST_X86 = platform.machine() == "x86_64" and os.sysconf("SC_PAGESIZE") == 4096


@needs_gcc
@pytest.mark.parametrize("scenario", _reachable("x86_64-4level", 4), ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_reproducer_compiles_and_the_kernel_moves_only_the_request(tmp_path, scenario):
    out = _compile_and_maybe_run(tmp_path, scenario, HOST_X86)
    if HOST_X86 and "SKIP" not in out:
        assert "ok 2 every page outside the move unchanged" in out
        assert re.search(r"0 wrong; 0 of [1-9]\d* page-table entries missing", out)  # entries were checked


@needs_gcc
@pytest.mark.slow
@pytest.mark.parametrize("geometry", ["x86_64-4level", "arm64-64k-48", "i386-pae"])
def test_every_reachable_gallery_reproducer_compiles(tmp_path, geometry):
    if geometry == "i386-pae" and subprocess.run(["gcc", "-m32", "-static", "-x", "c", "-", "-o", os.devnull],
                                                 input="int main(void) { return 0; }\n", capture_output=True,
                                                 text=True).returncode:
        pytest.skip("gcc -m32 -static cannot link (Debian: apt-get install gcc-multilib)")
    for scenario in _reachable(geometry):
        _compile_and_maybe_run(tmp_path, scenario, HOST_X86 and geometry == "x86_64-4level")


def test_reproducer_text_and_refusals():
    s = build("x86_64-4level", [(0x10000, 0x400000, True)], 0, 0, 0x1FF000, 0x3FF000, 0x1000)
    text = reproducer(s, find_recipe(s))
    assert "MAP_PRIVATE" in text and "FILL_READ" in text and "#include <sys/mman.h>" in text
    assert text.count("/*") == text.count("*/")  # no comment ends early
    stack = build("i386-pae", [(0xBFBFF000, 0xC0000000)], 0, 0, 0xBFDFF000, 0xBFBFF000, 0x201000, for_stack=True)
    with pytest.raises(Exception, match="randomized stack top"):
        reproducer(stack, find_recipe(stack))
    r = CliRunner().invoke(cli, ["reproduce", str(GALLERY / "x86_64-4level" / "v6.15" / "no-warn.json")])
    assert r.exit_code == 1 and "no recipe" in r.output


@needs_gcc
def test_a_uffd_reproducer_registers_and_runs(tmp_path):
    """syzbot 4d9a13f0797c46a29e42's shape: the reproducer registers the source with userfaultfd-wp
    (no EVENT_REMAP) and makes the mremap's n-th page allocation fail, n = 1, 2, ...; a kernel
    without fault injection makes it skip, saying why (docs/kernels.md: its runs on 6.1.192, which
    warns, and 6.12.118)."""
    import json
    s = {"schema": 1, "geometry": "x86_64-4level",
         "vmas": [{"start": "0x200000000000", "end": "0x200000400000", "uffd_wp": True},
                  {"start": "0x200000c00000", "end": "0x200001000000", "populated": False, "uffd_wp": True}],
         "move": {"old_vma": 0, "new_vma": 1, "old_addr": "0x200000000000", "new_addr": "0x200000c00000",
                  "len": "0x400000", "stop_at": "0x200000200000"}}
    path = tmp_path / "syz.json"
    path.write_text(json.dumps(s))
    out = _compile_and_maybe_run(tmp_path, path, HOST_X86)
    text = (tmp_path / "repro.c").read_text()
    assert "UFFDIO_REGISTER_MODE_WP" in text and "{ 0x200000000000UL, 0x400000UL }," in text
    assert "/proc/thread-self/fail-nth" in text and "1..3" in text
    if HOST_X86 and "SKIP" not in out:  # a kernel with fault injection: the move is made to fail
        assert "ok 2 after every attempt, every page where a correct kernel leaves it" in out
    elif HOST_X86:
        assert "ok 1 # SKIP no fault injection here" in out
