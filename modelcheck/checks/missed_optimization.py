"""missed-optimization: the variant declines a realignment that would be safe.

One definition, judged concretely (``missed``) and searched symbolically (``declined_but_safe``):
the variant declines, the realigning side ('always' for the property, the other variant for
diff's "missed" class) realigns and violates no property, and the move has entries to move at
the call.  The last condition is the statement's "a move with entries to move": where the
source range holds no entry, the loop finds no page table to move, whole or by entries, and
declining the realignment costs nothing (properties.toml).  The search asks first with the
``cheap`` properties only, whose scenarios include the full goal's."""

from __future__ import annotations

from typing import Any, Iterable

from modelcheck.checks import PRECISION, Property


def missed(ev: Any, alt: Any) -> bool:
    """Did the variant (evaluated as ``ev``) miss the safe realignment the other side (``alt``,
    evaluated on the same scenario) takes?"""
    return (alt is not None and ev.moves_entries and not ev.realigned and not ev.returned_early
            and alt.realigned and not alt.violated())


def safe_realignment(st: Any, variant: Any, level: str, properties: Iterable[str]) -> Any:
    """``variant`` realigns on the symbolic state, every one of ``properties`` holds for its
    realigned move, and the move has entries to move: the symbolic side of ``missed``."""
    import z3

    from modelcheck.solver.encoding import decision_of, reaches_no_loop, violation_of
    d = decision_of(st, variant, level)
    parts = [d.realign, z3.Not(reaches_no_loop(st, d)), st.has_entries(st.old_addr, st.old_end)]
    for pid in properties:
        v = violation_of(st, variant, pid, level)
        parts += [v.assumption, z3.Not(v.condition)]
    return z3.And(*parts)


def declined_but_safe(st: Any, variant: Any, other: Any, level: str, properties: Iterable[str]) -> Any:
    """``variant`` declines where ``other`` realigns safely (``safe_realignment``)."""
    import z3

    from modelcheck.solver.encoding import decision_of, reaches_no_loop
    d = decision_of(st, variant, level)
    return z3.And(z3.Not(d.realign), z3.Not(reaches_no_loop(st, d)), safe_realignment(st, other, level, properties))


def annotate(draw: Any, ev: Any, s: Any, alt: Any = None) -> None:
    mv = s.move
    draw.range("missed", "missed", alt.old_addr, mv.old_addr,
               f"declined, though safe: {hex(alt.old_addr)} -> {hex(alt.new_addr)}")
    draw.violation("missed", PROPERTY.id, alt.old_addr, mv.old_addr,
                   f"realigning to {hex(alt.old_addr)} -> {hex(alt.new_addr)} is safe, {ev.variant} declines")


PROPERTY = Property("missed-optimization", annotate=annotate, kind=PRECISION, of_the_call=True)
