"""The page-table simulator against hand-worked kernel behaviour and a plain-move specification."""

from pathlib import Path

import portion as P
import pytest
from hypothesis import assume, given, settings, strategies as st

from modelcheck.model.simulate import LevelMove, entry_items, initial_tables, simulate

from conftest import build, scenario_file


def plain(s):
    m = s.move
    return simulate(s.geometry, initial_tables(s), m.old_addr, m.new_addr, m.old_end, m.stop_at)


def test_linus_non_overlapping_example():
    # Linus, 25 Mar 2023: old 0x1fff000, new 0x0fff000, len 0x201000: one page moves, then the
    # cursors are PMD aligned and one PMD entry moves.
    s = build("x86_64-4level", [(0xFFF000, 0x1200000, False), (0x1FFF000, 0x2200000)], 1, 0,
              0x1FFF000, 0xFFF000, 0x201000)
    r = plain(s)
    assert r.moves == [LevelMove("pte", 0x1FFF000, 0xFFF000, 0x1000),
                       LevelMove("pmd", 0x2000000, 0x1000000, 0x200000)]
    assert not r.warnings and not r.broke and r.cursor == 0x2200000
    assert entry_items(r.tables.entries) == [(0xFFF000, 0x1200000, 0x1FFF000)]


def test_linus_overlapping_stack_example_warns():
    # ... but overlapping (new 0x1dff000): the single page leaves its PTE table at 0x1e00000
    # behind, so the PMD move to 0x1e00000 finds a populated PMD entry: WARN, then move_ptes().
    r = plain(scenario_file("linus-stack-overlap"))
    assert r.moves == [LevelMove("pte", 0x1FFF000, 0x1DFF000, 0x1000),
                       LevelMove("pte", 0x2000000, 0x1E00000, 0x200000)]
    assert r.warnings == [LevelMove("pmd", 0x2000000, 0x1E00000, 0x200000)]
    assert entry_items(r.tables.entries) == [(0x1DFF000, 0x2000000, 0x1FFF000)]


def test_pud_level_move():
    s = build("x86_64-4level", [(0x40000000, 0x80000000), (0x80000000, 0xC0000000, False)], 0, 1,
              0x40000000, 0x80000000, 0x40000000)
    r = plain(s)
    assert r.moves == [LevelMove("pud", 0x40000000, 0x80000000, 0x40000000)]


def test_two_level_geometry_moves_pgd_entries_as_pmds():
    # i386 without PAE: PMD folded into the 4 MiB PGD entry, no move_normal_pud().
    s = build("i386-2level", [(0x400000, 0xC00000), (0x1000000, 0x1800000, False)], 0, 1,
              0x400000, 0x1000000, 0x800000)
    r = plain(s)
    assert [m.level for m in r.moves] == ["pmd", "pmd"]


def test_stop_at_breaks_at_an_allocation():
    s = build("x86_64-4level", [(0xFFF000, 0x1200000, False), (0x1FFF000, 0x2200000)], 1, 0,
              0x1FFF000, 0xFFF000, 0x201000, stop_at=0x2000000)
    r = plain(s)
    assert r.broke and r.cursor == 0x2000000
    assert r.moves == [LevelMove("pte", 0x1FFF000, 0xFFF000, 0x1000)]


def test_stop_at_where_nothing_is_allocated_does_not_break():
    # The source's first PMD is empty (get_old_pmd() == NULL: continue), so no allocation is
    # attempted with the cursor at 0x200000 and the loop runs on.
    s = build("x86_64-4level", [(0x200000, 0x600000, False), (0x1000000, 0x1400000, False)], 0, 1,
              0x200000, 0x1000000, 0x400000, stop_at=0x200000)
    r = plain(s)
    assert not r.broke and r.cursor == 0x600000 and r.moves == []


@st.composite
def mremaps(draw):
    """Valid mremap-shaped scenarios on toy-16 (page 0x100, PMD 0x400, PUD 0x1000)."""
    n = draw(st.integers(2, 4))
    points = sorted(draw(st.lists(st.integers(1, 0xBF), min_size=2 * n, max_size=2 * n, unique=True)))
    vmas = [(points[2 * i] << 8, points[2 * i + 1] << 8, draw(st.booleans())) for i in range(n)]
    i, j = draw(st.permutations(range(n)))[:2]
    size_i, size_j = (vmas[i][1] - vmas[i][0]) >> 8, (vmas[j][1] - vmas[j][0]) >> 8
    pages = draw(st.integers(1, min(size_i, size_j)))
    old = vmas[i][0] + (draw(st.integers(0, size_i - pages)) << 8)
    new = vmas[j][0] + (draw(st.integers(0, size_j - pages)) << 8)
    return build("toy-16", vmas, i, j, old, new, pages << 8)


@settings(max_examples=300, deadline=None)
@given(mremaps())
def test_plain_mremap_moves_exactly_the_range_and_never_warns(s):
    # Specification of a plain (unrealigned) mremap move: the entries of [old, old+len) end up at
    # [new, new+len), everything else stays, and the destination tables were freed, so no PMD/PUD
    # move finds a populated destination entry.
    m = s.move
    start = initial_tables(s)
    want = start.entries.copy()
    moved = want[P.closedopen(m.old_addr, m.old_end)]
    del want[P.closedopen(m.old_addr, m.old_end)]
    delta = m.new_addr - m.old_addr
    for iv, v in moved.items():
        for a in iv:
            want[P.closedopen(a.lower + delta, a.upper + delta)] = v - delta
    r = plain(s)
    assert entry_items(r.tables.entries) == entry_items(want)
    assert not r.warnings and not r.overwritten and r.cursor == m.old_end


