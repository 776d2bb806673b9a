"""no-dest-clobber: the swept destination range D = [new start after the decision, new_addr) holds no entry."""

from __future__ import annotations

from typing import Any

from modelcheck.checks import Property
from modelcheck.checks.no_source_collateral import ranges


def judge(ev: Any, run: Any) -> str | None:
    if not ev.dest_hits:
        return None
    return f"D = [{hex(ev.new_addr)}, {hex(run.scenario.move.new_addr)}) holds entries {ranges(ev.dest_hits)}"


def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
    from modelcheck.solver.encoding import Violation, range_hits, term
    return Violation(range_hits(st, term(d.new_addr), st.new_addr), True)


def annotate(draw: Any, ev: Any, s: Any) -> None:
    for lo, hi in ev.dest_hits:
        draw.violation("D", PROPERTY.id, lo, hi, "entries in D are overwritten")


PROPERTY = Property("no-dest-clobber", judge, violation, annotate, cheap=True)
