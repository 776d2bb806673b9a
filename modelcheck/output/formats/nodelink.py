"""A counterexample's graph as node-link JSON (networkx's json_graph), keys sorted, for tools
that read JSON rather than GraphML."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

__all__ = ["write", "SUFFIX"]

SUFFIX = ".graph.json"


def write(G: nx.MultiDiGraph, path: Path) -> None:
    path.write_text(json.dumps(nx.node_link_data(G, edges="edges"), indent=1, sort_keys=True) + "\n",
                    encoding="utf-8")
