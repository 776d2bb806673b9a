"""Seeded random mremap scenarios for the differential tier: moves a user program makes, drawn
mostly at the edges of the realignment predicate, to run on real kernels beside the model.

Each scenario comes from a small random program run in the syscall simulator
(modelcheck.userspace.syscalls): anonymous mappings placed with MAP_FIXED_NOREPLACE, touched,
and one ``mremap(old, len, len, MREMAP_MAYMOVE|MREMAP_FIXED, new)``; the simulator gives the
move_page_tables() call it makes.  Three in four draws are edge draws, around one PMD boundary
below ``old`` and one below ``new``:

* ``old`` at the start of its VMA (what realignment needs) or a few pages into it, at offset 0,
  one page, PMD - one page or anywhere in its PMD;
* a neighbour below the source that ends exactly at the PMD boundary, a page (or more) inside
  the PMD, or right at ``old`` (another protection, so that it does not merge), or none;
* a destination mutually aligned with the source (mostly) or not, with the same kinds of
  neighbour below ``new``, and sometimes one just above the destination;
* ``len`` around PMD - offset (a page less, exactly, a page more, a PMD more) or random.

The rest are random layouts of two to four mappings in a 32 MiB window.  Only scenarios a
recipe reaches (modelcheck.userspace.recipe.find_recipe: the reproducer can make them) with at
most ``limit`` bytes mapped are kept, so every one runs as a reproducer.
"""

from __future__ import annotations

import random

from modelcheck.errors import InputError
from modelcheck.model.geometry import Geometry, get_geometry
from modelcheck.model.scenario import Move, Scenario, Vma
from modelcheck.userspace.recipe import find_recipe
from modelcheck.userspace.syscalls import (MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MREMAP_FIXED,
                                           MREMAP_MAYMOVE, AddressSpace, SyscallError)

__all__ = ["random_scenarios", "random_programs", "wrap_scenarios"]

_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE


def random_scenarios(count: int, seed: int, geometry: str = "x86_64-4level",
                     limit: int = 64 << 20) -> list[tuple[str, Scenario]]:
    """``count`` reachable mremap scenarios drawn with ``seed``, named ``random-SEED-N``."""
    g = get_geometry(geometry)
    rng = random.Random(seed)
    out: list[tuple[str, Scenario]] = []
    for _ in range(count * 100):
        if len(out) == count:
            return out
        draw = _edge if rng.random() < 0.75 else _anywhere
        try:
            s = draw(rng, g)
        except (SyscallError, InputError):  # a draw no program makes (overlap, EINVAL...)
            continue
        if sum(v.end - v.start for v in s.vmas) > limit or not find_recipe(s).reachable:
            continue
        out.append((f"random-{seed}-{len(out) + 1}", s))
    if len(out) < count:  # pragma: no cover
        raise RuntimeError(f"only {len(out)} of {count} random scenarios drawn")
    return out