def _outcome(r):
    overwritten = P.empty()
    for lo, hi in r.overwritten:
        overwritten |= P.closedopen(lo, hi)
    return (entry_items(r.tables.entries), r.tables.pte_tables, r.tables.pmd_tables, r.cursor, r.new_cursor,
            r.broke, r.moves, r.warnings, r.alloc_points, overwritten)


@st.composite
def coarse_mremaps(draw):
    """Like mremaps(), with VMA bounds, cursors and lengths mostly whole PMDs and the source
    populated, so that runs of whole-PMD moves are common."""
    n = draw(st.integers(1, 4))
    fine = st.sampled_from([0, 0, 0, 0x100, 0x300])
    grain = st.tuples(st.integers(1, 0x2F), fine)
    points = sorted((a << 10) + b for a, b in draw(st.lists(grain, min_size=2 * n, max_size=2 * n,
                                                            unique_by=lambda t: (t[0] << 10) + t[1])))
    i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
    vmas = [(points[2 * k], points[2 * k + 1], k == i or draw(st.booleans())) for k in range(n)]
    (si, ei), (sj, ej) = vmas[i][:2], vmas[j][:2]
    length = min(ei - si, ej - sj, (draw(st.integers(1, 0x20)) << 10) + draw(fine))
    old = si + min(ei - si - length, (draw(st.integers(0, 8)) << 10) + draw(fine))
    new = sj + min(ej - sj - length, (draw(st.integers(0, 8)) << 10) + draw(fine))
    assume(length > 0 and (old + length <= new or new + length <= old))
    return build("toy-16", vmas, i, j, old, new, length)


@st.composite
def stack_moves(draw):
    """exec's stack shift on toy-16: the stack VMA [new, old_end) moves [old, old_end) down to
    new; source and destination overlap when the shift is less than the length."""
    fine = st.sampled_from([0, 0, 0x100, 0x300])
    new = (draw(st.integers(1, 0x10)) << 10) + draw(fine)
    old = new + (draw(st.integers(0, 8)) << 10) + draw(fine)
    end = old + (draw(st.integers(0, 0x10)) << 10) + draw(fine)
    assume(new < old < end <= 0xC000)
    vmas = [(new, end, True)]
    if draw(st.booleans()):  # a populated VMA below, sharing the stack's first PMD or PUD slot
        top = new - (draw(st.integers(0, 4)) << 8)
        bottom = top - (draw(st.integers(1, 4)) << 8)
        assume(bottom >= 0x100)
        vmas.insert(0, (bottom, top, True))
    stack = len(vmas) - 1
    return build("toy-16", vmas, stack, stack, old, new, end - old, for_stack=True)


@st.composite
def realigned_runs(draw):
    """An mremap-shaped scenario with the cursors moved down to a PMD or PUD boundary (as some
    decision might) and maybe an allocation failure, on toy-16 (four PMDs per PUD)."""
    s = draw(st.one_of(mremaps(), coarse_mremaps(), coarse_mremaps(), stack_moves()))
    g, m = s.geometry, s.move
    size = draw(st.sampled_from([g.page_size, g.pmd_size, g.pud_size]))
    back = m.old_addr % size if m.old_addr % size == m.new_addr % size else 0
    old, new = m.old_addr - back, m.new_addr - back
    stop = draw(st.one_of(st.none(), st.none(), st.integers(old, m.old_end - 1).map(lambda a: a - a % g.page_size)))
    return s, old, new, stop


@settings(max_examples=1000, deadline=None)
@given(realigned_runs())
def test_batched_pmd_moves_are_the_same_as_one_by_one(run):
    # simulate() makes a stretch of independent PMD-level moves at once (the speed of replaying
    # terabyte moves); every observable of the loop is the same as iterating one PMD at a time.
    s, old, new, stop = run
    args = (s.geometry, initial_tables(s), old, new, s.move.old_end, stop)
    assert _outcome(simulate(*args, batch=True)) == _outcome(simulate(*args, batch=False))


def test_a_terabyte_stack_move_is_replayed_in_one_batch_per_pud():
    # arm64 64K pages: a stack shifted down by one 4 TiB PUD is 8193 PMD moves and one refused PUD
    # move; batched and one by one agree.
    s = build("arm64-64k-48", [(0x3FFFFFF0000, 0xC0000000000)], 0, 0, 0x7FFFFFF0000, 0x3FFFFFF0000,
              0x40000010000, for_stack=True)
    args = (s.geometry, initial_tables(s), 0x7FFE0000000, 0x3FFE0000000, s.move.old_end)  # realigned to the PMD
    fast = simulate(*args)
    assert len(fast.moves) == 8193 and [w.level for w in fast.warnings] == ["pud"]
    assert _outcome(fast) == _outcome(simulate(*args, batch=False))


@pytest.mark.slow
def test_batched_replay_of_every_gallery_counterexample():
    # the committed counterexamples, from the cursors their variants choose, batched and not
    from modelcheck.model.scenario import load_scenario
    from modelcheck.model.semantics import decide
    from modelcheck.model.variants import get_variant
    files = sorted((Path(__file__).resolve().parents[2] / "counterexamples").glob("*/*/*.json"))
    files = [f for f in files if not f.name.endswith(".graph.json")]
    assert len(files) > 100
    for f in files:
        s = load_scenario(str(f))
        _, old, new, _ = decide(s, get_variant(s.claim.variant), s.claim.level)
        args = (s.geometry, initial_tables(s), old, new, s.move.old_end, s.move.stop_at)
        assert _outcome(simulate(*args)) == _outcome(simulate(*args, batch=False)), f
