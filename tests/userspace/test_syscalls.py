"""The system-call simulator on the shapes of the kernel's mremap selftests
(tools/testing/selftests/mm/mremap_test.c, commits 8ed873d8e5cd .. 7b709f38dc0f) and on Joel's
self-merge observation: the state it hands to move_page_tables() is the one the kernel's code
reaches (copy_vma()'s merge, relocate_vma_down())."""

import pytest

from modelcheck.model.geometry import get_geometry
from modelcheck.model.semantics import evaluate
from modelcheck.userspace.syscalls import (MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, MREMAP_DONTUNMAP,
                                 MREMAP_FIXED, MREMAP_MAYMOVE, AddressSpace, SyscallError, Unrepresentable,
                                 exec_stack)
from modelcheck.model.variants import get_variant

X86 = get_geometry("x86_64-4level")
MB = 1 << 20
ANON = MAP_PRIVATE | MAP_ANONYMOUS
SHARED = MAP_SHARED | MAP_ANONYMOUS
MOVE = MREMAP_MAYMOVE | MREMAP_FIXED


def layout(s):
    return [(hex(v.start), hex(v.end), v.populated) for v in s.vmas]


def test_unfaulted_anonymous_vma_merges_with_itself():
    # Joel, <CAEXW_YT1qr9F1QaABthUx6qxWPYYom-oW7XMVExzrHLWdhUGKg@mail.gmail.com>: 1 MiB moved within
    # a 10 MiB anonymous range; move_page_tables() got vma == new_vma == (7f1f985f7000,7f1f98ff7000)
    mm = AddressSpace(X86)
    a = mm.mmap(0x7F1F985F7000, 10 * MB, "rw", ANON | MAP_FIXED_NOREPLACE)
    mm.touch(a, 10 * MB, write=False)  # zero-page entries; no anon_vma
    s = mm.mremap(a + 2 * MB, MB, MB, MOVE, a + 5 * MB)
    assert layout(s) == [("0x7f1f985f7000", "0x7f1f98ff7000", True)]
    assert (s.move.old_vma, s.move.new_vma) == (0, 0)
    assert (s.move.old_addr, s.move.new_addr, s.move.len) == (0x7F1F987F7000, 0x7F1F98AF7000, MB)
    assert evaluate(s, get_variant("v3")).violated() == []  # Joel's concern: v2's predicate on it
    assert "no-source-collateral" not in evaluate(s, get_variant("v6.15")).violated()


def test_a_written_vma_is_not_merged_with_itself():
    # the anon_vma exists after a write, so copy_vma() keeps the source's pgoff: no merge
    mm = AddressSpace(X86)
    a = mm.mmap(0x7F1F985F7000, 10 * MB, "rw", ANON | MAP_FIXED_NOREPLACE)
    mm.touch(a, 10 * MB)
    s = mm.mremap(a + 2 * MB, MB, MB, MOVE, a + 5 * MB)
    assert layout(s) == [(hex(a), hex(a + 5 * MB), True), (hex(a + 5 * MB), hex(a + 6 * MB), False),
                         (hex(a + 6 * MB), hex(a + 10 * MB), True)]
    assert (s.move.old_vma, s.move.new_vma) == (0, 1)


def test_mremap_move_within_range():
    # 85a22845b094: |DDDDddddSSSSssss| in one written 20 MiB mapping; the FIXED do_munmap() of
    # [dest + 1M, src) splits it and the source VMA starts at src, not at old_addr = src + 1M
    mm = AddressSpace(X86)
    ptr = mm.mmap(0, 20 * MB, "rw", ANON)
    mm.touch(ptr, 20 * MB)
    src = (ptr + 6 * MB) & ~(2 * MB - 1)
    dest = src - 2 * MB
    s = mm.mremap(src + MB, MB, MB, MOVE, dest + MB)
    assert layout(s) == [(hex(ptr), hex(src - MB), True), (hex(src - MB), hex(src), False),
                         (hex(src), hex(ptr + 20 * MB), True)]
    assert (s.move.old_vma, s.move.new_vma) == (2, 1)
    # the length and mutual-alignment preconditions hold; only the start-of-VMA rule saves it
    assert not evaluate(s, get_variant("v6.15")).realigned
    assert "no-source-collateral" in evaluate(s, get_variant("v2")).violated()


