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
from modelcheck.model.scenario import Scenario
from modelcheck.userspace.recipe import find_recipe
from modelcheck.userspace.syscalls import (MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MREMAP_FIXED,
                                           MREMAP_MAYMOVE, AddressSpace, SyscallError)

__all__ = ["random_scenarios"]

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
