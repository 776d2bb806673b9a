"""Reference semantics: run a variant's decision on a scenario, simulate the move, judge the properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import portion as P

from modelcheck.checks.missed_optimization import missed
from modelcheck.errors import InternalError
from modelcheck.model.ops import ConcreteOps
from modelcheck.model.scenario import Scenario
from modelcheck.model.simulate import (LevelMove, PageTables, SimResult, entries_differ, initial_tables, move_window,
                                       simulate)
from modelcheck.checks import MISSED, PROPERTIES
from modelcheck.model.variants import Call, Decision, Variant, get_variant

__all__ = ["Evaluation", "Run", "evaluate", "decide", "judge", "MISSED"]

HOLDS, VIOLATED = "holds", "violated"


@dataclass
class Evaluation:
    """One variant on one scenario: the decision, the move as the scenario runs it, the verdicts."""

    variant: str
    level: str
    realigned: bool
    old_addr: int  # cursors after the decision
    new_addr: int
    returned: int
    broke: bool
    cursor: int
    moves: list[LevelMove]
    warnings: list[LevelMove]
    source_hits: list[tuple[int, int]]  # entries inside S
    dest_hits: list[tuple[int, int]]  # entries inside D
    differences: list[tuple[int, int]] = field(default_factory=list)  # where the result differs from the plain move
    refused: list[LevelMove] = field(default_factory=list)  # refused PMD/PUD moves of the unbroken move (no-warn)
    faults: list[tuple[str, str]] = field(default_factory=list)  # (warn|oops, where) the decision ran into
    moves_entries: bool = False  # [old_addr, old_end) holds entries at the call
    returned_early: str = ""  # where move_page_tables() returned before its loop (Decision.early), or ""
    undo: Undo | None = None  # move_vma()'s undo move, when the move broke
    restored: list[tuple[int, int]] = field(default_factory=list)  # where the undo left entries not as at the call
    properties: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)  # why each violated property is violated

    def violated(self) -> list[str]:
        return [p for p, v in self.properties.items() if v == VIOLATED]

    def to_json(self) -> dict:
        return {"variant": self.variant, "level": self.level, "realigned": self.realigned,
                "old_addr": hex(self.old_addr), "new_addr": hex(self.new_addr),
                "returned": hex(self.returned), "broke": self.broke,
                **({"returned_early": self.returned_early} if self.returned_early else {}),
                "properties": dict(self.properties), "details": dict(self.details),
                "faults": [{"kind": kind, "where": where} for kind, where in self.faults],
                "moves": [m.to_json() for m in self.moves],
                "warnings": [m.to_json() for m in self.warnings],
                **({"undo": self.undo.to_json()} if self.undo is not None else {})}


def _decision(s: Scenario, variant: Variant, level: str) -> tuple[Decision, ConcreteOps]:
    k = ConcreteOps(s.geometry, s.spans, checked=True, uffd=s.uffd)
    mv = s.move
    call = Call(vma=k.vma(mv.old_vma), new_vma=k.vma(mv.new_vma), old_addr=k.word(mv.old_addr),
                new_addr=k.word(mv.new_addr), len=k.word(mv.len), for_stack=mv.for_stack)
    return variant.decide(k, call, level), k


@dataclass
class Undo:
    """move_vma()'s undo move after a move_page_tables() that moved less than asked: a second
    call with the VMAs and addresses swapped and the length the first returned (mm/mremap.c;
    6.15+: ``PAGETABLE_MOVE(pmc_revert, new_vma, vma, new_addr, addr, moved_len)``), with its own
    realignment decision, on the page tables the first left.  ``result`` is None when the call
    returns at once (``if (!len) return 0;``, or a C head's early return)."""

    len: int
    realigned: bool
    old_addr: int  # its cursors after its decision (on the destination side of the first move)
    new_addr: int
    old_end: int
    tables: bool
    refuse_late: bool
    result: SimResult | None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"len": hex(self.len), "realigned": self.realigned, "old_addr": hex(self.old_addr),
                               "new_addr": hex(self.new_addr), "tables": self.tables}
        if self.result is not None:
            out["moves"] = [m.to_json() for m in self.result.moves]
            out["warnings"] = [m.to_json() for m in self.result.warnings]
        return out


def undo_call(s: Scenario, k: ConcreteOps, returned: int) -> Call:
    """The undo move's arguments: move_page_tables(new_vma, new_addr, vma, old_addr, returned)."""
    mv = s.move
    return Call(vma=k.vma(mv.new_vma), new_vma=k.vma(mv.old_vma), old_addr=k.word(mv.new_addr),
                new_addr=k.word(mv.old_addr), len=k.word(returned), for_stack=False)


def _undo(s: Scenario, variant: Variant, level: str, k: ConcreteOps, after: PageTables, returned: int) -> Undo:
    g, mv = s.geometry, s.move
    d = variant.decide(k, undo_call(s, k, returned), level)
    old_c, new_c = int(d.old_addr), int(d.new_addr)
    end = (mv.new_addr + returned) & g.word_mask
    early = any(bool(c) for _, c, _ in d.early)  # a built-in's "if (!len) return 0;" among them
    u = Undo(returned, bool(d.realign), old_c, new_c, end, bool(d.tables), bool(d.refuse_late), None)
    if not early:
        u.result = simulate(g, after, old_c, new_c, end, tables=u.tables, refuse_late=u.refuse_late)
    return u


