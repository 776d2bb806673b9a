"""Programs of calls as C (userspace.program), run on the machine's own kernel, and their
comparison with the system-call simulator (runs.kernel.compare_program) on a console log of
Debian's 7.3.4, whose mremap moves several VMAs per call (6.17 and later)."""

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from modelcheck.model.geometry import get_geometry
from modelcheck.model.variants import get_variant
from modelcheck.runs.differential import random_programs
from modelcheck.runs.kernel import compare_program, multi_vma, parse
from modelcheck.userspace.program import program_c
from modelcheck.userspace.recipe import dump_calls, is_program, load_calls, run_calls

PROGRAMS = Path(__file__).resolve().parents[1] / "programs"
X86 = get_geometry("x86_64-4level")


def _run_on_host(tmp_path: Path, source: str) -> tuple[int, str]:
    if shutil.which("gcc") is None or platform.machine() != "x86_64":
        pytest.skip("needs gcc on an x86-64 machine")
    build = re.search(r"Build: (gcc .*) -o repro repro\.c", source).group(1).split()
    (tmp_path / "repro.c").write_text(source)
    subprocess.run([*build, "-o", str(tmp_path / "repro"), str(tmp_path / "repro.c")], check=True)
    done = subprocess.run([str(tmp_path / "repro")], capture_output=True, text=True, timeout=60)
    if done.returncode == 4:
        pytest.skip("the program skipped here: " + done.stdout.strip().splitlines()[-1])
    return done.returncode, done.stdout


def test_a_program_runs_on_this_kernel_as_the_simulator_says(tmp_path):
    g, calls = load_calls(str(PROGRAMS / "two-vmas-one-mremap.json"))
    code, out = _run_on_host(tmp_path, program_c(g, calls, "two"))
    multi = multi_vma(os.uname().release)
    expected = run_calls(g, calls, multi)[-1]
    # 6.17 and later move both VMAs (two pieces); before, a range over two VMAs is -EFAULT
    assert (expected.error == "") == multi and len(expected.pieces) == (2 if multi else 0)
    assert (f"# calls[4] mremap = {hex(calls[4]['new'])}" in out) == multi, out
    assert ("# calls[4] mremap errno 14 " in out) == (not multi), out
    assert code == 0 and "\nok 1 every written page is where the calls put it" in out, out


def test_the_memory_check_sees_a_page_out_of_place(tmp_path):
    # the same program, but the C forgets that the mremap moved the tags: every written page
    # of the moved range is then looked for where it no longer is
    g, calls = load_calls(str(PROGRAMS / "two-vmas-one-mremap.json"))
    if not multi_vma(os.uname().release):
        pytest.skip("this kernel moves one VMA per mremap (before 6.17): the program's mremap fails")
    source = program_c(g, calls).replace("moved(c->a, c->len, c->b, 1);", "(void)0;")
    code, out = _run_on_host(tmp_path, source)
    assert code == 1 and "not ok 1" in out and "# the page written at 0x40000000 is not at 0x40000000" in out, out
    assert "# 0 of 768 written pages checked where the calls put them" in out


def test_random_programs_are_seeded_and_move_several_vmas():
    a, b = random_programs(40, 7), random_programs(40, 7)
    assert a == b and a != random_programs(40, 8)
    mremaps = [run_calls(g, calls, True)[-1] for _, g, calls in a]
    assert all(not r.error for r in mremaps)  # every one is a move 6.17 makes
    assert sum(len(r.pieces) >= 2 for r in mremaps) >= 20
    assert any(r.call["dontunmap"] for r in mremaps)
    before = [run_calls(g, calls, False)[-1] for _, g, calls in a]  # 6.12: a range over two VMAs is -EFAULT
    assert {r.error.split(":")[0] for r, m in zip(before, mremaps) if len(m.pieces) >= 2} == {"EFAULT"}


def test_dump_calls_reads_back(tmp_path):
    name, g, calls = random_programs(1, 3)[0]
    (tmp_path / "p.json").write_text(dump_calls(g, calls))
    assert is_program(str(tmp_path / "p.json")) and load_calls(str(tmp_path / "p.json")) == (g, calls)
    (tmp_path / "s.json").write_text('{"schema": 1, "vmas": []}')
    assert not is_program(str(tmp_path / "s.json")) and not is_program(str(tmp_path / "none.json"))


