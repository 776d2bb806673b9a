"""Every historic version of the realignment decision, written once over ``KernelOps``.

A variant is the whole decision as of one version of the patch: the caller's length condition,
the mutual-alignment checks, the start-of-VMA / ``for_stack`` rules and the predicate with its C
types, plus the return-value computation at the tail of move_page_tables().  Names, summaries
and provenance (Message-IDs, commits) live in ``properties/variants.toml``; this module holds the
executable meaning, which runs unchanged on plain ints (``ConcreteOps``) and on Z3 terms.

The realignment level is a parameter: ``pmd`` (what the kernel does) or ``pud``, substituting
PUD_SIZE/PUD_MASK for PMD_SIZE/PMD_MASK everywhere in the decision.

>>> from modelcheck.model.geometry import get_geometry
>>> from modelcheck.model.ops import ConcreteOps
>>> g = get_geometry("x86_64-4level")
>>> k = ConcreteOps(g, [(0x400000, 0x401000), (0x2e40000, 0x3440000), (0x3940000, 0x3a40000)])
>>> call = Call(vma=k.vma(1), new_vma=k.vma(2), old_addr=k.word(0x2f40000), new_addr=k.word(0x3940000),
...             len=k.word(0x100000), for_stack=False)
>>> d = get_variant("v3").decide(k, call, "pmd")   # 1 MiB from the start: v3 sweeps [0x2e00000, 0x2f40000)
>>> d.realign, hex(int(d.old_addr)), hex(int(d.new_addr))
(True, '0x2e00000', '0x3800000')
>>> get_variant("v6.7").decide(k, call, "pmd").realign   # merged: old_addr is not vm_start
False
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from typing import Any, Callable

from modelcheck._data import read_spec
from modelcheck.errors import InputError
from modelcheck.model.ops import KernelOps

__all__ = ["Call", "Decision", "Variant", "VARIANTS", "get_variant", "variant_ids", "register", "unregister",
           "Profile", "PROFILES", "UFFD_RULES", "table_moves", "get_profile", "profile_variant", "with_rule"]


@dataclass(frozen=True)
class Call:
    """move_page_tables() arguments as the backend sees them (words, VMA refs, a bool)."""

    vma: Any
    new_vma: Any
    old_addr: Any
    new_addr: Any
    len: Any
    for_stack: Any


@dataclass(frozen=True)
class Decision:
    """Whether the variant realigned, and the loop cursors it starts from.

    ``warn`` holds when a ``WARN_ON_ONCE()`` on the decision's path fires and ``oops`` when the path
    dereferences a NULL VMA pointer (both conditions of the state, guarded by the branches and
    short-circuits that reach them).  ``sites`` names them: (kind, where, condition), kind
    ``"warn"`` or ``"oops"``, so a report can say which one fired.  ``early``: where, when and
    what move_page_tables() itself returns before its loop, in the order of its text: (where,
    condition, value); a built-in's is its head's ``if (!len) return 0;`` (``with_head``).
    ``tables``: whether move_normal_pmd()/move_normal_pud() try a table move at all (they do not
    refuse for userfaultfd before their WARN_ON_ONCE(); ``table_moves()``); ``refuse_late``:
    whether they refuse after it (the destination entry was none, yet the table stays and the
    loop moves entry by entry): conditions of the call's VMAs.
    """

    realign: Any
    old_addr: Any
    new_addr: Any
    warn: Any = False
    oops: Any = False
    sites: tuple = ()
    early: tuple = ()
    tables: Any = True
    refuse_late: Any = False


Decide = Callable[[KernelOps, Call, str], Decision]
Progress = Callable[[KernelOps, Any, Any, Any], Any]


@dataclass(frozen=True)
class Variant:
    """A named realignment decision plus the tail that computes move_page_tables()'s return value.

    ``progress(k, cursor, old_end, len)`` is that tail: ``cursor`` is the loop's old-side address
    when the loop ended, ``old_end`` the original ``old_addr + len``.
    """

    id: str
    summary: str
    provenance: str
    decide: Decide
    progress: Progress
    expected: dict = field(default_factory=dict, compare=False)
    #: for a variant from C: the parsed C it runs (front.cparse.CUnit), which the compiler checks
    source: Any = field(default=None, compare=False, repr=False)

    def expected_verdict(self, pid: str, geometry: Any, level: str = "pmd") -> str | None:
        """The verdict the project expects for a built-in (properties/variants.toml), if stated:
        ``"P@NAME"`` for a geometry, else ``"P@32bit"``/``"P@64bit"`` by word size, else ``"P"``."""
        if level != "pmd":
            return None
        for key in (f"{pid}@{geometry.name}", f"{pid}@{geometry.word_bits}bit", pid):
            if key in self.expected:
                return self.expected[key]
        return None


def _level(k: KernelOps, level: str) -> tuple[Any, Any]:
    g = k.geometry
    return k.word(g.level_mask(level)), k.word(g.level_size(level))


def _realigned(k: KernelOps, c: Call, mask: Any, realign: Any, warns: tuple = ()) -> Decision:
    """The decision to realign under ``realign``; ``warns`` are (where, condition) of the
    WARN_ON_ONCE()s on its path."""
    return Decision(realign, k.ite(realign, c.old_addr & mask, c.old_addr),
                    k.ite(realign, c.new_addr & mask, c.new_addr),
                    warn=k.or_(*[w for _, w in warns]) if warns else False,
                    sites=tuple(("warn", where, w) for where, w in warns))


def _both(k: KernelOps, c: Call, pre: Any, test: Callable, ok_sense: bool, where: str,
          args: Callable) -> tuple[Any, tuple]:
    """``pre && test(vma) && test(new_vma)`` as C evaluates it (with ok_sense=False the tests are
    negated: ``pre && !test(vma) && !test(new_vma)``).  ``test`` returns (value, its WARN
    condition); the second test runs only when the first passed.  Returns (result, warns)."""
    v_old, w_old = test(k, *args(c.vma, c.old_addr))
    v_new, w_new = test(k, *args(c.new_vma, c.new_addr))
    pass_old = v_old if ok_sense else k.not_(v_old)
    pass_new = v_new if ok_sense else k.not_(v_new)
    warns = []
    if w_old is not False:
        warns.append((f"{where}(vma)", k.and_(pre, w_old)))
    if w_new is not False:
        warns.append((f"{where}(new_vma)", k.and_(pre, pass_old, w_new)))
    return k.and_(pre, pass_old, pass_new), tuple(warns)


def _mutually_aligned_unaligned(k: KernelOps, c: Call, mask: Any) -> Any:
    """(*old_addr & ~mask) && (*old_addr & ~mask) == (*new_addr & ~mask)"""
    off = c.old_addr & ~mask
    return k.and_(k.ne(off, 0), k.eq(off, c.new_addr & ~mask))


def _reaches_boundary(k: KernelOps, c: Call, mask: Any, size: Any) -> Any:
    """The v2+ caller condition: len >= PMD_SIZE - (old_addr & ~PMD_MASK)."""
    return k.uge(c.len, size - (c.old_addr & ~mask))


# --- tails: move_page_tables()'s return value ------------------------------------------------

def progress_unguarded(k: KernelOps, cursor: Any, old_end: Any, len_: Any) -> Any:
    """v6.6 and the RFC: return len + old_addr - old_end."""
    return len_ + cursor - old_end


def progress_guard_v2(k: KernelOps, cursor: Any, old_end: Any, len_: Any) -> Any:
    """v2 .. v6.11.9: if (len + old_addr < old_end) return 0;  (wraps on 32-bit)"""
    return k.ite(k.ult(len_ + cursor, old_end), k.word(0), len_ + cursor - old_end)


def progress_guard_v612(k: KernelOps, cursor: Any, old_end: Any, len_: Any) -> Any:
    """a4a282daf1a1 (v6.12): if (old_addr < old_end - len) return 0;"""
    return k.ite(k.ult(cursor, old_end - len_), k.word(0), len_ + cursor - old_end)


def progress_pmc(k: KernelOps, cursor: Any, old_end: Any, len_: Any) -> Any:
    """pmc_progress() (v6.15): orig = old_end - len_in; old_addr < orig ? 0 : old_addr - orig."""
    orig = old_end - len_
    return k.ite(k.ult(cursor, orig), k.word(0), cursor - orig)


# --- RFC and v2: check_addr_in_prev() (true = a mapping is in the way) -------------------------
# Each predicate returns (its value, the condition under which a WARN_ON_ONCE() in it fires).

def _check_addr_in_prev(k: KernelOps, vma: Any, addr: Any, mask: Any) -> tuple[Any, Any]:
    # int addr_masked = addr & mask;  compared against unsigned long fields, so the truncated
    # int is converted back (sign-extended) by the usual arithmetic conversions.
    addr_masked = k.int_to_ulong(k.to_int(addr & mask))
    cur, prev = k.find_vma_prev(k.vm_start(vma))
    return k.cond([
        (k.ule(k.vm_start(vma), addr_masked), False),
        (k.or_(k.is_null(cur), k.not_(k.same(cur, vma)), k.is_null(prev)), True),
        (k.ugt(k.vm_end(prev), addr_masked), True),
    ], False), False


def _realign_rfc_v2(k: KernelOps, c: Call, mask: Any, pre: Any, blocked: Callable) -> Decision:
    """realign_addr() of the RFC and v2 behind the caller's condition ``pre``: mutually aligned
    and unaligned, then ``!blocked(vma) && !blocked(new_vma)``."""
    realign, warns = _both(k, c, k.and_(pre, _mutually_aligned_unaligned(k, c, mask)), blocked, False,
                           "check_addr_in_prev", lambda vma, addr: (vma, addr, mask))
    return _realigned(k, c, mask, realign, warns)


def decide_rfc(k: KernelOps, c: Call, level: str) -> Decision:
    mask, size = _level(k, level)
    return _realign_rfc_v2(k, c, mask, k.uge(c.len, size), _check_addr_in_prev)


def decide_v2(k: KernelOps, c: Call, level: str) -> Decision:
    mask, size = _level(k, level)
    return _realign_rfc_v2(k, c, mask, _reaches_boundary(k, c, mask, size), _check_addr_in_prev)


def _linus_blocked(k: KernelOps, vma: Any, addr: Any, mask: Any) -> tuple[Any, Any]:
    # v2's declaration stays: int addr_masked = addr & mask;
    addr_masked = k.int_to_ulong(k.to_int(addr & mask))
    cur, prev = k.find_vma_prev(k.vm_start(vma))
    warn = k.not_(k.same(cur, vma))  # if (WARN_ON_ONCE(cur != vma)) return true;
    return k.cond([(warn, True)], k.and_(k.not_(k.is_null(prev)), k.ugt(k.vm_end(prev), addr_masked))), warn


def decide_linus(k: KernelOps, c: Call, level: str) -> Decision:
    mask, size = _level(k, level)
    return _realign_rfc_v2(k, c, mask, _reaches_boundary(k, c, mask, size), _linus_blocked)


# --- v3 .. v6.15: can_align_down() (true = realignment allowed) -------------------------------

def _can_align_down_v3(k: KernelOps, vma: Any, addr: Any, mask: Any, for_stack: Any) -> tuple[Any, Any]:
    addr_masked = addr & mask  # unsigned long since v3
    cur, prev = k.find_vma_prev(k.vm_start(vma))
    return k.cond([
        (k.and_(k.not_(for_stack), k.ule(k.vm_start(vma), addr_masked)), False),
        (k.or_(k.is_null(cur), k.not_(k.same(cur, vma)), k.is_null(prev)), False),
        (k.ugt(k.vm_end(prev), addr_masked), False),
    ], True), False


def _can_align_down_v4(k: KernelOps, vma: Any, addr: Any, mask: Any, for_stack: Any) -> tuple[Any, Any]:
    addr_masked = addr & mask
    cur, prev = k.find_vma_prev(k.vm_start(vma))
    inside = k.and_(k.not_(for_stack), k.ne(k.vm_start(vma), addr))
    warn = k.not_(k.same(cur, vma))  # if (WARN_ON_ONCE(cur != vma)) return false;
    return k.cond([
        (inside, False),
        (warn, False),
    ], k.or_(k.is_null(prev), k.ule(k.vm_end(prev), addr_masked))), k.and_(k.not_(inside), warn)


def _can_align_down_v5(k: KernelOps, vma: Any, addr: Any, mask: Any, for_stack: Any) -> tuple[Any, Any]:
    addr_masked = addr & mask
    return k.cond([
        (k.and_(k.not_(for_stack), k.ne(k.vm_start(vma), addr)), False),
    ], k.is_null(k.find_vma_intersection(addr_masked, addr))), False


def _can_align_down_v67(k: KernelOps, vma: Any, addr: Any, mask: Any, for_stack: Any) -> tuple[Any, Any]:
    addr_masked = addr & mask
    return k.cond([
        (k.and_(k.not_(for_stack), k.ne(k.vm_start(vma), addr)), False),
        (k.and_(for_stack, k.uge(addr_masked, k.vm_start(vma))), True),
    ], k.is_null(k.find_vma_intersection(addr_masked, k.vm_start(vma)))), False


def _try_realign(k: KernelOps, c: Call, level: str, can_align_down: Callable) -> Decision:
    """The v3 .. v6.14 caller and realign_addr()/try_realign_addr() (same conditions, same order)."""
    mask, size = _level(k, level)
    pre = k.and_(_reaches_boundary(k, c, mask, size), _mutually_aligned_unaligned(k, c, mask))
    realign, warns = _both(k, c, pre, can_align_down, True, "can_align_down",
                           lambda vma, addr: (vma, addr, mask, c.for_stack))
    return _realigned(k, c, mask, realign, warns)


def decide_v3(k: KernelOps, c: Call, level: str) -> Decision:
    return _try_realign(k, c, level, _can_align_down_v3)


def decide_v4(k: KernelOps, c: Call, level: str) -> Decision:
    return _try_realign(k, c, level, _can_align_down_v4)


def decide_v5(k: KernelOps, c: Call, level: str) -> Decision:
    return _try_realign(k, c, level, _can_align_down_v5)


def decide_v67(k: KernelOps, c: Call, level: str) -> Decision:
    return _try_realign(k, c, level, _can_align_down_v67)


def decide_v615(k: KernelOps, c: Call, level: str) -> Decision:
    """can_realign_addr() as written in the pagetable_move_control refactor."""
    pagetable_mask, _ = _level(k, level)
    align_mask = ~pagetable_mask
    old_align = c.old_addr & align_mask
    new_align = c.new_addr & align_mask
    pagetable_size = align_mask + 1
    old_align_next = pagetable_size - old_align
    pre = k.not_(k.or_(k.ult(c.len, old_align_next), k.eq(old_align, 0), k.ne(old_align, new_align)))
    realign, warns = _both(k, c, pre, _can_align_down_v67, True, "can_align_down",
                           lambda vma, addr: (vma, addr, pagetable_mask, c.for_stack))
    return _realigned(k, c, pagetable_mask, realign, warns)


def decide_always(k: KernelOps, c: Call, level: str) -> Decision:
    mask, size = _level(k, level)
    return _realigned(k, c, mask, k.and_(_reaches_boundary(k, c, mask, size),
                                         _mutually_aligned_unaligned(k, c, mask)))


def decide_never(k: KernelOps, c: Call, level: str) -> Decision:
    return Decision(k.cond([], False), c.old_addr, c.new_addr)


_DECIDE: dict[str, Decide] = {
    "rfc": decide_rfc, "v2": decide_v2, "linus": decide_linus, "v3": decide_v3, "v4": decide_v4,
    "v5": decide_v5, "v6.7": decide_v67, "v6.15": decide_v615, "always": decide_always,
    "never": decide_never,
}
_PROGRESS: dict[str, Progress] = {
    "unguarded": progress_unguarded, "guard-v2": progress_guard_v2,
    "guard-v6.12": progress_guard_v612, "pmc-progress": progress_pmc,
}


#: where a built-in's head returns before the loop
HEAD = "move_page_tables(): if (!len) return 0;"


def with_head(decide: Decide) -> Decide:
    """A built-in's decision with its head: move_page_tables() has begun ``if (!len) return 0;``
    since before the realignment (a zero-length mremap of a shared mapping, mremap(addr, 0,
    new_len, MREMAP_MAYMOVE), reaches it with len 0).  The realignment decision is the code
    below it, so the head is an early return (Decision.early) before whatever the decision
    says."""
    def decide_with_head(k: KernelOps, c: Call, level: str) -> Decision:
        d = decide(k, c, level)
        return dataclasses.replace(d, early=((HEAD, k.eq(c.len, k.word(0)), k.word(0)),) + tuple(d.early))
    return decide_with_head


def _load_builtins() -> dict[str, Variant]:
    text = read_spec("variants.toml")
    spec = tomllib.loads(text)
    out: dict[str, Variant] = {}
    for entry in spec["variant"]:
        out[entry["id"]] = Variant(
            id=entry["id"], summary=entry["summary"], provenance=entry["provenance"],
            decide=with_head(_DECIDE[entry["decide"]]), progress=_PROGRESS[entry["progress"]],
            expected=entry.get("expected", {}))
    return out


#: The built-in variants, in historical order.
VARIANTS: dict[str, Variant] = _load_builtins()
_USER: dict[str, Variant] = {}


def register(variant: Variant) -> Variant:
    """Make a user-defined variant available by id (to ``get_variant`` and the matrix)."""
    if variant.id in VARIANTS:
        raise InputError("variant", f"{variant.id!r} is a built-in variant id")
    _USER[variant.id] = variant
    return variant


def unregister(vid: str) -> None:
    """Forget a user-defined variant."""
    _USER.pop(vid, None)


def variant_ids() -> list[str]:
    return list(VARIANTS) + list(_USER)


def get_variant(vid: str) -> Variant:
    """A built-in variant, a kernel profile (``profiles``: ``linux-6.15``, ...) or a registered one."""
    if vid in VARIANTS:
        return VARIANTS[vid]
    if vid in _USER:
        return _USER[vid]
    if vid in PROFILES:
        return profile_variant(vid)
    raise InputError("variant", f"unknown variant {vid!r} (known: {', '.join(variant_ids())}; kernel profiles: "
                                f"{', '.join(PROFILES)})")


# --- kernel profiles ---------------------------------------------------------------------------
#
# A built-in variant is one version of the realignment decision.  A profile is what the checker
# runs for a kernel release: that predicate, plus the userfaultfd rule of its move_normal_pmd()/
# move_normal_pud() (``table_moves()``), with the commits that made them so
# (``properties/profiles.toml``).  Every profile has move_vma()'s undo move (``semantics``).  A
# profile is itself a variant: ``get_variant("linux-6.15")`` gives the predicate with the rule.

#: the userfaultfd rules, with what they mean and the commit that introduced them
UFFD_RULES = {
    "none": "move_normal_pmd()/move_normal_pud() never look at userfaultfd",
    "source-after-warn": "after their WARN_ON_ONCE(!pmd_none(*new_pmd)) they refuse when the source VMA has "
                         "uffd-wp without EVENT_REMAP (0cef0bb836e3, 6.14-rc1)",
    "both": "before their WARN_ON_ONCE they refuse when either VMA has it: uffd_supports_page_table_move() "
            "(772e5b4a5e83, 6.17-rc; in 6.12.y the loop's uffd_supports_move)",
}


def table_moves(k: KernelOps, c: Call, rule: str) -> tuple[Any, Any]:
    """(Decision.tables, Decision.refuse_late) for this call under ``rule``."""
    if rule == "none":
        return True, False
    if rule == "source-after-warn":
        return True, k.uffd_without_remap(c.vma)
    if rule == "both":
        return k.and_(k.not_(k.uffd_without_remap(c.vma)), k.not_(k.uffd_without_remap(c.new_vma))), False
    raise ValueError(rule)


@dataclass(frozen=True)
class Profile:
    id: str
    kernels: str
    predicate: str
    uffd: str
    summary: str

    def to_json(self) -> dict:
        return {"id": self.id, "kernels": self.kernels, "predicate": self.predicate, "uffd": self.uffd,
                "uffd_rule": UFFD_RULES[self.uffd], "undo": True, "summary": self.summary}


def _load() -> dict[str, Profile]:
    out: dict[str, Profile] = {}
    for p in tomllib.loads(read_spec("profiles.toml"))["profile"]:
        prof = Profile(p["id"], p["kernels"], p["predicate"], p["uffd"], p["summary"])
        if prof.predicate not in VARIANTS or prof.uffd not in UFFD_RULES:
            raise ValueError(f"profiles.toml: {prof.id}: unknown predicate or uffd rule")
        out[prof.id] = prof
    return out


PROFILES: dict[str, Profile] = _load()


def get_profile(pid: str) -> Profile:
    try:
        return PROFILES[pid]
    except KeyError:
        raise InputError("profile", f"unknown profile {pid!r} (known: {', '.join(PROFILES)})") from None


def with_rule(base: Variant, rule: str, vid: str, summary: str, provenance: str) -> Variant:
    """``base``'s decision and tail, with the loop's userfaultfd rule ``rule``."""
    def decide(k: KernelOps, c: Call, level: str) -> Decision:
        d = base.decide(k, c, level)
        if rule == "none":
            return d
        tables, late = table_moves(k, c, rule)
        return dataclasses.replace(d, tables=k.and_(d.tables, tables), refuse_late=k.or_(d.refuse_late, late))
    return Variant(vid, summary, provenance, decide, base.progress, source=base.source)


_MADE: dict[str, Variant] = {}


def profile_variant(pid: str) -> Variant:
    """The variant a profile runs (made once)."""
    if pid not in _MADE:
        p = get_profile(pid)
        base = VARIANTS[p.predicate]
        _MADE[pid] = with_rule(base, p.uffd, p.id, f"{p.kernels}: {p.summary}",
                               f"predicate {base.id} ({base.provenance}); uffd: {UFFD_RULES[p.uffd]}")
    return _MADE[pid]
