"""Exhaustive cross-validation: every kernel state of a tiny geometry, through the simulator,
against the Z3 verdicts with the same VMA bound.

The geometry has 8-bit words (a 4-bit int), 4-byte pages, 2-page PMDs, 4-page PUDs and 12 pages
of user space, so PMD and PUD effects, wrap-around and truncation all fit.  A "holds" must have no
enumerated violation; a "violated" must have one (its own counterexample is replayed anyway).
"""

import pytest

from modelcheck.enumerate import scenarios
from modelcheck.geometry import get_geometry
from modelcheck.search import check
from modelcheck.semantics import evaluate
from modelcheck.spec import PROPERTIES
from modelcheck.variants import VARIANTS, get_variant

TINY = get_geometry("custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x30,min=0x4")


def _compare(vid: str, bound: int) -> None:
    v = get_variant(vid)
    found: dict[str, object] = {}
    for s in scenarios(TINY, bound):
        for pid in evaluate(s, v).violated():
            found.setdefault(pid, s)
        if len(found) == len(PROPERTIES):
            break
    for pid in PROPERTIES:
        r = check(v, pid, TINY, vmas=bound, minimal=False)
        if r.verdict == "holds":
            assert pid not in found, f"{vid} {pid}: Z3 says holds, enumeration found\n{found[pid].dumps()}"
        elif r.verdict == "violated":
            assert pid in found, f"{vid} {pid}: Z3 found\n{r.counterexample.dumps()}but enumeration did not"
        else:
            pytest.fail(f"{vid} {pid}: unknown ({r.reason})")


@pytest.mark.parametrize("vid", list(VARIANTS))
def test_one_vma(vid):
    _compare(vid, 1)


@pytest.mark.slow
@pytest.mark.parametrize("vid", list(VARIANTS))
def test_two_vmas(vid):
    _compare(vid, 2)
