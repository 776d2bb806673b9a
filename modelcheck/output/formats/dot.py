"""A counterexample's graph as Graphviz DOT (networkx's pydot writer), for `dot -Tsvg`: names
quoted, each node labelled with its addresses, the violating edges red."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

__all__ = ["write", "dot_graph", "SUFFIX"]

SUFFIX = ".dot"


def write(G: nx.MultiDiGraph, path: Path) -> None:
    nx.nx_pydot.write_dot(dot_graph(G), path)


def dot_graph(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """DOT wants quoted names where ours have ':', '@' or '.'; the label shows the readable text."""
    H = nx.MultiDiGraph()
    verb = "violates" if G.graph["verdict"] == "violated" else "does not violate"
    H.graph["graph"] = {"label": f'"{G.graph["variant"]} {verb} {G.graph["property"]} on {G.graph["geometry"]}"',
                        "rankdir": "LR"}
    for n, d in G.nodes(data=True):
        text = d.get("label", n)
        if d.get("start") and d.get("kind") != "return":
            text += f"\\n[{d['start']}, {d['end']})" if d["start"] != d["end"] else f"\\n{d['start']}"
        H.add_node(f'"{n}"', label=f'"{text}"', kind=f'"{d["kind"]}"',
                   shape="box" if d["kind"] == "vma" else "ellipse",
                   color="red" if d["kind"] in ("refused-move", "return", "difference", "missed") else "black")
    for u, v, k, d in G.edges(keys=True, data=True):
        attrs = {"kind": f'"{d["kind"]}"'}
        if d.get("violation"):
            attrs.update(color="red", label=f'"{d["property"]} [{d["start"]}, {d["end"]})"')
        elif d["kind"] == "within":
            attrs.update(style="dotted")
        H.add_edge(f'"{u}"', f'"{v}"', key=k, **attrs)
    return H
