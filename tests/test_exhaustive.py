"""Exhaustive cross-validation: every kernel state of a tiny geometry, through the simulator,
against the Z3 verdicts with the same VMA bound.

The geometry has 8-bit words (a 4-bit int), 4-byte pages, 2-page PMDs, 4-page PUDs and 12 pages
of user space, so PMD and PUD effects, wrap-around and truncation all fit.  A "holds" must have no
enumerated violation; a "violated" must have one (its own counterexample is replayed anyway).
The search is at exactly the enumeration's bound; the default search, which goes on to the
cutoff, must agree where it says holds for any number of VMAs, and otherwise find a
counterexample larger than the bound.  Besides the built-ins, predicates that look 1 and 2 VMAs
below the source (tests/test_cutoff.py's ``deep``) are enumerated too.
"""

import pytest

from modelcheck.enumerate import scenarios
from modelcheck.geometry import get_geometry
from modelcheck.search import check
from modelcheck.semantics import evaluate
from modelcheck.spec import PROPERTIES
from modelcheck.variants import VARIANTS, get_variant

TINY = get_geometry("custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x30,min=0x4")


def _variant(vid: str):
    if vid.startswith("deep"):
        from test_cutoff import deep
        return deep(int(vid[4:]))
    return get_variant(vid)


def _compare(vid: str, bound: int, deeper: bool = True) -> None:
    v = _variant(vid)
    found: dict[str, object] = {}
    for s in scenarios(TINY, bound):
        for pid in evaluate(s, v).violated():
            found.setdefault(pid, s)
        if len(found) == len(PROPERTIES):
            break
    for pid in PROPERTIES:
        r = check(v, pid, TINY, vmas=bound, minimal=False, extend=False)
        if r.verdict == "holds":
            assert pid not in found, f"{vid} {pid}: Z3 says holds, enumeration found\n{found[pid].dumps()}"
        elif r.verdict == "violated":
            assert pid in found, f"{vid} {pid}: Z3 found\n{r.counterexample.dumps()}but enumeration did not"
        else:
            pytest.fail(f"{vid} {pid}: unknown ({r.reason})")
        if not deeper:
            continue
        d = check(v, pid, TINY, minimal=False)
        if d.verdict == "holds":
            assert d.unbounded and pid not in found
        elif pid not in found:  # violated only by layouts larger than the enumeration's
            assert d.verdict == "violated" and len(d.counterexample.vmas) > bound, d.bound()


@pytest.mark.parametrize("vid", list(VARIANTS) + ["deep1"])
def test_one_vma(vid):
    # the search past the bound for a few here (it costs most of the time), for all in the slow tier
    _compare(vid, 1, deeper=vid in ("v4", "v6.15", "deep1"))


@pytest.mark.slow
@pytest.mark.parametrize("vid", list(VARIANTS) + ["deep1", "deep2"])
def test_two_vmas(vid):
    _compare(vid, 2)
