"""Helpers that judge one concrete scenario with the Z3 encoding (pointwise), for cross-validation."""

from __future__ import annotations

import z3

from modelcheck.encoding import SymbolicState, decision_of, property_violation
from modelcheck.scenario import Scenario
from modelcheck.variants import Variant


def pin(st: SymbolicState, s: Scenario) -> list:
    """Constraints that fix the symbolic state to the concrete scenario (stop_at left free)."""
    m = s.move
    c = []
    for i, v in enumerate(s.vmas):
        c += [st.starts[i] == v.start, st.ends[i] == v.end, st.populated[i] == v.populated]
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
        v = property_violation(pid, st, variant, d)
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
