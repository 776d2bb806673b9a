"""A concrete, sparse model of page tables and of move_page_tables()'s loop (mm/mremap.c).

It is independent of the variants: it takes the cursors a decision produced and runs the loop.

What is modelled (the loop of move_page_tables() in mm/mremap.c, v6.6 .. v6.15):

* entries: which pages have a PTE, and whose page it is (the address it was mapped at before the
  move), as intervals, so a terabyte VMA costs no more than a page;
* PTE tables (PMD entries that are not none) per PMD slot, PMD tables (PUD entries that are not
  none) per PUD slot; folded levels behave as the kernel's folded levels do: with two levels the
  PUD stage sees the PMD entry, alloc_new_pmd() allocates nothing and move_normal_pud() is absent;
* get_extent() in the geometry's word arithmetic; get_old_pud()/get_old_pmd() returning NULL
  (``continue``); alloc_new_pud()/alloc_new_pmd()/pte_alloc(); move_normal_pud() and
  move_normal_pmd() with their WARN_ON_ONCE refusal when the destination entry is not none
  (falling back to the next level); move_ptes(), which overwrites whatever the destination holds;
* page tables are never freed during the move (move_ptes() leaves an empty table behind);
* ``stop_at``: the first page-table allocation made with the old-side cursor at ``stop_at``
  fails and the loop breaks.

* ``tables``/``refuse_late``: whether move_normal_pud()/move_normal_pmd() refuse a table move
  for userfaultfd-wp without EVENT_REMAP before or after their WARN_ON_ONCE() (772e5b4a5e83 and
  0cef0bb836e3): then the slot moves by move_ptes().

Deliberately left out: hugetlb (move_hugetlb_page_tables()), THP and devmap leaf entries (every
entry is a PTE), swap PMDs, userfaultfd beyond that refusal (uffd-wp bits, events), the
retract_page_tables() race, rmap locks, TLB flushing, and architectures whose
arch_supports_page_table_move() is a runtime check.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Iterable

import portion as P

from modelcheck.errors import InputError
from modelcheck.model.geometry import Geometry
from modelcheck.model.scenario import Scenario

__all__ = ["PageTables", "SimResult", "LevelMove", "initial_tables", "move_window", "simulate", "entry_items", "entries_differ",
           "MAX_STEPS", "TooLong", "loop_steps", "check_steps"]

#: the most loop iterations the simulator runs; a longer move is refused, not run for hours
MAX_STEPS = 1 << 20


def _span(a: int, b: int) -> P.Interval:
    return P.closedopen(a, b)


def _atoms(iv: P.Interval):
    for atom in iv:
        if not atom.empty:
            yield atom.lower, atom.upper


def _union(spans: Iterable[P.Interval]) -> P.Interval:
    """The union of many intervals, merged once (``|=`` in a loop re-merges every time: quadratic)."""
    return P.Interval(*spans)


def _shift(iv: P.Interval, delta: int) -> P.Interval:
    return _union(_span(lo + delta, hi + delta) for lo, hi in _atoms(iv))


def _slots(iv: P.Interval, size: int) -> P.Interval:
    """The union of the size-aligned slots that ``iv`` touches."""
    return _union(_span(lo - lo % size, -(-hi // size) * size) for lo, hi in _atoms(iv))


def entry_items(entries: P.IntervalDict) -> list[tuple[int, int, int]]:
    """A canonical list of (start, end, origin_of_start) runs, for comparison and display."""
    out = []
    for iv, delta in entries.items():
        for lo, hi in _atoms(iv):
            out.append((lo, hi, lo + delta))
    return sorted(out)


def entries_differ(a: P.IntervalDict, b: P.IntervalDict) -> P.Interval:
    """The addresses at which ``a`` and ``b`` hold different entries (or only one holds one)."""
    out = []
    for x, y in ((a, b), (b, a)):
        for iv, v in x.items():
            out.append(iv - _union(iv2 for iv2, v2 in y[iv].items() if v2 == v))
    return _union(out)


@dataclass
class PageTables:
    """Sparse page tables: ``entries`` maps an address run to (origin - address)."""

    entries: P.IntervalDict
    pte_tables: P.Interval  # union of PMD slots whose PMD entry is not none
    pmd_tables: P.Interval  # union of PUD slots whose PUD entry is not none

    def copy(self) -> "PageTables":
        return PageTables(self.entries.copy(), self.pte_tables, self.pmd_tables)


@dataclass(frozen=True)
class LevelMove:
    level: str  # "pud" | "pmd" | "pte"
    old: int
    new: int
    size: int

    def to_json(self) -> dict:
        return {"level": self.level, "old": hex(self.old), "new": hex(self.new), "size": hex(self.size)}


@dataclass
class SimResult:
    tables: PageTables
    cursor: int  # old-side cursor when the loop ended
    new_cursor: int
    broke: bool  # the loop broke on an allocation failure
    moves: list[LevelMove] = field(default_factory=list)
    warnings: list[LevelMove] = field(default_factory=list)  # refused PMD/PUD moves (WARN_ON_ONCE)
    overwritten: list[tuple[int, int]] = field(default_factory=list)  # live entries move_ptes() replaced
    alloc_points: list[int] = field(default_factory=list)  # cursors at which an allocation was made


def move_window(s: Scenario, starts: Iterable[tuple[int, int]]) -> P.Interval:
    """The addresses that moves of ``s`` from the cursors ``starts`` (old, new) to the end can
    read or change, or whose entries the properties ask about: for each, the source range
    [old, old_end), the destination range as long, and S = [old, old_addr), D = [new, new_addr).
    The loop reads and writes entries only there (a PMD or PUD move takes a whole slot only
    when the slot lies inside the range), so entries elsewhere are the same before and after
    every such move."""
    mv = s.move
    spans = [_span(mv.old_addr, mv.old_end), _span(mv.new_addr, mv.new_end)]
    for old, new in starts:
        spans += [_span(old, mv.old_end), _span(new, new + max(0, mv.old_end - old)),
                  _span(old, mv.old_addr), _span(new, mv.new_addr)]
    return _union(x for x in spans if not x.empty)


def initial_tables(s: Scenario, window: P.Interval | None = None) -> PageTables:
    """Entries and tables at the call: every page of a populated VMA has an entry, except the
    destination range of an mremap (do_munmap() cleared it) and a stack VMA's expansion below
    old_addr (vma_expand() added no entries).

    With ``window`` (``move_window()``), only the entries inside it are kept, and the tables of
    the PUD slots it meets (whose presence still counts every entry of the slot): what a move
    from the window's cursors can see, at a cost that grows with the VMAs near the move, not
    with all of them (they are found by bisection)."""
    g, mv = s.geometry, s.move

    def runs(indexes: Iterable[int]) -> list[tuple[int, int]]:
        """The populated pages of these VMAs as sorted (lo, hi) pairs.  Plain integers: with tens
        of thousands of VMAs near the move, an interval object per VMA is most of eval's time."""
        out = []
        for i in indexes:
            v = s.vmas[i]
            if v.populated:
                lo = mv.old_addr if mv.for_stack and i == mv.old_vma else v.start
                if mv.for_stack or v.end <= mv.new_addr or lo >= mv.new_end:
                    out.append((lo, v.end))
                else:  # less the destination range
                    out += [x for x in ((lo, mv.new_addr), (mv.new_end, v.end)) if x[0] < x[1]]
        return out

    if window is None:
        pairs = runs(range(len(s.vmas)))
        covered = _union(_span(lo, hi) for lo, hi in pairs)
        pte_tables, pmd_tables = _slot_pairs(pairs, g.pmd_size), _slot_pairs(pairs, g.pud_size)
    else:
        reach = _slots(window, g.pud_size)
        pairs = runs(_meeting(s, reach))
        covered = _union(_span(max(lo, a), min(hi, b)) for a, b in _atoms(window)
                         for lo, hi in _overlapping(pairs, a, b))
        pte_tables, pmd_tables = _slot_pairs(pairs, g.pmd_size) & reach, _slot_pairs(pairs, g.pud_size) & reach
    entries = P.IntervalDict()
    if not covered.empty:
        entries[covered] = 0
    return PageTables(entries, pte_tables, pmd_tables)


