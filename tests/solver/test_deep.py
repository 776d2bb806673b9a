"""Cross-validation of the unbounded verdict on C predicates that look further than the built-ins
(tests/common/deep_predicates.py: random ones from a grammar of lookups, and mutants of v4's and v6.15's
checks): prev of prev, the VMA above, lookups on computed addresses, the VMA iterator.

* Against the bounded search on x86_64-4level up to N = 8: the default check (searched to the
  cutoff) and a search at exactly 8 VMAs agree on the verdict; a holds is for any number of VMAs;
  a counterexample is as small in both (fewest VMAs first), unless it needs more than 8.
* Against exhaustive enumeration on a toy geometry (8-bit words, five pages of user space, two
  PMD boundaries), through the simulator: tests/common/crossval.enumerated_agrees().

The default tier runs the mutants and twelve random predicates; the slow tier a hundred.
"""

from __future__ import annotations

import pytest

from common.crossval import enumerated_agrees
from common.deep_predicates import Predicate, mutants, random_predicate
from modelcheck.front.cfront import load_c
from modelcheck.model.geometry import get_geometry
from modelcheck.solver.search import check

X86 = get_geometry("x86_64-4level")
#: five user pages (0x4-0x18): room for three VMAs below a PMD boundary and one above
TOY = get_geometry("custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x18,min=0x4")

MUTANTS = {p.name: p for p in mutants()}
FEW, MANY = range(12), range(12, 100)


def _load(p: Predicate, tmp_path):
    return load_c([p.write(tmp_path)])[0]


def _agree_up_to_8(p: Predicate, tmp_path, pids: tuple[str, ...]) -> list[str]:
    v = _load(p, tmp_path)
    verdicts = []
    for pid in pids:
        ext = check(v, pid, X86)
        bounded = check(v, pid, X86, vmas=8, extend=False)
        assert "unknown" not in (ext.verdict, bounded.verdict), (ext.reason, bounded.reason)
        if ext.verdict == "holds":
            assert ext.unbounded and ext.cutoff.vmas <= ext.vmas_bound, ext.bound()
            assert bounded.verdict == "holds", f"{p.name} {pid}\n{bounded.counterexample.dumps()}"
        else:
            n = len(ext.counterexample.vmas)
            if n <= 8:
                assert bounded.verdict == "violated" and len(bounded.counterexample.vmas) == n, p.source
            else:
                assert bounded.verdict == "holds" and not bounded.unbounded
        verdicts.append(ext.verdict)
    return verdicts


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_agrees_with_search_up_to_8(name, tmp_path):
    _agree_up_to_8(MUTANTS[name], tmp_path, ("no-source-collateral", "equivalence"))


def test_mutants_both_ways():
    # the set is not one-sided: some mutants are safe for any number of VMAs, some are not
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        got = {n: check(_load(p, Path(d)), "no-source-collateral", X86).verdict for n, p in MUTANTS.items()}
    assert got["v4-prev-of-prev"] == got["v4-above"] == got["v6.15-pmd-below"] == "violated"
    assert got["v4-and-prev-of-prev"] == got["v6.15-first"] == "holds"


@pytest.mark.parametrize("seed", FEW)
def test_random_agrees_with_search_up_to_8(seed, tmp_path):
    _agree_up_to_8(random_predicate(seed), tmp_path, ("no-source-collateral", "equivalence"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", MANY)
def test_many_random_agree_with_search_up_to_8(seed, tmp_path):
    _agree_up_to_8(random_predicate(seed), tmp_path,
                   ("no-source-collateral", "no-dest-clobber", "equivalence", "no-warn", "no-null-deref"))


@pytest.mark.parametrize("name", ["v4-prev-of-prev", "v4-and-prev-of-prev", "v6.15-pmd-below"])
def test_mutant_agrees_with_enumeration(name, tmp_path):
    enumerated_agrees(_load(MUTANTS[name], tmp_path), TOY, 3,
                      pids=("no-source-collateral", "equivalence", "no-null-deref"))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MUTANTS))
def test_every_mutant_agrees_with_enumeration_of_4(name, tmp_path):
    enumerated_agrees(_load(MUTANTS[name], tmp_path), TOY, 4)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(24))
def test_random_agrees_with_enumeration(seed, tmp_path):
    enumerated_agrees(_load(random_predicate(seed), tmp_path), TOY, 3)
