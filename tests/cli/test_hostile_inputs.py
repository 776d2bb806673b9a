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
