"""The checker: prove or refute one variant × property × geometry, compare variants.

For n = 1 .. vmas_bound it asks Z3 for a kernel state with n VMAs that violates the property.
The first n with an answer gives the fewest VMAs; the model is then shrunk (smallest move, then
the lowest layout) and replayed by the concrete simulator before it is reported.  No answer for
any n is a proof within the bound; a solver that gives up (resource limit) makes the verdict
unknown, never holds.

How many VMAs are enough: before the search, the goal's formula is read for the VMAs a
violation can need (encoding.Cutoff: the call's two, each VMA a lookup returns with what its
address reads, and a witness per entry test that must be true).  Any violating state, of any
size, shrinks to one of at most that many, so a search up to the cutoff is a proof for every
number of VMAs; by default the search goes on to the cutoff when it is above ``DEFAULT_VMAS``.
tests/solver/test_cutoff.py and tests/solver/test_deep.py cross-validate the cutoff against deeper searches
and against enumeration.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import z3

from modelcheck.solver.encoding import (Cutoff, SymbolicState, as_bool, decision_of, decision_rules, decode,
                                        early_value, new_context, reaches_no_loop, term, violation_of)
from modelcheck.errors import InputError, InternalError
from modelcheck.model.geometry import Geometry
from modelcheck.output.report import eval_report, move_call
from modelcheck.model.scenario import Scenario
from modelcheck.userspace.recipe import Reachability, find_recipe
from modelcheck.model.semantics import Evaluation, evaluate, judge
from modelcheck.settings import DEFAULT, DEFAULT_RLIMIT, DEFAULT_VMAS, Settings
from modelcheck.model.simulate import TooLong
from modelcheck.checks import CHECKS, MISSED, PROPERTIES, get_property
from modelcheck.checks.missed_optimization import declined_but_safe, missed
from modelcheck.model.variants import Variant, get_variant

__all__ = ["CheckResult", "DiffCase", "check", "diff", "prove_same", "shared_states", "somewhere", "DEFAULT_VMAS", "DEFAULT_RLIMIT", "TAME_PMDS", "MISSED", "CHECKS"]

#: a first model's move longer than this many PMDs is replaced by a shorter one before its replay
TAME_PMDS = 1024

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
    seconds: float  # the whole check: building terms, solving, shrinking, replaying
    counterexample: Scenario | None = None
    replay: Evaluation | None = None
    reason: str = ""
    files: dict = field(default_factory=dict)
    solver_seconds: float = 0.0  # of which inside the solver
    reachability: Reachability | None = None  # of the counterexample
    reachable_only: bool = False  # the search counted only states user space can reach
    cutoff: Cutoff | None = None  # how many VMAs a violation can need, read off the searched goals
    unbounded: bool = False  # a holds that covers every number of VMAs (cutoff.vmas <= vmas_bound)
    # for a C variant: how the compiled C agreed with the interpreter (front.compiled), one line
    crosscheck: str = ""
    # for a C variant: where it came from (scenario.Claim.source), recorded with a saved counterexample
    source: dict | None = None

    def bound(self) -> str:
        """What a holds covers, in words."""
        if self.unbounded:
            return f"any number of VMAs ({self.cutoff.why()}; searched up to {self.vmas_bound})"
        why = self.cutoff.why() if self.cutoff else "no cutoff was computed"
        return f"up to {self.vmas_bound} VMAs ({why})"

    def to_json(self) -> dict:
        return {"variant": self.variant, "property": self.property, "geometry": self.geometry,
                "level": self.level, "verdict": self.verdict, "vacuous": self.vacuous,
                "vmas_bound": "any" if self.unbounded else self.vmas_bound, "vmas_searched": self.vmas_bound,
                "cutoff": None if self.cutoff is None else {
                    "vmas": None if self.cutoff.raw else self.cutoff.vmas, "lookups": self.cutoff.lookups,
                    "witnesses": self.cutoff.witnesses, "why": self.cutoff.why()},
                "seconds": round(self.seconds, 3),
                "solver_seconds": round(self.solver_seconds, 3), "reachable_only": self.reachable_only,
                "reachability": self.reachability.to_json() if self.reachability else None,
                "counterexample": self.counterexample.to_json() if self.counterexample else None,
                # the simulator's replay of it: the decision, the moves, the undo move, why it violates
                "replay": self.replay.to_json() if self.replay is not None and self.counterexample else None,
                "reason": self.reason, "files": dict(self.files),
                **({"crosscheck": self.crosscheck} if self.crosscheck else {})}


Goal = Callable[[SymbolicState], tuple[list, bool]]  # (alternative conditions, may carry stop_at)


def _solver_for(logic: str, ctx: z3.Context) -> z3.Solver:
    """z3.SolverFor(logic, ctx), without the symbol it makes in z3's main context."""
    return z3.Solver(z3.Z3_mk_solver_for_logic(ctx.ref(), z3.to_symbol(logic, ctx)), ctx)


#: how a query is solved: "smt" (Z3's default solver), or a tactic pipeline ending in "smt" or
#: "qflia" (see docs/performance.md for the measurements behind the choice)
SOLVERS = {
    "smt": lambda ctx: z3.Solver(ctx=ctx),
    "qflia": lambda ctx: _solver_for("QF_LIA", ctx),
    "pre+smt": lambda ctx: z3.Then("simplify", "propagate-values", "solve-eqs", "elim-term-ite", "smt", ctx=ctx).solver(),
    "pre+qflia": lambda ctx: z3.Then("simplify", "propagate-values", "solve-eqs", "elim-term-ite", "qflia", ctx=ctx).solver(),
}
def new_solver(ctx: z3.Context, kind: str = DEFAULT.solver) -> z3.Solver:
    """A solver of ``kind`` (Settings.solver, Settings.one_shot) in the context ``ctx``."""
    return SOLVERS[kind](ctx)


