"""What no-predicate-warn and no-null-deref share: a fault the decision's own path runs into."""

from __future__ import annotations

from typing import Any

from modelcheck.checks import Property


def fault_property(pid: str, kind: str, what: str, label: str) -> Property:
    """The property that no ``kind`` site ("warn" or "oops") of the decision fires."""
    def judge(ev: Any, run: Any) -> str | None:
        fired = [where for kd, where in ev.faults if kd == kind]
        return f"in the decision {what} at {', '.join(fired)}" if fired else None

    def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
        from modelcheck.solver.encoding import Violation, as_bool
        return Violation(as_bool(d.warn if kind == "warn" else d.oops, st.ctx), True)

    def annotate(draw: Any, ev: Any, s: Any) -> None:
        mv = s.move
        for k, where in enumerate(w for kd, w in ev.faults if kd == kind):
            draw.node(f"{kind}{k}", kind="fault", fault=kind, where=where, label=f"{label} at {where}",
                      start=hex(mv.old_addr), end=hex(mv.old_end), size=hex(mv.len))
            draw.violation(f"{kind}{k}", pid, mv.old_addr, mv.old_end, f"{label} at {where}")

    return Property(pid, judge, violation, annotate, cheap=True, of_the_call=True, fault=kind, warns=kind == "warn")
