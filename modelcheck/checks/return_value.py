"""return-value: move_page_tables() returns the bytes it moved, on success and at every loop break;
a return before its loop (nothing moved) is right only for a zero-length call, with 0."""

from __future__ import annotations

import weakref
from typing import Any

from modelcheck.checks import Property

#: per tail (a variant's progress function) and geometry: is it right at every cursor?
_RIGHT: "weakref.WeakKeyDictionary[Any, dict[str, bool]]" = weakref.WeakKeyDictionary()


def judge(ev: Any, run: Any) -> str | None:
    mv = run.scenario.move
    if ev.returned_early:
        # it moved nothing: only a zero-length call may return there, and then 0; at len > 0 a
        # return of 0 fails the mremap (-ENOMEM) with no allocation failed, and one of len
        # makes move_vma() unmap the source whose pages never moved
        if mv.len or ev.returned:
            return (f"it returns {hex(ev.returned)} before its loop ({ev.returned_early}), having moved nothing "
                    f"of len {hex(mv.len)}")
        return None
    # the bytes of [old_addr, old_end) the loop has passed: it starts at the decision's cursor
    # (a decision above old_addr leaves [old_addr, cursor) where it was)
    lo = max(ev.old_addr, mv.old_addr)
    for cursor in [*run.full.alloc_points, run.full.cursor]:
        moved = max(0, min(cursor, mv.old_end) - lo)
        got = run.returned_at(cursor)
        if got != moved or got > mv.len:
            how = "on success" if cursor == run.full.cursor else f"when the loop breaks at {hex(cursor)}"
            return f"{how} it returns {hex(got)} but moved {hex(moved)} of len {hex(mv.len)}"
    return None


def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
    """The tail is wrong at some cursor the loop can end at: its first cursor, any cursor it can
    break at (an allocation made there fails), or where it ends.

    The loop from (c0, n0) advances, iteration by iteration, to the next PMD boundary of the old
    or of the new cursor (or to old_end), except that a PUD-level move jumps a whole PUD slot and
    a PUD entry that is none skips to the next PUD boundary.  So every cursor after the first is
    a PMD boundary on one side (c % PMD == 0 or (c - delta) % PMD == 0), and the loop allocates
    (and can break) at such a cursor c iff it reaches c and c's source PUD entry is present.
    When the move goes down, or up with its destination's first PUD slot at or above old_end, no
    destination write reaches a PUD slot the loop has not yet entered (a write below the cursor
    lands in a slot the loop has already found present), so that entry is present iff its slot
    had entries at the call; and c
    is reached unless a PUD-level move took its slot whole.  That move is certain where nothing
    stood at its destination at the call and impossible where its conditions fail; in between
    (a destination slot that held entries but may have been moved away earlier), and for a move
    up whose destination shares a PUD slot with the source's rest, the cursors go to the
    over-approximate part, whose models the
    simulator must confirm.  The encoding assumes the decision's cursors are page-aligned (a
    stop_at names a page) and start at or below old_addr (so that the bytes moved at a cursor c
    are c - old_addr, or none); a decision outside that is searched for and reported as such."""
    import z3

    from modelcheck.solver.encoding import Loop, Violation, decision_rules, term
    c0, n0 = term(d.old_addr), term(d.new_addr)
    g, k = st.geometry, st.ops
    if right_everywhere(st, variant):
        # then only a decision that starts above old_addr makes it wrong: on success it returns
        # the bytes from old_addr to old_end (or to the cursor past it) but moved fewer
        end = term(variant.progress(k, k.wrap(c0, g.word_mask), k.wrap(st.old_end, g.task_size),
                                    k.wrap(st.len, g.task_size)))
        above = z3.And(z3.Not(st.has_stop), st.old_addr < c0, c0 <= st.old_end)
        beyond = z3.And(z3.Not(st.has_stop), st.old_end < c0, end != 0)
        return Violation(z3.Or(above, beyond), True, stop=True, cases=[above, beyond])
    loop = Loop(st, c0, n0, *decision_rules(st, d))

    def wrong(cursor: Any, top: int) -> Any:
        ret = term(variant.progress(k, k.wrap(cursor, top), k.wrap(st.old_end, g.task_size),
                                    k.wrap(st.len, g.task_size)))
        moved = z3.If(cursor <= st.old_addr, 0, cursor - st.old_addr)  # (cursor <= old_end)
        return z3.Or(ret != moved, ret > st.len)

    c = st.stop_at
    pmd, pud = g.pmd_size, g.pud_size
    first = z3.And(st.has_stop, c == c0, c0 < st.old_end, loop.pud_present0(c0), wrong(c0, g.task_size))
    success = z3.And(z3.Not(st.has_stop), wrong(st.old_end, g.task_size))
    # a later cursor: a PMD boundary on either side
    later = z3.And(st.has_stop, c0 < c, c < st.old_end,
                   z3.Or(c % pmd == 0, (c - loop.delta) % pmd == 0), wrong(c, g.task_size))
    # a move up writes its destination ahead of the cursor: exact only where no destination write
    # lands in a PUD slot the loop has yet to enter (the destination's first PUD slot starts at or
    # above old_end); a write there makes that slot's PUD entry present, and a break possible
    no_up_overlap = z3.Or(c0 >= n0, st.old_end <= n0 - n0 % pud)
    slot = c - c % pud
    may_jump = loop.swallowed(c)  # the conditions of a PUD-level move at c's slot start hold
    sure_jump = z3.And(may_jump, z3.Not(loop.pud_present0(slot - loop.delta)))
    # exact: its PUD slot held entries at the call, and no PUD-level move can have jumped it
    mid = z3.And(later, no_up_overlap, loop.pud_present0(c), z3.Not(may_jump))
    # a move up onto its own source can make a slot present that was not (its destination
    # writes run ahead of the cursor): then any boundary; else a cursor a PUD move may have jumped
    over = z3.And(later, z3.Or(z3.Not(no_up_overlap), z3.And(loop.pud_present0(c), z3.Not(sure_jump))))
    assumed = z3.And(c0 <= st.old_addr, c0 % g.page_size == 0, n0 % g.page_size == 0)
    return Violation(z3.Or(first, success, mid), assumed, stop=True, over=z3.And(assumed, over),
                     cases=[success, first, mid],
                     why_assumed="the decision's cursors are page-aligned and start at or below old_addr")


