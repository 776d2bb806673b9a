"""Review a C variant condition by condition: what each condition of the decision and of the
return value does, settled by the engine.

The conditions are every ``if`` guard, every ``?:`` condition and every operand of ``&&`` and
``||`` in the functions the entry points reach (the predicate, its caller, the return-value
tail).  Dropping a condition means taking its neutral value wherever it is evaluated: true as an
operand of ``&&``, false as an operand of ``||``, false for a guard (its branch is never taken).
For each condition, over every state the check covers:

* ``never-evaluated``: no state reaches it (a proof);
* ``never-true`` / ``never-false``: it has one value wherever it is evaluated (a proof);
* ``redundant``: dropping it changes no decision and no return value (a proof: search.prove_same);
* ``needed``: dropping it violates a property in a state where the variant satisfies it (the
  minimal counterexample; a property the variant satisfies everywhere, unless it says otherwise);
* ``harmful``: the variant violates a property in a state where dropping the condition would
  decline to realign (the counterexample);
* ``optimization-only``: dropping it changes only which safe realignments are taken (the witness).

A condition may earn several verdicts.  Each proof says what it covers: like ``check``, the
searches go up to the cutoff of what they ask (encoding.Cutoff), so a proof is for any number of
VMAs unless it says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import z3
from pycparser import c_ast, c_generator

from modelcheck.front.cfront import CUnit, KNOWN_FALSE, MPT, START, _check_entry, _where, c_variant, reachable
from modelcheck.front.cinterp import KNOWN_TRUE, VMA_FLAGS, _always_returns
from modelcheck.front.cparse import _walk
from modelcheck.solver.encoding import SymbolicState, as_bool, decision_of
from modelcheck.errors import InputError
from modelcheck.model.geometry import Geometry, get_geometry
from modelcheck.model.scenario import Scenario
from modelcheck.solver.pool import Workers, workers
from modelcheck.solver.search import (DEFAULT_RLIMIT, DEFAULT_VMAS, HOLDS, UFFD_FREE, VIOLATED, _States, check,
                                      diff, new_solver, prove_same, shared_states)
from modelcheck.checks import PROPERTIES

__all__ = ["Condition", "Finding", "conditions", "review", "VERDICTS", "PatchReview", "Removed", "patch_review"]

#: every verdict a condition can earn, in the order they are reported
VERDICTS = ("never-evaluated", "never-true", "never-false", "redundant", "needed", "harmful", "optimization-only")


@dataclass(frozen=True)
class Condition:
    node_id: int  # id() of the node in the reviewed CUnit: the key Interp forces and records by
    file: str
    line: int
    col: int
    text: str  # the condition as C source (regenerated from the parse)
    function: str
    context: str  # "if", "?:", "&&" or "||": what it is a condition of
    neutral: bool  # the value that drops it
    shown: str = ""  # the function as the user knows it: "can_align_down()", "move_page_tables() before its loop"
    # it reads a VMA's userfaultfd state (VMA_FLAGS): judged over every state, not only the
    # reachable ones, whose uffd states come from code outside the file (see _FLAGS_NOTE)
    flags: bool = False
    # why the model cannot judge it, or ""
    outside: str = ""
    # the guard of an early return of move_page_tables() (``if (!len) return 0;``)
    early: bool = False

    @property
    def in_function(self) -> str:
        return self.shown or f"{self.function}()"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def role(self) -> str:
        return {"if": "the if's guard", "?:": "the ?: condition", "&&": "an operand of &&",
                "||": "an operand of ||"}[self.context]


@dataclass
class Finding:
    """What review found about one condition: its verdicts, and for each the property and the
    witness (a replayed scenario) where there is one."""

    condition: Condition
    verdicts: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    witnesses: dict[str, Scenario] = field(default_factory=dict)
    #: why it is outside the model (no verdict, no finding, no SARIF result), or ""
    outside: str = ""
    #: what its verdicts cover beyond the run's own bounds (a uffd condition's: every state)
    note: str = ""

    def add(self, verdict: str, reason: str, pid: str | None = None, witness: Scenario | None = None) -> None:
        if verdict in self.verdicts:
            return
        self.verdicts.append(verdict)
        self.verdicts.sort(key=VERDICTS.index)
        self.reasons[verdict] = reason
        if pid:
            self.properties[verdict] = pid
        if witness is not None:
            self.witnesses[verdict] = witness

    def to_json(self) -> dict:
        c = self.condition
        first = next((v for v in self.verdicts if v in self.witnesses), None)
        return {"file": c.file, "line": c.line, "col": c.col, "text": c.text, "function": c.function,
                "context": c.context, "verdict": list(self.verdicts),
                "property": next((self.properties[v] for v in self.verdicts if v in self.properties), None),
                "witness": self.witnesses[first].to_json() if first else None,
                "reasons": {v: self.reasons[v] for v in [*self.verdicts, "decides"] if v in self.reasons},
                "properties": {v: self.properties[v] for v in self.verdicts if v in self.properties},
                "witnesses": {v: s.to_json() for v, s in self.witnesses.items()},
                **({"outside": self.outside} if self.outside else {}), **({"note": self.note} if self.note else {})}


#: why a condition on a VMA's userfaultfd state is judged over every state
_FLAGS_NOTE = ("judged with the VMAs' userfaultfd states free: which VMAs carry a userfaultfd context during "
               "the moves is settled outside mm/mremap.c (copy_vma() and vm_area_dup() copy the source's; "
               "mremap_userfaultfd_prep() clears the new VMA's only after them, 6.12-7.3)")
#: what a guard of an early return of move_page_tables() that changes nothing in the model is for
_EARLY_NOTE = ("move_page_tables() returns here before its loop; dropping the guard changes nothing the model has "
               "(where it holds, the call would realign nothing and move nothing, and return the same), but the "
               "return also skips what the model does not have: the cache flush and MMU-notifier invalidation "
               "of the range, and whatever later code does with it; no verdict")


def conditions(unit: CUnit) -> list[Condition]:
    """The conditions of the functions the entry points reach, in source order.  An operand of
    ``&&`` that is itself an ``&&`` (the chain ``a && b && c``) is not one of its own: its parts are."""
    start, tail = _check_entry(unit)
    gen = c_generator.CGenerator()
    out: list[Condition] = []

    # the functions that read a VMA's userfaultfd state, directly or through a call
    reads_flags = {name for name in unit.functions
                   if any(isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID) and n.name.name in VMA_FLAGS
                          for callee in reachable(unit, {name}) for n in _walk(unit.functions[callee]))}
    early = {id(x.cond) for x in (unit.functions[START].body.block_items or [])
             if unit.cut(START) and isinstance(x, c_ast.If) and _always_returns(x.iftrue)} if start == "kernel" else set()

    def add(node: c_ast.Node, fn: str, context: str, neutral: bool, early: bool = False) -> None:
        if isinstance(node, c_ast.UnaryOp) and node.op == "!":
            inner = node.expr
        else:
            inner = node
        if isinstance(inner, c_ast.FuncCall) and isinstance(inner.name, c_ast.ID) and \
                inner.name.name in (*KNOWN_FALSE, *KNOWN_TRUE):
            return  # a fact of the model (no hugetlb VMA; tables move where the geometry says), not a condition it can judge
        file, line, col = _where(node).rsplit(":", 2)
        shown = unit.label(fn)
        name = MPT if shown.startswith(f"{MPT}() ") else fn
        called = {n.name.name for n in _walk(node) if isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID)}
        flags = any(name in VMA_FLAGS or name in reads_flags for name in called)
        out.append(Condition(id(node), file, int(line), int(col), gen.visit(node), name, context, neutral, shown,
                             flags, early=early))

    class Walk(c_ast.NodeVisitor):
        def __init__(self, fn: str) -> None:
            self.fn = fn

        def visit_If(self, node: c_ast.If) -> None:
            add(node.cond, self.fn, "if", False, early=self.fn == START and id(node.cond) in early)
            self.generic_visit(node)

        def visit_TernaryOp(self, node: c_ast.TernaryOp) -> None:
            add(node.cond, self.fn, "?:", False)
            self.generic_visit(node)

        def visit_BinaryOp(self, node: c_ast.BinaryOp) -> None:
            if node.op in ("&&", "||"):
                for side in (node.left, node.right):
                    if not (isinstance(side, c_ast.BinaryOp) and side.op == node.op):
                        add(side, self.fn, node.op, node.op == "&&")
            self.generic_visit(node)

    read = reachable(unit, {START, tail})
    for name in read:
        Walk(name).visit(unit.functions[name])
    # move_normal_pmd()/move_normal_pud(): only their guards are run (the rest is the model's
    # loop), and the functions those call (uffd_supports_page_table_move())
    helpers: set[str] = set()
    # (the PUD mover's guards are the PMD mover's text, or the file is refused: the model runs
    # them as one rule, so review reports the first mover's)
    for name, guards in list(unit.guards.items())[:1]:
        w = Walk(name)
        for x in guards.before + guards.after:
            w.visit(x.cond)
            add(x.cond, name, "if", False)
            helpers |= {n.name.name for n in _walk(x.cond) if isinstance(n, c_ast.FuncCall)
                        and isinstance(n.name, c_ast.ID) and n.name.name in unit.functions}
    for name in reachable(unit, helpers) - read - set(unit.guards):
        Walk(name).visit(unit.functions[name])
    out.sort(key=lambda c: (c.file, c.line, c.col))
    return out


def _evaluations(unit: CUnit, st: SymbolicState, level: str) -> dict[int, list[tuple[Any, Any]]]:
    """Each condition's evaluations on the symbolic state: (path condition, value) pairs, from the
    decision and from the return value at any loop end."""
    seen: list = []
    v = c_variant(unit, "review", "", "", seen=seen)
    decision_of(st, v, level)
    k, top = st.ops, st.geometry.word_mask
    cursor = z3.Int("cursor", st.ctx)
    v.progress(k, k.wrap(cursor, top), k.wrap(st.old_end, top), k.wrap(st.len, top))
    out: dict[int, list] = {}
    for node_id, g, value in seen:
        out.setdefault(node_id, []).append((as_bool(g, st.ctx), as_bool(value, st.ctx)))
    return out


def _facts(unit: CUnit, conds: list[Condition], g: Geometry, level: str, vmas: int, rlimit: int,
           reachable_only: bool, states: _States | None = None) -> dict[int, dict[str, tuple[bool | None, str]]]:
    """For each condition, whether it is ever evaluated, ever true, ever false: (answer, what the
    answer covers); answer None when the solver gave up.  Asked on ``states`` (default new ones)."""
    states = states if states is not None else shared_states(g)
    def queries(st: SymbolicState) -> dict[tuple[int, str], Any]:
        ev = _evaluations(unit, st, level)
        out = {}
        false = z3.BoolVal(False, st.ctx)
        for c in conds:
            pairs = ev.get(c.node_id, [])
            out[c.node_id, "evaluated"] = z3.Or(*[p for p, _ in pairs]) if pairs else false
            out[c.node_id, "true"] = z3.Or(*[z3.And(p, x) for p, x in pairs]) if pairs else false
            out[c.node_id, "false"] = z3.Or(*[z3.And(p, z3.Not(x)) for p, x in pairs]) if pairs else false
        return out

    probe = states.get_state(2)
    formulas = queries(probe)
    cuts = {key: probe.cutoff([f]) for key, f in formulas.items()}
    depth = max([vmas] + [c.vmas for c in cuts.values() if not c.raw])
    answers: dict[tuple[int, str], bool | None] = {key: False for key in formulas}
    for n in range(1, depth + 1):
        pending = [key for key, a in answers.items() if a is not True]
        if not pending:
            break
        st = states.get_state(n)
        qs = queries(st)
        s = new_solver(st.ctx)
        s.set("rlimit", rlimit)
        cursor = z3.Int("cursor", st.ctx)
        s.add(*st.constraints, z3.Not(st.has_stop), cursor >= 0, cursor <= g.word_mask)
        if reachable_only:
            s.add(st.exec_reachable(reachable_only != UFFD_FREE))
        for key in pending:
            r = states.solve(s, qs[key])
            if r == z3.sat:
                answers[key] = True
            elif r == z3.unknown and answers[key] is False:
                answers[key] = None
    out: dict[int, dict[str, tuple[bool | None, str]]] = {}
    for (node_id, what), a in answers.items():
        cut = cuts[node_id, what]
        covers = "any number of VMAs" if cut.covers(depth) else f"up to {depth} VMAs ({cut.why()})"
        out.setdefault(node_id, {})[what] = (a, covers)
    return out


def _bound(cuts: list) -> str:
    if cuts and all(c.covers(d) for c, d in cuts):
        return "any number of VMAs"
    depth = min((d for _, d in cuts), default=DEFAULT_VMAS)
    return f"up to {depth} VMAs"


@dataclass(frozen=True)
class _Job:
    """What a worker needs to judge one condition (plain data: it pickles)."""

    unit: CUnit
    vid: str
    geometry: str
    level: str
    vmas: int
    rlimit: int
    reachable_only: bool
    verdicts: dict


def review(unit: CUnit, vid: str, g: Geometry, level: str = "pmd", vmas: int = DEFAULT_VMAS,
           rlimit: int = DEFAULT_RLIMIT, reachable_only: bool = False, jobs: int = 1,
           pool: Workers | None = None, witnesses: dict | None = None,
           then: Callable[[dict[str, str]], None] | None = None,
           progress: Callable[[str], None] | None = None) -> tuple[list[Finding], dict[str, str]]:
    """Every condition's findings, and the variant's own verdict per property.  The variant's
    checks and then the conditions are answered on ``pool`` (default: ``jobs`` workers of its
    own), each in a Z3 context and states of its own (``search.shared_states``: a condition's
    checks, diffs and proof share each state and the variants' decisions on it), so that the
    findings are the same whatever the number of workers.  ``witnesses`` collects the variant's
    counterexample per property it violates (the fix search refutes most edits with them).
    ``then(verdicts)`` runs once the verdicts are known and the conditions are on their way, so
    that it can queue more work for the same workers (the CLI's fix search).  ``progress``
    hears a line as the variant's verdicts and then each condition's findings come in."""
    conds = conditions(unit)
    tell = progress or (lambda _: None)
    if not conds:
        raise InputError(vid, "the decision has no conditions to review (no if, ?:, && or ||)")
    if pool is None:
        with workers(jobs) as own:
            return review(unit, vid, g, level, vmas, rlimit, reachable_only, pool=own, witnesses=witnesses,
                          then=then)
    job = _Job(unit, vid, g.name, level, vmas, rlimit, reachable_only, {})
    answers = dict(zip(PROPERTIES, pool.map(_verdict, [(job, pid) for pid in PROPERTIES])))
    verdicts = {pid: verdict for pid, (verdict, _) in answers.items()}
    tell(f"{vid}: " + ", ".join(f"{pid} {v}" for pid, v in verdicts.items()) + f"; {len(conds)} conditions to judge")
    if witnesses is not None:
        witnesses.update({pid: s for pid, (_, s) in answers.items() if s is not None})
    facts = _facts(unit, [c for c in conds if not c.outside], g, level, vmas, rlimit, reachable_only)
    flagged = [c for c in conds if c.flags and not c.outside]
    if reachable_only and flagged:
        facts.update(_facts(unit, flagged, g, level, vmas, rlimit, UFFD_FREE))  # type: ignore[arg-type]
    facts.update({c.node_id: {} for c in conds if c.outside})
    job = _Job(unit, vid, g.name, level, vmas, rlimit, reachable_only, verdicts)
    def heard(f: Finding, done: int, total: int) -> None:
        c = conds[done - 1]
        said = "outside the model" if f.outside else ", ".join(f.verdicts) or "decides with others"
        tell(f"[{done}/{total}] {c.where}: '{c.text}': {said}")
    pending = pool.submit(_judged, [(job, i, facts[c.node_id]) for i, c in enumerate(conds)], each=heard)
    if then is not None:
        then(verdicts)  # the next round (the fix search) queued behind the conditions
    findings = pending()
    for f, c in zip(findings, conds):
        f.condition = c  # the worker's copy of the condition names its own copy of the parse
    return findings, verdicts


def _verdict(task: tuple[_Job, str]) -> tuple[str, Scenario | None]:
    """The reviewed variant's verdict on one property, and its counterexample if it violates it."""
    job, pid = task
    g = get_geometry(job.geometry)
    base = c_variant(job.unit, job.vid, "", "")
    r = check(base, pid, g, job.level, job.vmas, job.rlimit, minimal=False, reachable=job.reachable_only,
              states=shared_states(g))
    return r.verdict, r.counterexample if r.verdict == VIOLATED else None


def _judged(task: tuple[_Job, int, dict]) -> Finding:
    """The findings of condition ``i`` of the job's unit, given what ``_facts`` says of it."""
    job, i, fact = task
    unit, vid, vmas, rlimit, reachable_only, verdicts = (job.unit, job.vid, job.vmas, job.rlimit, job.reachable_only,
                                                         job.verdicts)
    g, level = get_geometry(job.geometry), job.level
    states = shared_states(g)
    base = c_variant(unit, vid, "", "")
    c = conditions(unit)[i]
    f = Finding(c)
    if c.outside:
        f.outside = c.outside
        return f
    if c.flags and reachable_only:
        reachable_only = UFFD_FREE  # type: ignore[assignment]
        f.note = _FLAGS_NOTE
    evaluated, covers = fact["evaluated"]
    if evaluated is False:
        f.add("never-evaluated", f"no state reaches it ({covers})")
        return f
    for what, verdict in (("true", "never-true"), ("false", "never-false")):
        answer, covers = fact[what]
        if answer is False:
            f.add(verdict, f"it is {'false' if what == 'true' else 'true'} wherever it is evaluated ({covers})")
    dropped = c_variant(unit, f"{vid}-without-{c.line}:{c.col}", "", "", forced={c.node_id: c.neutral})
    cuts: list = []
    same, _ = prove_same(base, dropped, g, level, vmas, rlimit, cutoffs=cuts, states=states)
    if same == HOLDS and c.early:
        f.verdicts.clear()
        f.outside = f"{_EARLY_NOTE} ({_bound(cuts)})"
        return f
    if same == HOLDS:
        f.add("redundant", f"dropping it changes no decision and no return value ({_bound(cuts)})")
        return f
    # needed: without it, a property the check satisfies fails (check: a minimal, replayed
    # counterexample, or a holds that covers what check's holds covers).  The first such
    # property is the one reported; the checks after it could only add properties that are
    # undecided, which matter below only while nothing is needed yet
    held = [pid for pid in PROPERTIES if verdicts[pid] == HOLDS]
    broken = False
    gave_up: list[str] = []
    undecided: list[str] = []
    for pid in held:
        r = check(dropped, pid, g, level, vmas, rlimit, reachable=reachable_only, states=states)
        if r.verdict == VIOLATED:
            broken = True
            f.add("needed", f"without it the check violates {pid}", pid, r.counterexample)
            break
        if r.verdict != HOLDS:
            undecided.append(pid)
    # harmful: the check realigns and violates a property it does not satisfy everywhere, where
    # without the condition it declines (one direction of diff: where a property holds for the
    # check, the check violates it nowhere, outside the encoding's assumption included, or its
    # check would not have held).  The first property found is the one reported, so each
    # direction stops there
    mine = tuple(pid for pid in PROPERTIES if verdicts[pid] != HOLDS)
    cases, more = diff(base, dropped, g, level, vmas, rlimit, reachable_only, tails=False, pids=mine,
                       safe=False, states=states, one_way=True, first=True) if mine else ([], [])
    gave_up += more
    if not broken:
        # needed for the properties the check violates (a new violation where the check
        # declines), and for those check left undecided (a state outside the encoding's
        # assumption: diff judges where the two differ with the simulator): the other direction
        theirs = tuple(pid for pid in PROPERTIES if verdicts[pid] == VIOLATED or pid in undecided)
        more_cases, more = diff(dropped, base, g, level, vmas, rlimit, reachable_only, tails=False, pids=theirs,
                                safe=False, states=states, one_way=True, first=True) if theirs else ([], [])
        cases += more_cases
        gave_up += more
    for case in cases:
        if case.realigns == dropped.id:
            also = "" if verdicts[case.property] == HOLDS else \
                f" here (the check violates {case.property} elsewhere too)"
            f.add("needed", f"without it the check violates {case.property}{also}", case.property,
                  case.scenario)
            broken = True
        else:
            f.add("harmful", f"the check violates {case.property} where, without this condition, it would "
                             "decline", case.property, case.scenario)
    if not broken and "harmful" not in f.verdicts:
        # the decisions differ (not redundant) and no property breaks: which safe realignments
        missed, more = diff(base, dropped, g, level, vmas, rlimit, reachable_only, tails=False, pids=(),
                            safe=True, states=states)
        gave_up += more
        if missed:
            first = missed[0]
            who = "without it the check also realigns safely" if first.realigns == dropped.id else \
                "it enables safe realignments that dropping it would miss"
            f.add("optimization-only", f"dropping it changes only which safe realignments are taken: {who}",
                  None, first.scenario)
    # a search that gave up matters only if it could add a verdict: where the dropped
    # variant realigns, needed (or optimization-only, which needed excludes); where the
    # variant realigns, harmful
    if c.flags and not f.verdicts:
        f.reasons["decides"] = ("no verdict: dropping it lets the tables of a uffd-wp VMA move whole, which breaks "
                                "no property the model has; what 0cef0bb836e3 tests it for, clearing the uffd-wp "
                                "bits of the entries it moves, is outside the model")
    for x in gave_up:
        if x.startswith(dropped.id + " "):
            if "needed" in f.verdicts:
                continue
        elif "harmful" in f.verdicts:
            continue
        f.reasons.setdefault("unknown", x)
    return f


@dataclass
class Removed:
    """A condition of the unpatched code that a patch takes away, with what review said of it
    there: ``finding`` (on the unpatched code) and ``line`` where the removal lands in the
    patched file."""

    finding: Finding
    line: int

    @property
    def needed(self) -> bool:
        return "needed" in self.finding.verdicts

    def to_json(self) -> dict:
        c = self.finding.condition
        return {"text": c.text, "function": c.function, "line_before": c.line, "line_after": self.line,
                "needed": self.needed, "before": self.finding.to_json()}


@dataclass
class PatchReview:
    """What a patch changes among the reviewed conditions: those it removes (``removed``, judged
    on the unpatched code) and the lines of the patched file it writes (``changed``)."""

    removed: list[Removed]
    changed: set[int]

    def to_json(self) -> dict:
        return {"removes": [r.to_json() for r in self.removed], "changed_lines": sorted(self.changed)}


def patch_review(before: list[Finding], after: list[Finding], before_text: str, after_text: str) -> PatchReview:
    """Line up the findings of the unpatched and the patched code (their files' lines, matched as
    difflib matches them): a condition of the unpatched code on a line the patch deletes or
    replaces is removed unless the patch writes the same condition in the same function in its
    place; a patched condition on a line the patch writes is the patch's."""
    import difflib
    a, b = before_text.split("\n"), after_text.split("\n")
    changed: set[int] = set()
    place: dict[int, tuple[int, int, int]] = {}  # a line before (1-based) -> the block it is in, after
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        changed.update(range(j1 + 1, j2 + 1))
        for i in range(i1 + 1, i2 + 1):
            place[i] = (j1 + 1, j2 + 1, min(j1 + 1, len(b)))
    removed = []
    for f in before:
        c = f.condition
        if c.line not in place:
            continue
        lo, hi, at = place[c.line]
        kept = any(g.condition.text == c.text and g.condition.function == c.function and lo <= g.condition.line < hi
                   for g in after)
        if not kept:
            removed.append(Removed(f, at))
    return PatchReview(removed, changed)
