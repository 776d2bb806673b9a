"""missed-optimization: the variant declines a realignment that would be safe.

Judged against the 'always' baseline (realign whenever mutually aligned and the boundary is in
reach): violated when the variant declines, 'always' realigns, and that realignment violates
no property.  Its symbolic goal (search._goals) is the same, "declines and realigning is safe",
first with the ``cheap`` properties only."""

from __future__ import annotations

from typing import Any

from modelcheck.checks import PRECISION, Property


def missed(ev: Any, alt: Any) -> bool:
    """Did the variant (evaluated as ``ev``) miss the safe realignment 'always' (``alt``) takes?"""
    return alt is not None and not ev.realigned and alt.realigned and not alt.violated()


def annotate(draw: Any, ev: Any, s: Any, alt: Any = None) -> None:
    mv = s.move
    draw.range("missed", "missed", alt.old_addr, mv.old_addr,
               f"declined, though safe: {hex(alt.old_addr)} -> {hex(alt.new_addr)}")
    draw.violation("missed", PROPERTY.id, alt.old_addr, mv.old_addr,
                   f"realigning to {hex(alt.old_addr)} -> {hex(alt.new_addr)} is safe, {ev.variant} declines")


PROPERTY = Property("missed-optimization", annotate=annotate, kind=PRECISION, of_the_call=True)
