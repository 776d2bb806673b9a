"""A counterexample as a picture: an address-line memory map drawn from its graph (matplotlib).

Rows, top to bottom: the VMAs (hatched when populated, the violated overlap in red), the requested
move (source → destination), the realigned move (S → D) and what went wrong (a refused PMD/PUD
move, a difference from the plain move, a wrong return value, a declined safe realignment).  The
address axis is broken where nothing happens: between consecutive addresses of interest the width
grows with the logarithm of the distance, and a distance of more than eight PMDs is drawn as a
break labelled with its size, so that a layout whose parts lie megabytes apart in a terabyte space
stays legible.  Tick labels are the hex addresses of interest.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable SVG
matplotlib.rcParams["svg.hashsalt"] = "modelcheck"  # stable ids

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from modelcheck.model.geometry import get_geometry  # noqa: E402

__all__ = ["draw", "PICTURE_SUFFIXES", "AddressAxis", "human_size"]

#: the files ``draw`` writes
PICTURE_SUFFIXES = (".svg", ".png")

_ROLE_COLOURS = {"source": "#9ecae1", "destination": "#a1d99b", "source+destination": "#bcbddc",
                 "stack": "#dadaeb", "other": "#d9d9d9"}
_BAD = "#d62728"


def human_size(n: int) -> str:
    """A size as the break labels show it, to two significant digits.

    >>> human_size(0x200000), human_size(0x1000), human_size(0x7ffff000), human_size(0x60000000)
    ('2 MiB', '4 KiB', '2 GiB', '1.5 GiB')
    """
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            text = f"{value:.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return f"{n} B"


class AddressAxis:
    """Addresses to x: piecewise linear between the addresses of interest, each gap as wide as
    1.5 + log2(1 + gap / page).  Gaps longer than ``break_at`` are breaks.

    >>> ax = AddressAxis([0x1000, 0x2000, 0x40000000], page=0x1000, break_at=0x1000000)
    >>> ax.x(0x1000), ax.x(0x2000) < ax.x(0x3000) < ax.x(0x40000000), ax.breaks[0][:2]
    (0.0, True, (8192, 1073741824))
    """

    def __init__(self, keys: list[int], page: int, break_at: int) -> None:
        self.keys = sorted(set(keys))
        self.xs = [0.0]
        self.breaks: list[tuple[int, int, float]] = []  # (lo, hi, x of the middle)
        for lo, hi in zip(self.keys, self.keys[1:]):
            width = 1.5 + math.log2(1 + (hi - lo) / page)
            self.xs.append(self.xs[-1] + width)
            if hi - lo > break_at:
                self.breaks.append((lo, hi, self.xs[-1] - width / 2))

    @property
    def width(self) -> float:
        return self.xs[-1]

    def x(self, addr: int) -> float:
        keys, xs = self.keys, self.xs
        if addr <= keys[0]:
            return xs[0]
        for i in range(1, len(keys)):
            if addr <= keys[i]:
                lo, hi = keys[i - 1], keys[i]
                return xs[i - 1] + (xs[i] - xs[i - 1]) * (addr - lo) / (hi - lo)
        return xs[-1]


def _iv(d: dict) -> tuple[int, int]:
    return int(d["start"], 16), int(d["end"], 16)


_ROWS = {"vma": 5.0, "requested-source": 4.0, "requested-destination": 3.4, "S": 2.4, "D": 1.8, "wrong": 0.8}
_H = 0.45  # a bar's height


class _Picture:
    """One counterexample picture: the graph's nodes on an address axis, row by row (VMAs, the
    requested move, the realigned move, what went wrong), drawn in that order by ``draw``."""

    def __init__(self, G: nx.MultiDiGraph) -> None:
        self.info = G.graph
        self.G = G
        g = get_geometry(self.info["geometry"])
        self.nodes = dict(G.nodes(data=True))
        self.pid = self.info["property"]
        self.bad_edges = [(u, v, e) for u, v, e in G.edges(data=True) if e.get("violation") and e["property"] == self.pid]
        self.bad_nodes = {u for u, _, _ in self.bad_edges}
        drawn = {n for n, d in self.nodes.items()
                 if d["kind"] in ("vma", "requested", "swept", "boundary") or n in self.bad_nodes}
        keys = [a for n in drawn if self.nodes[n]["kind"] != "return" for a in _iv(self.nodes[n])]
        keys += [a for _, _, e in self.bad_edges for a in _iv(e)]
        self.axis = AddressAxis(keys, g.page_size, 8 * g.pmd_size)
        self.X = self.axis.x
        self.fig, self.ax = plt.subplots(figsize=(13, 6.2))
        self.victims: list[str] = []

    def bar(self, lo: int, hi: int, y: float, text: str, colour: str, inside: bool = False, **kw: object) -> None:
        x0, x1 = self.X(lo), self.X(hi)
        self.ax.add_patch(Rectangle((x0, y - _H / 2), max(x1 - x0, 0.15), _H, facecolor=colour, edgecolor="black",
                                    linewidth=0.8, **kw))
        if inside:  # centred above the bar, where no overlay hides it
            self.ax.text((x0 + x1) / 2, y + _H / 2 + 0.03, text, ha="center", va="bottom", fontsize=7.5, zorder=5)
        elif text:
            self.ax.text(min(x0, self.axis.width * 0.75), y + _H / 2 + 0.04, text, ha="left", va="bottom",
                         fontsize=7.5)

    def boundaries(self) -> None:
        """PMD/PUD boundaries of interest, across every row."""
        levels: dict[str, list[str]] = {}
        for d in self.nodes.values():
            if d["kind"] == "boundary":
                levels.setdefault(d["address"], []).append(d["level"])
        for address, lv in levels.items():
            xb = self.X(int(address, 16))
            self.ax.axvline(xb, color="#555555", linestyle="-." if "pud" in lv else "--", linewidth=0.8, zorder=0)
            self.ax.text(xb, 5.75, f"{'/'.join(sorted(set(lv), reverse=True)).upper()}\n{address}", ha="center",
                         va="bottom", fontsize=7, color="#333333")

    def vmas(self) -> None:
        """The VMAs, and the overlap each violation hit."""
        for d in self.nodes.values():
            if d["kind"] != "vma":
                continue
            lo, hi = _iv(d)
            state = "populated" if d["populated"] else "empty"
            self.bar(lo, hi, _ROWS["vma"], f"{d['label']}  {d['role']}, {state}\n[{d['start']}, {d['end']})",
                     _ROLE_COLOURS[d["role"]], inside=True, hatch="///" if d["populated"] else None)
        for u, v, e in self.bad_edges:
            lo, hi = _iv(e)
            self.ax.add_patch(Rectangle((self.X(lo), _ROWS["vma"] - _H / 2), max(self.X(hi) - self.X(lo), 0.15), _H,
                                        facecolor=_BAD, alpha=0.55, edgecolor=_BAD, linewidth=1.5))
            self.victims.append(f"{e['property']}: {self.nodes[v]['label']} [{e['start']}, {e['end']})  "
                                f"← {self.nodes[u]['label']}")

    def moves(self) -> None:
        """The requested move and the realigned one."""
        nodes = self.nodes
        for n in ("requested-source", "requested-destination"):
            lo, hi = _iv(nodes[n])
            self.bar(lo, hi, _ROWS[n], f"{nodes[n]['label']} [{nodes[n]['start']}, {nodes[n]['end']})", "white")
        _arrow(self.ax, self.X, nodes["requested-source"], nodes["requested-destination"],
               _ROWS["requested-source"] - _H / 2, _ROWS["requested-destination"] + _H / 2, "black")
        for n in ("S", "D"):
            if n in nodes:
                lo, hi = _iv(nodes[n])
                self.bar(lo, hi, _ROWS[n], f"{n} [{nodes[n]['start']}, {nodes[n]['end']})",
                         _BAD if n in self.bad_nodes else "#fdae6b")
        if "S" in nodes:
            _arrow(self.ax, self.X, nodes["S"], nodes["D"], _ROWS["S"] - _H / 2, _ROWS["D"] + _H / 2, _BAD)
        else:
            self.ax.text(self.axis.width / 2, (_ROWS["S"] + _ROWS["D"]) / 2, f"{self.info['variant']} does not realign",
                         ha="center", va="center", fontsize=9, style="italic")

    def went_wrong(self) -> None:
        """What went wrong beyond S and D: the first node of each kind (the title lists every victim)."""
        shown = set()
        for n, d in self.nodes.items():
            if n not in self.bad_nodes or d["kind"] in shown:
                continue
            shown.add(d["kind"])
            if d["kind"] in ("refused-move", "difference", "missed"):
                lo, hi = _iv(d)
                self.bar(lo, hi, _ROWS["wrong"], d["label"], "#fcbba1" if d["kind"] != "missed" else "#c7e9c0")
            elif d["kind"] in ("return", "fault"):  # not at an address: the value, the WARN or NULL dereference
                text = f"returns {d['returned']}" if d["kind"] == "return" else d["label"]
                self.ax.text(self.axis.width / 2, _ROWS["wrong"] - 0.1, text, ha="center", va="center",
                             fontsize=9, color=_BAD, fontweight="bold")

    def frame(self) -> None:
        """Axis breaks, ticks, row names, the title with the call and the victims, the margins."""
        ax, info = self.ax, self.info
        for lo, hi, xm in self.axis.breaks:
            for y in (0.25, _ROWS["vma"]):
                ax.text(xm, y, "≈", ha="center", va="center", fontsize=14, color="#777777")
            ax.text(xm, 0.05, human_size(hi - lo), ha="center", va="center", fontsize=7, color="#777777")
        ax.set_xlim(-0.5, self.axis.width + 0.5)
        ax.set_ylim(-0.1, 6.5)
        ax.set_yticks([_ROWS["vma"], (_ROWS["requested-source"] + _ROWS["requested-destination"]) / 2,
                       (_ROWS["S"] + _ROWS["D"]) / 2, _ROWS["wrong"]])
        ax.set_yticklabels(["VMAs", "requested\nmove", "realigned\nmove", "went wrong"], fontsize=9)
        ax.set_xticks([self.X(k) for k in self.axis.keys])
        ax.set_xticklabels([hex(k) for k in self.axis.keys], rotation=60, ha="right", fontsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        verb = "violates" if info.get("verdict") == "violated" else "does not violate"
        title = f"{info['variant']} {verb} {info['property']} on {info['geometry']} ({info['level'].upper()} realignment)"
        others = [p for p in (info.get("violated") or "").split() if p != self.pid]
        sub = [info["call"]] + textwrap.wrap(info.get("details") or "", 150) + self.victims[:3]
        if others:
            sub.append("also violated on this layout: " + ", ".join(others))
        if info.get("reachable") is False:  # (a gallery entry's graph says; a bare graph says nothing)
            sub += textwrap.wrap("NOT REACHABLE FROM USER SPACE: " + (info.get("unreachable") or ""), 150)[:2]
        ax.set_title(title + "\n" + "\n".join(sub), fontsize=8.5, loc="left")
        # fixed margins (in inches: the title's lines, the rotated hex ticks, the row names); what
        # tight_layout() would find, without the extra rendering pass it needs
        width, height = self.fig.get_size_inches()
        lines = 1 + len(sub)
        self.fig.subplots_adjust(left=1.0 / width, right=1 - 0.15 / width, bottom=0.95 / height,
                                 top=1 - (0.2 + 0.15 * lines) / height)


def draw(G: nx.MultiDiGraph, stem: Path) -> list[Path]:
    """Render ``G`` (from ``counterexample_graph``) to ``STEM.svg`` and ``STEM.png``."""
    p = _Picture(G)
    p.boundaries()
    p.vmas()
    p.moves()
    p.went_wrong()
    p.frame()
    paths = [stem.with_name(stem.name + suffix) for suffix in PICTURE_SUFFIXES]
    p.fig.savefig(paths[0], metadata={"Date": None, "Creator": "modelcheck"})
    p.fig.savefig(paths[1], dpi=90, metadata={"Software": "modelcheck"})
    plt.close(p.fig)
    return paths


def _arrow(ax, X, src: dict, dst: dict, y0: float, y1: float, colour: str) -> None:
    a, b = int(src["start"], 16), int(dst["start"], 16)
    ax.add_patch(FancyArrowPatch((X(a), y0), (X(b), y1), arrowstyle="-|>", mutation_scale=12, color=colour,
                                 linewidth=1.2, connectionstyle="arc3,rad=0.0"))
