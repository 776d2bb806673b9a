"""Inputs and outputs a careless or hostile user gives: each refused at once in one line, exit
2, nothing replaced (the devices and FIFOs a path may name included)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_line(r, where: str, what: str) -> None:
    assert r.exit_code == 2, r.output
    assert r.output.startswith(f"modelcheck: error: {where}") and what in r.output and r.output.count("\n") == 1, \
        r.output


def test_empty_paths_and_names(tmp_path):
    _one_line(run("history", ""), "TREE_OR_FILE", "an empty name")
    _one_line(run("check", "--variant", "v6.15", "--property", "no-warn", "--sarif", ""), "--sarif", "an empty path")
    _one_line(run("check", "--variant", "v6.15", "--property", "no-warn", "--out", ""), "--out", "an empty path")
    _one_line(run("kselftest", "--out", "", str(ROOT / "counterexamples/x86_64-4level/v3/equivalence.json")),
              "--out", "an empty path")


def test_an_output_that_is_not_a_regular_file_is_not_replaced(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    c = ROOT / "tests" / "c" / "vm_start-gt.c"
    _one_line(run("check", "--c-file", c, "--property", "no-warn", "--sarif", fifo), "--sarif",
              "not a regular file (it would be replaced)")
    assert fifo.is_fifo()
    _one_line(run("review", "--c-file", c, "--sarif", "/dev/null"), "--sarif", "not a regular file")
    _one_line(run("reproduce", ROOT / "counterexamples/x86_64-4level/v3/equivalence.json", "-o", "/dev/null"),
              "--output", "not a regular file")


def test_sources_that_are_no_c(tmp_path):
    c = (ROOT / "tests" / "c" / "vm_start-gt.c").read_bytes()
    (tmp_path / "nul.c").write_bytes(c + b"\0" * 64)
    _one_line(run("check", "--c-file", tmp_path / "nul.c", "--property", "no-warn"), f"{tmp_path / 'nul.c'}",
              f"a NUL byte at offset {len(c)}: not C source")
    with open(tmp_path / "big.c", "wb") as f:
        f.truncate(5 << 20)  # sparse: 5 MiB of NULs, refused for its size before it is read
    _one_line(run("check", "--c-file", tmp_path / "big.c", "--property", "no-warn"), f"{tmp_path / 'big.c'}",
              "larger than any mm/mremap.c")
    fifo = tmp_path / "fifo.c"
    os.mkfifo(fifo)
    _one_line(run("check", "--c-file", fifo, "--property", "no-warn"), str(fifo), "not a regular file")


def test_a_fifo_as_a_patch_is_refused_not_read(tmp_path):
    root = tmp_path / "linux"
    (root / "mm").mkdir(parents=True)
    shutil.copyfile(ROOT / "tests" / "c" / "kernel" / "mremap-v6.7.c", root / "mm" / "mremap.c")
    (root / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 7\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = F\n")
    fifo = tmp_path / "p.patch"
    os.mkfifo(fifo)
    _one_line(run("check", "--tree", root, "--patch", fifo, "--property", "no-warn"), str(fifo), "not a regular file")


def _fixture_tree(tmp_path: Path) -> Path:
    root = tmp_path / "linux"
    (root / "mm").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "tests" / "c" / "kernel" / "mremap-v6.7.c", root / "mm" / "mremap.c")
    (root / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 7\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = F\n")
    return root


def _diff(old: str, new: str, name: str, line: int) -> str:
    return (f"--- {name}\n+++ {name}\n@@ -{line},3 +{line},3 @@\n \n-{old}\n+{new}\n \t\treturn false;\n")


@pytest.mark.parametrize("prefix", ["a/", "", "linux/"])
def test_a_patch_applies_whatever_prefix_its_paths_carry(tmp_path, prefix):
    # the vm_start test dropped (line 52 of the fixture): the same verdict whichever diff made it,
    # and the hunk's offset said when the line numbers are off
    root = _fixture_tree(tmp_path)
    old = "\tif (!for_stack && vma->vm_start != addr_to_align)"
    assert (root / "mm" / "mremap.c").read_text().splitlines()[51] == old
    text = _diff(old, "\tif (0)", f"{prefix}mm/mremap.c", 51).replace(f"+++ {prefix}", f"+++ {prefix.replace('a/', 'b/')}")
    p = tmp_path / "p.patch"
    p.write_text(text)
    r = run("check", "--tree", root, "--patch", p, "--property", "no-source-collateral", "--all-states")
    assert r.exit_code == 1 and "VIOLATED" in r.output, r.output
    p.write_text(text.replace("@@ -51,3 +51,3 @@", "@@ -46,3 +46,3 @@"))
    r = run("check", "--tree", root, "--patch", p, "--property", "no-source-collateral", "--all-states")
    assert r.exit_code == 1 and "(hunk 1 at line 51 (offset 5 lines))" in r.output, r.output


def test_a_patch_that_changes_nothing_the_checker_reads_is_refused(tmp_path):
    root = _fixture_tree(tmp_path)
    other = tmp_path / "other.patch"
    other.write_text("--- a/mm/mmap.c\n+++ b/mm/mmap.c\n@@ -1,1 +1,1 @@\n-a\n+b\n")
    _one_line(run("check", "--tree", root, "--patch", other, "--property", "no-warn"), str(other),
              "changes no file the checker reads (mm/mremap.c)")
    moved = tmp_path / "rename.patch"
    moved.write_text("diff --git a/mm/mremap.c b/mm/mremap2.c\nsimilarity index 100%\nrename from mm/mremap.c\n"
                     "rename to mm/mremap2.c\n")
    _one_line(run("check", "--tree", root, "--patch", moved, "--property", "no-warn"), str(moved),
              "renames or deletes mm/mremap.c")
