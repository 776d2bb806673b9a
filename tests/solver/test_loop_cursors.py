"""return-value at every cursor the loop can stop at, for any decision (issue: arbitrary decisions).

Pointwise against the simulator on random scenarios and random decisions (tests/common/decisions.py:
any start at page granularity at or below old_addr, or wrapped above it, at either level, with
every tail): wherever the encoding's assumption holds, a model of its exact part is a state the
simulator finds violated, and every state the simulator finds violated satisfies the exact or
the over-approximate part.  The default tier runs a few hundred draws, the slow tier thousands.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from common.crossval import symbolic_verdicts
from common.decisions import Arbitrary, arbitrary
from common.strategies import scenarios
from modelcheck.model.geometry import get_geometry
from modelcheck.model.semantics import evaluate
from modelcheck.solver.search import check

RV = "return-value"


def agree(s, a: Arbitrary, level: str) -> None:
    v = a.variant(s.geometry)
    violated = evaluate(s, v, level).properties[RV] == "violated"
    inside, exact, over = symbolic_verdicts(s, v, [RV], level)[RV]
    if not inside:
        return
    assert not exact or violated, (a, level, s.dumps())
    assert not violated or exact or over, (a, level, s.dumps())


def _draws(data, geometry):
    g = get_geometry(geometry)
    return data.draw(scenarios(geometry)), data.draw(arbitrary(g)), data.draw(st.sampled_from(["pmd", "pud"]))


@pytest.mark.parametrize("geometry", ["toy-16", "toy-16-2level", "toy-8"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_arbitrary_decisions_pointwise(geometry, data):
    agree(*_draws(data, geometry))


@pytest.mark.slow
@pytest.mark.parametrize("geometry", ["toy-16", "toy-16-2level", "toy-8"])
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_arbitrary_decisions_pointwise_many(geometry, data):
    agree(*_draws(data, geometry))


@pytest.mark.parametrize("geometry", ["x86_64-4level", "toy-16"])
def test_a_break_between_the_first_cursor_and_old_addr_is_asked(geometry):
    """A decision two PMDs below old_addr's boundary, and a tail that is wrong only just below
    old_addr: the break at the PMD boundary in between shows it (it was never asked)."""
    g = get_geometry(geometry)
    a = Arbitrary(0, 0, "aligned", "window-pmd")

    def two_down(k, c, level):
        mask, size = k.word(g.pmd_mask), g.pmd_size
        on = k.and_(k.ne(c.old_addr & ~mask, 0), k.uge(c.old_addr & mask, k.word(size)),
                    k.uge(c.new_addr & mask, k.word(size)))
        from modelcheck.model.variants import Decision
        return Decision(on, k.ite(on, (c.old_addr & mask) - size, c.old_addr),
                        k.ite(on, (c.new_addr & mask) - size, c.new_addr))
    import dataclasses
    v = dataclasses.replace(a.variant(g), id="two-down", decide=two_down)
    for extend in (True, False):
        r = check(v, RV, g, vmas=3 if extend else 10, extend=extend)
        assert r.verdict == "violated", r.bound()
        mv = r.counterexample.move
        assert mv.stop_at is not None and mv.stop_at < mv.old_addr
        assert evaluate(r.counterexample, v).properties[RV] == "violated"


def test_pud_level_breaks_at_pmd_boundaries_below_old_addr():
    """At --level pud the loop steps PMD by PMD from the PUD boundary up to old_addr: a tail
    wrong at exactly one of those cursors is found."""
    g = get_geometry("toy-16")
    v = Arbitrary(0, 0, "never", "at-pmd").variant(g)
    from modelcheck.model.variants import get_variant
    import dataclasses
    v = dataclasses.replace(v, decide=get_variant("always").decide)
    r = check(v, RV, g, level="pud")
    assert r.verdict == "violated", r.bound()
    mv = r.counterexample.move
    assert mv.stop_at == mv.old_addr - g.pmd_size


def test_a_move_up_onto_its_own_source_breaks_where_its_own_writes_made_a_table():
    """Found by the slow tier: a decision four pages below old_addr moving one page up, so the
    destination of [0x8f00, 0x9000) is the source slot at 0x9000, which held no entry at the
    call; alloc_new_pmd() made its PUD entry, and the loop can break there.  The over-approximate
    part must hold that cursor (its initial presence says nothing)."""
    from conftest import build
    s = build("toy-16", [(256, 512, False), (768, 33024, True), (37120, 37632, False)], 2, 2, 0x9100, 0x9200, 0x100)
    a = Arbitrary(0xe00, 0xe00, "always", "at-page")
    ev = evaluate(s, a.variant(s.geometry), "pmd")
    assert ev.properties[RV] == "violated" and "breaks at 0x9000" in ev.details[RV]
    agree(s, a, "pmd")
