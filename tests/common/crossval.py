"""Helpers that judge one concrete scenario with the Z3 encoding (pointwise), for cross-validation."""

from __future__ import annotations

import pytest
import z3

from modelcheck.solver.encoding import SymbolicState, decision_of, property_violation
from modelcheck.enumeration import scenarios
from modelcheck.model.geometry import Geometry
from modelcheck.model.scenario import Scenario
from modelcheck.solver.search import check
from modelcheck.model.semantics import evaluate
from modelcheck.checks import PROPERTIES
from modelcheck.model.variants import Variant


def pin(st: SymbolicState, s: Scenario) -> list:
    """Constraints that fix the symbolic state to the concrete scenario (stop_at left free)."""
    m = s.move
    c = []
    for i, v in enumerate(s.vmas):
        c += [st.starts[i] == v.start, st.ends[i] == v.end, st.populated[i] == v.populated,
              st.uffd[i] == v.uffd_wp]
    c += [st.old_vma == m.old_vma, st.new_vma == m.new_vma, st.old_addr == m.old_addr,
          st.new_addr == m.new_addr, st.len == m.len, st.for_stack == m.for_stack]
    return c


def symbolic_verdicts(s: Scenario, variant: Variant, pids: list[str], level: str = "pmd") -> dict:
    """For each property: (inside, exact, over) - whether the encoding's assumption holds here,
    whether its exact violation condition is satisfiable here, and its over-approximate one."""
    st = SymbolicState(s.geometry, len(s.vmas))
    d = decision_of(st, variant, level)
    base = [*st.constraints, *pin(st, s)]
    out = {}
    for pid in pids:
        v = property_violation(pid, st, variant, d, level)
        solver = z3.Solver()
        solver.add(*base)
        if not v.stop:
            solver.add(z3.Not(st.has_stop))
        if solver.check() != z3.sat:
            raise AssertionError(f"the encoding rejects a valid scenario: {s.dumps()}")
        inside = solver.check(v.assumption) == z3.sat
        exact = solver.check(v.assumption, v.condition) == z3.sat
        over = v.over is not None and solver.check(v.over) == z3.sat
        out[pid] = (inside, exact, over)
    return out


def enumerated_agrees(v: Variant, g: Geometry, bound: int, deeper: bool = True,
                      pids: tuple[str, ...] = PROPERTIES) -> dict[str, str]:
    """Every kernel state of ``g`` with up to ``bound`` VMAs through the simulator, against the
    checker.  Z3 at exactly the bound must agree with the enumeration; with ``deeper`` the default
    search (on to the cutoff) too: its holds for any number of VMAs has no enumerated violation,
    and a violation it finds that the enumeration does not is larger than the bound.  Returns the
    exact-bound verdicts."""
    found: dict[str, Scenario] = {}
    for s in scenarios(g, bound):
        for pid in evaluate(s, v).violated():
            found.setdefault(pid, s)
        if len(found) == len(PROPERTIES):
            break
    verdicts = {}
    for pid in pids:
        r = check(v, pid, g, vmas=bound, minimal=False, extend=False)
        verdicts[pid] = r.verdict
        if r.verdict == "holds":
            assert pid not in found, f"{v.id} {pid}: Z3 says holds, enumeration found\n{found[pid].dumps()}"
        elif r.verdict == "violated":
            assert pid in found, f"{v.id} {pid}: Z3 found\n{r.counterexample.dumps()}but enumeration did not"
        else:
            pytest.fail(f"{v.id} {pid}: unknown ({r.reason})")
        if not deeper:
            continue
        d = check(v, pid, g, minimal=False)
        if d.verdict == "holds":
            assert d.unbounded and pid not in found, d.bound()
        elif pid not in found:  # violated only by layouts larger than the enumeration's
            assert d.verdict == "violated" and len(d.counterexample.vmas) > bound, d.bound()
    return verdicts