def test_mremap_move_1mb_from_start():
    # 7b709f38dc0f with the reference's vector: source 0x2e40000, dest 0x3840000 (6 MiB shared
    # anonymous each), the first 1 MiB of dest unmapped, then 1 MiB moved 0x2f40000 -> 0x3940000
    # (the test program's own text, a non-PIE binary at 0x400000, lies below)
    mm = AddressSpace(X86)
    mm.mmap(0x400000, 0x1000, "r", ANON | MAP_FIXED_NOREPLACE)
    src = mm.mmap(0x2E40000, 6 * MB, "rw", SHARED | MAP_FIXED_NOREPLACE)
    dest = mm.mmap(0x3840000, 6 * MB, "rw", SHARED | MAP_FIXED_NOREPLACE)
    mm.touch(src, 6 * MB)
    mm.munmap(dest, MB)
    s = mm.mremap(src + MB, MB, MB, MOVE, dest + MB)
    assert layout(s)[1:] == [("0x2e40000", "0x3440000", True), ("0x3940000", "0x3a40000", False),
                             ("0x3a40000", "0x3e40000", False)]
    assert (s.move.old_vma, s.move.new_vma) == (1, 2)  # shmem objects differ: no merge with dest's rest
    assert "no-source-collateral" in evaluate(s, get_variant("v3")).violated()
    assert not evaluate(s, get_variant("v6.7")).realigned


def test_a_partly_written_vma_is_not_a_scenario():
    # the selftest writes only the first 2 MiB of the 6 MiB source: the schema cannot say that
    mm = AddressSpace(X86)
    src = mm.mmap(0x2E40000, 6 * MB, "rw", SHARED | MAP_FIXED_NOREPLACE)
    mm.mmap(0x3840000, 6 * MB, "rw", SHARED | MAP_FIXED_NOREPLACE)
    mm.touch(src, 2 * MB)
    with pytest.raises(Unrepresentable):
        mm.mremap(src + MB, MB, MB, MOVE, 0x3940000)


def test_dest_preamble():
    # test_cases[14]: 5 MiB, both 1 MiB into their PMD, a 40 MiB mapping right below the
    # destination: nobody realigns (the preamble ends above the masked destination)
    mm = AddressSpace(X86)
    src = mm.mmap(0x10000000 + MB, 5 * MB, "rw", SHARED | MAP_FIXED_NOREPLACE)
    mm.touch(src, 5 * MB)
    dest = 0x20000000 + MB
    pre = mm.mmap(dest - 40 * MB, 40 * MB, "rw", SHARED | MAP_FIXED_NOREPLACE)
    mm.touch(pre, 40 * MB)
    s = mm.mremap(src, 5 * MB, 5 * MB, MOVE, dest)
    assert layout(s) == [(hex(src), hex(src + 5 * MB), True), (hex(pre), hex(dest), True),
                         (hex(dest), hex(dest + 5 * MB), False)]
    for vid in ("rfc", "v3", "v6.7", "v6.15"):
        assert not evaluate(s, get_variant(vid)).realigned


@pytest.mark.parametrize("src, dest, why", [
    (0x10000000, 0x10000000, "EINVAL"),  # test_cases[0]: overlapping
    (0x10000000, 0x20000400, "EINVAL"),  # test_cases[1]: destination 1 KiB aligned
])
def test_expected_failures(src, dest, why):
    mm = AddressSpace(X86)
    mm.mmap(src, 0x1000, "rw", SHARED | MAP_FIXED_NOREPLACE)
    with pytest.raises(SyscallError) as e:
        mm.mremap(src, 0x1000, 0x1000, MOVE, dest)
    assert e.value.errno == why


def test_misaligned_source_mapping_fails():
    # test_cases[2]: mmap() of a 1 KiB-aligned source fails ("Failed to map source region")
    with pytest.raises(SyscallError, match="EINVAL"):
        AddressSpace(X86).mmap(0x10000400, 0x1000, "rw", SHARED | MAP_FIXED_NOREPLACE)


