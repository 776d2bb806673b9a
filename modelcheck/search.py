"""The checker: prove or refute one variant × property × geometry, with minimal replayed counterexamples.

For n = 1 .. vmas_bound it asks Z3 for a kernel state with n VMAs that violates the property.
The first n with an answer gives the fewest VMAs; the model is then shrunk (smallest move, then
the lowest layout) and replayed by the concrete simulator before it is reported.  No answer for
every n is a proof within the bound; a solver that gives up (resource limit) makes the verdict
unknown, never holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import z3

from modelcheck.encoding import SymbolicState, configure, decision_of, decode, property_violation
from modelcheck.errors import InputError, InternalError
from modelcheck.geometry import Geometry
from modelcheck.report import eval_report
from modelcheck.scenario import Scenario
from modelcheck.semantics import Evaluation, evaluate
from modelcheck.spec import get_property
from modelcheck.variants import Variant

__all__ = ["CheckResult", "check", "DEFAULT_VMAS", "DEFAULT_RLIMIT"]

DEFAULT_VMAS = 4
DEFAULT_RLIMIT = 50_000_000

HOLDS, VIOLATED, UNKNOWN = "holds", "violated", "unknown"


@dataclass
class CheckResult:
    variant: str
    property: str
    geometry: str
    level: str
    verdict: str
    vacuous: bool
    vmas_bound: int
    seconds: float
    counterexample: Scenario | None = None
    replay: Evaluation | None = None
    reason: str = ""
    paths: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"variant": self.variant, "property": self.property, "geometry": self.geometry,
                "level": self.level, "verdict": self.verdict, "vacuous": self.vacuous,
                "vmas_bound": self.vmas_bound,
                "seconds": round(self.seconds, 3),
                "counterexample": self.counterexample.to_json() if self.counterexample else None,
                "reason": self.reason, **({"files": self.paths} if self.paths else {})}


class _Query:
    """One symbolic state with n VMAs and a condition on it."""

    def __init__(self, g: Geometry, n: int, variant: Variant, pid: str, level: str, rlimit: int,
                 which: str = "exact") -> None:
        self.st = SymbolicState(g, n)
        self.decision = decision_of(self.st, variant, level)
        self.violation = property_violation(pid, self.st, variant, self.decision)
        self.solver = z3.Solver()
        self.solver.set("rlimit", rlimit)
        self.solver.add(*self.st.constraints)
        v = self.violation
        if not v.stop:
            self.solver.add(z3.Not(self.st.has_stop))
        goal = {"exact": z3.And(v.assumption, v.condition),
                "over": v.over if v.over is not None else z3.BoolVal(False),
                "outside": z3.Not(v.assumption)}[which]
        self.solver.add(goal)

    def check(self, *more: Any) -> z3.CheckSatResult:
        return self.solver.check(*more)


def _minimize(q: _Query, value: Any, lo: int, hi: int, step: int, fixed: list) -> list:
    """Fix ``value`` at the least multiple of ``step`` in [lo, hi] that keeps ``q`` satisfiable."""
    best = hi
    while lo < best:
        mid = max(lo, (lo + best) // 2 // step * step)
        if q.check(*fixed, value <= mid) == z3.sat:
            best = q.solver.model().eval(value, model_completion=True).as_long()
        else:
            lo = mid + step
    return fixed + [value == best]


def _shrink(q: _Query) -> z3.ModelRef:
    """Smallest move first, then the lowest layout: len, the top address, then each bound in turn."""
    st, g = q.st, q.st.geometry
    page = g.page_size
    fixed = _minimize(q, st.len, page, g.task_size, page, [])
    order = [st.ends[-1]] + [x for pair in zip(st.starts, st.ends) for x in pair] + [st.old_addr, st.new_addr]
    for term in order:
        fixed = _minimize(q, term, 0, g.task_size, page, fixed)
    if q.check(*fixed) != z3.sat:
        raise InternalError("shrinking lost the counterexample")
    return q.solver.model()


def _vacuous(g: Geometry, variant: Variant, level: str, n_max: int, rlimit: int) -> bool | None:
    """True if no state with up to n_max VMAs reaches the realignment branch (None: undecided)."""
    undecided = False
    for n in range(1, n_max + 1):
        st = SymbolicState(g, n)
        d = decision_of(st, variant, level)
        s = z3.Solver()
        s.set("rlimit", rlimit)
        s.add(*st.constraints)
        r = s.check(d.realign)
        if r == z3.sat:
            return False
        undecided |= r == z3.unknown
    return None if undecided else True


def _counterexample(q: _Query, variant: Variant, pid: str, level: str) -> tuple[Scenario, Evaluation]:
    model = _shrink(q)
    try:
        scenario = decode(q.st, model, with_stop=q.violation.stop)
    except InputError as e:
        raise InternalError(f"the solver's state is not a valid scenario ({e})") from None
    return scenario, evaluate(scenario, variant, level)


def check(variant: Variant, pid: str, g: Geometry, level: str = "pmd", vmas: int = DEFAULT_VMAS,
          rlimit: int = DEFAULT_RLIMIT) -> CheckResult:
    """Prove or refute ``pid`` for ``variant`` on geometry ``g`` with up to ``vmas`` VMAs."""
    get_property(pid)
    if vmas < 1:
        raise InputError("--vmas", "needs at least one VMA")
    configure()
    t0 = time.perf_counter()
    result = CheckResult(variant.id, pid, g.name, level, HOLDS, False, vmas, 0.0)
    vac = _vacuous(g, variant, level, vmas, rlimit)
    result.vacuous = bool(vac)
    gave_up: list[str] = []

    def run(which: str) -> _Query | None:
        for n in range(1, vmas + 1):
            q = _Query(g, n, variant, pid, level, rlimit, which)
            r = q.check()
            if r == z3.sat:
                return q
            if r == z3.unknown:
                gave_up.append(f"{which} n={n}: {q.solver.reason_unknown()}")
        return None

    q = run("exact")
    if q is not None:
        scenario, replay = _counterexample(q, variant, pid, level)
        if replay.properties[pid] != VIOLATED:
            raise InternalError(
                f"counterexample not confirmed by the simulator: {variant.id} {pid} on {g.name}\n"
                f"solver's scenario:\n{scenario.dumps()}simulator says:\n{eval_report(scenario, [replay])}")
        result.verdict, result.counterexample, result.replay = VIOLATED, scenario, replay
    elif (q := run("over")) is not None:
        scenario, replay = _counterexample(q, variant, pid, level)
        if replay.properties[pid] == VIOLATED:
            result.verdict, result.counterexample, result.replay = VIOLATED, scenario, replay
        else:
            result.verdict = UNKNOWN
            result.reason = (f"a loop break at {hex(scenario.move.stop_at or 0)} would return a wrong value, but that "
                             "cursor is not shown to be reachable")
    elif run("outside") is not None:
        result.verdict = UNKNOWN
        result.reason = f"the encoding assumes {q_why(variant, pid, g, level)}, and some state breaks that"
    elif gave_up:
        result.verdict = UNKNOWN
        result.reason = f"resource limit (rlimit {rlimit}) reached: " + "; ".join(gave_up)
    if vac is None and result.verdict == HOLDS:
        result.verdict, result.reason = UNKNOWN, "could not decide whether the realignment branch is reachable"
    result.seconds = time.perf_counter() - t0
    return result


def q_why(variant: Variant, pid: str, g: Geometry, level: str) -> str:
    st = SymbolicState(g, 1)
    return property_violation(pid, st, variant, decision_of(st, variant, level)).why_assumed
