"""`modelcheck kselftest`: the reproducers as a kselftest target that `make run_tests` runs
unchanged.  The programs run on the machine's own kernel, which is correct: every one passes or
skips; a program that fails shows as ``not ok`` and fails the make."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli

GALLERY = Path(__file__).resolve().parents[2] / "counterexamples"
SCENARIO = GALLERY / "x86_64-4level" / "v3" / "no-source-collateral.json"


def _needs_tools():
    for tool in ("make", "gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def test_the_target_builds_and_runs_and_prints_tap(tmp_path):
    _needs_tools()
    out = tmp_path / "modelcheck"
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(out), str(SCENARIO), "--random", "2", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert r.output == f"wrote {out}: 3 programs; run them with: make -C {out} run_tests\n"
    assert sorted(p.name for p in out.iterdir()) == [".gitignore", "Makefile", "config", "no-source-collateral.c",
                                                   "random-3-1.c", "random-3-2.c", "settings"]
    make = (out / "Makefile").read_text()
    assert "TEST_GEN_PROGS := no-source-collateral \\\n\trandom-3-1 \\\n\trandom-3-2\n" in make
    assert "include ../lib.mk" in make and (out / "settings").read_text() == "timeout=120\n"
    done = subprocess.run(["make", "-s", "-C", str(out), "run_tests"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    tap = [x for x in done.stdout.splitlines() if not x.startswith("#")]
    assert tap[:2] == ["TAP version 13", "1..3"]
    assert [re.sub(r" # SKIP$", "", x) for x in tap[2:]] == [
        "ok 1 selftests: modelcheck: no-source-collateral", "ok 2 selftests: modelcheck: random-3-1",
        "ok 3 selftests: modelcheck: random-3-2"]
    assert "# ok 2 every page outside the move unchanged, the moved range intact" in done.stdout


def test_a_failing_program_is_not_ok_and_fails_the_make(tmp_path):
    _needs_tools()
    out = tmp_path / "t"
    assert CliRunner().invoke(cli, ["kselftest", "--out", str(out), str(SCENARIO)]).exit_code == 0
    (out / "fails.c").write_text('#include <stdio.h>\nint main(void) { printf("not ok 2 moved\\n"); return 1; }\n')
    (out / "skips.c").write_text("int main(void) { return 4; }\n")
    done = subprocess.run(["make", "-s", "-C", str(out), "run_tests", "TEST_GEN_PROGS=skips fails"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert [x for x in done.stdout.splitlines() if not x.startswith("# ")] == [
        "TAP version 13", "1..2", "ok 1 selftests: modelcheck: skips # SKIP",
        "not ok 2 selftests: modelcheck: fails # exit=1"]


def test_kselftest_bad_input(tmp_path):
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(tmp_path / "a"),
                                 str(GALLERY / "x86_64-4level" / "v6.15" / "no-warn.json")])
    assert r.exit_code == 2 and "no reproducer" in r.output and not (tmp_path / "a").exists()
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(tmp_path / "b"), "--gallery", str(tmp_path)])
    assert r.exit_code == 2 and r.output == f"modelcheck: error: --gallery: {tmp_path}: no reachable mremap counterexample in it\n"
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(tmp_path / "c"), str(SCENARIO), str(SCENARIO)])
    assert r.exit_code == 2 and "two programs would be named no-source-collateral" in r.output
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(tmp_path / "d"), "--name", "a b", str(SCENARIO)])
    assert r.exit_code == 2 and "--name" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_gallery_target_gives_32_bit_programs_m32(tmp_path):
    out = tmp_path / "g"
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(out), "--gallery", str(GALLERY)])
    assert r.exit_code == 0, r.output
    make = (out / "Makefile").read_text()
    assert "$(OUTPUT)/i386-pae-v3-no-source-collateral: CFLAGS += $(M32)" in make
    progs = (out / ".gitignore").read_text().split()
    assert len(progs) == int(r.output.split(": ")[1].split()[0]) and "x86_64-4level-v3-no-source-collateral" in progs


def test_a_program_that_cannot_be_built_is_a_skip_not_the_end(tmp_path):
    # as a 32-bit program without gcc-multilib: a compiler that refuses -m32
    _needs_tools()
    i386 = GALLERY / "i386-pae" / "v3" / "equivalence.json"
    out = tmp_path / "modelcheck"
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(out), str(i386), str(SCENARIO)])
    assert r.exit_code == 0, r.output
    cc = tmp_path / "cc"
    cc.write_text("#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -m32 ] && { echo 'no 32-bit libc' >&2; exit 1; }; done\n"
                  "exec gcc \"$@\"\n")
    cc.chmod(0o755)
    done = subprocess.run(["make", "-s", "-C", str(out), "run_tests", f"CC={cc}", "M32=-m32"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    tap = [x for x in done.stdout.splitlines() if x.startswith(("ok", "not ok"))]
    assert len(tap) == 2 and "# SKIP cannot be built here" in tap[0] and "# SKIP cannot" not in tap[1], tap
    assert "# no 32-bit libc" in done.stdout


def test_the_gallery_target_leaves_out_missed_optimizations_and_says_where_it_looked(tmp_path):
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(tmp_path / "t"), "--gallery", str(GALLERY)])
    assert r.exit_code == 0, r.output
    assert not list((tmp_path / "t").glob("*missed-optimization*")) and list((tmp_path / "t").glob("*.c"))
    r = CliRunner().invoke(cli, ["kselftest", "--out", str(tmp_path / "u"), "--gallery", str(tmp_path / "none")])
    assert r.exit_code == 2 and "no such directory" in r.output and r.output.count("\n") == 1, r.output
