"""no-warn: no PMD- or PUD-level move targets a populated destination entry (move_normal_pmd()'s WARN_ON_ONCE)."""

from __future__ import annotations

from typing import Any

from modelcheck.checks import Property


def judge(ev: Any, run: Any) -> str | None:
    if not run.full.warnings:
        return None
    w = run.full.warnings[0]
    return (f"WARN_ON_ONCE(!{w.level}_none(*new_{w.level})) moving {hex(w.old)} -> {hex(w.new)}: "
            f"the destination {w.level.upper()} entry is populated")


def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
    import z3

    from modelcheck.solver.encoding import KEPT, Loop, Violation, offset_kept, term
    c0, n0 = term(d.old_addr), term(d.new_addr)
    cases = Loop(st, c0, n0).warn(z3.Int("w_pmd", st.ctx), z3.Int("w_pud", st.ctx))
    return Violation(z3.Or(*cases) if cases else z3.BoolVal(False, st.ctx), offset_kept(st, c0, n0),
                     why_assumed=KEPT, cases=cases)


def annotate(draw: Any, ev: Any, s: Any) -> None:
    for k, w in enumerate(ev.refused[:4]):
        draw.range(f"refused{k}", "refused-move", w.new, w.new + w.size,
                   f"refused {w.level.upper()} move {hex(w.old)} -> {hex(w.new)}", level=w.level, old=hex(w.old),
                   new=hex(w.new))
        draw.range(f"{w.level}@{hex(w.new)}", "boundary", w.new, w.new, f"{w.level.upper()} boundary",
                   level=w.level, address=hex(w.new))
        draw.violation(f"refused{k}", PROPERTY.id, w.new, w.new + w.size,
                       f"WARN_ON_ONCE: {w.level.upper()} entry at {hex(w.new)} is populated")


PROPERTY = Property("no-warn", judge, violation, annotate, warns=True)
