"""Predicates in C: the built-in variants' C files are equivalent to their definitions, one-token
patches get the verdicts the checker finds, and unsupported C is refused with FILE:LINE:COL."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.front.cfront import builtin_unit, c_variant, load_c_variant
from modelcheck.cli import cli
from modelcheck.errors import InputError
from modelcheck.model.geometry import PRESETS, get_geometry
from modelcheck.solver.search import check, diff, prove_same
from modelcheck.model.semantics import evaluate
from modelcheck.model.variants import VARIANTS, get_variant

C = Path(__file__).resolve().parents[1] / "c"
X86 = get_geometry("x86_64-4level")


def run(*args):
    return CliRunner().invoke(cli, list(args))


def _equivalent_on_every_preset(vid: str, level: str) -> None:
    v = c_variant(builtin_unit(vid), f"{vid}-c", "", "")
    for g in PRESETS:
        verdict, witness = prove_same(v, VARIANTS[vid], get_geometry(g), level)
        assert verdict == "holds", f"{vid} on {g} ({level}): {witness.dumps() if witness else verdict}"


@pytest.mark.parametrize("vid", list(VARIANTS))
def test_builtin_c_is_equivalent_on_every_preset(vid):
    _equivalent_on_every_preset(vid, "pmd")


@pytest.mark.slow
@pytest.mark.parametrize("vid", list(VARIANTS))
def test_builtin_c_is_equivalent_at_pud_level(vid):
    # PMD_MASK/PMD_SIZE in the C stand for the level's mask and size, as in the built-ins
    _equivalent_on_every_preset(vid, "pud")


def test_equivalence_check_finds_a_difference():
    # the proof has teeth: v6.7's C against v6.12's definition differs in the return value only
    v = c_variant(builtin_unit("v6.7"), "v6.7-c", "", "")
    verdict, witness = prove_same(v, VARIANTS["v6.12"], get_geometry("i386-pae"))
    assert verdict == "violated" and witness is not None


def test_lt_instead_of_ne_is_the_same_predicate():
    # Linus: 'Alternatively, just make that "<" be "!="' -- old_addr lies in its VMA, so
    # vm_start < addr and vm_start != addr agree; the checker proves the variants identical.
    v = load_c_variant([str(C / "vm_start-lt.c")])
    assert prove_same(v, get_variant("v6.15"), X86)[0] == "holds"


def test_gt_instead_of_ne_sweeps_the_vma_below():
    # Minimal counterexample: one self-merged populated VMA [0x10000, 0x400000), a one-page move
    # 0x1ff000 -> 0x3ff000; "vm_start > addr" lets it realign to 0x0 -> 0x200000, and S =
    # [0x0, 0x1ff000) carries the VMA's own pages [0x10000, 0x1ff000) along.
    v = load_c_variant([str(C / "vm_start-gt.c")])
    r = check(v, "no-source-collateral", X86)
    assert r.verdict == "violated"
    s = r.counterexample
    assert s.move.old_addr > s.old_vma.start and r.replay.realigned and r.replay.source_hits


def test_int_masked_truncates_on_64_bit():
    # Minimal counterexample: a move from 0x801ff000 (the start of its VMA); as an int, the masked
    # 0x80000000 is negative and compares as 0xffffffff80000000, so find_vma_intersection() is
    # asked about an empty range, finds nothing, and S = [0x80000000, 0x801ff000) sweeps the
    # VMA below.  With unsigned long (the merged code) this holds.
    v = load_c_variant([str(C / "int-masked.c")])
    r = check(v, "no-source-collateral", X86)
    assert r.verdict == "violated"
    assert (r.replay.old_addr >> 31) & 1 == 1  # the masked address has the int's sign bit set
    assert check(get_variant("v6.15"), "no-source-collateral", X86).verdict == "holds"
    assert check(v, "no-source-collateral", get_geometry("i386-pae")).verdict == "holds"  # int is the word


def test_missing_prev_check_dereferences_null():
    # Minimal counterexample: one VMA [0x1ff000, 0x400000) with nothing below it, a one-page move
    # 0x1ff000 -> 0x3ff000 inside it (self-merged): both calls pass the start-of-VMA rule, find no
    # prev, and read below->vm_end through NULL (no-prev-check.c:14).  v4 itself holds.
    v = load_c_variant([str(C / "no-prev-check.c")], base="v4")
    r = check(v, "no-null-deref", X86)
    assert r.verdict == "violated"
    s = r.counterexample
    assert len(s.vmas) == 1 and s.move.old_addr == s.vmas[0].start
    assert r.replay.faults == [("oops", f"{C / 'no-prev-check.c'}:14:9")]
    assert check(get_variant("v4"), "no-null-deref", X86).verdict == "holds"


def test_lt_instead_of_le_only_misses_the_optimization():
    # "below->vm_end < down" for "<=": never less safe than v4 (the proof below), and the diff's
    # minimal case is a destination VMA [0x3ff000, 0x400000) right above one ending at the
    # boundary 0x200000, where v4 realigns safely and the mutant declines.
    v = load_c_variant([str(C / "prev-end-lt.c")], base="v4")
    for pid in ("no-source-collateral", "no-dest-clobber"):
        assert check(v, pid, X86).verdict == "holds"
    found, gave_up = diff(get_variant("v4"), v, X86)
    cases = [c for c in found if c.kind == "missed"]
    assert not gave_up
    assert cases and cases[0].realigns == "v4"
    s = cases[0].scenario
    below = [x for x in s.vmas if x.end <= s.move.new_addr]
    assert below and below[-1].end == s.move.new_addr & ~(X86.pmd_size - 1)


def test_reachable_warn_is_a_violation():
    # Minimal counterexample: a self-merged VMA [0x10000, 0x400000) moving one page 0x1ff000 ->
    # 0x3ff000, from inside the VMA: the WARN_ON_ONCE() at warn-start.c:8 fires.  It is the only
    # difference from v6.15, and the equivalence proof finds it.
    v = load_c_variant([str(C / "warn-start.c")])
    r = check(v, "no-predicate-warn", X86)
    assert r.verdict == "violated" and r.counterexample.move.old_addr > r.counterexample.old_vma.start
    assert [kind for kind, _ in r.replay.faults] == ["warn"] and r.replay.faults[0][1].endswith("warn-start.c:8:6")
    for pid in ("no-source-collateral", "no-dest-clobber", "equivalence"):
        assert check(v, pid, X86).verdict == "holds"
    verdict, witness = prove_same(v, get_variant("v6.15"), X86)
    assert verdict == "violated" and evaluate(witness, v).faults and not evaluate(witness, get_variant("v6.15")).faults


def test_vma_prev_reads_the_vma_below():
    # VMA_ITERATOR(vmi, mm, vma->vm_start); vma_prev(&vmi) is find_vma_prev()'s prev: proved identical to v4
    v = load_c_variant([str(C / "vma-prev.c")], base="v4")
    for g in ("x86_64-4level", "i386-pae", "toy-8"):
        assert prove_same(v, get_variant("v4"), get_geometry(g))[0] == "holds"


@pytest.mark.parametrize("body, where, message", [
    ("\twhile (a)\n\t\ta = a & mask;\n\treturn false;\n", ":4:2", "loops are supported only where the body returns on every path"),
    ("\treturn a * mask == mask;\n", ":4:9", "'*' is supported where an operand is a constant"),
    ("\treturn (a | pmc->old_addr) == mask;\n", ":4:10", "'|' with a constant operand only"),
    ("\treturn (a << mask) == mask;\n", ":4:15", "shift count must be a constant"),
    ("\treturn (a >> 64) == mask;\n", ":4:15", "shift count 64 is undefined"),
    ("\treturn a / 2 == mask;\n", ":4:9", "operator '/' is not supported"),
    ("\treturn frobnicate(a);\n", ":4:9", "unknown function frobnicate()"),
    ("\tunsigned long *p = &a;\n\tp[0] = 1;\n\treturn false;\n", ":5:2", "not supported"),
    ("\treturn a == mask\n", ":5:1", ""),
    ("\tVMA_ITERATOR(vmi, vma->vm_mm, a);\n\tvma_prev(&vmi);\n\treturn vma_prev(&vmi) == NULL;\n", ":6:9",
     "only one vma_prev()"),
    ("\treturn vma_prev(vma) == NULL;\n", ":4:9", "takes &vmi"),
])
def test_unsupported_c_is_refused_with_its_position(tmp_path, body, where, message):
    f = tmp_path / "bad.c"
    f.write_text("static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,\n"
                 "\t\t\t   unsigned long a, unsigned long mask)\n{\n" + body + "}\n")
    with pytest.raises(InputError) as e:
        load_c_variant([str(f)])
    assert str(e.value).startswith(f"{f}{where}") and message in str(e.value), str(e.value)
    r = run("check", "--c-file", str(f), "--property", "no-warn")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1


def test_preprocessor_and_missing_files(tmp_path):
    f = tmp_path / "m.c"
    f.write_text('#include <linux/mm.h>\n#define X 1\n')
    with pytest.raises(InputError, match=r"m.c: defines none of the functions .* the file defines no function"):
        load_c_variant([str(f)])
    f.write_text('#include <linux/mm.h>\n#ifndef CONFIG_MMU\n#error "no MMU"\n#endif\n'
                 '#if CONFIG_PGTABLE_LEVELS < 9\n#error "too many levels"\n#endif\n')
    with pytest.raises(InputError, match=r"m.c:6: preprocessor: .*too many levels"):
        load_c_variant([str(f)])
    assert run("check", "--c-file", str(tmp_path / "none.c"), "--property", "no-warn").exit_code == 2
    r = run("check", "--c-file", str(C / "vm_start-gt.c"), "--function", "nope", "--property", "no-warn")
    assert r.exit_code == 2 and "--function" in r.output


def test_cli_check_and_eval_with_c(tmp_path):
    r = run("check", "--c-file", str(C / "vm_start-gt.c"), "--property", "no-source-collateral", "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["variant"] == "vm_start-gt" and out["verdict"] == "violated"
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps(out["counterexample"]))
    r = run("eval", str(scenario), "--c-file", str(C / "vm_start-gt.c"), "--variant", "v6.15")
    assert r.exit_code == 1 and "vm_start-gt realigns" in r.output and "v6.15   does not realign" in r.output


def test_c_variant_runs_concretely_like_the_builtin():
    s = json.loads((Path(__file__).resolve().parents[2] / "counterexamples" / "x86_64-4level" / "v3" /
                    "no-source-collateral.json").read_text())
    from modelcheck.model.scenario import scenario_from_json
    sc = scenario_from_json(s)
    for vid in ("v3", "v6.7", "v6.15"):
        v = c_variant(builtin_unit(vid), f"{vid}-c", "", "")
        assert evaluate(sc, v).to_json() | {"variant": vid} == evaluate(sc, get_variant(vid)).to_json()