def test_map_fixed_noreplace_and_mprotect_merge():
    mm = AddressSpace(X86)
    a = mm.mmap(0x10000000, 3 * 0x1000, "rw", ANON | MAP_FIXED_NOREPLACE)
    with pytest.raises(SyscallError, match="EEXIST"):
        mm.mmap(a + 0x1000, 0x1000, "rw", ANON | MAP_FIXED_NOREPLACE)
    mm.mprotect(a + 0x1000, 0x1000, "r")
    assert [(x.start, x.end, x.prot) for x in mm.areas] == [(a, a + 0x1000, "rw"), (a + 0x1000, a + 0x2000, "r"),
                                                            (a + 0x2000, a + 0x3000, "rw")]
    mm.mprotect(a + 0x1000, 0x1000, "rw")  # vma_modify_flags() merges the three again
    assert [(x.start, x.end) for x in mm.areas] == [(a, a + 0x3000)]
    b = mm.mmap(a + 0x3000, 0x1000, "rw", ANON | MAP_FIXED_NOREPLACE)  # adjacent, pgoff continuous
    assert b == a + 0x3000 and [(x.start, x.end) for x in mm.areas] == [(a, a + 0x4000)]
    with pytest.raises(SyscallError, match="SIGSEGV"):
        mm.touch(a + 0x4000, 0x1000)


def test_dontunmap_keeps_the_source_vma():
    mm = AddressSpace(X86)
    a = mm.mmap(0x10000000, 0x2000, "rw", ANON | MAP_FIXED_NOREPLACE)
    mm.touch(a, 0x2000)
    mm.mremap(a, 0x2000, 0x2000, MOVE | MREMAP_DONTUNMAP, 0x20000000)
    assert [(x.start, x.end) for x in mm.areas] == [(a, a + 0x2000), (0x20000000, 0x20002000)]
    assert mm.area_at(a) is not None and a not in mm.entries and 0x20000000 in mm.entries
    # shared anonymous memory too (5.13 on: only VM_DONTEXPAND/VM_PFNMAP are refused); the
    # Debian 7.3.4 kernel moved shared DONTUNMAP ranges as the simulator does (docs/kernels.md)
    shared = mm.mmap(0x30000000, 0x1000, "rw", SHARED | MAP_FIXED_NOREPLACE)
    mm.touch(shared, 0x1000)
    mm.mremap(shared, 0x1000, 0x1000, MOVE | MREMAP_DONTUNMAP, 0x40000000)
    assert mm.area_at(shared) is not None and shared not in mm.entries and 0x40000000 in mm.entries


def test_exec_stack_move():
    # fs/exec.c setup_arg_pages(): a fresh mm with only the stack, shifted down from
    # STACK_TOP_MAX.  On i386 (top 0xc0000000, PMD aligned) a 2 MiB shift is mutually aligned
    # and the merged code realigns a 12 KiB stack; on x86-64 the top is 2^47 - 4K, so a stack of
    # less than 2 MiB never reaches the next PMD boundary (len < PMD_SIZE - offset): no realignment.
    i386 = get_geometry("i386-pae")
    _, s = exec_stack(i386, 0x3000, 2 * MB)
    assert layout(s) == [(hex(0xC0000000 - 0x3000 - 2 * MB), "0xc0000000", True)]
    assert s.move.for_stack and (s.move.old_addr, s.move.new_addr, s.move.len) == (0xBFFFD000, 0xBFDFD000, 0x3000)
    assert evaluate(s, get_variant("v6.15")).realigned
    _, s = exec_stack(X86, 0x3000, 2 * MB)
    top = X86.task_size
    assert (s.move.old_addr, s.move.new_addr, s.move.len) == (top - 0x3000, top - 0x3000 - 2 * MB, 0x3000)
    assert not evaluate(s, get_variant("always")).realigned
    with pytest.raises(SyscallError):
        exec_stack(X86, 0x3000, 32 << 30)  # more than randomize_stack_top() moves it (16 GiB)
    with pytest.raises(SyscallError):
        exec_stack(X86, 64 << 20, 2 * MB)  # more arguments than exec accepts


def selftest_scenarios():
    """(name, scenario) of the selftests' shapes above, for the real-kernel tier (test_kernel.py),
    placed below 1 GiB so that the reproducer's own text can be linked above them."""
    out = []
    mm = AddressSpace(X86)
    ptr = mm.mmap(0x10000000, 20 * MB, "rw", ANON | MAP_FIXED_NOREPLACE)
    mm.touch(ptr, 20 * MB)
    src = (ptr + 6 * MB) & ~(2 * MB - 1)
    out.append(("mremap_move_within_range", mm.mremap(src + MB, MB, MB, MOVE, src - MB)))
    mm = AddressSpace(X86)
    src = mm.mmap(0x12E40000, 6 * MB, "rw", SHARED | MAP_FIXED_NOREPLACE)
    dest = mm.mmap(0x13840000, 6 * MB, "rw", SHARED | MAP_FIXED_NOREPLACE)
    mm.touch(src, 6 * MB)
    mm.munmap(dest, MB)
    out.append(("mremap_move_1mb_from_start", mm.mremap(src + MB, MB, MB, MOVE, dest + MB)))
    mm = AddressSpace(X86)
    a = mm.mmap(0x185F7000, 10 * MB, "rw", ANON | MAP_FIXED_NOREPLACE)  # Joel's offsets, below 1 GiB
    mm.touch(a, 10 * MB, write=False)
    out.append(("self_merge", mm.mremap(a + 2 * MB, MB, MB, MOVE, a + 5 * MB)))
    return out


