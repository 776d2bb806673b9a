"""A counterexample's graph as GraphML (networkx's writer): what ``modelcheck replay`` and
``eval`` read back (modelcheck.output.graph.read_graph_scenario)."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

__all__ = ["write", "SUFFIX"]

SUFFIX = ".graphml"


def write(G: nx.MultiDiGraph, path: Path) -> None:
    nx.write_graphml(G, path)
