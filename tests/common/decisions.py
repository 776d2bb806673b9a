"""Arbitrary decisions and tails, for cross-validating the loop's encoding against the simulator.

A built-in decision starts the loop at old_addr or one step below it; a user's may start
anywhere: any page below old_addr (or, wrapping, above it), with the destination shifted by as
much or by something else, at either level.  Each tail is move_page_tables()'s return-value
computation: the built-ins' four, and tails that are wrong only on a window of cursors below
old_addr or at one cursor, which only a break at exactly those cursors shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from modelcheck.model.geometry import Geometry
from modelcheck.model.variants import Decision, Variant, progress_guard_v2, progress_guard_v612, progress_pmc, \
    progress_unguarded


def _window(width: int):
    """Right except on the cursors in (orig - width, orig), where it returns 1."""
    def tail(k, cursor, old_end, len_):
        orig = old_end - len_
        right = k.ite(k.ult(cursor, orig), k.word(0), cursor - orig)
        return k.ite(k.and_(k.ult(cursor, orig), k.ugt(cursor + width, orig)), k.word(1), right)
    return tail


def _at(below: int):
    """Right except at the one cursor orig - below, where it returns len."""
    def tail(k, cursor, old_end, len_):
        orig = old_end - len_
        right = k.ite(k.ult(cursor, orig), k.word(0), cursor - orig)
        return k.ite(k.eq(cursor, orig - below), len_, right)
    return tail


@dataclass(frozen=True)
class Arbitrary:
    """A decision that starts ``old_shift`` below old_addr and ``new_shift`` below new_addr
    (words: a shift past 0 wraps), whenever ``when`` holds, with a tail."""

    old_shift: int
    new_shift: int
    when: str  # "always", "aligned" (old_addr not PMD-aligned) or "never"
    tail: str

    def variant(self, g: Geometry) -> Variant:
        def decide(k, c, level):
            mask = k.word(g.level_mask(level))
            on = {"always": True, "never": False, "aligned": k.ne(c.old_addr & ~mask, 0)}[self.when]
            return Decision(on, k.ite(on, c.old_addr - self.old_shift, c.old_addr),
                            k.ite(on, c.new_addr - self.new_shift, c.new_addr))
        return Variant(f"arbitrary-{self.old_shift:#x}-{self.new_shift:#x}-{self.when}-{self.tail}", "", "",
                       decide, TAILS[self.tail](g))


TAILS = {
    "pmc": lambda g: progress_pmc, "unguarded": lambda g: progress_unguarded,
    "guard-v2": lambda g: progress_guard_v2, "guard-v6.12": lambda g: progress_guard_v612,
    "window-pmd": lambda g: _window(g.pmd_size), "window-2pmd": lambda g: _window(2 * g.pmd_size),
    "at-pmd": lambda g: _at(g.pmd_size), "at-page": lambda g: _at(g.page_size),
}


@st.composite
def arbitrary(draw, g: Geometry) -> Arbitrary:
    """Shifts of random pages (not only boundaries) up to three PUDs down, or a few pages up, the
    destination's the same (kept) or another one; every tail."""
    page = g.page_size
    most = 3 * g.pud_size // page
    old = page * draw(st.one_of(st.integers(-4, most), st.sampled_from([g.pmd_size // page, g.pud_size // page])))
    new = old if draw(st.booleans()) else page * draw(st.integers(-4, most))
    return Arbitrary(old, new, draw(st.sampled_from(["always", "aligned", "never"])), draw(st.sampled_from(list(TAILS))))
