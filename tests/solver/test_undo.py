"""move_vma()'s undo move and the userfaultfd rules of the loop: the simulator against the
encoding, and the verdicts they give.

Pointwise, on random scenarios of the toy geometries with an allocation failure and random
userfaultfd-wp registrations, for every rule (none, 0cef0bb836e3's source-only test after the
WARN, 772e5b4a5e83's test of both VMAs before it): a WARN in the move run to its end is exactly
the exact part of no-warn's encoding, and a WARN in the undo move satisfies its over-approximate
part wherever the move itself warns nowhere (the checker asks the exact part first, so where that
has no model no move warns; and it replays the over-approximate part's models before it calls
them violations).
"""

from __future__ import annotations

import dataclasses

import pytest
import z3
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from common.crossval import pin
from common.strategies import scenarios
from modelcheck.model.scenario import load_scenario
from modelcheck.model.semantics import evaluate
from modelcheck.model.variants import get_variant
from modelcheck.solver.encoding import SymbolicState, decision_of, property_violation
from modelcheck.solver.search import check


@st.composite
def failing(draw, geometry: str):
    """A scenario with random uffd-wp registrations and, for an mremap, an allocation failure at
    a random page between a PUD below old_addr and old_end."""
    s = draw(scenarios(geometry))
    vmas = tuple(dataclasses.replace(v, uffd_wp=draw(st.booleans())) for v in s.vmas)
    mv = s.move
    g = s.geometry
    stop = None
    if not mv.for_stack:
        # often at a PMD boundary past old_addr: where a move has moved something to undo
        bounds = list(range(mv.old_addr - mv.old_addr % g.pmd_size + g.pmd_size, mv.old_end, g.pmd_size))
        if bounds and draw(st.booleans()):
            stop = draw(st.sampled_from(bounds))
            if draw(st.booleans()):
                vmas = tuple(dataclasses.replace(v, uffd_wp=True) if i == mv.old_vma else v
                             for i, v in enumerate(vmas))
        else:
            lo = max(0, mv.old_addr - g.pud_size) // g.page_size
            stop = draw(st.integers(lo, mv.old_end // g.page_size - 1)) * g.page_size
    return dataclasses.replace(s, vmas=vmas, move=dataclasses.replace(mv, stop_at=stop))


@st.composite
def undo_prone(draw, geometry: str):
    """A move with a whole PMD slot to undo: a populated source VMA (often uffd-wp, often with a
    neighbour below in its first slot), a fresh destination a PMD multiple away (up or down,
    often mutually aligned), the failure at a PMD boundary past old_addr."""
    from modelcheck.model.geometry import get_geometry
    from modelcheck.model.scenario import Move, Scenario, Vma
    g = get_geometry(geometry)
    page, pmd = g.page_size, g.pmd_size
    lo, hi = -(-g.mmap_min_addr // pmd) + 1, g.task_size // pmd - 1  # PMD slot numbers
    pages = pmd // page
    length = draw(st.integers(pages + 1, 3 * pages)) * page
    slots = -(-length // pmd) + 1
    assume(hi - lo > 2 * slots + 2)
    first = draw(st.integers(lo, hi - 2 * slots - 1))
    offset = draw(st.integers(0, pages - 1)) * page
    old = first * pmd + offset
    gap = draw(st.integers(slots, slots + 2)) * pmd
    up = draw(st.booleans()) and (old + gap + length) <= g.task_size
    new = old + gap if up else old - gap
    assume(new >= g.mmap_min_addr and new + length <= g.task_size and (new + length <= old or old + length <= new))
    if not draw(st.booleans()):  # not mutually aligned
        new += page if new + length + page <= g.task_size else -page
    src = Vma(old, old + length, True, uffd_wp=draw(st.integers(0, 3)) > 0)
    dst = Vma(new, new + length, False, uffd_wp=src.uffd_wp and draw(st.booleans()))
    vmas = [src, dst]
    if offset and draw(st.booleans()):  # a neighbour in the source's first slot
        vmas.append(Vma(first * pmd, first * pmd + draw(st.integers(1, offset // page)) * page, draw(st.booleans())))
    vmas.sort(key=lambda v: v.start)
    assume(all(a.end <= b.start for a, b in zip(vmas, vmas[1:])))
    bounds = list(range(old - old % pmd + pmd, old + length, pmd))
    stop = draw(st.sampled_from(bounds))
    return Scenario(g, tuple(vmas), Move(vmas.index(src), vmas.index(dst), old, new, length, stop_at=stop))


def symbolic(s, variant):
    """(exact, over) of no-warn on the pinned state: the exact part with the failure free, the
    over-approximate part with the failure where the scenario has it."""
    st_ = SymbolicState(s.geometry, len(s.vmas))
    d = decision_of(st_, variant, "pmd")
    v = property_violation("no-warn", st_, variant, d)
    solver = z3.Solver()
    solver.add(*st_.constraints, *pin(st_, s))
    assert solver.check() == z3.sat, s.dumps()
    if solver.check(v.assumption) != z3.sat:
        return None
    exact = solver.check(v.assumption, v.condition) == z3.sat
    stop = [st_.has_stop, st_.stop_at == s.move.stop_at] if s.move.stop_at is not None else [z3.Not(st_.has_stop)]
    over = v.over is not None and solver.check(v.assumption, v.over, *stop) == z3.sat
    return exact, over


@pytest.mark.parametrize("geometry", ["toy-16", "toy-16-2level"])
@pytest.mark.parametrize("vid", ["linux-6.15", "linux-6.17", "linux-6.7", "always"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_undo_pointwise(geometry, vid, data):
    s = data.draw(st.one_of(failing(geometry), undo_prone(geometry)))
    variant = get_variant(vid)
    ev = evaluate(s, variant)
    sym = symbolic(s, variant)
    assume(sym is not None)
    exact, over = sym
    forward = bool(ev.refused)
    undo = ev.undo is not None and ev.undo.result is not None and bool(ev.undo.result.warnings)
    assert exact == forward, (vid, s.dumps())
    if undo and not forward:  # (over may assume the move itself warns nowhere: exact is asked first)
        assert over, (vid, ev.details.get("no-warn"), s.dumps())
    if forward or undo:
        assert ev.properties["no-warn"] == "violated"


SYZ = {"schema": 1, "geometry": "x86_64-4level",
       "vmas": [{"start": "0x200000000000", "end": "0x200000c00000", "uffd_wp": True},
                {"start": "0x200000c00000", "end": "0x200001000000", "populated": False, "uffd_wp": True}],
       "move": {"old_vma": 0, "new_vma": 1, "old_addr": "0x200000000000", "new_addr": "0x200000c00000",
                "len": "0x400000", "stop_at": "0x200000200000"}}


def _syz(tmp_path):
    import json
    p = tmp_path / "syz.json"
    p.write_text(json.dumps(SYZ))
    return load_scenario(str(p))


def test_syzbot_layout_warns_in_the_undo_only_with_the_check_after_the_warn(tmp_path):
    """syzbot 4d9a13f0797c46a29e42's call: 12 MiB of a uffd-wp VMA moved (4 MiB of it) to the
    next 4 MiB, the page-table allocation for the second PMD failing.  The first move recursed to
    PTEs and left the source's PTE table; the undo move's PMD-level move meets it."""
    s = _syz(tmp_path)
    ev = evaluate(s, get_variant("linux-6.15"))
    assert ev.undo is not None and ev.undo.len == 0x200000
    assert [m.level for m in ev.moves] == ["pte"]
    assert ev.undo.result.warnings[0].new == 0x200000000000
    assert "in the undo move" in ev.details["no-warn"]
    fixed = evaluate(s, get_variant("linux-6.17"))
    assert fixed.properties["no-warn"] == "holds" and not fixed.undo.result.warnings
    assert not fixed.restored  # the undo put every entry back
    plain = evaluate(s, get_variant("v6.15"))  # no uffd test: tables move both ways
    assert plain.properties["no-warn"] == "holds" and [m.level for m in plain.moves] == ["pmd"]


def test_undo_of_nothing_moved_returns_at_once(tmp_path):
    s = _syz(tmp_path)
    s = s.with_move(stop_at=s.move.old_addr)  # the first allocation fails: moved_len 0
    ev = evaluate(s, get_variant("linux-6.15"))
    assert ev.undo is not None and ev.undo.len == 0 and ev.undo.result is None
    assert ev.properties["no-warn"] == "holds"


@pytest.mark.parametrize("vid, verdict", [("linux-6.15", "violated"), ("linux-6.14", "violated"),
                                          ("linux-6.17", "holds"), ("debian-6.12", "holds"),
                                          ("v6.15", "holds")])
def test_reachable_no_warn_by_profile(vid, verdict):
    """The 2025 WARN from the model: found, with its recipe, for the kernels whose uffd test
    comes after the WARN; proved absent for any number of VMAs where it tests both VMAs first."""
    from modelcheck.model.geometry import get_geometry
    r = check(get_variant(vid), "no-warn", get_geometry("x86_64-4level"), reachable=True)
    assert r.verdict == verdict, r.reason
    if verdict == "holds":
        assert r.unbounded
    else:
        assert r.replay.undo is not None and r.replay.undo.result.warnings
        assert any(st.op == "uffd" for st in r.reachability.steps)
        assert r.counterexample.move.stop_at is not None


@pytest.mark.slow
@pytest.mark.parametrize("geometry", ["toy-16", "toy-16-2level", "toy-8"])
@pytest.mark.parametrize("vid", ["linux-6.14", "linux-6.15", "linux-6.17", "debian-6.12", "linux-6.7", "v2",
                                 "linus", "v3", "v4", "v5", "rfc", "always", "never"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_undo_pointwise_all(geometry, vid, data):
    test_undo_pointwise.hypothesis.inner_test(geometry, vid, data)


def test_diff_finds_a_loop_rule_that_warns():
    """Two profiles with the same predicate and another uffd rule decide alike: diff still tells
    them apart, with the state where one warns and the other does not."""
    from modelcheck.model.geometry import get_geometry
    from modelcheck.solver.search import diff
    cases, gave_up = diff(get_variant("linux-6.15"), get_variant("linux-6.17"), get_geometry("x86_64-4level"),
                          reachable=True)
    loop = [c for c in cases if c.kind == "loop"]
    assert [(c.realigns, c.declines, c.property) for c in loop] == [("linux-6.15", "linux-6.17", "no-warn")]
    assert not [c for c in cases if c.kind != "loop"] and not gave_up
    assert evaluate(loop[0].scenario, get_variant("linux-6.15")).undo.result.warnings
