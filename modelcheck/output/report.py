"""Text views in kernel terms: a /proc/self/maps-like layout, the call, and per-variant outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcheck.model.scenario import Scenario
from modelcheck.model.semantics import Evaluation

if TYPE_CHECKING:
    from modelcheck.solver.search import CheckResult

__all__ = ["maps_lines", "move_call", "evaluation_lines", "eval_report", "check_lines", "matrix_table", "history_table"]


_SHORT_ROLE = {"source": "src", "destination": "dst", "source+destination": "src=dst", "stack": "stack",
               "other": ""}


def _role(s: Scenario, i: int) -> str:
    return _SHORT_ROLE[s.role(i)]


def maps_lines(s: Scenario) -> list[str]:
    """One line per VMA, like /proc/self/maps: ``start-end`` in hex, then state, role and name."""
    width = max(8, len(f"{s.geometry.task_size - 1:x}"))
    out = []
    for i, v in enumerate(s.vmas):
        state = "populated" if v.populated else "empty"
        out.append(f"{v.start:0{width}x}-{v.end:0{width}x} {state:<9} {_role(s, i):<7} "
                   f"vmas[{i}]{' uffd-wp' if v.uffd_wp else ''}{' ' + v.name if v.name else ''}".rstrip())
    return out


def move_call(s: Scenario) -> str:
    mv = s.move
    text = (f"move_page_tables(old_addr={hex(mv.old_addr)}, new_addr={hex(mv.new_addr)}, "
            f"len={hex(mv.len)}, for_stack={'true' if mv.for_stack else 'false'})")
    if mv.stop_at is not None:
        text += f"  /* allocation fails at old cursor {hex(mv.stop_at)} */"
    return text


def _owners(s: Scenario, runs: list[tuple[int, int]]) -> str:
    names = []
    for lo, hi in runs:
        for i, v in enumerate(s.vmas):
            if v.start < hi and lo < v.end:
                names.append(f"vmas[{i}]{' ' + v.name if v.name else ''} [{hex(max(lo, v.start))}, "
                             f"{hex(min(hi, v.end))})")
    return ", ".join(names)


def evaluation_lines(s: Scenario, ev: Evaluation) -> list[str]:
    mv = s.move
    if ev.realigned:
        head = (f"realigns to {ev.level.upper()}: old {hex(mv.old_addr)} -> {hex(ev.old_addr)}, "
                f"new {hex(mv.new_addr)} -> {hex(ev.new_addr)}")
    elif ev.returned_early:
        head = f"returns before its loop ({ev.returned_early})"
    else:
        head = "does not realign"
    counts: dict[str, int] = {}
    for m in ev.moves:
        counts[m.level] = counts.get(m.level, 0) + 1
    moved = ", ".join(f"{n} {lvl}" for lvl, n in counts.items()) or "no"
    ret = f"returns {hex(ev.returned)}" + (f" (loop broke at {hex(ev.cursor)})" if ev.broke else "")
    bad = ev.violated()
    tail = "all properties hold" if not bad else f"violates {', '.join(bad)}"
    pad = " " * 8
    out = [f"{ev.variant:<7} {head}; {moved} moves; {ret}; {tail}"]
    if ev.realigned:
        out.append(f"{pad}S = [{hex(ev.old_addr)}, {hex(mv.old_addr)}): "
                   + (f"sweeps entries of {_owners(s, ev.source_hits)}" if ev.source_hits else "no entries"))
        out.append(f"{pad}D = [{hex(ev.new_addr)}, {hex(mv.new_addr)}): "
                   + (f"overwrites entries of {_owners(s, ev.dest_hits)}" if ev.dest_hits else "no entries"))
    u = ev.undo
    if u is not None:
        back = (f"undo: move_page_tables({hex(mv.new_addr)} -> {hex(mv.old_addr)}, len={hex(u.len)}) "
                "with the VMAs swapped: ")
        if u.result is None:
            back += "returns at once"
        else:
            how = (f"realigns to {hex(u.old_addr)} -> {hex(u.new_addr)}" if u.realigned else "does not realign")
            levels: dict[str, int] = {}
            for m in u.result.moves:
                levels[m.level] = levels.get(m.level, 0) + 1
            back += f"{how}; {', '.join(f'{n} {lvl}' for lvl, n in levels.items()) or 'no'} moves"
            if u.result.warnings:
                back += f"; {len(u.result.warnings)} refused with a WARN"
        out.append(f"{pad}{back}")
    for pid in bad:
        out.append(f"{pad}{pid}: {ev.details[pid]}")
    return out


def eval_report(s: Scenario, evs: list[Evaluation]) -> str:
    lines = [f"geometry {s.geometry.name}: PAGE {hex(s.geometry.page_size)}, PMD {hex(s.geometry.pmd_size)}, "
             f"PUD {hex(s.geometry.pud_size)}, {s.geometry.word_bits}-bit unsigned long"]
    lines += maps_lines(s)
    lines.append(move_call(s))
    lines.append("")
    for ev in evs:
        lines += evaluation_lines(s, ev)
    return "\n".join(lines) + "\n"


def check_lines(r: "CheckResult") -> list[str]:
    bound = r.bound() if r.verdict == "holds" else f"up to {r.vmas_bound} VMAs"
    head = f"{r.variant} {r.property} on {r.geometry} ({r.level.upper()} realignment): {r.verdict.upper()}"
    out = [head, f"  bound: {bound}, any move length; {r.seconds:.2f}s"]
    if r.reachable_only:
        out.append("  states: those user space can bring the kernel to (--all-states: every state)")
    if r.vacuous:
        out.append("  vacuous: the realignment branch is unreachable, so this verdict says nothing about it")
    if r.crosscheck:
        out.append(f"  C: {r.crosscheck}")
    if r.reason:
        out.append(f"  {'why unknown' if r.verdict == 'unknown' else 'note'}: {r.reason}")
    if r.counterexample is not None and r.replay is not None:
        out.append("  counterexample (replayed by the simulator):")
        out += ["    " + line for line in eval_report(r.counterexample, [r.replay]).splitlines()]
    if r.reachability is not None:
        if r.reachability.reachable:
            out.append("  reachable from user space (the system-call simulator confirms):")
            out += ["    " + line for line in r.reachability.lines()]
        else:
            out.append(f"  not reachable from user space: {r.reachability.reason}")
    for kind, path in r.files.items():
        out.append(f"  {kind}: {path}")
    return out


_MARK = {"holds": "holds", "violated": "VIOLATED", "unknown": "unknown"}


def expected_verdict(r: "CheckResult") -> str | None:
    """The verdict properties/variants.toml states for a built-in variant without --reachable."""
    from modelcheck.model.geometry import get_geometry
    from modelcheck.model.variants import VARIANTS
    v = VARIANTS.get(r.variant)
    return v.expected_verdict(r.property, get_geometry(r.geometry), r.level) if v else None


def _cell(r: "CheckResult") -> str:
    """A verdict as a table cell: its mark, * vacuous, ≤N bounded, † unreachable, ‡ reachable only."""
    cell = _MARK[r.verdict] + ("*" if r.vacuous else "")
    if r.verdict == "holds" and not r.unbounded:
        cell += f"≤{r.vmas_bound}"
    if r.reachability is not None and not r.reachability.reachable:
        cell += "†"
    if r.reachable_only and r.verdict == "holds" and expected_verdict(r) == "violated":
        cell += "‡"
    return cell


def _legend(results: list["CheckResult"]) -> list[str]:
    lines = ["* vacuous: the variant never realigns.  missed-optimization VIOLATED: the variant declines "
             "some realignment that is safe."]
    if any(r.verdict == "holds" and not r.unbounded for r in results):
        lines.append("holds≤N: proved for up to N VMAs only, not for any number ('modelcheck check' says why).")
    if any(r.reachability is not None and not r.reachability.reachable for r in results):
        lines.append("† the counterexample is not a state user space can reach (--reachable counts only those).")
    if any(r.reachable_only for r in results):
        lines.append("Only states user space can reach were searched (--reachable); ‡ the variant is violated "
                     "only by states user space cannot reach.")
    return lines


def matrix_table(results: list["CheckResult"], variants: list[str], properties: list[str],
                 geometries: list[str]) -> str:
    by = {(r.geometry, r.variant, r.property): r for r in results}
    width = max(len(p) for p in properties) + 2
    name = max([8] + [len(v) for v in variants])
    lines = []
    for g in geometries:
        lines.append(f"{g}:")
        lines.append(f"  {'variant':<{name}}" + "".join(f"{p:>{width}}" for p in properties))
        for v in variants:
            lines.append(f"  {v:<{name}}" + "".join(f"{_cell(by[(g, v, p)]):>{width}}" for p in properties))
        lines.append("")
    return "\n".join(lines + _legend(results))


def history_table(results: list["CheckResult"], rows: list[tuple[str, str]], properties: list[str]) -> str:
    """One table: a row per (version, geometry), a column per property."""
    by = {(r.variant, r.geometry, r.property): r for r in results}
    width = max(len(p) for p in properties) + 2
    labels = [v if len({g for _, g in rows}) == 1 else f"{v} {g}" for v, g in rows]
    name = max([7] + [len(x) for x in labels])
    geos = list(dict.fromkeys(g for _, g in rows))
    lines = [f"on {', '.join(geos)}:", f"  {'version':<{name}}" + "".join(f"{p:>{width}}" for p in properties)]
    for (v, g), label in zip(rows, labels):
        lines.append(f"  {label:<{name}}" + "".join(f"{_cell(by[(v, g, p)]):>{width}}" for p in properties))
    return "\n".join(lines + [""] + _legend(results))