# Debian's 7.3.4 under QEMU (kernel run --random-programs), the program two-vmas-one-mremap.json:
# two move_page_tables() calls for one mremap, the second realigned (its TLB flush starts below)
CONSOLE = """\
=== kernel up 7.3.4+deb13-amd64 pmc
=== thp always [madvise] never
=== begin 1
TAP version 13
1..1
# calls[4] mremap = 0x80000000
# 768 of 768 written pages checked where the calls put them
ok 1 every written page is where the calls put it
=== trace 1
 p-70 [000] ..... 3.1: mpt: (move_page_tables+0x4/0x5d0) old_addr=0x40000000 new_addr=0x80000000 len=0x200000 for_stack=0
 p-70 [000] ..... 3.2: tlb: (flush_tlb_mm_range+0x0/0x160) start=0x40000000 end=0x40200000
 p-70 [000] ..... 3.3: mptr: (move_vma+0x1d5/0x6a0 <- move_page_tables) ret=0x200000
 p-70 [000] ..... 3.4: mpt: (move_page_tables+0x4/0x5d0) old_addr=0x40300000 new_addr=0x80300000 len=0x100000 for_stack=0
 p-70 [000] ..... 3.5: tlb: (flush_tlb_mm_range+0x0/0x160) start=0x40200000 end=0x40400000
 p-70 [000] ..... 3.6: mptr: (move_vma+0x1d5/0x6a0 <- move_page_tables) ret=0x100000
=== end 1 0
=== done
"""


def test_compare_a_program_with_a_kernel_log():
    g, calls = load_calls(str(PROGRAMS / "two-vmas-one-mremap.json"))
    kr = parse(CONSOLE)[0]
    c = compare_program(g, calls, kr, get_variant("linux-6.17"), multi=True)
    assert c["agree"] and c["realigned"] == 1, c["checks"]
    assert [x["began"] for x in c["model"]["calls"]] == [["0x40000000", "0x80000000"], ["0x40200000", "0x80200000"]]
    # the same log against 6.12's one VMA per mremap: the simulator says -EFAULT and no call
    c = compare_program(g, calls, kr, get_variant("linux-6.12"), multi=False)
    assert not c["agree"] and not c["checks"]["mremap"] and not c["checks"]["calls"]
    # a kernel that had begun the second piece at old_addr: the decision disagrees, nothing else
    unaligned = CONSOLE.replace("start=0x40200000 end=0x40400000", "start=0x40300000 end=0x40400000")
    c = compare_program(g, calls, parse(unaligned)[0], get_variant("linux-6.17"), multi=True)
    assert [k for k, ok in c["checks"].items() if not ok] == ["decision"]
    # a page the program did not find where the calls put it
    lost = CONSOLE.replace("\nok 1 every", "\nnot ok 1 every")
    c = compare_program(g, calls, parse(lost)[0], get_variant("linux-6.17"), multi=True)
    assert [k for k, ok in c["checks"].items() if not ok] == ["memory"]


def test_a_move_of_nothing_shows_no_decision():
    # the second VMA never written: the kernel has no page table there, flushes nothing, and
    # where it began cannot be seen; the model's realignment is then not compared (nor counted)
    g, calls = load_calls(str(PROGRAMS / "two-vmas-one-mremap.json"))
    calls = [c for c in calls if not (c["op"] == "write" and c["addr"] == 0x40300000)]
    console = CONSOLE.replace(" p-70 [000] ..... 3.5: tlb: (flush_tlb_mm_range+0x0/0x160) start=0x40200000 end=0x40400000\n", "")
    console = console.replace("calls[4] mremap", "calls[3] mremap")  # one call fewer before it
    c = compare_program(g, calls, parse(console)[0], get_variant("linux-6.17"), multi=True)
    assert c["agree"] and c["observed"] == 1 and c["realigned"] == 0, c["checks"]
    assert c["model"]["calls"][1]["began"] == ["0x40200000", "0x80200000"] and not c["model"]["calls"][1]["observable"]