# --- 6.17's multi-VMA mremap (remap_move()) --------------------------------------------------

def _three(dontunmap_ok: bool = False):
    """A, B, C: 2 MiB, 1 MiB, 3 MiB of private (or shared) anonymous memory with gaps of 1 MiB and
    64 KiB, all written."""
    from modelcheck.model.geometry import get_geometry
    from modelcheck.userspace.syscalls import MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, AddressSpace
    mm = AddressSpace(get_geometry("x86_64-4level"))
    kind = MAP_PRIVATE if dontunmap_ok else MAP_SHARED
    base = 0x40000000
    spans = [(base, 2 << 20), (base + (3 << 20), 1 << 20), (base + (4 << 20) + 0x10000, 3 << 20)]
    for a, n in spans:
        mm.mmap(a, n, "rw", kind | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
        mm.touch(a, n)
    return mm, spans


def test_remap_move_moves_each_vma_keeping_the_gaps():
    from modelcheck.model.semantics import evaluate
    from modelcheck.model.variants import get_variant
    from modelcheck.userspace.syscalls import MREMAP_FIXED, MREMAP_MAYMOVE
    mm, spans = _three()
    start, end, target = spans[0][0] + 0x1000, spans[2][0] + (1 << 20), 0x80000000 + 0x1000
    r = mm.remap_move(start, end - start, MREMAP_MAYMOVE | MREMAP_FIXED, target)
    assert r.error is None and len(r.pieces) == 3
    calls = [(p.move.old_addr, p.move.new_addr, p.move.len) for p in r.pieces]
    assert calls == [(start, target, spans[0][0] + (2 << 20) - start),
                     (spans[1][0], target + (spans[1][0] - start), 1 << 20),
                     (spans[2][0], target + (spans[2][0] - start), 1 << 20)]
    for p in r.pieces:  # each piece on the layout the pieces before it left
        assert evaluate(p, get_variant("linux-6.17")).violated() == []
    assert mm.area_at(target) is not None and mm.area_at(start) is None


def test_remap_move_errors_and_partial_moves():
    from modelcheck.userspace.syscalls import MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, SyscallError
    mm, spans = _three()
    r = mm.remap_move(spans[0][0] - 0x1000, 0x2000, MREMAP_MAYMOVE | MREMAP_FIXED, 0x80000000)
    assert r.pieces == [] and r.error.errno == "EFAULT"  # a gap at the start
    with pytest.raises(SyscallError) as e:  # 6.12: one VMA per mremap
        mm.mremap(spans[0][0], spans[1][0] + 0x1000 - spans[0][0], spans[1][0] + 0x1000 - spans[0][0],
                  MREMAP_MAYMOVE | MREMAP_FIXED, 0x80000000)
    assert e.value.errno == "EFAULT"
    mm.uffd_register_wp(spans[1][0], spans[1][1])
    r = mm.remap_move(spans[0][0], spans[2][0] - spans[0][0] + 0x1000, MREMAP_MAYMOVE | MREMAP_FIXED, 0x80000000)
    assert len(r.pieces) == 1 and r.error.errno == "EFAULT"  # the armed VMA: moved A, then stopped
    alone = mm.remap_move(spans[1][0], spans[1][1], MREMAP_MAYMOVE | MREMAP_FIXED, 0xc0000000)
    assert alone.error is None and len(alone.pieces) == 1 and alone.pieces[0].old_vma.uffd_wp
    mm2, spans2 = _three(dontunmap_ok=True)
    r = mm2.remap_move(spans2[0][0], spans2[1][0] + (1 << 20) - spans2[0][0],
                       MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, 0x80000000)
    assert r.error is None and len(r.pieces) == 2
    assert mm2.area_at(spans2[0][0]) is not None and mm2.area_at(0x80000000) is not None  # sources stay
