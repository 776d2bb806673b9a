"""Each built-in variant's decision, pinned on hand-built scenarios (tests/scenarios/*.json).

Every expectation is worked out from the variant's code in a comment; the decision is what the
variant does, right or wrong: whether that is safe is tested in test_semantics.py.
"""

import pytest

from modelcheck.model.geometry import PRESETS
from modelcheck.model.semantics import decide
from modelcheck.model.variants import VARIANTS, get_variant

from conftest import build, guarded_pmd as _guarded_pmd, scenario_file

ALL = set(VARIANTS)

# scenario file -> the variants that realign on it
REALIGNERS = {
    # A one-page "guard" mapping sits in [0x2800000, 0x2900000), the PMD below the source:
    # RFC/v2/linus: prev (guard) ends at 0x2801000 > addr_masked 0x2800000 => blocked; v3 and v4:
    # prev->vm_end > addr_masked => false; v5 and later: find_vma_intersection() finds the guard.
    "issue-example": {"always"},
    # mremap_test.c test_cases[13]: nothing in the PMD below either side; old_addr and new_addr
    # are their VMAs' starts; len 5 MiB >= PMD_SIZE (so even the RFC's caller condition holds).
    "selftest-13-5mb-1mb-aligned": ALL - {"never"},
    # test_cases[14]: the 40 MiB preamble ends at the destination, covering [0x5600000, 0x5700000):
    # every predicate sees it (prev->vm_end 0x5700000 > 0x5600000, or find_vma_intersection()).
    "selftest-14-preamble": {"always"},
    # mremap_move_1mb_from_start(): old_addr 0x2f40000 is 1 MiB into its VMA [0x2e40000, ...).
    # RFC: len 1 MiB < PMD_SIZE. v2/linus: the only check is prev->vm_end (a.out, 0x401000) against
    # 0x2e00000. v3: vm_start 0x2e40000 > addr_masked 0x2e00000, prev a.out ends below => allowed.
    # v4 and later: old_addr != vm_start.
    "selftest-move-1mb-from-start": {"v2", "linus", "v3", "always"},
    # mremap_move_within_range(): old_addr 0x40700000 is in B = [0x40600000, ...), new VMA
    # [0x40500000, 0x40600000) directly above A = [0x40000000, 0x40500000). Destination side:
    # RFC/v2/linus: prev A ends at 0x40500000 > addr_masked 0x40400000 => blocked; v3: same;
    # v4 and later: the source old_addr != vm_start.
    "selftest-move-within-range": {"always"},
    # vma == new_vma after copy_vma()'s self-merge, 64-bit addresses with bit 31 set:
    # RFC: len 1 MiB < PMD_SIZE. v2/linus: the int addr_masked 0x98600000 is negative and
    # sign-extends to 0xffffffff98600000, above vm_start => not blocked on either side.
    # v3: vm_start <= addr_masked (unsigned long) => false. v4 and later: old_addr != vm_start.
    "self-merge": {"v2", "linus", "always"},
    # Linus's overlapping stack move, no other VMA: RFC/v2: destination side has no prev =>
    # blocked; v3: !prev => false; v5: find_vma_intersection(0x1e00000, 0x1fff000) finds the
    # stack VMA itself (the no-op Lorenzo found). linus: no prev => not blocked; v4: !prev => true;
    # v6.7+: for_stack and addr_masked 0x1e00000 >= vm_start; new side [0x1c00000, 0x1dff000) empty.
    "linus-stack-overlap": {"linus", "v4", "v6.7", "v6.12", "v6.15", "always"},
    # Both addresses are PMD (and PUD) aligned: (old_addr & ~PMD_MASK) == 0, nothing to realign.
    "i386-return-wrap": set(),
}


@pytest.mark.parametrize("name", sorted(REALIGNERS))
@pytest.mark.parametrize("vid", list(VARIANTS))
def test_decision(name, vid):
    s = scenario_file(name)
    realigned, old_c, new_c, _ = decide(s, get_variant(vid))
    assert realigned == (vid in REALIGNERS[name])
    mask = s.geometry.pmd_mask
    if realigned:
        assert (old_c, new_c) == (s.move.old_addr & mask, s.move.new_addr & mask)
    else:
        assert (old_c, new_c) == (s.move.old_addr, s.move.new_addr)


@pytest.mark.parametrize("vid", ["rfc", "v2", "linus"])
def test_int_addr_masked_truncation(vid):
    # Below 2 GiB the int holds the address: the guard ends above addr_masked => blocked.
    assert not decide(_guarded_pmd(0x18600000), get_variant(vid))[0]
    # At 0x7f1f98600000 the int is 0x98600000, negative, and the comparison with an unsigned long
    # sign-extends it to 0xffffffff98600000: RFC/v2 take the "vm_start <= addr_masked" early-out,
    # Linus's "prev->vm_end > addr_masked" is false; either way the guard page gets swept.
    assert decide(_guarded_pmd(0x7F1F98600000), get_variant(vid))[0]


@pytest.mark.parametrize("vid", ["v3", "v4", "v5", "v6.7", "v6.12", "v6.15"])
def test_unsigned_addr_masked_is_not_fooled(vid):
    for x in (0x18600000, 0x7F1F98600000):
        assert not decide(_guarded_pmd(x), get_variant(vid))[0]


@pytest.mark.parametrize("geometry", [g for g in PRESETS])
def test_every_variant_decides_on_every_geometry(geometry):
    # test_cases[13] scaled to the geometry: 5 PMDs' worth starting half a PMD into a PMD, the
    # destination mutually aligned two PMDs higher, nothing else in the PMDs below.
    g = PRESETS[geometry]
    pmd = g.pmd_size
    base = -(-max(g.mmap_min_addr, g.pud_size) // pmd) * pmd + pmd
    src, dst, length = base + pmd // 2, base + 8 * pmd + pmd // 2, 5 * pmd
    if dst + length > g.task_size:
        pytest.skip("geometry too small for this shape")
    low = -(-g.mmap_min_addr // g.page_size) * g.page_size  # a one-page "a.out" far below: the
    s = build(geometry, [(low, low + g.page_size), (src, src + length), (dst, dst + length, False)],
              1, 2, src, dst, length)                    # RFC/v2/v3 refuse when there is no prev
    int_holds_addresses = dst + length <= 1 << (g.int_bits - 1)
    for vid in VARIANTS:
        realigned, old_c, _, _ = decide(s, get_variant(vid))
        if vid in ("rfc", "v2", "linus") and not int_holds_addresses:
            continue  # their int addr_masked truncates here: see test_int_addr_masked_truncation
        # every variant but "never" realigns this textbook case (RFC: len >= PMD_SIZE)
        assert realigned == (vid != "never"), vid
        if realigned:
            assert old_c == src - pmd // 2
