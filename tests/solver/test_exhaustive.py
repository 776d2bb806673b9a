"""Exhaustive cross-validation: every kernel state of a tiny geometry, through the simulator,
against the Z3 verdicts with the same VMA bound.

The geometry has 8-bit words (a 4-bit int), 4-byte pages, 2-page PMDs, 4-page PUDs and 12 pages
of user space, so PMD and PUD effects, wrap-around and truncation all fit.  A "holds" must have no
enumerated violation; a "violated" must have one (its own counterexample is replayed anyway).
The search is at exactly the enumeration's bound; the default search, which goes on to the
cutoff, must agree where it says holds for any number of VMAs, and otherwise find a
counterexample larger than the bound.  Besides the built-ins, predicates that look 1 and 2 VMAs
below the source (tests/solver/test_cutoff.py's ``deep``) are enumerated too.
"""

import pytest

from common.crossval import enumerated_agrees
from modelcheck.model.geometry import get_geometry
from modelcheck.model.variants import VARIANTS, get_variant

TINY = get_geometry("custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x30,min=0x4")


def _variant(vid: str):
    if vid.startswith("deep"):
        from test_cutoff import deep
        return deep(int(vid[4:]))
    return get_variant(vid)


def _compare(vid: str, bound: int, deeper: bool = True) -> None:
    enumerated_agrees(_variant(vid), TINY, bound, deeper)


@pytest.mark.parametrize("vid", list(VARIANTS) + ["deep1"])
def test_one_vma(vid):
    # the search past the bound for a few here (it costs most of the time), for all in the slow tier
    _compare(vid, 1, deeper=vid in ("v4", "v6.15", "deep1"))


@pytest.mark.slow
@pytest.mark.parametrize("vid", list(VARIANTS) + ["deep1", "deep2"])
def test_two_vmas(vid):
    _compare(vid, 2)
