"""Hypothesis strategies shared by the tests: random scenarios on the toy geometries."""

from __future__ import annotations

from hypothesis import assume, strategies as st

from conftest import build
from modelcheck.model.geometry import get_geometry


@st.composite
def scenarios(draw, geometry: str):
    """mremap moves between random VMAs, self-merged moves, and exec stack moves whose shift is
    often a PMD or PUD multiple, on a toy geometry (draws that make no valid scenario are
    rejected, hypothesis.assume)."""
    s = _scenario_or_none(draw, geometry)
    assume(s is not None)
    return s


def _scenario_or_none(draw, geometry: str):
    g = get_geometry(geometry)
    page, pmd, pud = g.page_size, g.pmd_size, g.pud_size
    lo, hi = -(-g.mmap_min_addr // page), g.task_size // page  # page numbers
    kind = draw(st.sampled_from(["mremap", "self", "stack"]))
    if kind == "stack":
        shift_kind = draw(st.sampled_from(["pmd", "pud", "any"]))
        unit = {"pmd": pmd, "pud": pud, "any": page}[shift_kind] // page
        shift = unit * draw(st.integers(1, 3))
        length = draw(st.integers(1, 3 * pud // page))
        start = draw(st.integers(lo, max(lo, hi - shift - length)))
        if start + shift + length > hi:
            return None
        vmas = [(start * page, (start + shift + length) * page, draw(st.booleans()))]
        # other VMAs below and above the stack
        if start - lo >= 2 and draw(st.booleans()):
            a = draw(st.integers(lo, start - 2))
            b = draw(st.integers(a + 1, start - 1 if draw(st.booleans()) else start))
            vmas.insert(0, (a * page, b * page, draw(st.booleans())))
        end = start + shift + length
        if hi - end >= 2 and draw(st.booleans()):
            a = draw(st.integers(end, hi - 1))
            b = draw(st.integers(a + 1, hi))
            vmas.append((a * page, b * page, draw(st.booleans())))
        i = next(k for k, v in enumerate(vmas) if v[0] == start * page)
        return build(geometry, vmas, i, i, (start + shift) * page, start * page, length * page, for_stack=True)
    n = draw(st.integers(1 if kind == "self" else 2, 4))
    points = sorted(draw(st.lists(st.integers(lo, hi), min_size=2 * n, max_size=2 * n, unique=True)))
    vmas = [(points[2 * k] * page, points[2 * k + 1] * page, draw(st.booleans())) for k in range(n)]
    if kind == "self":
        i = draw(st.integers(0, n - 1))
        size = (vmas[i][1] - vmas[i][0]) // page
        if size < 2:
            return None
        length = draw(st.integers(1, size // 2))
        a = draw(st.integers(0, size - length))
        b = draw(st.integers(0, size - length))
        if abs(a - b) < length:
            return None
        return build(geometry, vmas, i, i, vmas[i][0] + a * page, vmas[i][0] + b * page, length * page)
    i, j = draw(st.permutations(range(n)))[:2]
    size_i, size_j = (vmas[i][1] - vmas[i][0]) // page, (vmas[j][1] - vmas[j][0]) // page
    length = draw(st.integers(1, min(size_i, size_j)))
    # prefer mutually aligned moves that start at their VMA: where realignment happens
    old = vmas[i][0] + page * draw(st.integers(0, size_i - length))
    new = vmas[j][0] + page * draw(st.integers(0, size_j - length))
    if draw(st.booleans()):
        new_aligned = new - new % pmd + old % pmd
        if vmas[j][0] <= new_aligned and new_aligned + length * page <= vmas[j][1]:
            new = new_aligned
    return build(geometry, vmas, i, j, old, new, length * page)