def right_everywhere(st: Any, variant: Any) -> bool:
    """Does the variant's tail return the bytes moved, and no more than len, at every cursor from
    0 to old_end, for every move the geometry has?  Then no loop end below old_end can make it
    wrong, whichever cursors the decision and the loop take (one small query per tail and
    geometry, remembered; unknown counts as no)."""
    import z3

    from modelcheck.solver.encoding import term
    memo = _RIGHT.setdefault(variant.progress, {})
    g = st.geometry
    if g.name not in memo:
        k, ctx = st.ops, st.ctx
        page = g.page_size
        a, n, c = (z3.Int(f"tail_{x}", ctx) for x in ("old_addr", "len", "cursor"))
        a, n = a * page, n * page
        end = a + n
        ret = term(variant.progress(k, k.wrap(c, g.task_size), k.wrap(end, g.task_size), k.wrap(n, g.task_size)))
        moved = z3.If(c <= a, 0, c - a)
        s = z3.Solver(ctx=ctx)
        s.set("rlimit", 2_000_000)
        s.add(a >= 0, n > 0, end <= g.task_size, c >= 0, c <= end, z3.Or(ret != moved, ret > n))
        memo[g.name] = s.check() == z3.unsat
    return memo[g.name]


def annotate(draw: Any, ev: Any, s: Any) -> None:
    mv = s.move
    draw.node("returned", kind="return", returned=hex(ev.returned), label="return value",
              start=hex(mv.old_addr), end=hex(mv.old_end), size=hex(mv.len))
    draw.violation("returned", PROPERTY.id, mv.old_addr, mv.old_end, ev.details.get(PROPERTY.id, ""))


PROPERTY = Property("return-value", judge, violation, annotate, of_the_call=True, of_the_return=True)
