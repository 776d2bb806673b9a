"""A VMA-level simulator of the system calls that shape the state at move_page_tables().

It follows what user space can do to an address space — ``mmap``, ``munmap``, ``mprotect``,
touching pages, ``mremap(MREMAP_MAYMOVE|MREMAP_FIXED[|MREMAP_DONTUNMAP])`` and exec's stack
relocation — at the granularity the realignment cares about: VMAs (bounds, protection,
shared/private, the backing object and page offset, whether an anon_vma exists) and which pages
hold page-table entries.  ``mremap`` and ``exec_stack`` stop where the kernel calls
move_page_tables() and return the call as a ``Scenario`` in the project's schema.

Each rule names the kernel function it mirrors (mm/mmap.c, mm/vma.c, mm/mremap.c, fs/exec.c /
mm/vma_exec.c as of v6.12–v6.15).  Userfaultfd is there as far as the moves need it: a
write-protect registration without EVENT_REMAP (``uffd_register_wp``), which the new VMA of an
mremap inherits; 6.17's multi-VMA mremap is ``remap_move``.  Deliberately left out: file-backed
mapping sizes (an abstract file is as long as needed), mlock, hugetlb, userfaultfd events and
other modes, sealing, VM_GROWSDOWN stacks other than exec's, and the randomness of ASLR (hints
and the stack shift are given explicitly).

>>> from modelcheck.model.geometry import get_geometry
>>> mm = AddressSpace(get_geometry("x86_64-4level"))
>>> a = mm.mmap(0x7f1f985f7000, 10 << 20, "rw", MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
>>> mm.touch(a, 10 << 20, write=False)   # read faults: zero-page entries, still no anon_vma
>>> s = mm.mremap(a + (2 << 20), 1 << 20, 1 << 20, MREMAP_MAYMOVE | MREMAP_FIXED, a + (5 << 20))
>>> s.move.old_vma == s.move.new_vma   # Joel's observation: copy_vma() merged the VMA with itself
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import portion as P

from modelcheck.errors import InputError
from modelcheck.model.geometry import Geometry
from modelcheck.model.scenario import Move, Scenario, Vma

__all__ = ["AddressSpace", "Area", "SyscallError", "Unrepresentable", "MAP_SHARED", "MAP_PRIVATE",
           "MAP_ANONYMOUS", "MAP_FIXED", "MAP_FIXED_NOREPLACE", "MREMAP_MAYMOVE", "MREMAP_FIXED",
           "MREMAP_DONTUNMAP", "Remap", "STACK_RANDOM", "MAX_ARG_BYTES", "exec_stack", "stack_shift_max", "stack_len_max"]

# the values of include/uapi/linux/mman.h and asm-generic/mman-common.h
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 0x01, 0x02, 0x10, 0x20, 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4

#: how far exec may move the stack down: STACK_RND_MASK pages (randomize_stack_top(), fs/exec.c;
#: x86-64 __STACK_RND_MASK 0x3fffff, arm64 0x3ffff >> (PAGE_SHIFT - 12), i386 and the generic
#: default 0x7ff >> (PAGE_SHIFT - 12))
STACK_RANDOM = {"x86_64": 0x3FFFFF, "arm64": 0x3FFFF, "i386": 0x7FF}
#: the most argument and environment bytes exec copies onto the new stack: bprm_stack_limits()
#: caps them at 3/4 of _STK_LIM (8 MiB) — reached with an unlimited stack rlimit
MAX_ARG_BYTES = 6 << 20


def stack_shift_max(g: Geometry) -> int:
    """The furthest randomize_stack_top() moves the stack down: STACK_RND_MASK pages."""
    rnd = next((v for k, v in STACK_RANDOM.items() if g.name.startswith(k)), 0x7FF)
    return (rnd >> max(0, g.page_shift - 12)) << g.page_shift


def stack_len_max(g: Geometry) -> int:
    """The longest stack exec moves: MAX_ARG_BYTES in whole pages."""
    return -(-MAX_ARG_BYTES // g.page_size) * g.page_size


class SyscallError(Exception):
    """A call fails as the kernel would: ``errno`` is the name (EINVAL, EEXIST, ...)."""

    def __init__(self, errno: str, why: str) -> None:
        super().__init__(f"{errno}: {why}")
        self.errno, self.why = errno, why


class Unrepresentable(InputError):
    """The state at the call has a VMA only partly populated, which the scenario schema (a VMA is
    populated in full or not at all) cannot express."""


@dataclass
class Area:
    """One VMA: [start, end), protection, shared or private, its backing object (None for a
    private anonymous mapping; shared anonymous memory is a shmem object of its own), the page
    offset of ``start`` in it (vm_pgoff), and its anon_vma (None until a write fault)."""

    start: int
    end: int
    prot: str
    shared: bool
    file: str | None
    pgoff: int
    anon_vma: int | None = None
    name: str = ""
    #: registered with userfaultfd in write-protect mode on a uffd without UFFD_FEATURE_EVENT_REMAP
    uffd_wp: bool = False

    def pages(self, page_shift: int) -> int:
        return (self.end - self.start) >> page_shift

    @property
    def anonymous(self) -> bool:  # vma_is_anonymous(): no vm_ops, i.e. private anonymous
        return self.file is None


@dataclass
class AddressSpace:
    """An mm: sorted VMAs and the pages that hold page-table entries (``entries``)."""

    geometry: Geometry
    areas: list[Area] = field(default_factory=list)
    entries: P.Interval = field(default_factory=P.empty)
    calls: list[str] = field(default_factory=list)  # the calls made, as C
    _ids: int = 0

    # -- helpers
    def _new_id(self) -> int:
        self._ids += 1
        return self._ids

    def _page_aligned(self, *xs: int) -> bool:
        return all(x % self.geometry.page_size == 0 for x in xs)

    def _shift(self) -> int:
        return self.geometry.page_shift

    def _overlapping(self, lo: int, hi: int) -> list[Area]:
        return [a for a in self.areas if a.start < hi and lo < a.end]

    def area_at(self, addr: int) -> Area | None:
        """vma_lookup(): the VMA containing addr."""
        return next((a for a in self.areas if a.start <= addr < a.end), None)

    def _insert(self, area: Area) -> Area:
        self.areas.append(area)
        self.areas.sort(key=lambda a: a.start)
        return area

    def _split(self, addr: int) -> None:
        """__split_vma(): cut the VMA containing addr at addr (the tail's vm_pgoff advances)."""
        a = self.area_at(addr)
        if a is None or a.start == addr:
            return
        tail = replace(a, start=addr, pgoff=a.pgoff + ((addr - a.start) >> self._shift()))
        a.end = addr
        self._insert(tail)

    def _mergeable(self, a: Area, b: Area) -> bool:
        """a directly below b can be one VMA: is_mergeable_vma() (same flags, file), the anon_vma
        rule of is_mergeable_anon_vma() (one of them has none, or the same) and vm_pgoff continuity."""
        return (a.end == b.start and a.prot == b.prot and a.shared == b.shared and a.file == b.file
                and a.name == b.name and not a.uffd_wp and not b.uffd_wp and (a.anon_vma is None or b.anon_vma is None or a.anon_vma == b.anon_vma)
                and a.pgoff + a.pages(self._shift()) == b.pgoff)

    def _merge_around(self, area: Area) -> Area:
        """vma_merge_new_range()/vma_merge_existing_range(): join ``area`` with the VMA that ends
        where it starts (prev) and the one that starts where it ends (next) when mergeable; all
        three only if prev's and next's anon_vmas are compatible, else with prev alone."""
        i = self.areas.index(area)
        prev = self.areas[i - 1] if i > 0 else None
        nxt = self.areas[i + 1] if i + 1 < len(self.areas) else None
        left = prev is not None and self._mergeable(prev, area)
        right = nxt is not None and self._mergeable(area, nxt)
        if left and right and None not in (prev.anon_vma, nxt.anon_vma) and prev.anon_vma != nxt.anon_vma:
            right = False
        if right:
            area.end = nxt.end
            area.anon_vma = area.anon_vma if area.anon_vma is not None else nxt.anon_vma
            self.areas.remove(nxt)
        if left:
            prev.end = area.end
            prev.anon_vma = prev.anon_vma if prev.anon_vma is not None else area.anon_vma
            self.areas.remove(area)
            return prev
        return area

    def _unmap(self, lo: int, hi: int) -> None:
        """do_vmi_munmap(): split at both ends, drop what is inside, and its entries."""
        self._split(lo)
        self._split(hi)
        self.areas = [a for a in self.areas if not (lo <= a.start and a.end <= hi)]
        self.entries -= P.closedopen(lo, hi)

    # -- system calls
    def mmap(self, addr: int, length: int, prot: str, flags: int, file: str | None = None, offset: int = 0) -> int:
        """mmap(2) as do_mmap()/mmap_region(): returns the address."""
        g = self.geometry
        length = -(-length // g.page_size) * g.page_size  # PAGE_ALIGN
        if length == 0 or bool(flags & MAP_SHARED) == bool(flags & MAP_PRIVATE):
            raise SyscallError("EINVAL", "length 0, or not exactly one of MAP_SHARED and MAP_PRIVATE")
        if bool(flags & MAP_ANONYMOUS) == (file is not None):
            raise SyscallError("EINVAL", "MAP_ANONYMOUS goes with no file and a file without it")
        fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)
        if fixed and not self._page_aligned(addr):
            raise SyscallError("EINVAL", f"{hex(addr)} is not page aligned")
        if fixed:
            if addr < g.mmap_min_addr:
                raise SyscallError("EPERM", f"{hex(addr)} is below mmap_min_addr")
            if addr + length > g.task_size:
                raise SyscallError("ENOMEM", "beyond TASK_SIZE")
            if flags & MAP_FIXED_NOREPLACE and self._overlapping(addr, addr + length):
                raise SyscallError("EEXIST", f"[{hex(addr)}, {hex(addr + length)}) is taken")
            self._unmap(addr, addr + length)
        else:
            addr = self._unmapped_area(addr, length)
        shared = bool(flags & MAP_SHARED)
        if file is None and shared:  # shmem_zero_setup(): a shmem object of its own
            file, pgoff = f"shmem:{self._new_id()}", 0
        elif file is None:  # do_mmap(): a private anonymous mapping's pgoff is its address
            pgoff = addr >> self._shift()
        else:
            pgoff = offset >> self._shift()
        self._merge_around(self._insert(Area(addr, addr + length, prot, shared, file, pgoff)))
        self.calls.append(f"mmap({hex(addr)}, {hex(length)}, {_prot_c(prot)}, {_map_c(flags)}, "
                          f"{'-1' if flags & MAP_ANONYMOUS else file}, {hex(offset)})")
        return addr

    def _unmapped_area(self, hint: int, length: int) -> int:
        """get_unmapped_area() without randomness: the hint if it is free, else the highest gap
        below TASK_SIZE that fits (the top-down allocator's choice, with mmap_base = TASK_SIZE)."""
        g = self.geometry
        hint -= hint % g.page_size
        if hint >= g.mmap_min_addr and hint + length <= g.task_size and not self._overlapping(hint, hint + length):
            return hint
        top = g.task_size
        for a in sorted(self.areas, key=lambda a: -a.start):
            if top - a.end >= length:
                return top - length
            top = min(top, a.start)
        if top - g.mmap_min_addr >= length:
            return top - length
        raise SyscallError("ENOMEM", "no gap fits")

    def munmap(self, addr: int, length: int) -> None:
        """munmap(2): do_vmi_munmap()."""
        g = self.geometry
        length = -(-length // g.page_size) * g.page_size
        if not self._page_aligned(addr) or length == 0 or addr + length > g.task_size:
            raise SyscallError("EINVAL", "unaligned, empty or beyond TASK_SIZE")
        self._unmap(addr, addr + length)
        self.calls.append(f"munmap({hex(addr)}, {hex(length)})")

    def mprotect(self, addr: int, length: int, prot: str) -> None:
        """mprotect(2): mprotect_fixup() splits at the range's ends, changes the flags and merges
        with the neighbours (vma_modify_flags())."""
        g = self.geometry
        length = -(-length // g.page_size) * g.page_size
        if not self._page_aligned(addr):
            raise SyscallError("EINVAL", f"{hex(addr)} is not page aligned")
        if not self._covered(addr, addr + length):
            raise SyscallError("ENOMEM", "the range is not fully mapped")
        self._split(addr)
        self._split(addr + length)
        for a in [a for a in self.areas if addr <= a.start and a.end <= addr + length]:
            a.prot = prot
        for a in [a for a in self.areas if addr <= a.start and a.end <= addr + length]:
            if a in self.areas:
                self._merge_around(a)
        self.calls.append(f"mprotect({hex(addr)}, {hex(length)}, {_prot_c(prot)})")

    def uffd_register_wp(self, addr: int, length: int) -> None:
        """ioctl(UFFDIO_API) on a new userfaultfd without UFFD_FEATURE_EVENT_REMAP (with
        UFFD_FEATURE_WP_HUGETLBFS_SHMEM, which shmem needs for write-protect), then
        UFFDIO_REGISTER of [addr, addr + length) with UFFDIO_REGISTER_MODE_WP: the range must be
        mapped; its VMAs are split at its ends and carry the uffd (userfaultfd_register()).  Such
        a VMA merges with no other here (vma_merge_copied_range() refuses one without
        EVENT_REMAP; the neighbours have no uffd)."""
        hi = addr + length
        if not self._page_aligned(addr, length) or length == 0:
            raise SyscallError("EINVAL", "UFFDIO_REGISTER needs a page-aligned, non-empty range")
        if not self._covered(addr, hi):
            raise SyscallError("EINVAL", f"[{hex(addr)}, {hex(hi)}) is not fully mapped")
        self._split(addr)
        self._split(hi)
        for a in self._overlapping(addr, hi):
            a.uffd_wp = True
        self.calls.append(f"uffd_register_wp({hex(addr)}, {hex(length)})")

    def _covered(self, lo: int, hi: int) -> bool:
        covered = P.empty()
        for a in self._overlapping(lo, hi):
            covered |= P.closedopen(a.start, a.end)
        return P.closedopen(lo, hi) in covered

    def touch(self, addr: int, length: int, write: bool = True) -> None:
        """Fault every page of [addr, addr + length): handle_mm_fault().  A write to a private
        mapping prepares its anon_vma (anon_vma_prepare()); a read of private anonymous memory maps
        the zero page (do_anonymous_page()) and leaves anon_vma NULL.  Both leave an entry."""
        hi = addr + length
        if not self._covered(addr, hi):
            raise SyscallError("SIGSEGV", f"[{hex(addr)}, {hex(hi)}) is not fully mapped")
        for a in self._overlapping(addr, hi):
            if ("w" if write else "r") not in a.prot:
                raise SyscallError("SIGSEGV", f"{'write to' if write else 'read of'} {a.prot or 'PROT_NONE'} "
                                              f"memory at {hex(max(a.start, addr))}")
            if write and not a.shared and a.anon_vma is None:
                a.anon_vma = self._new_id()
        self.entries |= P.closedopen(addr, hi)
        self.calls.append(f"{'memset' if write else 'read'}({hex(addr)}, {hex(length)})")

    def mremap(self, old: int, old_len: int, new_len: int, flags: int, new: int) -> Scenario:
        """mremap(2) with MREMAP_MAYMOVE|MREMAP_FIXED (and MREMAP_DONTUNMAP) up to the call of
        move_page_tables(), which is returned as a Scenario; the address space is then left as the
        (correct, unrealigned) move leaves it."""
        g = self.geometry
        if not flags & MREMAP_FIXED or not flags & MREMAP_MAYMOVE or flags & ~7:
            raise SyscallError("EINVAL", "only MREMAP_MAYMOVE|MREMAP_FIXED[|MREMAP_DONTUNMAP] is modelled")
        if old_len == 0 and new_len:
            return self._duplicate(old, new_len, flags, new)
        if old_len != new_len:
            raise InputError("mremap", "only moves (old_len == new_len) and zero-length duplicates are modelled")
        length = -(-new_len // g.page_size) * g.page_size
        if not self._page_aligned(old, new) or length == 0:
            raise SyscallError("EINVAL", "unaligned address or empty length")
        if length > g.task_size or new > g.task_size - length:  # mremap_to()
            raise SyscallError("EINVAL", "the destination is beyond TASK_SIZE")
        if old + length > new and new + length > old:  # vrm_overlaps()
            raise SyscallError("EINVAL", "source and destination overlap")
        vma = self.area_at(old)
        if vma is None:
            raise SyscallError("EFAULT", f"nothing is mapped at {hex(old)}")
        # MREMAP_DONTUNMAP: any mapping but VM_DONTEXPAND/VM_PFNMAP ones (a4609387859f "mm: extend
        # MREMAP_DONTUNMAP to non-anonymous mappings", 5.13; 7.3's check_prep_vma()), which
        # anonymous memory never is: shared anonymous (shmem) memory moves as private does
        self._unmap(new, new + length)  # do_munmap() of the destination first
        vma = self.area_at(old)  # "this can invalidate the old VMA. Reset."
        if vma is None or old + length > vma.end:  # vma_to_resize(): old_len > vm_end - addr
            raise SyscallError("EFAULT", "the source range is not inside one VMA")
        vma_start = vma.start
        # copy_vma(): the new VMA's pgoff continues the source's, unless the source is anonymous
        # and has never been written (no anon_vma): then it is the destination's page number
        pgoff = vma.pgoff + ((old - vma.start) >> self._shift())
        if vma.anonymous and vma.anon_vma is None:
            pgoff = new >> self._shift()
        new_vma = self._merge_around(self._insert(replace(vma, start=new, end=new + length, pgoff=pgoff)))
        if new_vma.start <= vma_start < new_vma.end:  # "Source vma may have been merged into new_vma"
            vma = new_vma
        scenario = self._call(vma, old, new_vma, new, length, False)
        # move_vma(): the entries move, then the source range is unmapped (kept with DONTUNMAP)
        moving = self.entries & P.closedopen(old, old + length)
        self.entries -= P.closedopen(old, old + length)
        for atom in moving:
            if not atom.empty:
                self.entries |= P.closedopen(atom.lower - old + new, atom.upper - old + new)
        if not flags & MREMAP_DONTUNMAP:
            self._unmap(old, old + length)
        self.calls.append(f"mremap({hex(old)}, {hex(old_len)}, {hex(new_len)}, {_mremap_c(flags)}, {hex(new)})")
        return scenario

    def _duplicate(self, old: int, new_len: int, flags: int, new: int) -> Scenario:
        """mremap(old, 0, new_len, MREMAP_MAYMOVE|MREMAP_FIXED, new): a second mapping of a shared
        mapping's pages (vma_to_resize()/check_prep_vma(): a private one is EINVAL), made as a
        move of nothing: mremap_to() unmaps the target, move_vma() copies the VMA to [new, new +
        new_len) with the pgoff at ``old`` and calls move_page_tables() with len 0, and the
        source stays (its unmap of 0 bytes fails and is ignored)."""
        g = self.geometry
        length = -(-new_len // g.page_size) * g.page_size
        if not self._page_aligned(old, new) or flags & MREMAP_DONTUNMAP:
            raise SyscallError("EINVAL", "unaligned address, or MREMAP_DONTUNMAP with old_len 0")
        if new > g.task_size - length:
            raise SyscallError("EINVAL", "the destination is beyond TASK_SIZE")
        if new <= old < new + length:  # vrm_overlaps() with old_len 0
            raise SyscallError("EINVAL", "the destination covers the source address")
        vma = self.area_at(old)
        if vma is None:
            raise SyscallError("EFAULT", f"nothing is mapped at {hex(old)}")
        if not vma.shared:
            raise SyscallError("EINVAL", "old_len 0 duplicates only a shared mapping")
        self._unmap(new, new + length)
        vma = self.area_at(old)
        if vma is None:
            raise SyscallError("EFAULT", f"nothing is mapped at {hex(old)}")
        pgoff = vma.pgoff + ((old - vma.start) >> self._shift())
        new_vma = self._merge_around(self._insert(replace(vma, start=new, end=new + length, pgoff=pgoff)))
        scenario = self._call(vma, old, new_vma, new, 0, False)
        self.calls.append(f"mremap({hex(old)}, 0x0, {hex(new_len)}, {_mremap_c(flags)}, {hex(new)})")
        return scenario

    def remap_move(self, old: int, length: int, flags: int, new: int) -> "Remap":
        """mremap(old, length, length, MREMAP_MAYMOVE|MREMAP_FIXED[|MREMAP_DONTUNMAP], new) as 6.17
        and later make it (remap_move(), d23cb648e365 "mm/mremap: permit mremap() move of multiple
        VMAs"): every VMA in [old, old + length) is moved as a piece of its own, in address order,
        to the target plus the gaps between the source VMAs (a piece starts at the previous
        piece's new end plus the gap), each by the one-VMA mremap (``mremap``: its target
        unmapped, copy_vma(), move_page_tables()) on the layout the pieces before it left.  A gap
        at the start is -EFAULT; a VMA armed with userfaultfd moves only as the sole VMA
        (vma_multi_allowed()); an error part-way leaves the pieces before it moved.  Returns every
        piece's move_page_tables() call, and the error if one stopped it."""
        g = self.geometry
        length = -(-length // g.page_size) * g.page_size
        end = old + length
        if not flags & MREMAP_FIXED or not flags & MREMAP_MAYMOVE or flags & ~7:
            raise SyscallError("EINVAL", "only MREMAP_MAYMOVE|MREMAP_FIXED[|MREMAP_DONTUNMAP] is modelled")
        if old + length > new and new + length > old:  # check_mremap_params(): vrm_overlaps()
            raise SyscallError("EINVAL", "source and destination overlap")
        out = Remap([], None)
        sources = [(a.start, a.end, a.uffd_wp) for a in self._overlapping(old, end)]
        target, last_end = new, None
        for i, (vm_start, vm_end, armed) in enumerate(sources):
            if last_end is None and old < vm_start:
                out.error = SyscallError("EFAULT", f"nothing is mapped at {hex(old)}")
                break
            if armed and (i > 0 or vm_end < end):  # vma_multi_allowed(): uffd-armed only alone
                out.error = SyscallError("EFAULT", "a VMA armed with userfaultfd moves only as the sole VMA")
                break
            addr = max(vm_start, old)
            piece = min(end, vm_end) - addr
            offset = vm_start - last_end if last_end is not None else 0
            last_end = vm_end
            try:
                out.pieces.append(self.mremap(addr, piece, piece, flags, target + offset))
            except SyscallError as e:
                out.error = e
                break
            target = target + offset + piece
        if not sources:
            out.error = SyscallError("EFAULT", f"nothing is mapped at {hex(old)}")
        return out

    def _call(self, vma: Area, old: int, new_vma: Area, new: int, length: int, for_stack: bool) -> Scenario:
        """The state at move_page_tables(), in the scenario schema."""
        dest = P.empty() if for_stack else P.closedopen(new, new + length)
        vmas = []
        for a in self.areas:
            span = P.closedopen(a.start, a.end)
            if for_stack and a is vma:
                span = P.closedopen(old, a.end)  # the expansion below has no entries yet
            want = span - dest
            have = self.entries & want
            if not have.empty and have != want:
                raise Unrepresentable("state", f"VMA [{hex(a.start)}, {hex(a.end)}) is only partly populated")
            vmas.append(Vma(a.start, a.end, not have.empty, a.name, a.uffd_wp))
        move = Move(self.areas.index(vma), self.areas.index(new_vma), old, new, length, for_stack)
        return Scenario(self.geometry, tuple(vmas), move)


@dataclass
class Remap:
    """The pieces of a multi-VMA mremap (AddressSpace.remap_move): each one's move_page_tables()
    call, in order, and the error that stopped it part-way (None: every piece moved)."""

    pieces: list[Scenario]
    error: "SyscallError | None"


def exec_stack(g: Geometry, arg_bytes: int, shift: int) -> tuple[AddressSpace, Scenario]:
    """execve()'s stack relocation: the new mm holds only the temporary stack VMA, which ends at
    STACK_TOP_MAX (= TASK_SIZE here) and holds the arguments (create_init_stack_vma(),
    copy_strings(): every page written); setup_arg_pages() shifts it down by ``shift`` (the
    randomized stack top), relocate_vma_down() expands it to [new_start, old_end) and calls
    move_page_tables(vma, old_start, vma, new_start, length, for_stack=true)."""
    page = g.page_size
    if arg_bytes <= 0 or arg_bytes > MAX_ARG_BYTES:
        raise SyscallError("E2BIG", f"exec copies 1 .. {hex(MAX_ARG_BYTES)} bytes of arguments")
    if shift <= 0 or shift % page:
        raise SyscallError("EINVAL", "the shift is a positive number of pages")
    most = stack_shift_max(g)
    if shift > most:
        raise SyscallError("EINVAL", f"randomize_stack_top() moves the stack by at most {hex(most)}")
    mm = AddressSpace(g)
    top = g.task_size
    length = -(-arg_bytes // page) * page
    old_start = top - length
    new_start = old_start - shift
    if new_start < g.mmap_min_addr:
        raise SyscallError("ENOMEM", "the stack does not fit")
    stack = mm._insert(Area(new_start, top, "rw", False, None, new_start >> g.page_shift, mm._new_id(), "[stack]"))
    mm.entries = P.closedopen(old_start, top)
    mm.calls.append(f"execve(with {hex(arg_bytes)} bytes of arguments; the stack moves down by {hex(shift)})")
    return mm, mm._call(stack, old_start, stack, new_start, length, True)


def _prot_c(prot: str) -> str:
    names = [n for c, n in (("r", "PROT_READ"), ("w", "PROT_WRITE"), ("x", "PROT_EXEC")) if c in prot]
    return "|".join(names) or "PROT_NONE"


def _map_c(flags: int) -> str:
    names = [n for v, n in ((MAP_SHARED, "MAP_SHARED"), (MAP_PRIVATE, "MAP_PRIVATE"), (MAP_ANONYMOUS, "MAP_ANONYMOUS"),
                            (MAP_FIXED, "MAP_FIXED"), (MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE")) if flags & v]
    return "|".join(names)


def _mremap_c(flags: int) -> str:
    return "|".join(n for v, n in ((MREMAP_MAYMOVE, "MREMAP_MAYMOVE"), (MREMAP_FIXED, "MREMAP_FIXED"),
                                   (MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP")) if flags & v)
