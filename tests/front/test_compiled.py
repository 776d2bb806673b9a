"""The compiler's second opinion (modelcheck/front/compiled.py): the C the checker ran, compiled
with the project's kernel stubs and run on random states, against the interpreter.

Skipped, saying so, where no C compiler is installed (CI has one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.errors import InternalError
from modelcheck.front import compiled
from modelcheck.front.cfront import builtin_unit, c_variant, load_c
from modelcheck.model.geometry import get_geometry
from modelcheck.model.variants import VARIANTS, get_variant

C = Path(__file__).resolve().parents[1] / "c"
X86 = get_geometry("x86_64-4level")
needs_cc = pytest.mark.skipif(compiled.compiler() is None, reason="no C compiler (cc or gcc) on PATH")
STATES = compiled.states_for(X86, 600, seed=3)


@needs_cc
@pytest.mark.parametrize("vid", [v for v in VARIANTS])
@pytest.mark.parametrize("level", ["pmd", "pud"])
def test_builtin_c_runs_compiled_as_interpreted(vid, level):
    unit = builtin_unit(vid)
    r = compiled.crosscheck(unit, c_variant(unit, vid, "", ""), X86, level, STATES)
    assert r.states == len(STATES) and not r.skipped


@needs_cc
@pytest.mark.parametrize("path", sorted(str(p) for p in (C / "kernel").glob("*.c")) +
                         [str(C / n) for n in ("vma-prev.c", "int-masked.c", "warn-start.c", "no-prev-check.c")])
def test_user_c_runs_compiled_as_interpreted(path):
    v, linkage = load_c([path], None)
    assert compiled.crosscheck(linkage.unit, v, X86, "pmd", STATES).states == len(STATES)


@needs_cc
def test_a_difference_is_an_internal_error_naming_the_state():
    # the check has teeth: v6.15's C compiled, against v3's decision as the "interpreter"
    with pytest.raises(InternalError) as e:
        compiled.crosscheck(builtin_unit("v6.15"), get_variant("v3"), X86, "pmd", STATES)
    assert "differ on" in str(e.value) and '"vmas"' in str(e.value)


@needs_cc
def test_likely_is_zero_or_one(tmp_path):
    # found by the compiler: likely(x) is __builtin_expect(!!(x), 1), not x
    from modelcheck.front.cfront import builtin_c
    p = tmp_path / "likely.c"
    p.write_text(builtin_c("v6.15").replace("\tunsigned long down = addr & mask;\n",
                                            "\tunsigned long down = addr & mask;\n\n"
                                            "\tif (likely(vma->vm_start) == 1)\n\t\treturn false;\n", 1))
    v, linkage = load_c([str(p)], "v6.15")
    compiled.crosscheck(linkage.unit, v, X86, "pmd", STATES)
    r = CliRunner().invoke(cli, ["check", "--c-file", str(p), "--property", "missed-optimization", "--json"])
    out = json.loads(r.output)
    assert out["verdict"] == "violated" and out["crosscheck"].startswith("cross-checked with")


@needs_cc
def test_check_says_it_cross_checked():
    r = CliRunner().invoke(cli, ["check", "--c-file", str(C / "vm_start-gt.c"), "--property", "no-source-collateral"])
    assert r.exit_code == 1
    assert f"  C: cross-checked with {Path(compiled.compiler()).name}: {compiled.CROSSCHECK_STATES + 1} states" in r.output


def test_without_a_compiler_check_says_so(monkeypatch):
    monkeypatch.setattr(compiled, "compiler", lambda: None)
    r = CliRunner().invoke(cli, ["check", "--c-file", str(C / "vm_start-gt.c"), "--property", "no-source-collateral"])
    assert r.exit_code == 1 and "  C: not cross-checked with a compiler: no C compiler (cc or gcc) on PATH" in r.output


def test_a_geometry_the_compiler_does_not_have_is_not_cross_checked():
    r = CliRunner().invoke(cli, ["check", "--c-file", str(C / "vm_start-gt.c"), "--property", "no-source-collateral",
                                 "--geometry", "i386-pae"])
    assert "  C: not cross-checked with a compiler: i386-pae has a 32-bit unsigned long" in r.output


@needs_cc
def test_matrix_cross_checks_the_c_per_geometry(tmp_path):
    r = CliRunner().invoke(cli, ["matrix", "--c-file", str(C / "vm_start-gt.c"), "--variants", "v6.15",
                                 "--properties", "no-source-collateral", "--geometries", "x86_64-4level,i386-pae",
                                 "--no-pictures", "--out", str(tmp_path / "out"), "--json"])
    out = json.loads(r.stdout)
    assert out["crosscheck"]["vm_start-gt on x86_64-4level"].startswith("cross-checked with")
    assert out["crosscheck"]["vm_start-gt on i386-pae"].startswith("not cross-checked with a compiler: i386-pae")


@needs_cc
def test_review_and_history_cross_check_the_c():
    r = CliRunner().invoke(cli, ["review", "--c-file", str(C / "vm_start-gt.c"), "--no-fixes", "--json"])
    assert json.loads(r.stdout)["crosscheck"].startswith("cross-checked with")
    r = CliRunner().invoke(cli, ["history", str(C / "vm_start-gt.c"), "v6.15", "--properties", "no-source-collateral",
                                 "--json"])
    out = json.loads(r.stdout)
    assert list(out["crosscheck"]) == ["vm_start-gt on x86_64-4level"]  # the built-in row is not C


@needs_cc
def test_diff_cross_checks_a_side_from_c():
    r = CliRunner().invoke(cli, ["diff", str(C / "vm_start-lt.c"), "v6.15", "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and list(out["crosscheck"]) == ["vm_start-lt"]
    assert out["crosscheck"]["vm_start-lt"].startswith("cross-checked with")
