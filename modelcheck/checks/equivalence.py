"""equivalence: after a move that runs to completion, every address holds what the plain move leaves there."""

from __future__ import annotations

from typing import Any

from modelcheck.checks import Property


def judge(ev: Any, run: Any) -> str | None:
    if not ev.differences:
        return None
    lo, hi = ev.differences[0]
    return f"after the move [{hex(lo)}, {hex(hi)}) holds other entries than the plain move leaves there"


def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
    # The realigned run moves S = [c0, old_addr) by the same offset as the rest and keeps every
    # other entry where the plain run puts it: the results differ iff S holds an entry.
    from modelcheck.solver.encoding import KEPT, Violation, offset_kept, range_hits, term
    c0, n0 = term(d.old_addr), term(d.new_addr)
    return Violation(range_hits(st, c0, st.old_addr), offset_kept(st, c0, n0), why_assumed=KEPT)


def annotate(draw: Any, ev: Any, s: Any) -> None:
    for k, (lo, hi) in enumerate(ev.differences[:4]):
        draw.range(f"difference{k}", "difference", lo, hi, "differs from the plain move")
        draw.violation(f"difference{k}", PROPERTY.id, lo, hi, "holds other entries than the plain move leaves")


#: a reproducer sees this one in memory (no-source-collateral and no-dest-clobber say that S or D
#: is swept while holding entries; with nothing in S to move, D's entries survive)
PROPERTY = Property("equivalence", judge, violation, annotate, memory=True, cheap=True)
