"""Counterexample files (scenario, graph, picture) and the committed gallery that ``modelcheck gallery`` rebuilds.

An entry is ``GEOMETRY/VARIANT/PROPERTY`` (``PROPERTY.pud`` for PUD realignment) with the suffixes
``.json`` (the scenario, with its claim, for ``eval``/``replay``), ``.graphml``, ``.graph.json``,
``.dot``, ``.svg``/``.png``, ``.recipe.txt`` (the system calls that reach it, or why none do) and,
for a reachable mremap, ``.repro.c`` (modelcheck.userspace.reproduce).  The gallery is every violated check of the built-in variants on
the default geometries, plus a README.md table linking each picture with a line in kernel terms.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from modelcheck.files import staged_dir
from modelcheck.output.graph import GRAPH_SUFFIXES, counterexample_graph, write_graph
from modelcheck.userspace.recipe import find_recipe
from modelcheck.userspace.reproduce import reproducer_for
from modelcheck.output.report import move_call
from modelcheck.model.scenario import Claim, Scenario
from modelcheck.checks import MISSED
from modelcheck.model.semantics import evaluate
from modelcheck.model.variants import get_variant

if TYPE_CHECKING:
    from modelcheck.solver.search import CheckResult

__all__ = ["entry_stem", "entry_graph", "write_entry", "gallery_readme", "with_claim", "ENTRY_SUFFIXES", "KEEP"]

#: files in the gallery directory that `modelcheck gallery` keeps as they are
KEEP = ("KERNEL.md",)

#: every file of an entry, after its stem (and ``.repro.c`` when an mremap recipe reaches it)
ENTRY_SUFFIXES = (".json", *GRAPH_SUFFIXES, ".svg", ".png", ".recipe.txt")


def entry_stem(out: Path, r: "CheckResult") -> Path:
    suffix = "" if r.level == "pmd" else f".{r.level}"
    return out / r.geometry / r.variant / f"{r.property}{suffix}"


def with_claim(r: "CheckResult") -> Scenario:
    assert r.counterexample is not None
    return replace(r.counterexample, claim=Claim(r.variant, r.property, r.level, r.source))


def entry_graph(r: "CheckResult") -> nx.MultiDiGraph:
    """The graph of a violated check, from the replay the checker already ran, with whether user
    space can reach it (``reachable``, and ``recipe`` or ``unreachable``)."""
    s = with_claim(r)
    assert r.replay is not None  # check() replays every counterexample it reports
    alt = evaluate(s, get_variant("always"), r.level) if r.property == MISSED else None
    G = counterexample_graph(s, r.replay, r.property, alt)
    reach = r.reachability or find_recipe(s)
    G.graph["reachable"] = reach.reachable
    G.graph["recipe" if reach.reachable else "unreachable"] = "\n".join(reach.lines()) if reach.reachable \
        else reach.reason
    return G


def write_entry(out: Path, r: "CheckResult", pictures: bool = True) -> dict[str, str]:
    """Write a violated check's scenario, graph and pictures under ``out``; sets and returns ``r.files``.

    Each file is written to a temporary name and renamed, so no half-written file is left behind.
    """
    from modelcheck.output.picture import draw  # matplotlib is slow to import; only pictures need it

    s = with_claim(r)
    stem = entry_stem(out, r)
    stem.parent.mkdir(parents=True, exist_ok=True)
    with staged_dir(stem.parent) as (tmp, publish):
        tstem = tmp / stem.name
        tstem.with_name(stem.name + ".json").write_text(s.dumps(), encoding="utf-8")
        G = entry_graph(r)
        written = [tstem.with_name(stem.name + ".json"), *write_graph(G, tstem)]
        reach = r.reachability or find_recipe(s)
        recipe = tstem.with_name(stem.name + ".recipe.txt")
        recipe.write_text("\n".join(reach.lines()) + "\n", encoding="utf-8")
        written.append(recipe)
        if reach.reachable and not s.move.for_stack:
            repro = tstem.with_name(stem.name + ".repro.c")
            repro.write_text(reproducer_for(s, f"{stem.name}.json"), encoding="utf-8")
            written.append(repro)
        if pictures:
            written += draw(G, tstem)
        files = {p.name[len(stem.name) + 1:]: str(publish(p)) for p in written}
    r.files.update({"scenario" if k == "json" else k: v for k, v in files.items()})
    return r.files


def _explain(r: "CheckResult") -> str:
    s = r.counterexample
    assert s is not None and r.replay is not None
    ev = r.replay
    what = ev.details.get(r.property, "")
    if r.property == "missed-optimization":
        what = "declines, although realigning violates nothing"
    how = f"realigns to {hex(ev.old_addr)} -> {hex(ev.new_addr)}" if ev.realigned else "does not realign"
    return f"`{move_call(s)}` {how}: {what}"


def gallery_readme(results: list["CheckResult"], geometries: list[str]) -> str:
    lines = ["# Counterexamples", "",
             "Every violated check of the built-in variants on the default geometries, each replayed by the",
             "concrete simulator.  `modelcheck gallery` regenerates this directory (tests/cli/test_gallery.py fails",
             "when it is out of date).  Per entry `GEOMETRY/VARIANT/PROPERTY`: `.json` is the scenario",
             "(`modelcheck eval`, `modelcheck replay`, `modelcheck show` read it), `.graphml`, `.graph.json`",
             "(networkx node-link) and `.dot` the graph, `.svg` and `.png` the picture, `.recipe.txt` the",
             "system calls that bring the kernel there (confirmed by the system-call simulator) or why none",
             "do, and `.repro.c` a kselftest-style C reproducer (`gcc -static -Wall -Werror`, TAP output).",
             "",
             "Violations of `no-warn` and `missed-optimization` by the merged code are expected: the",
             "checker finds them in states of the exec stack move and of self-merged VMAs.  The",
             "minimal no-warn states are stack moves exec cannot make (see the reachable column);",
             "`modelcheck matrix --reachable` searches only states user space can reach.", ""]
    for g in geometries:
        lines += [f"## {g}", "", "| variant | property | files | reachable | what happens |", "|---|---|---|---|---|"]
        for r in results:
            if r.geometry == g and r.counterexample is not None:
                stem = f"{r.geometry}/{r.variant}/{entry_stem(Path(), r).name}"
                reach = r.reachability or find_recipe(r.counterexample)
                where = f"[recipe]({stem}.recipe.txt)"
                if reach.reachable and not r.counterexample.move.for_stack:
                    where += f" · [C]({stem}.repro.c)"
                says = "yes" if reach.reachable else "no"
                lines.append(f"| {r.variant} | {r.property} | [svg]({stem}.svg) · [png]({stem}.png) · "
                             f"[json]({stem}.json) | {says}: {where} | {_explain(r)} |")
        lines.append("")
    return "\n".join(lines)
