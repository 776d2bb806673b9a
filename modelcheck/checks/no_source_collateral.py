"""no-source-collateral: the swept source range S = [old start after the decision, old_addr) holds no entry."""

from __future__ import annotations

from typing import Any

from modelcheck.checks import Property


def judge(ev: Any, run: Any) -> str | None:
    if not ev.source_hits:
        return None
    return f"S = [{hex(ev.old_addr)}, {hex(run.scenario.move.old_addr)}) holds entries {ranges(ev.source_hits)}"


def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
    from modelcheck.solver.encoding import Violation, range_hits, term
    return Violation(range_hits(st, term(d.old_addr), st.old_addr), True)


def annotate(draw: Any, ev: Any, s: Any) -> None:
    for lo, hi in ev.source_hits:
        draw.violation("S", PROPERTY.id, lo, hi, "entries in S move with the request")


def ranges(runs: list[tuple[int, int]]) -> str:
    return ", ".join(f"[{hex(a)}, {hex(b)})" for a, b in runs)


PROPERTY = Property("no-source-collateral", judge, violation, annotate, cheap=True)