def decide(s: Scenario, variant: Variant, level: str = "pmd") -> tuple[bool, int, int, ConcreteOps]:
    """The variant's decision on the scenario: (realigned, old cursor, new cursor, ops)."""
    d, k = _decision(s, variant, level)
    return bool(d.realign), int(d.old_addr), int(d.new_addr), k


def _hits(tables: PageTables, lo: int, hi: int) -> list[tuple[int, int]]:
    if lo >= hi:
        return []
    hit = tables.entries.domain() & P.closedopen(lo, hi)
    return [(a.lower, a.upper) for a in hit if not a.empty]


@dataclass
class Run:
    """What a property's concrete judgement reads besides the Evaluation: the scenario, the move
    as it runs (``full``: to completion, ignoring an allocation failure) and the return value at
    a cursor.  (The plain move is read through ``Evaluation.differences``.)"""

    scenario: Scenario
    full: Any
    returned_at: Callable[[int], int]
    undo: Undo | None = None  # the undo move, when the move broke (an mremap's; exec has none)


def evaluate(s: Scenario, variant: Variant, level: str = "pmd") -> Evaluation:
    g, mv = s.geometry, s.move
    d, k = _decision(s, variant, level)
    realigned, old_c, new_c = bool(d.realign), int(d.old_addr), int(d.new_addr)
    rules = {"tables": bool(d.tables), "refuse_late": bool(d.refuse_late)}
    # move_page_tables() returns before its loop (a built-in's "if (!len) return 0;", a C head's
    # return): nothing moves, no page-table allocation is made, and it returns that value
    where, early = next(((w, int(value)) for w, cond, value in d.early if cond), ("", None))
    end = mv.old_end
    if early is not None:
        realigned, old_c, new_c, end = False, mv.old_addr, mv.new_addr, mv.old_addr

    def returned_at(cursor: int) -> int:
        if early is not None:
            return early
        return int(variant.progress(k, k.word(cursor), k.word(mv.old_end), k.word(mv.len)))

    have = move_window(s, [(old_c, new_c)])  # what the move reads and writes
    start = initial_tables(s, have)
    run = simulate(g, start, old_c, new_c, end, mv.stop_at if early is None else None, **rules)
    undo = None
    if run.broke and not mv.for_stack:
        returned = returned_at(run.cursor)
        undo = _undo(s, variant, level, k, run.tables, returned)
        # the undo reads and writes [its cursor, its end) and as much at the other side: if that
        # is outside what the tables were built for, build them for both and run both again
        span = max(0, undo.old_end - undo.old_addr) if undo.result is not None else 0
        need = P.closedopen(undo.old_addr, undo.old_addr + span) | P.closedopen(undo.new_addr, undo.new_addr + span)
        if span and not (need - have).empty:
            start = initial_tables(s, have | need)
            run = simulate(g, start, old_c, new_c, mv.old_end, mv.stop_at, **rules)
            undo = _undo(s, variant, level, k, run.tables, returned)
    full = run if mv.stop_at is None or early is not None else simulate(g, start, old_c, new_c, mv.old_end, **rules)
    plain = simulate(g, start, mv.old_addr, mv.new_addr, end, **rules)

    ev = Evaluation(variant.id, level, realigned, old_c, new_c, returned_at(run.cursor), run.broke,
                    run.cursor, run.moves, run.warnings,
                    _hits(start, old_c, mv.old_addr), _hits(start, new_c, mv.new_addr))
    differ = entries_differ(full.tables.entries, plain.tables.entries)
    ev.differences = [(a.lower, a.upper) for a in differ if not a.empty]
    ev.refused = full.warnings
    ev.moves_entries = bool(_hits(start, mv.old_addr, mv.old_end))
    ev.faults = [(kind, where) for kind, where, cond in d.sites if cond]
    for kind, cond in (("warn", d.warn), ("oops", d.oops)):
        if bool(cond) != any(kd == kind for kd, _ in ev.faults):
            raise InternalError(f"{variant.id}: the decision's {kind} condition disagrees with its sites")
    ev.returned_early = where
    if early is not None and variant.source is None:
        ev.faults = []  # a built-in's head returns before its predicate runs (C heads: their own paths)
    ev.undo = undo
    if undo is not None and undo.result is not None:
        ev.restored = [(a.lower, a.upper) for a in entries_differ(undo.result.tables.entries, start.entries)
                       if not a.empty]
    run_ = Run(s, full, returned_at, undo)
    for pid, prop in PROPERTIES.items():
        why = prop.judge(ev, run_)  # type: ignore[misc]
        ev.properties[pid] = HOLDS if why is None else VIOLATED
        if why is not None:
            ev.details[pid] = why
    return ev


def judge(s: Scenario, variant: Variant, pid: str, level: str = "pmd") -> tuple[bool, Evaluation, Evaluation | None]:
    """Does ``variant`` violate ``pid`` on ``s``?  Returns (violated, its evaluation, the 'always'
    baseline's evaluation for missed-optimization, else None).  Missed-optimization is violated when
    the variant declines and realigning (as 'always' does) is possible and violates nothing."""
    ev = evaluate(s, variant, level)
    if pid != MISSED:
        if pid not in ev.properties:
            raise InternalError(f"no property {pid!r}")
        return ev.properties[pid] == VIOLATED, ev, None
    alt = evaluate(s, get_variant("always"), level)
    return missed(ev, alt), ev, alt