def _slot_pairs(pairs: list[tuple[int, int]], size: int) -> P.Interval:
    """``_slots`` of sorted (lo, hi) pairs: the size-aligned slots they touch, merged as
    integers before one interval is made of them."""
    merged: list[list[int]] = []
    for lo, hi in pairs:
        a, b = lo - lo % size, -(-hi // size) * size
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return _union(_span(a, b) for a, b in merged)


def _overlapping(pairs: list[tuple[int, int]], a: int, b: int) -> list[tuple[int, int]]:
    """The sorted, disjoint (lo, hi) pairs that meet [a, b), found by bisection."""
    i = bisect.bisect_right(pairs, (a, a)) - 1
    i = max(i, 0)
    out = []
    while i < len(pairs) and pairs[i][0] < b:
        if pairs[i][1] > a:
            out.append(pairs[i])
        i += 1
    return out


def _meeting(s: Scenario, iv: P.Interval) -> list[int]:
    """The indexes of the VMAs that meet ``iv``, found by bisection (the VMAs are sorted and
    disjoint)."""
    out: list[int] = []
    for lo, hi in _atoms(iv):
        i = max(bisect.bisect_right(s.ends, lo), out[-1] + 1 if out else 0)
        while i < len(s.vmas) and s.vmas[i].start < hi:
            out.append(i)
            i += 1
    return out


def _get_extent(g: Geometry, size: int, old: int, old_end: int, new: int) -> int:
    wm = g.word_mask
    mask = ~(size - 1) & wm
    extent = (((old + size) & mask) - old) & wm  # even if next overflowed, extent is ok
    extent = min(extent, old_end - old)
    return min(extent, (((new + size) & mask) - new) & wm)


class TooLong(InputError):
    """A move too long for the simulator (a bad input for ``eval``; an unknown for the checker)."""


def loop_steps(g: Geometry, old: int, old_end: int) -> int:
    """An upper bound on the loop's iterations from ``old`` to ``old_end``: an iteration advances to
    the next PMD boundary of the old or of the new cursor, so at most two per PMD slot."""
    return 2 * (-(-max(0, old_end - old) // g.pmd_size)) + 2


def check_steps(g: Geometry, old: int, old_end: int) -> None:
    steps = loop_steps(g, old, old_end)
    if steps > MAX_STEPS:
        raise TooLong("move.len", f"{hex(old_end - old)} bytes are up to {steps} iterations of the move loop; "
                                     f"the simulator runs at most {MAX_STEPS}")


def _run_end(iv: P.Interval, x: int) -> int:
    """The end of the run of ``iv`` that starts at or covers ``x`` (``x`` itself if ``x`` is not in ``iv``)."""
    for lo, hi in _atoms(iv):
        if lo <= x < hi:
            return hi
    return x


def _next_start(iv: P.Interval, x: int) -> int | None:
    """The lowest address at or above ``x`` in ``iv`` (None if there is none)."""
    for lo, hi in _atoms(iv):
        if hi > x:
            return max(lo, x)
    return None


def _pmd_run(g: Geometry, t: PageTables, old: int, new: int, old_end: int, stop_at: int | None) -> int:
    """How many of the iterations right after a PMD-level move at (old - PMD_SIZE, new - PMD_SIZE)
    are PMD-level moves whose outcome does not depend on their order, so they can be made at once.

    Iteration i moves the slot old + i*PMD_SIZE to new + i*PMD_SIZE.  Taken together they are the
    same as one by one when: each is a whole PMD (old_end far enough), old stays in its PUD slot and
    new in its (so the PUD stage sees the same present PUD entry, makes no PUD move, and
    alloc_new_pmd() populates the same PUD entry), no cursor equals stop_at (no allocation
    failure), every source slot has a PTE table and no destination slot has one (no WARN).  The
    last two also keep sources and destinations apart, so no iteration sees another's result: a
    destination slot that is also a later source slot has a table, and a source slot that is also
    an earlier destination slot was a destination without one.
    """
    pmd, pud = g.pmd_size, g.pud_size
    if pmd == pud:
        return 0
    prev_old, prev_new = old - pmd, new - pmd  # the move just made: stay in its PUD slots
    n = min((old_end - old) // pmd,
            (prev_old - prev_old % pud + pud - old) // pmd, (prev_new - prev_new % pud + pud - new) // pmd,
            (_run_end(t.pte_tables, old) - old) // pmd)
    dest = _next_start(t.pte_tables, new)
    if dest is not None:
        n = min(n, (dest - new) // pmd)
    if stop_at is not None and old <= stop_at < old + n * pmd and (stop_at - old) % pmd == 0:
        n = (stop_at - old) // pmd
    return max(n, 0)


def simulate(g: Geometry, start: PageTables, old_addr: int, new_addr: int, old_end: int,
             stop_at: int | None = None, batch: bool = True, tables: bool = True,
             refuse_late: bool = False) -> SimResult:
    """Run move_page_tables()'s loop from the given cursors to ``old_end`` (at most ``MAX_STEPS``
    iterations: see ``check_steps``).  With ``batch`` a stretch of PMD-level moves that cannot
    affect each other is made at once (``_pmd_run``); the result is the same as without.

    ``tables`` False: move_normal_pud() and move_normal_pmd() refuse before their WARN (the
    userfaultfd test of 772e5b4a5e83: uffd-wp without EVENT_REMAP), so every entry moves by
    move_ptes(), and nothing warns.  ``refuse_late``: they refuse after their WARN_ON_ONCE()
    (0cef0bb836e3's test): a populated destination entry still warns, an empty one is left empty
    and the slot moves by move_ptes()."""
    check_steps(g, old_addr, old_end)
    t = start.copy()
    folded_pmd = g.levels == 2

    def pmd_present(a: int) -> bool:
        return a in t.pte_tables

    def pud_present(a: int) -> bool:
        return pmd_present(a) if folded_pmd else a in t.pmd_tables

    def relocate(old: int, new: int, size: int) -> None:
        delta = new - old
        src = _span(old, old + size)
        moved = t.entries[src]
        del t.entries[src]
        landing = _union(_shift(iv, delta) for iv, v in moved.items())
        hit = t.entries.domain() & landing
        for lo, hi in _atoms(hit):
            res.overwritten.append((lo, hi))
        for iv, v in moved.items():
            t.entries[_shift(iv, delta)] = v - delta

    def move_tables(old: int, new: int, size: int) -> None:
        src = _span(old, old + size)
        inner = t.pte_tables & src
        t.pte_tables = (t.pte_tables - src) | _shift(inner, new - old)

    res = SimResult(t, old_addr, new_addr, False)
    old, new = old_addr, new_addr
    while old < old_end:
        extent = _get_extent(g, g.pud_size, old, old_end, new)
        if not pud_present(old):  # get_old_pud() == NULL
            old, new = old + extent, new + extent
            continue
        if old == stop_at:  # alloc_new_pud() fails
            res.broke = True
            break
        res.alloc_points.append(old)
        if g.have_move_pud and extent == g.pud_size and tables:
            if pud_present(new):
                res.warnings.append(LevelMove("pud", old, new, extent))
            elif refuse_late:
                pass
            else:
                relocate(old, new, extent)
                move_tables(old, new, extent)
                t.pmd_tables = (t.pmd_tables - _span(old, old + extent)) | _span(new, new + extent)
                res.moves.append(LevelMove("pud", old, new, extent))
                old, new = old + extent, new + extent
                continue
        extent = _get_extent(g, g.pmd_size, old, old_end, new)
        if not pmd_present(old):  # get_old_pmd() == NULL
            old, new = old + extent, new + extent
            continue
        if not folded_pmd:  # alloc_new_pmd() populates the PUD entry at new
            t.pmd_tables |= _span(new - new % g.pud_size, new - new % g.pud_size + g.pud_size)
        if g.have_move_pmd and extent == g.pmd_size and tables:
            if pmd_present(new):
                res.warnings.append(LevelMove("pmd", old, new, extent))
            elif refuse_late:
                pass
            else:
                relocate(old, new, extent)
                move_tables(old, new, extent)
                res.moves.append(LevelMove("pmd", old, new, extent))
                old, new = old + extent, new + extent
                run = _pmd_run(g, t, old, new, old_end, stop_at) if batch else 0
                if run:
                    relocate(old, new, run * extent)
                    move_tables(old, new, run * extent)
                    for i in range(run):
                        res.alloc_points.append(old + i * extent)
                        res.moves.append(LevelMove("pmd", old + i * extent, new + i * extent, extent))
                    old, new = old + run * extent, new + run * extent
                continue
        # pte_alloc() at new, then move_ptes() over [old, old + extent)
        slot = new - new % g.pmd_size
        t.pte_tables |= _span(slot, slot + g.pmd_size)
        relocate(old, new, extent)
        res.moves.append(LevelMove("pte", old, new, extent))
        old, new = old + extent, new + extent
    res.cursor, res.new_cursor = old, new
    return res
