"""A counterexample as a graph (networkx): the layout, the move, the swept ranges and each violation.

Nodes (every one has ``kind``; addresses are "0x…" strings, as everywhere in the project):

* ``vma<i>``: kind ``vma`` — start, end, populated, role (source, destination, source+destination,
  stack, other), name;
* ``requested-source`` / ``requested-destination``: kind ``requested`` — the range the caller asked to
  move, [old_addr, old_addr + len), and where to, [new_addr, new_addr + len);
* ``S`` / ``D``: kind ``swept`` — what realignment adds: [old_addr & mask, old_addr) and
  [new_addr & mask, new_addr);
* ``pmd@0x…`` / ``pud@0x…``: kind ``boundary`` — the boundaries realignment goes down to, and those
  of a refused PMD/PUD move;
* for the violations that are not a range: ``refused<i>`` (kind ``refused-move``: a PMD/PUD move
  refused because the destination entry is populated — the WARN), ``returned`` (kind ``return``),
  ``difference<i>`` (kind ``difference``: where the result differs from the plain move),
  ``missed`` (kind ``missed``: the realignment the variant declined although it is safe),
  ``warn<i>`` / ``oops<i>`` (kind ``fault``: a WARN_ON_ONCE() that fires or a NULL VMA pointer
  dereferenced in the decision; ``where`` is FILE:LINE:COL of the C, or the built-in's function).

Edges (each has ``kind``): ``next`` between VMAs in address order; ``within`` from a range or boundary
to the VMA holding it; ``move`` from the requested source to the destination and from S to D;
``violation`` (with ``violation=true``, ``property``, and the overlapping ``start``/``end``) from
what went wrong to the VMA it hit.  The graph's own attributes name the variant, property,
geometry and level, and carry the scenario as JSON so that ``modelcheck replay`` reads a GraphML
file back into the exact scenario.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, NamedTuple

import networkx as nx

from modelcheck.errors import InputError
from modelcheck.output.formats import dot, graphml, nodelink
from modelcheck.output.report import move_call
from modelcheck.model.scenario import Scenario, loads_json, scenario_from_json
from modelcheck.checks import MISSED, REGISTRY
from modelcheck.checks.missed_optimization import missed as _missed
from modelcheck.model.semantics import Evaluation

__all__ = ["counterexample_graph", "write_graph", "read_graph_scenario", "GRAPH_SUFFIXES"]

#: the files ``write_graph`` writes next to a counterexample's scenario
GRAPH_SUFFIXES = (graphml.SUFFIX, nodelink.SUFFIX, dot.SUFFIX)


def _vma_label(s: Scenario, i: int) -> str:
    v = s.vmas[i]
    return f"vmas[{i}]{' ' + v.name if v.name else ''}"


def _overlaps(s: Scenario, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """(VMA index, start, end) of each VMA overlapping [lo, hi), with the overlap."""
    return [(i, max(lo, v.start), min(hi, v.end)) for i, v in enumerate(s.vmas) if v.start < hi and lo < v.end]


def _containing(s: Scenario, addr: int) -> int | None:
    return next((i for i, v in enumerate(s.vmas) if v.start <= addr < v.end), None)


class _Draw(NamedTuple):
    """What a property's ``annotate`` draws with: a node, a node for an address range (tied to
    the VMA it lies in), a violation edge from a node to every VMA the range overlaps."""

    node: Callable[..., None]
    range: Callable[..., None]
    violation: Callable[..., None]


def counterexample_graph(s: Scenario, ev: Evaluation, pid: str, alt: Evaluation | None = None) -> nx.MultiDiGraph:
    """The graph of ``s`` as ``ev`` (the variant's evaluation) moves it, with a violation edge for
    ``pid`` and for every other property the evaluation violates.  ``alt`` is the 'always'
    baseline's evaluation, needed for missed-optimization."""
    g, mv = s.geometry, s.move
    missed = pid == MISSED and _missed(ev, alt)
    violated_all = ev.violated() + ([MISSED] if missed else [])
    G = nx.MultiDiGraph(variant=ev.variant, property=pid, geometry=g.name, level=ev.level,
                        verdict="violated" if pid in violated_all else "holds",
                        call=move_call(s), scenario=json.dumps(s.to_json(), separators=(",", ":")),
                        realigned=ev.realigned, violated=" ".join(violated_all),
                        details=ev.details.get(pid, ""))

    def rng(node: str, kind: str, lo: int, hi: int, label: str, **more: object) -> None:
        G.add_node(node, kind=kind, start=hex(lo), end=hex(hi), size=hex(hi - lo), label=label, **more)
        home = _containing(s, lo) if hi > lo else None
        if home is not None and kind != "vma":
            G.add_edge(node, f"vma{home}", key="within", kind="within")

    def violation(node: str, prop: str, lo: int, hi: int, why: str) -> None:
        hits = _overlaps(s, lo, hi) or ([(mv.old_vma, lo, hi)] if REGISTRY[prop].of_the_call else [])
        for i, a, b in hits:
            G.add_edge(node, f"vma{i}", key=f"violation:{prop}", kind="violation", violation=True, property=prop,
                       start=hex(a), end=hex(b), label=f"{prop}: {why}")

    for i, v in enumerate(s.vmas):
        G.add_node(f"vma{i}", kind="vma", start=hex(v.start), end=hex(v.end), size=hex(v.end - v.start),
                   populated=v.populated, role=s.role(i), name=v.name, label=_vma_label(s, i))
        if i:
            G.add_edge(f"vma{i - 1}", f"vma{i}", key="next", kind="next")
    rng("requested-source", "requested", mv.old_addr, mv.old_end, "requested source")
    rng("requested-destination", "requested", mv.new_addr, mv.new_end, "requested destination")
    G.add_edge("requested-source", "requested-destination", key="move", kind="move", len=hex(mv.len))
    size = g.level_size(ev.level)
    for addr in sorted({mv.old_addr - mv.old_addr % size, mv.new_addr - mv.new_addr % size}):
        rng(f"{ev.level}@{hex(addr)}", "boundary", addr, addr, f"{ev.level.upper()} boundary", level=ev.level,
            address=hex(addr))
    if ev.realigned:
        rng("S", "swept", ev.old_addr, mv.old_addr, "S (swept source)")
        rng("D", "swept", ev.new_addr, mv.new_addr, "D (swept destination)")
        G.add_edge("S", "D", key="move", kind="move", len=hex(mv.old_addr - ev.old_addr))

    # each violated property draws its own part: those in memory first, then those about the call
    draw = _Draw(G.add_node, rng, violation)
    violated = set(ev.violated())
    for prop in sorted(REGISTRY.values(), key=lambda p: p.of_the_call):
        if prop.id in violated:
            prop.annotate(draw, ev, s)  # type: ignore[misc]
        elif prop.id == MISSED and missed:
            prop.annotate(draw, ev, s, alt)  # type: ignore[misc]
    return G


def write_graph(G: nx.MultiDiGraph, stem: Path) -> list[Path]:
    """GraphML, node-link JSON and DOT next to each other: ``STEM.graphml``, ``STEM.graph.json``,
    ``STEM.dot`` (modelcheck.output.formats: graphml, nodelink, dot)."""
    paths = []
    for fmt in (graphml, nodelink, dot):
        paths.append(stem.with_name(stem.name + fmt.SUFFIX))
        fmt.write(G, paths[-1])
    return paths


def read_graph_scenario(path: str) -> tuple[Scenario, dict]:
    """The scenario a GraphML counterexample carries, and the graph's attributes (the claim's
    ``variant``, ``property`` and ``level`` checked to be strings).  Anything else than such a
    file is an InputError naming the file and the attribute."""
    try:
        G = nx.read_graphml(path)
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    except (ValueError, SyntaxError, LookupError, nx.NetworkXError, TypeError, AttributeError) as e:
        # ElementTree's ParseError is a SyntaxError, an unknown encoding a LookupError (as is a
        # KeyError); networkx raises NetworkXError for a file without a graph, and
        # KeyError/TypeError for undeclared or mistyped keys
        raise InputError(path, f"not a GraphML file of a counterexample ({type(e).__name__}: "
                               f"{' '.join(str(e).split())[:200]})") from None
    text = G.graph.get("scenario")
    if not isinstance(text, str):
        raise InputError(f"{path}: scenario", "the graph carries no scenario attribute")
    for key in ("variant", "property", "level"):
        if key in G.graph and not isinstance(G.graph[key], str):
            raise InputError(f"{path}: {key}", "expected a string attribute")
    data = loads_json(text, f"{path}: scenario")
    try:
        return scenario_from_json(data), dict(G.graph)
    except InputError as e:
        raise InputError(f"{path}: scenario.{e.where}" if e.where else f"{path}: scenario", e.message) from None
