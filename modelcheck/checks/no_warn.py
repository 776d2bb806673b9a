"""no-warn: no PMD- or PUD-level move targets a populated destination entry (move_normal_pmd()'s WARN_ON_ONCE),
in the move or in move_vma()'s undo move after it broke."""

from __future__ import annotations

from typing import Any

from modelcheck.checks import Property


def judge(ev: Any, run: Any) -> str | None:
    if run.full.warnings:
        w = run.full.warnings[0]
        return (f"WARN_ON_ONCE(!{w.level}_none(*new_{w.level})) moving {hex(w.old)} -> {hex(w.new)}: "
                f"the destination {w.level.upper()} entry is populated")
    undo = run.undo
    if undo is not None and undo.result is not None and undo.result.warnings:
        w = undo.result.warnings[0]
        return (f"in the undo move (move_vma() moving {hex(undo.len)} bytes back after the move broke at "
                f"{hex(run.scenario.move.stop_at)}): WARN_ON_ONCE(!{w.level}_none(*new_{w.level})) moving "
                f"{hex(w.old)} -> {hex(w.new)}: the {w.level.upper()} entry the first move left there is populated")
    return None


def violation(st: Any, variant: Any, d: Any, level: str) -> Any:
    """Exact for the move itself (run to its end: Loop.warn); the undo move after a break is
    the over-approximate part (encoding.undo_warn), whose models the simulator must confirm."""
    import z3

    from modelcheck.solver.encoding import KEPT, Loop, Violation, decision_rules, offset_kept, term, undo_of, undo_warn
    c0, n0 = term(d.old_addr), term(d.new_addr)
    cases = [z3.And(z3.Not(st.has_stop), x)
             for x in Loop(st, c0, n0, *decision_rules(st, d)).warn(z3.Int("w_pmd", st.ctx), z3.Int("w_pud", st.ctx))]
    kept = offset_kept(st, c0, n0)
    undo = undo_warn(st, d, undo_of(st, variant, level, d))
    return Violation(z3.Or(*cases) if cases else z3.BoolVal(False, st.ctx), kept, stop=True,
                     over=z3.And(kept, z3.Or(*undo)) if undo else None, why_assumed=KEPT, cases=cases,
                     over_why="the undo move after a break would attempt a table move onto a slot that may "
                              "still hold a table, but the simulator does not confirm it")


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
