"""Exhaustive enumeration of small kernel states: the explicit-state baseline that the solver is
cross-validated against (tests/solver/test_exhaustive.py) and measured against (modelcheck.bench)."""

from __future__ import annotations

from itertools import combinations, product
from typing import Iterator

from modelcheck.model.geometry import Geometry
from modelcheck.model.scenario import Move, Scenario, Vma


def layouts(g: Geometry, n: int) -> Iterator[tuple[tuple[int, int], ...]]:
    """Sorted, disjoint VMAs (adjacent allowed) as page-number pairs."""
    page = g.page_size
    lo, hi = -(-g.mmap_min_addr // page), g.task_size // page
    # choose 2n boundaries b0 < b1 <= b2 < b3 <= ...: pick 2n values from a multiset trick
    for picks in combinations(range(lo, hi + n), 2 * n):
        bounds = [p - k // 2 for k, p in enumerate(picks)]  # allow end_i == start_{i+1}
        vmas = tuple((bounds[2 * i], bounds[2 * i + 1]) for i in range(n))
        if all(s < e for s, e in vmas) and all(vmas[i][1] <= vmas[i + 1][0] for i in range(n - 1)) \
                and vmas[-1][1] <= hi and vmas[0][0] >= lo:
            yield vmas


def scenarios(g: Geometry, max_vmas: int) -> Iterator[Scenario]:
    page = g.page_size
    for n in range(1, max_vmas + 1):
        seen = set()
        for lay in layouts(g, n):
            if lay in seen:
                continue
            seen.add(lay)
            for pops in product((False, True), repeat=n):
                vmas = tuple(Vma(s * page, e * page, p) for (s, e), p in zip(lay, pops))
                for o, t in product(range(n), repeat=2):
                    (os_, oe), (ns, ne) = lay[o], lay[t]
                    for length in range(1, min(oe - os_, ne - ns) + 1):
                        for old in range(os_, oe - length + 1):
                            for new in range(ns, ne - length + 1):
                                if old < new + length and new < old + length:
                                    continue
                                yield Scenario(g, vmas, Move(o, t, old * page, new * page, length * page))
                    if o == t:  # the exec stack move inside this VMA
                        for old in range(os_ + 1, oe):
                            yield Scenario(g, vmas, Move(o, o, old * page, os_ * page, (oe - old) * page, True))
