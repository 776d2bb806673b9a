"""The page-table simulator against hand-worked kernel behaviour and a plain-move specification."""

import portion as P
from hypothesis import given, settings, strategies as st

from modelcheck.simulate import LevelMove, entry_items, initial_tables, simulate

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
