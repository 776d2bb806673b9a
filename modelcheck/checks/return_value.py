"""return-value: move_page_tables() returns the bytes it moved, on success and at every loop break."""

from __future__ import annotations

from typing import Any

from modelcheck.checks import Property


def judge(ev: Any, run: Any) -> str | None:
    mv = run.scenario.move
    for cursor in [*run.full.alloc_points, mv.old_end]:
        moved = max(0, min(cursor, mv.old_end) - mv.old_addr)
        got = run.returned_at(cursor)
        if got != moved or got > mv.len:
            how = "on success" if cursor == mv.old_end else f"when the loop breaks at {hex(cursor)}"
            return f"{how} it returns {hex(got)} but moved {hex(moved)} of len {hex(mv.len)}"
    return None


def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
    import z3

    from modelcheck.solver.encoding import Loop, Violation, term
    c0, n0 = term(d.old_addr), term(d.new_addr)
    k = st.ops

    def wrong(cursor: Any) -> Any:
        top = st.geometry.task_size
        ret = term(variant.progress(k, k.wrap(cursor, top), k.wrap(st.old_end, top), k.wrap(st.len, top)))
        moved = z3.If(cursor <= st.old_addr, 0, cursor - st.old_addr)
        return z3.Or(ret != moved, ret > st.len)

    # The loop can end at its first cursor (if it allocates there) or at old_end (success).
    first = z3.And(st.has_stop, st.stop_at == c0, c0 < st.old_end, Loop(st, c0, n0).pud_present0(c0), wrong(c0))
    success = z3.And(z3.Not(st.has_stop), wrong(st.old_end))
    # Any other break is at some cursor between old_addr and old_end; which of those are real
    # cursors is not encoded, so this part can only prove, and its models must be confirmed.
    mid = z3.And(st.has_stop, st.old_addr < st.stop_at, wrong(st.stop_at))
    return Violation(z3.Or(first, success), True, stop=True, over=mid, cases=[success, first])


def annotate(draw: Any, ev: Any, s: Any) -> None:
    mv = s.move
    draw.node("returned", kind="return", returned=hex(ev.returned), label="return value",
              start=hex(mv.old_addr), end=hex(mv.old_end), size=hex(mv.len))
    draw.violation("returned", PROPERTY.id, mv.old_addr, mv.old_end, ev.details.get(PROPERTY.id, ""))


PROPERTY = Property("return-value", judge, violation, annotate, of_the_call=True, of_the_return=True)