def _below(rng: random.Random, mm: AddressSpace, boundary: int, start: int, g: Geometry) -> None:
    """Maybe map a neighbour ending at ``boundary`` (a PMD boundary), inside the PMD, or at
    ``start`` (the VMA above it), in another protection half the time."""
    page = g.page_size
    kind = rng.choice(["none", "none", "at-boundary", "at-boundary", "inside", "adjacent"])
    if kind == "none":
        return
    end = {"at-boundary": boundary, "adjacent": start,
           "inside": boundary + page * rng.randrange(1, max(2, (start - boundary) // page + 1))}[kind]
    end = min(end, start)
    size = page * rng.choice([1, 1, 2, 16, rng.randrange(1, 512)])
    mm.mmap(end - size, size, rng.choice(["r", "rw"]), _FLAGS)
    if rng.random() < 0.7:
        mm.touch(end - size, page, write=False)


def _edge(rng: random.Random, g: Geometry) -> Scenario:
    page, pmd = g.page_size, g.pmd_size
    mm = AddressSpace(g)
    base = rng.randrange(1 << 30, 1 << 36, pmd)
    offset = rng.choice([0, page, page, pmd - page, rng.randrange(0, pmd, page)])
    old = base + 2 * pmd + offset
    around = pmd - offset
    length = rng.choice([around - page, around, around, around + page, around + page, around + pmd,
                         page * rng.randrange(1, 3 * pmd // page)])
    length = max(length, page)
    src_start = old if rng.random() < 0.85 else old - page * rng.randrange(1, 8)
    src_end = old + length + rng.choice([0, 0, page, page * rng.randrange(1, 64)])
    mm.mmap(src_start, src_end - src_start, "rw", _FLAGS)
    mm.touch(src_start, src_end - src_start)
    _below(rng, mm, base + 2 * pmd, src_start, g)
    dst_pmd = base + pmd * rng.randrange(6 + (src_end - base) // pmd, 24 + (src_end - base) // pmd)
    new = dst_pmd + (offset if rng.random() < 0.85 else rng.randrange(0, pmd, page))
    _below(rng, mm, dst_pmd, new, g)
    if rng.random() < 0.25:  # a neighbour just above the destination, or in its next PMD
        at = new + length if rng.random() < 0.5 else -(-(new + length) // pmd) * pmd + page
        mm.mmap(at, page * rng.randrange(1, 16), rng.choice(["r", "rw"]), _FLAGS)
    return mm.mremap(old, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, new)


def _anywhere(rng: random.Random, g: Geometry) -> Scenario:
    page, pmd = g.page_size, g.pmd_size
    mm = AddressSpace(g)
    base = rng.randrange(1 << 30, 1 << 36, pmd)
    window = 16 * pmd // page
    points = sorted(rng.sample(range(window), 2 * rng.randrange(2, 5)))
    spans = [(base + points[i] * page, base + points[i + 1] * page) for i in range(0, len(points), 2)]
    for lo, hi in spans:
        mm.mmap(lo, hi - lo, rng.choice(["rw", "rw", "r"]), _FLAGS)
        if rng.random() < 0.8:
            mm.touch(lo, hi - lo, write=rng.random() < 0.8)
    lo, hi = rng.choice(spans)
    old = lo + page * rng.randrange(0, (hi - lo) // page)
    length = page * rng.randrange(1, (hi - old) // page + 1)
    new = base + 16 * pmd + page * rng.randrange(0, window)
    return mm.mremap(old, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, new)


def random_programs(count: int, seed: int, geometry: str = "x86_64-4level",
                    limit: int = 64 << 20) -> list[tuple[str, Geometry, list[dict]]]:
    """``count`` programs of calls (recipe.load_calls' form) drawn with ``seed``, named
    ``program-SEED-N``, each one mremap of a range over one to four VMAs (6.17's remap_move()
    moves each as a piece of its own; before 6.17 a range over several is -EFAULT):

    * the source VMAs at a PMD boundary, a page past it, a page short of the next or anywhere in
      the PMD, one page to three PMDs long, with gaps between them of nothing (then the two
      differ in MAP_SHARED, so that they do not merge), a page, a PMD or anywhere up to a PMD;
    * each written (populated) four times in five; the move from the first VMA's start or a few
      pages in, to the last VMA's end or a page-aligned point inside it;
    * a neighbour below the source's and below the destination's PMD boundary (ending at it,
      a page inside, or none), never inside the destination;
    * the destination mutually aligned with the source six times in ten; MREMAP_DONTUNMAP one
      time in four.

    Only programs whose every mremap state the scenario schema can express are kept (each VMA
    at a move populated in full or not at all)."""
    from modelcheck.userspace.recipe import run_calls
    g = get_geometry(geometry)
    rng = random.Random(seed)
    out: list[tuple[str, Geometry, list[dict]]] = []
    for _ in range(count * 100):
        if len(out) == count:
            return out
        calls = _program(rng, g)
        if sum(c["len"] for c in calls if c["op"] == "mmap") > limit:
            continue
        runs = [r for multi in (True, False) for r in run_calls(g, calls, multi)]
        if any("not a scenario" in r.error or "SIG" in r.error for r in runs):
            continue
        out.append((f"program-{seed}-{len(out) + 1}", g, calls))
    if len(out) < count:  # pragma: no cover
        raise RuntimeError(f"only {len(out)} of {count} random programs drawn")
    return out


def _program(rng: random.Random, g: Geometry) -> list[dict]:
    page, pmd = g.page_size, g.pmd_size
    calls: list[dict] = []

    def mmap(addr: int, length: int, shared: bool, write: bool) -> None:
        calls.append({"op": "mmap", "addr": addr, "len": length, "shared": shared})
        if write:
            calls.append({"op": "write", "addr": addr, "len": length})

    base = rng.randrange(1 << 32, 1 << 36, pmd) + 2 * pmd
    at = base + rng.choice([0, page, pmd - page, rng.randrange(0, pmd, page)])
    spans, shared = [], rng.random() < 0.5
    for i in range(rng.choice([1, 2, 2, 3, 3, 4])):
        length = rng.choice([page, 2 * page, pmd - page, pmd, pmd + page, 2 * pmd,
                             page * rng.randrange(1, 3 * pmd // page)])
        if i:
            gap = rng.choice([0, 0, page, pmd, rng.randrange(page, pmd + page, page)])
            shared = not shared if gap == 0 else rng.random() < 0.5
            at += gap
        spans.append((at, at + length, shared))
        at += length
    for lo, hi, sh in spans:
        mmap(lo, hi - lo, sh, rng.random() < 0.8)
    first, last = spans[0], spans[-1]
    old = first[0] + (0 if rng.random() < 0.75 else page * rng.randrange(0, (first[1] - first[0]) // page))
    end = last[1] if rng.random() < 0.6 else last[0] + page * rng.randrange(1, (last[1] - last[0]) // page + 1)
    end = max(end, old + page)
    length = end - old

    def below(boundary: int, start: int) -> None:
        """Maybe a neighbour [top - size, top) ending at ``boundary`` or a page or more inside
        its PMD, at most at ``start``; another MAP_SHARED than a VMA it touches."""
        kind = rng.choice(["none", "at-boundary", "at-boundary", "inside"])
        if kind == "none":
            return
        top = boundary if kind == "at-boundary" else \
            min(start, boundary + page * rng.randrange(1, 1 + max(1, (start - boundary) // page)))
        size = page * rng.choice([1, 2, 16, rng.randrange(1, 512)])
        lo = top - size
        if any(c["op"] == "mmap" and c["addr"] < top and lo < c["addr"] + c["len"] for c in calls):
            return
        touching = [c for c in calls if c["op"] == "mmap" and c["addr"] == top]
        mmap(lo, size, not touching[0]["shared"] if touching else rng.random() < 0.5, rng.random() < 0.7)

    below(old - old % pmd, first[0])
    dst_pmd = base + pmd * rng.randrange(4 + (end - base) // pmd, 20 + (end - base) // pmd)
    new = dst_pmd + (old % pmd if rng.random() < 0.6 else rng.randrange(0, pmd, page))
    below(dst_pmd, new)
    calls.append({"op": "mremap", "old": old, "len": length, "new": new, "dontunmap": rng.random() < 0.25})
    return calls


def wrap_scenarios(geometry: str = "i386-pae") -> list[tuple[str, Scenario]]:
    """Moves whose ``old_end + len`` passes 2^W on a 32-bit geometry: where v6.7's tail guard
    ``len + old_addr < old_end`` wraps after a complete move (CVE-2024-53111), laid out so that a
    real 32-bit process can make them.  The checker's own least counterexample maps the whole
    3 GiB user range, where the program's text and stack already are; these keep below the stack
    and mmap base (TASK_SIZE - 1 GiB .. TASK_SIZE) and above the program's text and heap (128 MiB):
    a 1.25 GiB source ending at TASK_SIZE - 256 MiB, moved down to 192 MiB, so that ``old_end +
    len`` is exactly 2^32.  Two recipes:

    * ``wrap-fresh``: the destination is a fresh VMA, the source unwritten shared memory (no data:
      what shows is mremap()'s error);
    * ``wrap-merged``: the destination merges with a private neighbour below it, the source is
      private memory read once per page (zero-page entries, cheap to make), so that the entries the
      undo does not move back are seen to be gone.

    What each variant does on them is the model's to say (``evaluate``), not this function's."""
    g = get_geometry(geometry)
    if g.word_bits != 32:
        raise InputError("--geometry", f"{geometry}: only a 32-bit geometry's moves can wrap")
    size = 1 << g.word_bits
    old_end = g.task_size - (256 << 20)
    length = size - old_end
    old, new = old_end - length, 192 << 20
    if old < new + length or new < (128 << 20) or length & ~g.pmd_mask:
        raise InputError("--geometry", f"{geometry}: no room below TASK_SIZE for a wrapping move")
    fresh = Scenario(g, (Vma(new, new + length, False), Vma(old, old_end, False)), Move(1, 0, old, new, length))
    below = new - g.pmd_size * 8
    merged = Scenario(g, (Vma(below, new + length, False), Vma(old, old_end, True)), Move(1, 0, old, new, length))
    out = []
    for name, s in (("wrap-fresh", fresh), ("wrap-merged", merged)):
        if not find_recipe(s).reachable:  # the recipe builder is the judge of what a program can make
            raise InputError("--geometry", f"{geometry}: {name} has no recipe: {find_recipe(s).reason}")
        out.append((name, s))
    return out