class _Query:
    """One symbolic state with n VMAs and one condition on it (in a scope of ``shared``, a solver
    that already holds the state's constraints, if given: call ``close()`` when done)."""

    def __init__(self, states: "_States", st: SymbolicState, condition: z3.BoolRef, stop: bool, rlimit: int,
                 shared: z3.Solver | None = None, kind: str | None = None) -> None:
        self.states, self.st, self.stop = states, st, stop
        if shared is not None:
            self.solver = shared
            shared.push()
            shared.add(condition)
            if not stop:
                shared.add(z3.Not(st.has_stop))
            return
        self.solver = new_solver(st.ctx, kind or states.settings.solver)
        self.solver.set("rlimit", rlimit)
        self.solver.add(*st.constraints, condition)
        if not stop:
            self.solver.add(z3.Not(st.has_stop))

    def close(self) -> None:
        if self.solver.num_scopes():
            self.solver.pop()

    def check(self, *more: Any) -> z3.CheckSatResult:
        return self.states.solve(self.solver, *more)


def _minimize(q: _Query, value: Any, lo: int, step: int, fixed: list, model: z3.ModelRef) -> tuple[list, z3.ModelRef]:
    """Fix ``value`` at the least multiple of ``step`` >= lo that keeps ``q`` satisfiable (as far as
    the resource limit lets us look); returns the constraints and the last model found."""
    best = model.eval(value, model_completion=True).as_long()
    while lo < best:
        mid = max(lo, (lo + best) // 2 // step * step)
        r = q.check(*fixed, value <= mid)
        if r == z3.sat:
            model = q.solver.model()
            best = model.eval(value, model_completion=True).as_long()
        elif r == z3.unsat:
            lo = mid + step
        else:
            break  # the resource limit: keep what we have
    return fixed + [value == best], model


def _shrink(q: _Query) -> z3.ModelRef:
    """Smallest move first, then the lowest layout: len, the top address, then each bound in turn,
    then the fewest populated VMAs.

    Every model found satisfies all values fixed before it, so the last one is the answer."""
    st, g = q.st, q.st.geometry
    page = g.page_size
    model = q.solver.model()
    terms = [st.len, st.ends[-1]] + [x for pair in zip(st.starts, st.ends) for x in pair] + [st.old_addr, st.new_addr]
    fixed: list = []
    for x in terms:
        fixed, model = _minimize(q, x, 0, page, fixed, model)
    # then as few populated VMAs as possible, lowest first: the solver's free choices for the
    # rest would otherwise show up in the counterexample
    for populated in st.populated:
        if q.check(*fixed, z3.Not(populated)) == z3.sat:
            model = q.solver.model()
            fixed.append(z3.Not(populated))
        else:
            fixed.append(populated)
    return model


def _tame(q: _Query) -> z3.ModelRef:
    """The solver's first model, unless its move is longer than ``TAME_PMDS`` PMDs: then one with a
    move that short if there is one, else one with the shortest move (the replay's loop runs over
    the whole move, and a first model may move terabytes)."""
    model = q.solver.model()
    g, st = q.st.geometry, q.st
    cap = TAME_PMDS * g.pmd_size
    if model.eval(st.len, model_completion=True).as_long() <= cap:
        return model
    if q.check(st.len <= cap) == z3.sat:
        return q.solver.model()
    return _minimize(q, st.len, g.page_size, g.page_size, [], model)[1]


#: _search() looks at exactly 1, 2, ... VMAs up to this many, then asks once about any number up to
#: the bound; only if that has a model does it go on one number at a time (to find the least)

#: told what a long search is at: ``progress("exact: 5 of 64 VMAs")``
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class _States(dict):
    """The symbolic states of one check or diff, by (VMAs, any number up to them): built once, so
    that each variant's decision on a state is built once too (encoding.decision_of).  It carries
    the run's Settings and Z3 context (``ctx``, a new one unless given: every state, term and
    solver of the run is made in it) and counts the seconds spent inside the solver (``clock``)."""

    def __init__(self, g: Geometry, settings: Settings = DEFAULT, ctx: z3.Context | None = None) -> None:
        super().__init__()
        self.g, self.settings, self.clock = g, settings, 0.0
        self.ctx = ctx if ctx is not None else new_context(settings.seed)

    def solve(self, solver: z3.Solver, *assumptions: Any) -> z3.CheckSatResult:
        t = time.perf_counter()
        try:
            return solver.check(*assumptions)
        finally:
            self.clock += time.perf_counter() - t

    def get_state(self, n: int, upto: bool = False, abstract: bool = False) -> SymbolicState:
        st = self.get((n, upto, abstract))
        if st is None:
            st = self[n, upto, abstract] = SymbolicState(self.g, n, upto=upto, abstract=abstract,
                                                          settings=self.settings, ctx=self.ctx)
        return st


def shared_states(g: Geometry, settings: Settings = DEFAULT) -> _States:
    """States for many checks, diffs and proofs on one geometry in one fresh Z3 context: each
    state, and each variant's decision and violations on it, built once for all of them (review
    asks dozens of questions of a variant and its edits).  Answers do not depend on the sharing;
    how long Z3 takes on each, and which model it returns first, may, but the same calls in the
    same order give the same results."""
    return _States(g, settings)


def _fresh(g: Geometry, settings: Settings, states: _States | None) -> _States:
    """``states`` if given (on the same geometry), else a fresh context and new states."""
    if states is None:
        return shared_states(g, settings)
    if states.g != g:
        raise InternalError(f"states of {states.g.name} used for {g.name}")
    return states


def _upto(queries: Callable[..., Iterator[tuple[_Query, bool]]], st: SymbolicState, rlimit: int, n: int,
          settings: Settings) -> list:
    """The answers of the one query over any number of VMAs up to the bound, per alternative
    still open at ``n`` VMAs, in up to three tries, each only for what the ones before left
    undecided: on states of at most Settings.shared_first_vmas VMAs the solver shared by the
    alternatives with a share of the resource limit (Settings.shared_try_rlimit); then a fresh
    one-shot solver with a smaller one (Settings.first_try_rlimit); then a shared solver with the
    whole limit.  Which of the first two is faster depends on the check and on the size of the
    state (docs/performance.md, "Unbounded proofs under 0.2 s").  (Deterministic: every try is
    bounded by resource counts, not time.)"""
    tries = [(False, min(rlimit, settings.first_try_rlimit), settings.one_shot), (True, rlimit, None)]
    if st.n <= settings.shared_first_vmas:
        tries.insert(0, (True, min(rlimit, settings.shared_try_rlimit), None))
    results: list = []
    for incremental, limit, kind in tries:
        if results and z3.unknown not in results:
            break
        for i, (q, _) in enumerate(queries(st, n, incremental, limit, kind)):
            if i == len(results):
                results.append(q.check())
            elif results[i] == z3.unknown:
                results[i] = q.check()
    return results


def _limits(goal: Goal, states: _States) -> list[float]:
    """Per alternative of ``goal``, the most VMAs a least state satisfying it can have (its own
    cutoff, read on the state of two VMAs, as _depth reads the goal's): past that an
    alternative has no state that a smaller one does not already give, so the search leaves
    it out, for a proof as well as for the least counterexample."""
    st = states.get_state(2)
    out = []
    for f in goal(st)[0]:
        cut = st.formula_cutoff(f)
        out.append(float("inf") if cut.raw else cut.vmas)
    return out


def _refuted_abstractly(goal: Goal, i: int, states: _States, rlimit: int) -> bool:
    """Has alternative ``i`` of ``goal`` no state of any size, whatever the decisions in it are?
    Asked with every decision free (encoding.free_decision: the real one is one of its values)
    over as many VMAs as that formula's own cutoff, which is smaller than the real one's since
    no lookup is left in it: where the property does not hinge on what the predicate decided
    (return-value's break at the first cursor: the tail is right for any cursor), one small
    query replaces the search over the predicate's lookups.  It gets what a first try gets
    (Settings.first_try_rlimit of ``rlimit``); unknown counts as not refuted."""
    two = states.get_state(2, abstract=True)
    cut = two.formula_cutoff(goal(two)[0][i])
    if cut.raw:
        return False
    st = states.get_state(cut.vmas, upto=True, abstract=True)
    alternatives, stop = goal(st)
    for caller in (z3.Not(st.for_stack), st.for_stack):
        q = _Query(states, st, z3.And(alternatives[i], caller), stop, min(rlimit, states.settings.first_try_rlimit),
                   kind=states.settings.one_shot)
        if q.check() != z3.unsat:
            return False
    return True


def _search(g: Geometry, vmas: int, goal: Goal, rlimit: int, gave_up: list, label: str,
            minimal: bool = True, upto: bool = True, progress: Progress = _quiet,
            states: _States | None = None, plain: bool = False) -> Scenario | None:
    """The smallest (shrunk, unless ``minimal`` is false) scenario satisfying ``goal`` with up to
    ``vmas`` VMAs, or None.  Each alternative of the goal, for the mremap and the stack caller
    separately, is a query of its own: a disjunction is much harder for the solver than its parts;
    an alternative is asked about no more VMAs than its own cutoff (``_limits``), and for the
    stack caller one fewer: its source and destination are one VMA, so the call keeps one VMA
    where an mremap keeps two (encoding.Cutoff).

    With ``upto``, after Settings.exact_first VMAs one query over states with any number of VMAs up to
    ``vmas`` either shows there is none with more (one proof instead of one per number) or sends
    the search on, number by number.

    ``plain`` is the bounded search of ``--no-cutoff``, for comparisons: every alternative and
    both callers up to ``vmas``, no cutoff read off the alternatives and no refutation with the
    decision free."""
    states = states if states is not None else _States(g)
    own = _limits(goal, states) if not plain else [float("inf")] * len(goal(states.get_state(2))[0])
    limits = {False: own, True: [most - 1 for most in own]}  # by caller: is it the exec stack move?
    first = states.settings.exact_first

    def queries(st: SymbolicState, n: int, incremental: bool | None = None,
                limit: int = rlimit, kind: str | None = None,
                callers: tuple[bool, ...] = (False, True)) -> Iterator[tuple[_Query, bool]]:
        incremental = states.settings.incremental if incremental is None else incremental
        alternatives, stop = goal(st)
        if len(alternatives) != len(limits[False]):
            raise InternalError(f"{label}: the goal has {len(alternatives)} alternatives on {st.n} VMAs "
                                f"and {len(limits[False])} on 2")
        asked = [(a, [c for c in callers if limits[c][i] >= n]) for i, a in enumerate(alternatives)
                 if not z3.is_false(a)]
        asked = [(a, cs) for a, cs in asked if cs]
        shared = None
        if incremental and asked:
            shared = new_solver(st.ctx, states.settings.solver)
            shared.set("rlimit", limit)
            shared.add(*st.constraints)
        for condition, cs in asked:
            for stack in cs:
                q = _Query(states, st, z3.And(condition, st.for_stack if stack else z3.Not(st.for_stack)), stop,
                           limit, shared, kind)
                yield q, stop
                q.close()

    for n in range(1, vmas + 1):
        if n > max(limits[False], default=0):
            return None  # no alternative has a least state this large
        if upto and n == first + 1 and min(vmas, max(limits[False])) > first + 1:
            # first the alternatives that hold whatever the predicate decides, on few VMAs
            for i, most in enumerate(limits[False]):
                if most > first + 1 and not plain and _refuted_abstractly(goal, i, states, rlimit):
                    limits[False][i] = limits[True][i] = first  # no state with more VMAs than searched
            tops = {c: min(vmas, max(limits[c])) for c in limits}
            if tops[False] <= first:
                return None
            progress(f"{label}: {n} to {tops[False]} VMAs in one query")
            results = []
            for stack, top in tops.items():
                if top > first:
                    results += _upto(functools.partial(queries, callers=(stack,)), states.get_state(top, True),
                                     rlimit, n, states.settings)
            if z3.sat not in results and z3.unknown not in results:
                return None  # no state with exact_first + 1 .. vmas VMAs either
        progress(f"{label}: {n} of {vmas} VMAs")
        st = states.get_state(n)
        for q, stop in queries(st, n):
            r = q.check()
            if r == z3.unknown:
                gave_up.append(f"{label} n={n}: {q.solver.reason_unknown()}")
            elif r == z3.sat:
                progress(f"{label}: found one with {n} VMAs; shrinking it" if minimal else f"{label}: found one")
                model = _shrink(q) if minimal else _tame(q)
                try:
                    return decode(st, model, with_stop=stop)
                except InputError as e:
                    raise InternalError(f"the solver's state is not a valid scenario ({e})") from None
    return None


def _vacuous(g: Geometry, variant: Variant, level: str, n_max: int, rlimit: int,
             reachable: bool = False, progress: Progress = _quiet, states: _States | None = None) -> bool | None:
    """True if no state with up to n_max VMAs reaches the realignment branch (None: undecided)."""
    states = states if states is not None else _States(g)
    undecided = False
    for n in range(1, n_max + 1):
        progress(f"vacuity: {n} of {n_max} VMAs")
        st = states.get_state(n)
        s = new_solver(st.ctx, states.settings.one_shot)  # one query, and only its answer is used
        s.set("rlimit", rlimit)
        s.add(*st.constraints)
        if reachable:
            s.add(st.exec_reachable(reachable != UFFD_FREE))
        r = states.solve(s, decision_of(st, variant, level).realign)
        if r == z3.sat:
            return False
        undecided |= r == z3.unknown
    return None if undecided else True


#: the properties whose encodings are cheap: a first search for a missed optimization asks only
#: these to hold for the 'always' realignment, and the simulator judges the rest
_CHEAP = tuple(pid for pid, p in PROPERTIES.items() if p.cheap)


def somewhere(st: SymbolicState, condition: Callable[[SymbolicState], Any], rlimit: int = 5_000_000) -> str:
    """Does some state of the geometry of ``st``, with any number of VMAs, satisfy the condition
    that ``condition`` builds on a state ("sat", "unsat" or "unknown")?  Asked over states of up
    to the condition's cutoff (encoding.Cutoff, read on ``st``), in the context of ``st``: for
    questions about a variant as a whole, such as whether a C head's early return is reachable."""
    cut = st.cutoff([as_bool(condition(st), st.ctx)])
    if cut.raw:
        return "unknown"  # no bound on the VMAs it needs
    big = SymbolicState(st.geometry, max(cut.vmas, 2), upto=True, ctx=st.ctx)
    solver = new_solver(st.ctx, "smt")
    solver.set("rlimit", rlimit)
    solver.add(*big.constraints, as_bool(condition(big), st.ctx))
    return str(solver.check())


def _unconfirmed(variant: Variant, pid: str, scenario: Scenario, replay: Evaluation) -> InternalError:
    return InternalError(
        f"counterexample not confirmed by the simulator: {variant.id} {pid} on {scenario.geometry.name}\n"
        f"solver's scenario:\n{scenario.dumps()}simulator says:\n{eval_report(scenario, [replay])}")


def check(variant: Variant, pid: str, g: Geometry, level: str = "pmd", vmas: int = DEFAULT_VMAS,
          rlimit: int | None = None, minimal: bool = True, reachable: bool = False,
          extend: bool = True, progress: Progress = _quiet, cap: bool = False,
          settings: Settings = DEFAULT, states: "_States | None" = None) -> CheckResult:
    """Prove or refute ``pid`` for ``variant`` on geometry ``g`` with up to ``vmas`` VMAs.

    ``pid`` may also be ``missed-optimization``: "violated" then means a scenario where the
    variant declines although realigning would be safe under every property.  With ``minimal``
    false the counterexample is the solver's first with a move of at most ``TAME_PMDS`` PMDs if
    there is one (still replayed), which is faster to find.  A counterexample too long for the
    simulator to replay makes the verdict unknown.

    Every counterexample carries whether user space can reach it (``reachability``: a recipe of
    system calls, modelcheck.userspace.recipe).  With ``reachable`` only such states count: a stack move
    must be one exec makes, and an mremap's counterexample without a recipe makes the verdict
    unknown.

    A holds covers every number of VMAs when the cutoff read off the goals to search (encoding.
    Cutoff: the VMAs a violation can need, from the lookups the predicate and the property make)
    is at most the number searched; with ``extend`` the search goes up to the cutoff when it is
    above ``vmas`` (counterexamples are still the least: fewest VMAs first).  Otherwise the
    result says which bound it stands on and why.

    ``settings`` makes every solver and encoding choice (``rlimit``, when given, replaces its
    resource limit).  A check starts a fresh Z3 context and builds its own states; with
    ``states`` (``shared_states()``) it uses those, so that a run of many checks and diffs on
    the same geometry builds each state, and each variant's decision on it, once.
    """
    get_property(pid)
    if vmas < 1:
        raise InputError("--vmas", "needs at least one VMA")
    rlimit = settings.rlimit if rlimit is None else rlimit
    t0 = time.perf_counter()
    states = _fresh(g, settings, states)
    clock0 = states.clock
    result = CheckResult(variant.id, pid, g.name, level, HOLDS, False, vmas, 0.0, reachable_only=reachable)
    try:
        goals = _goals(variant, pid, level)

        def formulas(st: SymbolicState) -> list:  # every goal a check may search, and vacuity's
            out = [as_bool(decision_of(st, variant, level).realign, st.ctx)]
            for goal in goals.values():
                out += (_reachable_only(goal, reachable) if reachable else goal)(st)[0]
            return out
        cut, depth = _depth(g, vmas, extend, formulas, cap, states)
        result.vmas_bound, result.cutoff = depth, cut
        progress(f"cutoff: {cut.vmas} VMAs; searching {depth}")
        result = _check(result, variant, pid, g, level, depth, rlimit, minimal, t0, reachable, goals, progress,
                        states, plain=not extend and not cap)
        result.unbounded = result.verdict == HOLDS and cut.covers(depth)
        if result.counterexample is not None:
            result.reachability = find_recipe(result.counterexample, any_uffd=reachable == UFFD_FREE)
            if reachable and not result.reachability.reachable:
                result.verdict = UNKNOWN
                result.reason = ("a counterexample was found but no recipe reaches it: "
                                 f"{result.reachability.reason}\n{result.counterexample.dumps()}")
                result.counterexample = result.replay = None
    except TooLong as e:
        result.verdict, result.counterexample, result.replay = UNKNOWN, None, None
        result.reason = f"a counterexample was found but cannot be replayed: {e}"
        result.seconds = time.perf_counter() - t0
    result.solver_seconds = states.clock - clock0
    return result


def _depth(g: Geometry, vmas: int, extend: bool, formulas: Callable[[SymbolicState], list],
           cap: bool = False, states: _States | None = None) -> tuple[Cutoff, int]:
    """The cutoff of the formulas a search will ask about, and how many VMAs to search: ``vmas``;
    with ``extend`` on up to the cutoff, so that the answer covers any number of VMAs; with
    ``cap`` no further than the cutoff, since a search past it cannot find what it did not."""
    st = (states if states is not None else _States(g)).get_state(2)
    cut = st.cutoff(formulas(st))
    if cut.raw:
        return cut, vmas
    if extend:
        return cut, max(vmas, cut.vmas)
    return cut, (min(vmas, cut.vmas) if cap else vmas)


#: a value of ``reachable``: reachable states, but with the VMAs' userfaultfd states left free (the
#: kernel copies the source's context to the new VMA, mm/vma.c; review judges a condition on them
#: over the states where they differ too)
UFFD_FREE = "uffd-free"


def _reachable_only(goal: Goal, reachable: bool | str = True) -> Goal:
    """The goal among states a program can get the kernel into (for a stack move, exactly what
    exec can do; an mremap's counterexample is then confirmed by a recipe)."""
    def restricted(st: SymbolicState) -> tuple[list, bool]:
        alternatives, stop = goal(st)
        return [z3.And(a, st.exec_reachable(reachable != UFFD_FREE)) for a in alternatives], stop
    return restricted


def _goals(variant: Variant, pid: str, level: str) -> dict[str, Goal]:
    """What a check of ``pid`` searches for, by name: for missed-optimization a declined safe
    realignment (first under the cheap properties only); for a property its exact negation,
    the over-approximate part, and the states outside the encoding's assumption."""
    if pid == MISSED:
        def goal(properties: Iterable[str]) -> Goal:
            def declined(st: SymbolicState) -> tuple[list, bool]:
                return [declined_but_safe(st, variant, get_variant("always"), level, properties)], False
            return declined
        return {"cheap": goal(_CHEAP), "missed": goal(PROPERTIES)}

    def exact(st: SymbolicState) -> tuple[list, bool]:
        v = violation_of(st, variant, pid, level)
        return [z3.And(v.assumption, c) for c in v.alternatives()], v.stop

    def over(st: SymbolicState) -> tuple[list, bool]:
        v = violation_of(st, variant, pid, level)
        return ([v.over] if v.over is not None else []), v.stop

    def outside(st: SymbolicState) -> tuple[list, bool]:
        v = violation_of(st, variant, pid, level)
        return ([] if z3.is_true(v.assumption) else [z3.Not(v.assumption)]), v.stop

    def outside_moving(st: SymbolicState) -> tuple[list, bool]:
        # where a violation there is likeliest: the moved range holds entries, which a decision
        # that changes new_addr - old_addr puts elsewhere than the plain move does
        alternatives, stop = outside(st)
        return [z3.And(a, st.has_entries(st.old_addr, st.old_end)) for a in alternatives], stop
    return {"exact": exact, "over": over, "outside": outside, "outside_moving": outside_moving}


def _check(result: CheckResult, variant: Variant, pid: str, g: Geometry, level: str, vmas: int, rlimit: int,
           minimal: bool, t0: float, reachable: bool = False, goals: dict[str, Goal] | None = None,
           progress: Progress = _quiet, states: _States | None = None, plain: bool = False) -> CheckResult:
    vac = _vacuous(g, variant, level, vmas, rlimit, reachable, progress, states)
    result.vacuous = bool(vac)
    gave_up: list[str] = []
    goals = goals or _goals(variant, pid, level)

    def find(goal: Goal, label: str) -> Scenario | None:
        return _search(g, vmas, _reachable_only(goal, reachable) if reachable else goal, rlimit, gave_up, label, minimal,
                       progress=progress, states=states, plain=plain)

    if pid == MISSED:
        # First with the cheap properties only (about a hundred times faster to solve).  Their
        # scenarios include all of the full goal's, so a least one the simulator confirms is also
        # the least of the full goal, and none means the full goal has none either.
        scenario = find(goals["cheap"], "missed")
        if scenario is not None and not judge(scenario, variant, pid, level)[0]:
            scenario = find(goals["missed"], "missed")
        if scenario is not None:
            confirmed, replay, _ = judge(scenario, variant, pid, level)
            if not confirmed:
                raise _unconfirmed(variant, pid, scenario, replay)
            result.verdict, result.counterexample, result.replay = VIOLATED, scenario, replay
            if gave_up:
                result.reason = "the counterexample is not shown to be the least: " + "; ".join(gave_up)
        elif gave_up:
            result.verdict, result.reason = UNKNOWN, f"resource limit (rlimit {rlimit}) reached: " + "; ".join(gave_up)
        result.seconds = time.perf_counter() - t0
        return result

    scenario = find(goals["exact"], "exact")
    if scenario is not None:
        replay = evaluate(scenario, variant, level)
        if replay.properties[pid] != VIOLATED:
            raise _unconfirmed(variant, pid, scenario, replay)
        result.verdict, result.counterexample, result.replay = VIOLATED, scenario, replay
    elif (scenario := find(goals["over"], "over")) is not None:
        replay = evaluate(scenario, variant, level)
        if replay.properties[pid] == VIOLATED:
            result.verdict, result.counterexample, result.replay = VIOLATED, scenario, replay
        else:
            result.verdict = UNKNOWN
            why = violation_of(states.get_state(1), variant, pid, level).over_why
            result.reason = (why or f"a loop break at {hex(scenario.move.stop_at or 0)} would return a wrong value, "
                             "but that cursor is not shown to be reachable")
    elif (scenario := find(goals["outside"], "outside")) is not None:
        # a decision the encoding cannot follow exactly (one that changes new_addr - old_addr,
        # say): the simulator judges the state found there, and a violation it shows is one;
        # first the least such state that moves entries, where one is likeliest
        moving = find(goals["outside_moving"], "outside") if "outside_moving" in goals else None
        replay = evaluate(moving, variant, level) if moving is not None else None
        if replay is not None and replay.properties[pid] == VIOLATED:
            scenario = moving
        else:
            replay = evaluate(scenario, variant, level)
        st = states.get_state(1)
        why = violation_of(st, variant, pid, level).why_assumed
        if replay.properties[pid] == VIOLATED:
            result.verdict, result.counterexample, result.replay = VIOLATED, scenario, replay
            result.reason = (f"found where the encoding of {pid} cannot judge exactly (it assumes {why}); "
                             "the simulator confirms the violation")
        else:
            result.verdict = UNKNOWN
            result.reason = (f"the encoding of {pid} assumes {why}; states where it does not are left undecided "
                             f"(the least one found, {move_call(scenario)}, holds in the simulator)")
    elif gave_up:
        result.verdict = UNKNOWN
        result.reason = f"resource limit (rlimit {rlimit}) reached: " + "; ".join(gave_up)
    if result.verdict == VIOLATED and gave_up:
        result.reason = "the counterexample is not shown to be the least: " + "; ".join(gave_up)
    if vac is None and result.verdict == HOLDS:
        result.verdict, result.reason = UNKNOWN, "could not decide whether the realignment branch is reachable"
    result.seconds = time.perf_counter() - t0
    return result


@dataclass
class DiffCase:
    """A scenario on which one variant realigns and the other does not."""

    realigns: str  # the variant that realigns (kind "return": the one whose return value is wrong)
    declines: str  # (kind "return": the other, which decides alike and returns the bytes moved)
    # "unsafe" (the realigning side violates ``property``), "missed" (the other misses a safe one),
    # "return" (they decide alike and only ``realigns`` returns a wrong value), "loop" (they realign
    # alike and only ``realigns``'s loop rule warns: ``realigns`` names that side)
    kind: str
    property: str | None
    scenario: Scenario

    def to_json(self) -> dict:
        return {"realigns": self.realigns, "declines": self.declines, "kind": self.kind,
                "property": self.property, "scenario": self.scenario.to_json()}

    def summary(self) -> str:
        if self.kind == "unsafe":
            return f"{self.realigns} realigns and violates {self.property}; {self.declines} declines"
        if self.kind == "return":
            return (f"{self.realigns} and {self.declines} decide alike; {self.realigns} returns a wrong value "
                    f"(violates {self.property}), {self.declines} does not")
        if self.kind == "loop":
            return (f"{self.realigns} and {self.declines} realign alike; the loop's userfaultfd rule of "
                    f"{self.realigns} violates {self.property}, {self.declines}'s does not")
        return f"{self.realigns} realigns safely; {self.declines} misses the optimization"


def diff(a: Variant, b: Variant, g: Geometry, level: str = "pmd", vmas: int = DEFAULT_VMAS,
         rlimit: int | None = None, reachable: bool = False, extend: bool = True,
         cutoffs: list | None = None, progress: Progress = _quiet, cap: bool = False,
         tails: bool = True, pids: tuple[str, ...] | None = None, safe: bool = True,
         settings: Settings = DEFAULT, states: "_States | None" = None,
         one_way: bool = False, first: bool = False) -> tuple[list[DiffCase], list[str]]:
    """Every class of disagreement between ``a`` and ``b``, one minimal scenario each: where one
    realigns and the other does not (unsafe under each of ``pids``, default all properties, or
    with ``safe`` missed), and, with ``tails``, where they decide alike and only one returns a
    wrong value.

    Returns the cases and the searches that gave up (empty when the answer is complete).  With
    ``reachable`` only states user space can bring about count, as in ``check``: a stack move as
    exec makes it, and a case found for an mremap without a recipe is a search that gave up.
    As in ``check``, each class is searched up to its cutoff (with ``extend``; with ``cap`` no
    further), so that no case means none with any number of VMAs; ``cutoffs`` collects (Cutoff,
    VMAs searched) per class.  With ``one_way`` only the cases where ``a`` realigns (or returns
    the wrong value) are searched; with ``first`` the search ends at the first case found (in the
    order of ``pids``), for a caller that needs one.
    """
    rlimit = settings.rlimit if rlimit is None else rlimit
    cases: list[DiffCase] = []
    gave_up: list[str] = []
    states = _fresh(g, settings, states)
    plain = not extend and not cap  # --no-cutoff: the plain bounded search

    def find(goal: Goal, label: str) -> Scenario | None:
        goal = _reachable_only(goal, reachable) if reachable else goal
        cut, depth = _depth(g, vmas, extend, lambda st: [
            *goal(st)[0], as_bool(decision_of(st, a, level).realign, st.ctx),
            as_bool(decision_of(st, b, level).realign, st.ctx)], cap,
            states)
        if cutoffs is not None:
            cutoffs.append((cut, depth))
        s = _search(g, depth, goal, rlimit, gave_up, label, progress=progress, states=states,
                    plain=plain)
        if s is not None and reachable:
            reach = find_recipe(s, any_uffd=reachable == UFFD_FREE)
            if not reach.reachable:
                gave_up.append(f"{label}: a case was found but no recipe reaches it: {reach.reason}")
                return None
        return s
    def never(split: Callable[[SymbolicState], z3.BoolRef], label: str) -> bool:
        """Is there no state at all where the split holds (one search instead of one per
        property)?  Only a complete search says so: a search that gave up says nothing."""
        probe = _reachable_only(lambda st: ([split(st)], True), reachable) if reachable else (lambda st: ([split(st)], True))
        cut, depth = _depth(g, vmas, extend, lambda st: probe(st)[0], cap, states)
        if cutoffs is not None:
            cutoffs.append((cut, depth))
        mine: list[str] = []
        return _search(g, depth, probe, rlimit, mine, label, minimal=False, progress=progress,
                       states=states, plain=plain) is None and not mine

    for yes, no in ((a, b),) if one_way else ((a, b), (b, a)):
        def split(st: SymbolicState) -> z3.BoolRef:
            return z3.And(decision_of(st, yes, level).realign, z3.Not(decision_of(st, no, level).realign))

        # where ``yes`` never realigns without ``no``, it has no unsafe or missed case either
        alone = (pids is None or pids or safe) and not never(split, f"{yes.id} realigns, {no.id} declines")
        for pid in (PROPERTIES if pids is None else pids) if alone else ():
            def goal(st: SymbolicState, pid: str = pid) -> tuple[list, bool]:
                v = violation_of(st, yes, pid, level)
                return [z3.And(split(st), v.assumption, c) for c in v.alternatives()], v.stop
            s = find(goal, f"{yes.id} {pid}")
            if s is not None:
                try:
                    replay = evaluate(s, yes, level)
                    if replay.properties[pid] != VIOLATED or evaluate(s, no, level).realigned:
                        raise _unconfirmed(yes, pid, s, replay)
                    cases.append(DiffCase(yes.id, no.id, "unsafe", pid, s))
                    if first:
                        return cases, gave_up
                except TooLong as e:
                    gave_up.append(f"{yes.id} {pid}: no replay ({e})")
                continue

            # where the encoding of pid assumes something (e.g. equivalence: both cursors keep
            # their offset), states outside it are judged by the simulator alone
            # (first with entries in the range that moves, where a violation is likelier)
            def outside(st: SymbolicState, pid: str = pid, moving: bool = True) -> tuple[list, bool]:
                v = violation_of(st, yes, pid, level)
                where = [st.has_entries(st.old_addr, st.old_end)] if moving else []
                return ([] if z3.is_true(v.assumption) else
                        [z3.And(split(st), z3.Not(v.assumption), *where)]), v.stop
            s = find(outside, f"{yes.id} {pid} outside") or \
                find(lambda st, pid=pid: outside(st, pid, False), f"{yes.id} {pid} outside")
            if s is not None:
                try:
                    replay = evaluate(s, yes, level)
                    if evaluate(s, no, level).realigned:
                        raise _unconfirmed(yes, pid, s, replay)
                    if replay.properties[pid] == VIOLATED:
                        cases.append(DiffCase(yes.id, no.id, "unsafe", pid, s))
                        if first:
                            return cases, gave_up
                    else:
                        why = violation_of(states.get_state(1), yes, pid, level).why_assumed
                        gave_up.append(f"{yes.id} {pid}: they differ where the encoding's assumption ({why}) "
                                       f"fails, and the state found there does not violate it:\n{s.dumps()}")
                except TooLong as e:
                    gave_up.append(f"{yes.id} {pid}: no replay ({e})")

        def safe_goal(st: SymbolicState, properties: Iterable[str] = PROPERTIES) -> tuple[list, bool]:
            return [declined_but_safe(st, no, yes, level, properties)], False  # missed-optimization's goal

        def safe_here(s: Scenario) -> bool:
            return missed(evaluate(s, no, level), evaluate(s, yes, level))
        s = None
        if safe and alone:
            # as check's missed-optimization: first under the cheap properties only, whose
            # scenarios include the full goal's, so that a least one the simulator finds safe
            # is the full goal's least, and none means none (then the full goal, if it is not)
            try:
                s = find(lambda st: safe_goal(st, _CHEAP), f"{yes.id} safe")
                if s is not None and not safe_here(s):
                    s = find(safe_goal, f"{yes.id} safe")
            except TooLong:
                s = find(safe_goal, f"{yes.id} safe")
        if s is not None:
            try:
                if not safe_here(s):
                    raise _unconfirmed(yes, "safe realignment", s, evaluate(s, yes, level))
                cases.append(DiffCase(yes.id, no.id, "missed", None, s))
            except TooLong as e:
                gave_up.append(f"{yes.id} safe: no replay ({e})")

        # the same decision and a different return value: a patch of the tail alone (the
        # CVE-2024-53111 guard) changes nothing above, and must not read as "decide alike"
        def tail(st: SymbolicState) -> tuple[list, bool]:
            wrong, right = violation_of(st, yes, RETURN_VALUE, level), violation_of(st, no, RETURN_VALUE, level)
            same = (as_bool(decision_of(st, yes, level).realign, st.ctx)
                    == as_bool(decision_of(st, no, level).realign, st.ctx))
            return [z3.And(same, c, z3.Not(right.condition)) for c in wrong.alternatives()], wrong.stop
        s = find(tail, f"{yes.id} {RETURN_VALUE} alone") if tails else None
        if s is not None:
            try:
                replay, other = evaluate(s, yes, level), evaluate(s, no, level)
                if replay.properties[RETURN_VALUE] != VIOLATED or other.properties[RETURN_VALUE] == VIOLATED \
                        or replay.realigned != other.realigned:
                    raise _unconfirmed(yes, RETURN_VALUE, s, replay)
                cases.append(DiffCase(yes.id, no.id, "return", RETURN_VALUE, s))
            except TooLong as e:
                gave_up.append(f"{yes.id} {RETURN_VALUE} alone: no replay ({e})")

        # the same realignment and another rule of the loop (userfaultfd: Decision.tables,
        # refuse_late): one warns in the move or its undo where the other does not
        def loop(st: SymbolicState) -> tuple[list, bool]:
            dy, dn = decision_of(st, yes, level), decision_of(st, no, level)
            v = violation_of(st, yes, NO_WARN, level)
            same = as_bool(dy.realign, st.ctx) == as_bool(dn.realign, st.ctx)
            (ty, ly), (tn, ln) = decision_rules(st, dy), decision_rules(st, dn)
            rule = z3.Or(ty != tn, ly != ln)
            parts = [*v.alternatives(), *([v.over] if v.over is not None else [])]
            return [z3.And(same, rule, v.assumption, c) for c in parts], True
        s = find(loop, f"{yes.id} {NO_WARN} by its loop's rule") if tails and (pids is None or NO_WARN in pids) else None
        if s is not None:
            try:
                replay, other = evaluate(s, yes, level), evaluate(s, no, level)
                if replay.properties[NO_WARN] == VIOLATED and other.properties[NO_WARN] != VIOLATED \
                        and replay.realigned == other.realigned:
                    cases.append(DiffCase(yes.id, no.id, "loop", NO_WARN, s))
                else:
                    gave_up.append(f"{yes.id} {NO_WARN} by its loop's rule: a state the simulator does not confirm")
            except TooLong as e:
                gave_up.append(f"{yes.id} {NO_WARN} by its loop's rule: no replay ({e})")
    return cases, gave_up


#: the WARN property (the trait ``warns``): diff's class of "the same decision, another loop rule"
NO_WARN = next(pid for pid, p in PROPERTIES.items() if p.warns)


#: the property of the return value (the trait ``of_the_return``): diff's class of "the same
#: decision and a different return value" is about it
RETURN_VALUE = next(pid for pid, p in PROPERTIES.items() if p.of_the_return)


def prove_same(a: Variant, b: Variant, g: Geometry, level: str = "pmd", vmas: int = 3,
               rlimit: int | None = None, extend: bool = True,
               cutoffs: list | None = None, settings: Settings = DEFAULT,
               states: "_States | None" = None) -> tuple[str, Scenario | None]:
    """Do ``a`` and ``b`` make the same decision (realign, both cursors, whether a WARN_ON_ONCE()
    fires or NULL is dereferenced, whether the loop may move tables) on every kernel state, and return the same value for every
    loop end?  ("holds", None), ("violated", a scenario where they differ) or ("unknown", None).

    The states searched have up to ``vmas`` VMAs and, with ``extend``, up to the cutoff of the
    difference (the call's two VMAs and what the two decisions' lookups return: encoding.Cutoff),
    so that a holds covers any number of VMAs; ``cutoffs`` collects (Cutoff, VMAs searched)."""
    rlimit = settings.rlimit if rlimit is None else rlimit
    states = _fresh(g, settings, states)
    undecided = False

    def differ(st: SymbolicState) -> z3.BoolRef:
        k = st.ops
        da, db = decision_of(st, a, level), decision_of(st, b, level)
        cursor = z3.Int("cursor", st.ctx)
        top = g.word_mask
        ra = a.progress(k, k.wrap(cursor, top), k.wrap(st.old_end, top), k.wrap(st.len, top))
        rb = b.progress(k, k.wrap(cursor, top), k.wrap(st.old_end, top), k.wrap(st.len, top))
        looped = z3.Or(
            da.realign != db.realign, k.ne(da.old_addr, db.old_addr), k.ne(da.new_addr, db.new_addr),
            k.ne(ra, rb), *[x != y for x, y in zip(decision_rules(st, da), decision_rules(st, db))])
        def fault(x: Variant, d: Any, what: Any) -> z3.BoolRef:
            # a built-in's head returns before its predicate runs (a C head's faults lie on their own paths)
            f = as_bool(what, st.ctx)
            return z3.And(z3.Not(reaches_no_loop(st, d)), f) if x.source is None and d.early else f
        faults = z3.Or(fault(a, da, da.warn) != fault(b, db, db.warn), fault(a, da, da.oops) != fault(b, db, db.oops))
        if not da.early and not db.early:
            return z3.And(cursor >= 0, cursor <= top, z3.Or(looped, faults))
        # an early return (Decision.early) moves nothing and returns its value; a call that
        # reaches its loop behaves alike only when it moves nothing either (len 0, not realigned)
        # and returns the same (its tail at old_end)
        ea, eb = reaches_no_loop(st, da), reaches_no_loop(st, db)
        va, vb = term(early_value(st, da)), term(early_value(st, db))
        at_end = [term(x.progress(k, k.wrap(st.old_end, top), k.wrap(st.old_end, top), k.wrap(st.len, top)))
                  for x in (a, b)]

        def idle(d: Any, ret: Any, value: Any) -> z3.BoolRef:  # reaches its loop, yet moves nothing and returns value
            return z3.And(st.len == 0, z3.Not(as_bool(d.realign, st.ctx)), ret == value)
        one_way = z3.Or(z3.And(ea, z3.Not(eb), z3.Not(idle(db, at_end[1], va))),
                        z3.And(eb, z3.Not(ea), z3.Not(idle(da, at_end[0], vb))))
        return z3.And(cursor >= 0, cursor <= top, z3.Or(
            faults, z3.And(z3.Not(ea), z3.Not(eb), looped), z3.And(ea, eb, va != vb), one_way))

    cut, depth = _depth(g, vmas, extend, lambda st: [differ(st)], states=states)
    if cutoffs is not None:
        cutoffs.append((cut, depth))
    for n in range(1, depth + 1):
        if n == 3 and depth > 3:  # states of 3 .. depth VMAs in one query, then number by number
            st = states.get_state(depth, upto=True)
            s = new_solver(st.ctx, settings.solver)
            s.set("rlimit", rlimit)
            s.add(*st.constraints, 3 <= st.count, z3.Not(st.has_stop), differ(st))
            r = states.solve(s)
            if r == z3.unsat:
                break
            undecided |= r == z3.unknown
        st = states.get_state(n)
        s = new_solver(st.ctx, settings.solver)
        s.set("rlimit", rlimit)
        s.add(*st.constraints, z3.Not(st.has_stop), differ(st))
        r = states.solve(s)
        if r == z3.sat:
            return VIOLATED, decode(st, s.model(), with_stop=False)
        undecided |= r == z3.unknown
    return (UNKNOWN if undecided else HOLDS), None
