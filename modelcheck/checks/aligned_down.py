"""aligned-down: the move starts where it was asked to, or at the boundaries below both addresses
when they are mutually aligned; nothing else.

The kernel's realignment is exactly this (realign_addr() since af8ca1c14906: "Only realign if the
new and old addresses are mutually aligned", then ``*old_addr = *old_addr & mask``): the other
properties judge whether sweeping S and D is safe, this one whether a predicate moves the cursors
only in that one way.  A predicate that forgets the mutual-alignment test, masks with the other
level's size, or moves only one cursor violates it even where nothing is in the way.
"""

from __future__ import annotations

from typing import Any

from modelcheck.checks import Property


def allowed(old: int, new: int, size: int) -> list[tuple[int, int]]:
    """The cursor pairs a decision may start the move from."""
    out = [(old, new)]
    if old % size == new % size:
        out.append((old - old % size, new - new % size))
    return out


def judge(ev: Any, run: Any) -> str | None:
    mv = run.scenario.move
    size = run.scenario.geometry.level_size(ev.level)
    if (ev.old_addr, ev.new_addr) in allowed(mv.old_addr, mv.new_addr, size):
        return None
    what = ("they are not mutually aligned" if mv.old_addr % size != mv.new_addr % size
            else f"the {ev.level.upper()} boundaries below them are {hex(mv.old_addr - mv.old_addr % size)} "
                 f"and {hex(mv.new_addr - mv.new_addr % size)}")
    return (f"the move starts at {hex(ev.old_addr)} -> {hex(ev.new_addr)} for {hex(mv.old_addr)} -> "
            f"{hex(mv.new_addr)}; {what}")


def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
    import z3

    from modelcheck.solver.encoding import Violation, term
    size = st.geometry.level_size(level)
    c0, n0, old, new = term(d.old_addr), term(d.new_addr), st.old_addr, st.new_addr
    kept = z3.And(c0 == old, n0 == new)
    down = z3.And(old % size == new % size, c0 == old - old % size, n0 == new - new % size)
    return Violation(z3.Not(z3.Or(kept, down)), True)


def annotate(draw: Any, ev: Any, s: Any) -> None:
    mv = s.move
    draw.node("start", kind="start", label=f"move starts at {hex(ev.old_addr)} -> {hex(ev.new_addr)}",
              start=hex(ev.old_addr), end=hex(mv.old_end), new=hex(ev.new_addr))
    draw.violation("start", PROPERTY.id, min(ev.old_addr, mv.old_addr), mv.old_end, ev.details.get(PROPERTY.id, ""))


PROPERTY = Property("aligned-down", judge, violation, annotate, cheap=True, of_the_call=True)
