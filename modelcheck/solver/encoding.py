"""The Z3 encoding: symbolic layouts and moves, variants as solver terms, property negations.

Everything here builds terms (modelcheck.solver.search solves them): ``IntOps`` is the
KernelOps backend the checker runs variants on, ``SymbolicState`` holds one symbolic kernel state
(n VMAs, the move, a possible allocation failure) and ``property_violation`` states each
property's negation.  The properties about the move loop (no-warn, return-value) are encoded from
the loop's structure (``Loop``), not by unrolling it, so their verdicts hold for moves of any
length; the exhaustive cross-validation against the concrete simulator (tests/solver/test_crossval.py)
checks that derivation.

Words are exact: an ``unsigned long`` is an integer term kept in [0, 2^W) — every ``+``/``-``
is reduced modulo 2^W, ``&`` takes the PAGE/PMD/PUD-style constant masks the kernel code uses,
a C ``int`` is the low bits read as two's complement — and every comparison is between those
values, i.e. unsigned.  Integer (linear arithmetic) terms solved about a hundred times faster than
bit-vectors here (v6.7 no-source-collateral with 4 VMAs on x86-64: 0.07 s against 3-11 s);
``BvOps`` runs the same variants on bit-vectors, and tests/solver/test_encoding.py checks that both
encodings agree with the concrete semantics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import z3

from modelcheck.model.geometry import Geometry
from modelcheck.model.scenario import Move, Scenario, Vma
from modelcheck.settings import DEFAULT, Settings
from modelcheck.userspace.syscalls import stack_len_max, stack_shift_max
from modelcheck.model.variants import Call, Decision, Variant

__all__ = ["IntOps", "IntWord", "BvOps", "SymbolicState", "Violation", "Loop", "KEPT", "range_hits", "offset_kept", "term", "as_bool", "decision_of", "decision_rules", "undo_of", "Undo", "violation_of", "property_violation", "decode",
           "new_context"]


def new_context(seed: int = 0) -> z3.Context:
    """A fresh Z3 context for one check, diff or question, with fixed seeds: every term and
    solver of it is made in this context (SymbolicState.ctx), never in z3's main one.

    The solver's choices (and so which model it returns, and how long it takes) depend on the ids
    of the terms, which depend on every term built before in the same context.  A new context per
    check makes its answer independent of which checks a process ran before it (the matrix's
    workers take checks in whatever order they finish them).  The seeds are Z3's process-wide
    parameters, set here from the run's Settings before the context is made.
    """
    z3.set_param("smt.random_seed", seed)
    z3.set_param("sat.random_seed", seed)
    return z3.Context()


def as_bool(x: Any, ctx: z3.Context | None = None) -> z3.BoolRef:
    return z3.BoolVal(x, ctx) if isinstance(x, bool) else x


REF_BITS = 8  # VMA references are 8-bit indexes; NULL is all ones


def _ref(x: Any, ctx: z3.Context | None) -> Any:
    return z3.BitVecVal(x, REF_BITS, ctx) if isinstance(x, int) else x


def _coerce(x: Any, like: Any, ctx: z3.Context) -> Any:
    if isinstance(x, bool):
        return z3.BoolVal(x, ctx)
    if isinstance(x, int) and z3.is_bv(like):
        return z3.BitVecVal(x, like.size(), ctx)
    return x


class _Logic:
    """The boolean part of KernelOps, shared by the solver backends (``ctx``: their Z3 context)."""

    ctx: z3.Context

    def and_(self, *bs: Any) -> z3.BoolRef:
        return z3.And(*[as_bool(b, self.ctx) for b in bs]) if bs else z3.BoolVal(True, self.ctx)

    def or_(self, *bs: Any) -> z3.BoolRef:
        return z3.Or(*[as_bool(b, self.ctx) for b in bs]) if bs else z3.BoolVal(False, self.ctx)

    def not_(self, b: Any) -> z3.BoolRef:
        return z3.Not(as_bool(b, self.ctx))

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def cond(self, cases: Sequence[tuple[Any, Any]], default: Any) -> Any:
        out = default
        for guard, value in reversed(list(cases)):
            out = self.ite(guard, value, out)
        return as_bool(out, self.ctx) if isinstance(out, bool) else out


class BvOps(_Logic):
    """KernelOps on Z3 terms over a symbolic layout of sorted VMAs; refs are 8-bit indexes (NULL = 0xff)."""

    null = -1

    def __init__(self, geometry: Geometry, starts: Sequence[z3.BitVecRef], ends: Sequence[z3.BitVecRef],
                 uffd: Sequence[Any] = ()) -> None:
        self.geometry = geometry
        self.bits = geometry.word_bits
        self.starts, self.ends = list(starts), list(ends)
        self.ctx = self.starts[0].ctx if self.starts else z3.main_ctx()
        self.uffd = [as_bool(u, self.ctx) for u in uffd] or [z3.BoolVal(False, self.ctx)] * len(self.starts)

    def word(self, value: int) -> z3.BitVecRef:
        return z3.BitVecVal(value, self.bits, self.ctx)

    def ult(self, a: Any, b: Any) -> z3.BoolRef:
        return z3.ULT(a, b)

    def ule(self, a: Any, b: Any) -> z3.BoolRef:
        return z3.ULE(a, b)

    def ugt(self, a: Any, b: Any) -> z3.BoolRef:
        return z3.UGT(a, b)

    def uge(self, a: Any, b: Any) -> z3.BoolRef:
        return z3.UGE(a, b)

    def eq(self, a: Any, b: Any) -> z3.BoolRef:
        return a == b

    def ne(self, a: Any, b: Any) -> z3.BoolRef:
        return a != b

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        if isinstance(c, bool):
            return a if c else b
        like = a if not isinstance(a, (bool, int)) else b
        return z3.If(c, _coerce(a, like, self.ctx), _coerce(b, like, self.ctx))

    def shr(self, w: Any, n: int) -> z3.BitVecRef:
        return z3.LShR(w, n)

    def to_int(self, w: Any) -> z3.BitVecRef:
        return z3.Extract(self.geometry.int_bits - 1, 0, w)

    def int_to_ulong(self, i: Any) -> z3.BitVecRef:
        extra = self.bits - i.size()
        return z3.SignExt(extra, i) if extra else i

    def is_null(self, r: Any) -> z3.BoolRef:
        return _ref(r, self.ctx) == _ref(self.null, self.ctx)

    def same(self, r1: Any, r2: Any) -> z3.BoolRef:
        return _ref(r1, self.ctx) == _ref(r2, self.ctx)

    def _select(self, r: Any, values: Sequence[z3.BitVecRef]) -> z3.BitVecRef:
        out: Any = self.word(0)
        for i in reversed(range(len(values))):
            out = z3.If(_ref(r, self.ctx) == i, values[i], out)
        return out

    def vm_start(self, r: Any) -> z3.BitVecRef:
        return self._select(r, self.starts)

    def vm_end(self, r: Any) -> z3.BitVecRef:
        return self._select(r, self.ends)

    def uffd_without_remap(self, r: Any) -> z3.BoolRef:
        ref = _ref(r, self.ctx)
        return z3.Or(*[z3.And(ref == i, u) for i, u in enumerate(self.uffd)], self.ctx)

    def _first(self, preds: Sequence[z3.BoolRef]) -> z3.BitVecRef:
        out: Any = _ref(self.null, self.ctx)
        for i in reversed(range(len(preds))):
            out = z3.If(preds[i], _ref(i, self.ctx), out)
        return out

    def find_vma_prev(self, addr: Any) -> tuple[z3.BitVecRef, z3.BitVecRef]:
        """The VMAs are sorted, so "vm_end > addr" is false then true along the list: the VMA
        is the first where it holds and prev is the one before it (index - 1; 0 - 1 is NULL)."""
        vma = self._first([z3.UGT(e, addr) for e in self.ends])
        last = _ref(len(self.ends) - 1 if self.ends else self.null, self.ctx)
        return vma, z3.If(vma == _ref(self.null, self.ctx), last, vma - 1)

    def find_vma_intersection(self, start: Any, end: Any) -> z3.BitVecRef:
        """mt_find(start, end - 1): the first VMA ending above start, if it begins at or below end - 1."""
        last = end - 1
        first = self._first([z3.UGT(e, start) for e in self.ends])
        null = _ref(self.null, self.ctx)
        hit = z3.If(z3.And(first != null, z3.ULE(self.vm_start(first), last)), first, null)
        return z3.If(z3.UGT(start, last), null, hit)


class IntWord:
    """An unsigned long of ``bits`` bits as an integer term in [0, 2^bits): C wrap-around by modulo.

    Each word carries bounds [lo, hi] known from how it was built (an address is at most
    TASK_SIZE, an offset below PMD_SIZE, ...); ``+`` and ``-`` reduce modulo 2^bits only when the
    bounds say the result can leave [0, 2^bits), which keeps the terms small and exact.
    ``&`` is defined for the masks kernel address arithmetic uses: a constant 2^k - 1 (the offset
    in a page table) or its complement (the aligned base).  Anything else is refused, not guessed.
    """

    __slots__ = ("t", "bits", "lo", "hi")

    def __init__(self, t: Any, bits: int, lo: int | None = None, hi: int | None = None) -> None:
        self.t, self.bits = t, bits
        if z3.is_int_value(t):
            lo = hi = t.as_long()
        self.lo = 0 if lo is None else lo
        self.hi = (1 << bits) - 1 if hi is None else hi

    @property
    def modulus(self) -> int:
        return 1 << self.bits

    def _w(self, o: Any) -> "IntWord":
        if isinstance(o, IntWord):
            return o
        if isinstance(o, int) and not isinstance(o, bool):
            return IntWord(z3.IntVal(o % self.modulus, self.t.ctx), self.bits)
        raise TypeError(f"cannot combine a word with {type(o).__name__}")

    def _v(self, o: Any) -> Any:
        return self._w(o).t

    def _const(self) -> int | None:
        return self.t.as_long() if z3.is_int_value(self.t) else None

    def _result(self, t: Any, lo: int, hi: int) -> "IntWord":
        if z3.is_int_value(t) or (isinstance(t, z3.ArithRef) and z3.is_int_value(z3.simplify(t))
                                  and lo == hi):
            v = z3.simplify(t).as_long() % self.modulus
            return IntWord(z3.IntVal(v, t.ctx), self.bits)
        if 0 <= lo and hi < self.modulus:
            return IntWord(t, self.bits, lo, hi)
        return IntWord(t % self.modulus, self.bits)

    def __add__(self, o: Any) -> "IntWord":
        w = self._w(o)
        return self._result(self.t + w.t, self.lo + w.lo, self.hi + w.hi)

    __radd__ = __add__

    def __sub__(self, o: Any) -> "IntWord":
        w = self._w(o)
        return self._result(self.t - w.t, self.lo - w.hi, self.hi - w.lo)

    def __rsub__(self, o: Any) -> "IntWord":
        return self._w(o) - self

    def __invert__(self) -> "IntWord":
        m = self.modulus - 1
        return self._result(m - self.t, m - self.hi, m - self.lo)

    def _pick(self, o: Any, op: str) -> tuple["IntWord", int]:
        """The non-constant operand and the constant one (as an int) of a bitwise ``op``."""
        other = self._w(o)
        mask, x = other._const(), self
        if mask is None:
            mask, x = self._const(), other
        if mask is None:
            raise TypeError(f"the integer encoding supports '{op}' with a constant operand only")
        return x, mask % self.modulus

    def _runs(self, mask: int) -> list[tuple[int, int]]:
        """The runs of one bits of ``mask``: (lowest bit, bit above the run)."""
        out, b = [], 0
        while mask >> b:
            if mask >> b & 1:
                a = b
                while mask >> b & 1:
                    b += 1
                out.append((a, b))
            else:
                b += 1
        return out

    def _field(self, a: int, b: int) -> Any:
        """Bits a..b-1 of the word, in place (exact: the term lies in [0, 2^bits))."""
        t = self.t if a == 0 else self.t / (1 << a)
        if b < self.bits:
            t = t % (1 << (b - a))
        return t * (1 << a) if a else t

    def __and__(self, o: Any) -> "IntWord":
        x, mask = self._pick(o, "&")
        if mask & (mask + 1) == 0:  # 0...01...1: the low bits
            if mask + 1 >= self.modulus:
                return x
            return IntWord(x.t % (mask + 1), self.bits, 0, min(mask, x.hi))
        low = (~mask % self.modulus) + 1
        if low & (low - 1) == 0:  # 1...10...0: the aligned base
            return IntWord(x.t - x.t % low, self.bits, 0, x.hi)
        parts = [x._field(a, b) for a, b in self._runs(mask)]
        return IntWord(z3.Sum(parts) if len(parts) > 1 else parts[0], self.bits, 0, min(mask, x.hi))

    def __or__(self, o: Any) -> "IntWord":
        x, mask = self._pick(o, "|")
        if mask == 0:
            return x
        t = x.t + z3.Sum([((1 << b) - (1 << a)) - x._field(a, b) for a, b in self._runs(mask)])
        return IntWord(t, self.bits, max(x.lo, mask), self.modulus - 1)

    def __xor__(self, o: Any) -> "IntWord":
        x, mask = self._pick(o, "^")
        if mask == 0:
            return x
        t = x.t + z3.Sum([((1 << b) - (1 << a)) - 2 * x._field(a, b) for a, b in self._runs(mask)])
        return IntWord(t, self.bits, 0, self.modulus - 1)

    def __mul__(self, o: Any) -> "IntWord":
        x, c = self._pick(o, "*")
        return self._result(x.t * c, x.lo * c, x.hi * c) if c else IntWord(z3.IntVal(0, x.t.ctx), self.bits)

    def __lshift__(self, n: int) -> "IntWord":
        return self * (1 << n) if n < self.bits else IntWord(z3.IntVal(0, self.t.ctx), self.bits)

    def __rshift__(self, n: int) -> "IntWord":  # unsigned: logical shift
        if n >= self.bits:
            return IntWord(z3.IntVal(0, self.t.ctx), self.bits)
        return self._result(self.t / (1 << n), self.lo >> n, self.hi >> n) if n else self

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__
    __rmul__ = __mul__

    def _no(self, *_: Any) -> Any:
        raise TypeError("use ops.ult/ule/ugt/uge/eq/ne on words")

    __lt__ = __le__ = __gt__ = __ge__ = _no

    def __eq__(self, o: object) -> z3.BoolRef:  # type: ignore[override]
        return self.t == self._v(o)

    def __ne__(self, o: object) -> z3.BoolRef:  # type: ignore[override]
        return self.t != self._v(o)

    __hash__ = None  # type: ignore[assignment]


def term(x: Any) -> Any:
    return x.t if isinstance(x, IntWord) else x


class IntOps(_Logic):
    """KernelOps on integer terms over a symbolic layout of sorted VMAs; refs are Ints (-1 = NULL)."""

    null = -1

    def __init__(self, geometry: Geometry, starts: Sequence[Any], ends: Sequence[Any], count: Any = None,
                 options: Settings = DEFAULT) -> None:
        """``count``: an integer term, the number of VMAs that exist (the first ``count`` of the
        lists); None when all of them do.  ``options``: the encoding choices (Settings)."""
        self.geometry = geometry
        self.options = options
        self.bits = geometry.word_bits
        self.starts, self.ends = list(starts), list(ends)
        self.ctx = self.starts[0].ctx
        self.count = count
        self._none: dict[int, Any] = {}  # term id of a lookup's result -> "it is NULL", stated directly
        self._named: dict[int, tuple] = {}  # term id of a VMA index -> the variables of its bounds
        # every term through which a formula reaches a VMA of the layout, by term id: (kind, term)
        # with kind "lookup" (a VMA a lookup returns; ``term`` is then the lookup's address
        # arguments, which the VMA depends on too), "field" (a bound of the VMA ``term``
        # refers to) or "null" (whether the lookup ``term`` found nothing); see Cutoff
        self.reach: dict[int, tuple[str, Any]] = {}
        # the terms ``reach`` is keyed by, kept alive: a dead term's id is reused by Z3 for a new
        # term, which the cutoff would then read as a lookup or a field it is not
        self._held: list = []
        # the VMA references handed out (the call's, the lookups', their merges), by term id: a
        # reference is opaque, so any other term given as one (``c.vma - 6``) is refused, and
        # every VMA a formula reaches is one the cutoff counts
        self._refs: set[int] = set()
        # vma_has_uffd_without_event_remap() of each VMA, made when first read (SymbolicState.uffd);
        # None: every VMA has none
        self.uffd_vars: Callable[[], list] | None = None

    def issue(self, r: Any) -> Any:
        """Mark ``r`` as a VMA reference variant code may use."""
        self._refs.add(r.get_id())
        self._held.append(r)
        return r

    def _is_ref(self, r: Any) -> bool:
        return (isinstance(r, int) and not isinstance(r, bool) and r == self.null) or \
            (z3.is_expr(r) and r.get_id() in self._refs)

    def _ref(self, r: Any) -> Any:
        if not self._is_ref(r):
            raise TypeError(f"a VMA reference is opaque (== and != only, from a lookup or the call); got {r}")
        return r

    def word(self, value: int) -> IntWord:
        return IntWord(z3.IntVal(value % (1 << self.bits), self.ctx), self.bits)

    def wrap(self, t: Any, hi: int | None = None) -> IntWord:
        """An integer term known to lie in [0, hi] (default [0, 2^W)) as a word."""
        return IntWord(t, self.bits, 0, hi)

    def _pair(self, a: Any, b: Any) -> tuple[Any, Any]:
        w = a if isinstance(a, IntWord) else b
        return (w._v(a), w._v(b)) if isinstance(w, IntWord) else (a, b)

    def ult(self, a: Any, b: Any) -> z3.BoolRef:
        x, y = self._pair(a, b)
        return x < y

    def ule(self, a: Any, b: Any) -> z3.BoolRef:
        x, y = self._pair(a, b)
        return x <= y

    def ugt(self, a: Any, b: Any) -> z3.BoolRef:
        x, y = self._pair(a, b)
        return x > y

    def uge(self, a: Any, b: Any) -> z3.BoolRef:
        x, y = self._pair(a, b)
        return x >= y

    def eq(self, a: Any, b: Any) -> z3.BoolRef:
        x, y = self._pair(a, b)
        return x == y

    def ne(self, a: Any, b: Any) -> z3.BoolRef:
        x, y = self._pair(a, b)
        return x != y

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        if isinstance(c, bool):
            return a if c else b
        if isinstance(a, IntWord) or isinstance(b, IntWord):
            w = a if isinstance(a, IntWord) else b
            x, y = w._w(a), w._w(b)
            return IntWord(z3.If(c, x.t, y.t), w.bits, min(x.lo, y.lo), max(x.hi, y.hi))
        if isinstance(a, bool) or isinstance(b, bool):
            return z3.If(c, as_bool(a, self.ctx), as_bool(b, self.ctx))
        out = z3.If(c, a, b)
        if self._is_ref(a) and self._is_ref(b):  # a reference merged over two paths is one
            self.issue(out)
        return out

    def shr(self, w: Any, n: int) -> IntWord:
        return w >> n

    def to_int(self, w: Any) -> IntWord:
        ib = self.geometry.int_bits
        if w.hi < 1 << ib:
            return IntWord(w.t, ib, w.lo, w.hi)
        return IntWord(w.t % (1 << ib), ib)

    def int_to_ulong(self, i: IntWord) -> IntWord:
        extra = self.bits - i.bits
        if not extra:
            return IntWord(i.t, self.bits)
        sign = 1 << (i.bits - 1)  # a negative int converts to 2^W + value: add the high ones
        return IntWord(z3.If(i.t >= sign, i.t + ((1 << self.bits) - (1 << i.bits)), i.t), self.bits)

    def is_null(self, r: Any) -> z3.BoolRef:
        if z3.is_expr(r) and r.get_id() in self._none:
            return self._none[r.get_id()]
        return self._ref(r) == -1

    def same(self, r1: Any, r2: Any) -> z3.BoolRef:
        return self._ref(r1) == self._ref(r2)

    def _exists(self, i: int) -> Any:
        return True if self.count is None or i == 0 else self.count > i

    def name(self, r: Any, start: Any, end: Any) -> list:
        """Let ``start``/``end`` stand for vm_start(r)/vm_end(r) (r a VMA index term such as the
        call's old_vma); returns the constraints that say so."""
        self._named[r.get_id()] = (start, end)
        return [z3.Implies(r == i, z3.And(start == b, end == e)) for i, (b, e) in enumerate(zip(self.starts, self.ends))]

    def _select(self, r: Any, values: Sequence[Any]) -> IntWord:
        self._ref(r)
        if z3.is_expr(r) and r.get_id() in self._named:  # (only with Settings.named == "named")
            start, end = self._named[r.get_id()]
            return IntWord(start if values is self.starts else end, self.bits, 0, self.geometry.task_size)
        out: Any = z3.IntVal(0, self.ctx)
        for i in reversed(range(len(values))):
            out = z3.If(r == i, values[i], out)
        if z3.is_expr(out):
            self.reach[out.get_id()] = ("field", r)
            self._held.append(out)
        return IntWord(out, self.bits, 0, self.geometry.task_size)  # VMA bounds are addresses

    def vm_start(self, r: Any) -> IntWord:
        return self._select(r, self.starts)

    def vm_end(self, r: Any) -> IntWord:
        return self._select(r, self.ends)

    def uffd_without_remap(self, r: Any) -> z3.BoolRef:
        """vma_has_uffd_without_event_remap(r): the flag of the VMA ``r`` refers to (NULL: false).
        A field of the VMA like its bounds: the cutoff keeps every VMA a formula reaches, with it."""
        self._ref(r)
        flags = self.uffd_vars() if self.uffd_vars is not None else []
        out = z3.Or(*[z3.And(r == i, u) for i, u in enumerate(flags)], self.ctx) if flags else \
            z3.BoolVal(False, self.ctx)
        if z3.is_expr(out) and not z3.is_false(out):
            self.reach[out.get_id()] = ("field", r)
            self._held.append(out)
        return out

    def _first(self, preds: Sequence[z3.BoolRef]) -> Any:
        out: Any = z3.IntVal(-1, self.ctx)
        for i in reversed(range(len(preds))):
            p = preds[i] if self.count is None or i == 0 else z3.And(self.count > i, preds[i])
            out = z3.If(p, z3.IntVal(i, self.ctx), out)
        return out

    def find_vma_prev(self, addr: Any) -> tuple[Any, Any]:
        """Sorted VMAs: "vm_end > addr" is false then true along the list; prev is the VMA before."""
        a = term(addr)
        vma = self._first([e > a for e in self.ends])
        last = len(self.ends) - 1 if self.count is None else self.count - 1
        prev = z3.If(vma == -1, last, vma - 1)
        for r in (vma, prev):
            self.reach[r.get_id()] = ("lookup", (a,))
            self.issue(r)
        return vma, prev

    def find_vma_intersection(self, start: Any, end: Any) -> Any:
        """mt_find(start, end - 1): the first VMA ending above start, if it begins at or below end - 1."""
        s, last = term(start), term(end - 1)
        first = self.issue(self._first([e > s for e in self.ends]))
        hit = z3.If(z3.And(first != -1, self.vm_start(first).t <= last), first, -1)
        found = z3.If(s > last, -1, hit)
        self.reach[found.get_id()] = ("lookup", (s, last))
        self.issue(found)
        # Whether it is NULL, without going through which VMA it is: since the VMAs are sorted,
        # no VMA meets [start, end - 1] (an equivalent statement, far easier for the solver)
        if self.options.none == "direct":
            self._none[found.get_id()] = z3.Or(s > last, z3.And(*[
                z3.Not(z3.And(self._exists(i), e > s, b <= last)) for i, (b, e) in enumerate(zip(self.starts, self.ends))]))
            self.reach[self._none[found.get_id()].get_id()] = ("null", found)
        return found


@dataclass(frozen=True)
class Order:
    """The unsigned comparisons of a word representation: Python's operators on integer terms,
    Z3's ULT/ULE/UGT/UGE on bit-vectors (the benchmark's comparison of the two)."""

    lt: Callable[[Any, Any], Any]
    le: Callable[[Any, Any], Any]
    ge: Callable[[Any, Any], Any]


INT_ORDER = Order(lambda a, b: a < b, lambda a, b: a <= b, lambda a, b: a >= b)
BV_ORDER = Order(z3.ULT, z3.ULE, z3.UGE)


def vma_rules(o: Order, g: Geometry, starts: Sequence[Any], ends: Sequence[Any], i: int, below: Iterable[int]) -> list:
    """VMA i of a scenario (modelcheck.model.scenario's rules): non-empty, within [mmap_min_addr,
    TASK_SIZE], above the VMAs ``below`` it."""
    s, e = starts[i], ends[i]
    return [o.lt(s, e), o.ge(s, g.mmap_min_addr), o.le(e, g.task_size), *[o.le(ends[j], s) for j in below]]


def call_rules(o: Order, vm_start: Callable[[Any], Any], vm_end: Callable[[Any], Any], old_vma: Any, new_vma: Any,
               old: Any, new: Any, length: Any, stack: Any) -> list:
    """The call of a scenario: each range inside its VMA; an exec stack move shifts its one VMA
    down onto its own start, an mremap's two ranges do not overlap."""
    old_end, new_end = old + length, new + length
    c = [o.le(vm_start(old_vma), old), o.le(old_end, vm_end(old_vma)),
         o.le(vm_start(new_vma), new), o.le(new_end, vm_end(new_vma))]
    # len 0 is a zero-length mremap's (a shared mapping duplicated): each address inside its VMA
    # (mremap() looks the VMA up by it), the new VMA one of its own.  (Stated only for len 0, and
    # here: the same bounds for every length, though implied, or this constraint after the next,
    # slow the solver down by ten times on some C: tests/front/test_front_fuzz.py's slow tier.)
    c.append(z3.Implies(length == 0, z3.And(o.lt(old, vm_end(old_vma)), o.lt(new, vm_end(new_vma)),
                                            old_vma != new_vma)))
    on_itself = z3.And(old_vma == new_vma, new == vm_start(old_vma), old_end == vm_end(old_vma), o.lt(new, old))
    c.append(z3.If(stack, on_itself, z3.Or(o.le(old_end, new), o.le(new_end, old))))
    return c


@dataclass
class SymbolicState:
    """n symbolic VMAs and a symbolic move_page_tables() call, with the scenario constraints.

    Addresses are integer terms: page numbers times PAGE_SIZE, so page alignment is free.
    """

    geometry: Geometry
    n: int
    tag: str = ""
    upto: bool = False  # any number of VMAs from 1 to n (``count``), not exactly n
    # every decision made on this state is a free one (``free_decision``): an over-approximation
    # in which a goal that has no model has none for any predicate's real decision
    abstract: bool = False
    # the encoding choices (every one exact; the benchmark measures them)
    settings: Settings = DEFAULT
    # the Z3 context its terms are made in (new_context(); None: z3's main context, for a state
    # built by hand, as in the tests)
    ctx: Any = None

    def __post_init__(self) -> None:
        g, t = self.geometry, self.tag
        if self.ctx is None:
            self.ctx = z3.main_ctx()
        ctx = self.ctx
        self.starts = [self._address(f"{t}start{i}") for i in range(self.n)]
        self.ends = [self._address(f"{t}end{i}") for i in range(self.n)]
        self.populated = [z3.Bool(f"{t}populated{i}", ctx) for i in range(self.n)]
        self.count = z3.Int(f"{t}count", ctx) if self.upto else None
        # VMA i exists: all of them, or the first ``count``
        self.exists = [z3.BoolVal(True, ctx) if not self.upto or i == 0 else self.count > i for i in range(self.n)]
        self.old_vma, self.new_vma = z3.Int(f"{t}old_vma", ctx), z3.Int(f"{t}new_vma", ctx)
        self.old_addr, self.new_addr = self._address(f"{t}old_addr"), self._address(f"{t}new_addr")
        self.len = self._address(f"{t}len")
        self.for_stack, self.has_stop = z3.Bool(f"{t}for_stack", ctx), z3.Bool(f"{t}has_stop", ctx)
        self.stop_at = self._address(f"{t}stop_at")
        self.ops = IntOps(g, self.starts, self.ends, self.count, self.settings)
        self.ops.uffd_vars = lambda: self.uffd
        self.ops.issue(self.old_vma)
        self.ops.issue(self.new_vma)
        self.constraints = []
        if self.settings.named == "named":  # the call's VMAs' bounds as variables of their own
            for r, tag in ((self.old_vma, "old"), (self.new_vma, "new")):
                self.constraints += self.ops.name(r, z3.Int(f"{t}{tag}_vm_start", ctx), z3.Int(f"{t}{tag}_vm_end", ctx))
        self.constraints += self._scenario_constraints()

    def _address(self, name: str) -> Any:
        return z3.Int(name, self.ctx) * self.geometry.page_size

    @property
    def uffd(self) -> list:
        """vma_has_uffd_without_event_remap() of each VMA (Vma.uffd_wp), made when a formula first
        reads one: a state whose formulas never do is the same set of terms as without them (the
        solver's search depends on the terms made, and their order)."""
        if "_uffd" not in self.__dict__:
            self.__dict__["_uffd"] = [z3.Bool(f"{self.tag}uffd{i}", self.ctx) for i in range(self.n)]
        return self.__dict__["_uffd"]

    @property
    def old_end(self) -> Any:
        return self.old_addr + self.len

    @property
    def new_end(self) -> Any:
        return self.new_addr + self.len

    def vm_start(self, r: Any) -> Any:
        return self.ops.vm_start(r).t

    def vm_end(self, r: Any) -> Any:
        return self.ops.vm_end(r).t

    def _scenario_constraints(self) -> list:
        """The validation rules of modelcheck.model.scenario, as constraints (vma_rules() and
        call_rules() on integers, and what only this encoding needs: VMAs that may not exist,
        the references' ranges, the allocation failure's address)."""
        g, m = self.geometry, self
        c: list = []
        for i in range(self.n):
            s, e = self.starts[i], self.ends[i]
            # sorted and disjoint: every pair, or each VMA after the one before
            below = range(i) if self.settings.sorted == "pairwise" else range(max(i - 1, 0), i)
            valid = vma_rules(INT_ORDER, g, self.starts, self.ends, i, below)
            # a VMA that does not exist is pinned, so that it adds no freedom
            # (its uffd flag is left free: no reference reaches a VMA that does not exist)
            c += valid if i == 0 or not self.upto else [z3.If(self.exists[i], z3.And(*valid),
                                                               z3.And(s == 0, e == 0, z3.Not(self.populated[i])))]
        top = self.n if not self.upto else self.count
        if self.upto:
            c += [1 <= self.count, self.count <= self.n]
        c += [0 <= m.old_vma, m.old_vma < top, 0 <= m.new_vma, m.new_vma < top]
        c += [m.old_addr >= 0, m.new_addr >= 0, m.len >= 0]  # len 0: a zero-length mremap of a shared mapping
        c += call_rules(INT_ORDER, self.vm_start, self.vm_end, m.old_vma, m.new_vma, m.old_addr, m.new_addr, m.len,
                        m.for_stack)
        c += [m.stop_at >= 0, m.stop_at < m.old_end]  # a decision may start anywhere below old_addr
        return c

    def exec_reachable(self, uffd: bool = True) -> z3.BoolRef:
        """A stack move is one exec can make (modelcheck.userspace.syscalls.exec_stack): the mm holds only
        the stack, which ends at STACK_TOP_MAX, holds at most MAX_ARG_BYTES of arguments in
        written pages and moves down by at most the stack randomization."""
        g = self.geometry
        only = self.count == 1 if self.count is not None else z3.BoolVal(self.n == 1, self.ctx)
        out = z3.Implies(self.for_stack, z3.And(only, self.ends[0] == g.task_size, self.populated[0],
                                                z3.Not(self.uffd[0]), self.len <= stack_len_max(g),
                                                self.old_addr - self.new_addr <= stack_shift_max(g)))
        self.ops.reach[out.get_id()] = ("layout", out)  # a state of one VMA: nothing to delete
        # an mremap's new VMA is a copy of the source (vm_area_dup() copies vm_userfaultfd_ctx),
        # and a uffd-wp source without EVENT_REMAP is copied into a VMA of its own: copy_vma()
        # merges it with nothing (vma_merge_copied_range())
        if not uffd:  # (search.UFFD_FREE: the VMAs' userfaultfd states are left free)
            return out
        k = self.ops
        fresh = z3.And(self.old_vma != self.new_vma, k.vm_start(self.new_vma).t == self.new_addr,
                       k.vm_end(self.new_vma).t == self.new_end)
        src = k.uffd_without_remap(self.old_vma)
        out = z3.And(out, z3.Implies(z3.Not(self.for_stack),
                                     z3.And(k.uffd_without_remap(self.new_vma) == src, z3.Implies(src, fresh))))
        return out

    def cutoff(self, formulas: Sequence[Any]) -> "Cutoff":
        """How many VMAs a state satisfying one of ``formulas`` (a goal's alternatives) needs:
        see Cutoff.  The worst of the formulas' own (the first that reads the layout otherwise)."""
        worst: Cutoff | None = None
        for f in formulas:
            here = self.formula_cutoff(f)
            if here.raw:
                return here
            if worst is None or here.vmas > worst.vmas:
                worst = here
        return worst or Cutoff(2, 0, 0, [])

    def formula_cutoff(self, f: Any) -> "Cutoff":
        """How many VMAs a state satisfying ``f`` needs (see Cutoff), remembered per formula (a
        search asks again per alternative)."""
        memo = self.__dict__.setdefault("_cutoffs", {})
        key = f.get_id() if z3.is_expr(f) else ("const", bool(f))
        if key not in memo:
            lookups, entries, raw = self._reach(f) if z3.is_expr(f) else (frozenset(), frozenset(), frozenset())
            memo[key] = (f, Cutoff(2 + len(lookups) + len(entries), len(lookups), len(entries), sorted(raw)))
        return memo[key][1]

    def _reach(self, f: z3.ExprRef) -> tuple[frozenset, frozenset, frozenset]:
        """What ``f`` reaches of the layout, with polarity (1 positive, -1 negative, 0 both): the
        lookups (ids of the VMAs they return), the entry tests that can be needed true, and any
        other read of a VMA's bound or populated flag (``raw``, as text).  One walk over the
        formula's DAG on Z3's C API (no Python object per node), each (node, polarity) summed up
        once per state, so that the alternatives of a goal share the walk of their decision."""
        ctx = f.ctx.ref()
        C = z3.z3core
        reach = self.ops.reach
        layout = {v.get_id(): v for v in [*self.starts, *self.ends, *self.populated]
                  + ([self.count] if self.upto else [])}
        done: dict[tuple[int, int], tuple[frozenset, frozenset, frozenset]] = self.__dict__.setdefault("_reached", {})
        empty: frozenset = frozenset()

        def parts(a: Any, pol: int) -> tuple[tuple, list]:
            """(what this node adds, its children with their polarity)"""
            tid = C.Z3_get_ast_id(ctx, a)
            if tid in reach:
                kind, of = reach[tid]
                if kind == "lookup":  # a VMA to keep, and what the addresses it was looked up at read
                    return ({tid}, empty, empty), [(x.as_ast(), 0) for x in of if z3.is_expr(x)]
                if kind == "entries":
                    needed = pol >= 0 and not z3.is_false(z3.BoolRef(a, f.ctx))
                    return (empty, {tid} if needed else empty, empty), []
                if kind in ("field", "null") and z3.is_expr(of):
                    return (empty, empty, empty), [(of.as_ast(), 0)]
                return (empty, empty, empty), []
            if tid in layout:
                return (empty, empty, {str(layout[tid])}), []
            if C.Z3_get_ast_kind(ctx, a) != z3.Z3_APP_AST:
                return (empty, empty, empty), []
            app = C.Z3_to_app(ctx, a)
            args = [C.Z3_get_app_arg(ctx, app, i) for i in range(C.Z3_get_app_num_args(ctx, app))]
            op = C.Z3_get_decl_kind(ctx, C.Z3_get_app_decl(ctx, app))
            if op in (z3.Z3_OP_AND, z3.Z3_OP_OR):
                kids = [(x, pol) for x in args]
            elif op == z3.Z3_OP_NOT:
                kids = [(args[0], -pol)]
            elif op == z3.Z3_OP_IMPLIES:
                kids = [(args[0], -pol), (args[1], pol)]
            elif op == z3.Z3_OP_ITE and C.Z3_get_sort_kind(ctx, C.Z3_get_sort(ctx, a)) == z3.Z3_BOOL_SORT:
                kids = [(args[0], 0), (args[1], pol), (args[2], pol)]
            else:
                kids = [(x, 0) for x in args]
            return (empty, empty, empty), kids

        root = (f.as_ast(), 1)
        todo = [(root, False)]
        pending: dict[tuple[int, int], tuple] = {}
        while todo:
            (a, pol), expanded = todo.pop()
            key = (C.Z3_get_ast_id(ctx, a), pol)
            if key in done:
                continue
            if not expanded:
                if key in pending:
                    continue  # reached again below itself: nothing new to add
                own, kids = parts(a, pol)
                pending[key] = (own, kids)
                todo.append(((a, pol), True))
                todo += [(k, False) for k in kids]
                continue
            own, kids = pending.pop(key)
            sums = [own] + [done[(C.Z3_get_ast_id(ctx, x), p)] for x, p in kids]
            done[key] = tuple(frozenset().union(*(s[i] for s in sums)) for i in range(3))  # type: ignore[assignment]
        return done[(C.Z3_get_ast_id(ctx, root[0]), 1)]


    def call(self) -> Call:
        w, top = self.ops.wrap, self.geometry.task_size
        return Call(vma=self.old_vma, new_vma=self.new_vma, old_addr=w(self.old_addr, top),
                    new_addr=w(self.new_addr, top), len=w(self.len, top), for_stack=self.for_stack)

    def has_entries(self, lo: Any, hi: Any) -> z3.BoolRef:
        """Some page in [lo, hi) holds an entry at the call (see simulate.initial_tables()).

        Built once per range (terms are hash-consed, so a range built again has the same ids;
        the memo keeps lo and hi alive, so their ids are not reused)."""
        key = tuple(x.get_id() if z3.is_expr(x) else ("int", x) for x in (lo, hi))
        memo = self.__dict__.setdefault("_entries", {})
        if key in memo:
            return memo[key][2]
        out = self._has_entries(lo, hi)
        memo[key] = (lo, hi, out)
        return out

    def _has_entries(self, lo: Any, hi: Any) -> z3.BoolRef:
        hits = []
        for i in range(self.n):
            first = z3.If(z3.And(self.for_stack, self.old_vma == i), self.old_addr, self.starts[i])
            end = self.ends[i]
            # [max(first, lo), min(end, hi)) is not empty (first < end always) and, for an
            # mremap, does not lie inside the destination, written without max/min terms
            if self.settings.overlap == "logic":
                meets = z3.And(first < hi, lo < end, lo < hi)
                inside_dst = z3.And(z3.Not(self.for_stack), z3.Or(first >= self.new_addr, lo >= self.new_addr),
                                    z3.Or(end <= self.new_end, hi <= self.new_end))
            else:
                jlo, jhi = _max(first, lo), _min(end, hi)
                meets = jlo < jhi
                inside_dst = z3.And(z3.Not(self.for_stack), jlo >= self.new_addr, jhi <= self.new_end)
            hits.append(z3.And(self.populated[i], meets, z3.Not(inside_dst)))  # (none if it does not exist)
        out = z3.Or(*hits) if hits else z3.BoolVal(False, self.ctx)
        self.ops.reach[out.get_id()] = ("entries", out)
        return out

    def slot_has_entries(self, x: Any, size: int) -> z3.BoolRef:
        lo = x - x % size
        return self.has_entries(lo, lo + size)


@dataclass(frozen=True)
class Cutoff:
    """A bound on the VMAs a violation needs, read off the goal's formula.

    A formula reaches the layout only through: the call's two VMAs; the VMAs that lookups
    (find_vma_prev(), find_vma_intersection(), vma_prev()) return, and their bounds; and
    "some populated VMA has an entry in [lo, hi)" (``has_entries``).  Take any state, with any
    number of VMAs, that satisfies the formula, and delete every VMA except the call's two, the
    ones its lookups return, and one holding an entry for each such test the formula needs to be
    true.  Since the VMAs a lookup returns count together with everything the addresses it was
    made at read (a lookup at the start of a VMA another lookup returned counts that one too),
    the addresses of the lookups are, lookup by lookup, the same in the smaller state; and on
    VMAs sorted and disjoint every lookup then returns what it returned (the first VMA
    ending above an address is still the first; the last ending at or below it still the last; a
    NULL stays NULL, since deleting VMAs makes none appear), so every address the formula computes
    is the same; a test that needed an entry keeps its witness, and one that needed none still
    finds none.  So the smaller state, of at most ``vmas`` = 2 + ``lookups`` + ``witnesses``
    VMAs, satisfies it too, and a proof over every state of up to ``vmas`` VMAs covers every
    number of VMAs.  Where the formula reads a VMA of the layout in another way (``raw``), no
    such bound is claimed.
    """

    vmas: int
    lookups: int  # distinct VMAs returned by lookups (each a VMA to keep, if not NULL)
    witnesses: int  # entry tests that must be true (negative ones need no VMA)
    raw: list

    def covers(self, searched: int) -> bool:
        """Does a search of every state of up to ``searched`` VMAs cover every number of them?"""
        return not self.raw and self.vmas <= searched

    def why(self) -> str:
        if self.raw:
            return f"the goal reads VMAs other than through lookups and entry tests ({', '.join(self.raw[:4])})"
        return (f"a violation needs at most {self.vmas} VMAs: the call's two, {self.lookups} a lookup returns, "
                f"{self.witnesses} holding an entry the property tests")


def _max(a: Any, b: Any) -> Any:
    return z3.If(a >= b, a, b)


def _min(a: Any, b: Any) -> Any:
    return z3.If(a <= b, a, b)


def decision_of(st: SymbolicState, variant: Variant, level: str) -> Decision:
    """The variant's decision on the state, built once per state (a C variant's interpretation
    costs more than the queries on it)."""
    memo = st.__dict__.setdefault("_decisions", {})
    hit = memo.get((id(variant), level))
    if hit is not None and hit[0] is variant:
        return hit[1]
    d = free_decision(st, f"{len(memo)}", returns_early(variant, st.geometry, level)) if st.abstract \
        else variant.decide(st.ops, st.call(), level)
    memo[id(variant), level] = (variant, d)
    return d


#: (id of a variant, geometry, level) -> (the variant, whether its decision has early returns)
_EARLY: dict[tuple[int, str, str], tuple[Variant, bool]] = {}


def returns_early(variant: Variant, g: Geometry, level: str = "pmd") -> bool:
    """Does the variant's decision carry early returns at all (a built-in's head; a whole C
    move_page_tables() with a return before its loop)?  Read once off a decision on a small
    symbolic state, so that an abstract state's free decision has an early return only where a
    real one can (a free one elsewhere changes every query's terms, and the solver's search)."""
    key = (id(variant), g.name, level)
    hit = _EARLY.get(key)
    if hit is None or hit[0] is not variant:
        st = SymbolicState(g, 2, ctx=new_context())
        hit = _EARLY[key] = (variant, bool(variant.decide(st.ops, st.call(), level).early))
    return hit[1]


@dataclass
class Undo:
    """move_vma()'s undo move on a symbolic state (semantics.Undo): the length the first move
    returned at its break (``len``: the variant's tail at stop_at), the undo's own decision on the
    swapped call, where it ends, and when it runs at all (``runs``: the move broke, it is an
    mremap's, and the undo call does not return at once)."""

    len: Any
    decision: Decision
    end: Any
    runs: z3.BoolRef


def undo_of(st: SymbolicState, variant: Variant, level: str, d: Decision) -> Undo:
    """The undo move of the state's call, built once per state and variant."""
    memo = st.__dict__.setdefault("_undos", {})
    hit = memo.get((id(variant), level))
    if hit is not None and hit[0] is variant:
        return hit[1]
    k, g = st.ops, st.geometry
    w, top = k.wrap, g.task_size
    ret = variant.progress(k, w(st.stop_at, top), w(st.old_end, top), w(st.len, top))
    call = Call(vma=st.new_vma, new_vma=st.old_vma, old_addr=w(st.new_addr, top), new_addr=w(st.old_addr, top),
                len=ret, for_stack=z3.BoolVal(False, st.ctx))
    d2 = free_decision(st, f"undo{len(memo)}") if st.abstract else variant.decide(k, call, level)
    end = term(w(st.new_addr, top) + ret)
    quiet = [z3.Not(as_bool(c, st.ctx)) for _, c, _ in d2.early]  # a built-in's "if (!len) return 0;" among them
    runs = z3.And(st.has_stop, z3.Not(st.for_stack), term(d.old_addr) <= st.stop_at, *quiet)
    u = Undo(ret, d2, end, runs)
    memo[id(variant), level] = (variant, u)
    return u


def free_decision(st: SymbolicState, tag: str, early: bool = True) -> Decision:
    """A decision of which nothing is known but that its cursors are words: whether it realigns,
    warns or dereferences NULL, and where its cursors start, are free.  Every real decision on
    the state is one value of it, and a word term's value is the same whatever bounds it is known
    to have (IntWord reduces modulo 2^W only where its bounds say it may leave the word, and
    the free cursors' bounds are the widest), so a formula built on a free decision holds for
    some value of it wherever the formula built on the real one holds.  The cursors' range is
    added to the state's constraints."""
    t = f"{st.tag}free{tag}_"
    c0, n0 = z3.Int(f"{t}old_addr", st.ctx), z3.Int(f"{t}new_addr", st.ctx)
    top = (1 << st.geometry.word_bits) - 1
    st.constraints += [0 <= c0, c0 <= top, 0 <= n0, n0 <= top]
    exits: tuple = ()
    if early:  # an early return too (free: whether and what), for a variant that has them
        ret = z3.Int(f"{t}early_value", st.ctx)
        st.constraints += [0 <= ret, ret <= top]
        exits = (("(free)", z3.Bool(f"{t}early", st.ctx), IntWord(ret, st.geometry.word_bits)),)
    return Decision(realign=z3.Bool(f"{t}realign", st.ctx), old_addr=IntWord(c0, st.geometry.word_bits),
                    new_addr=IntWord(n0, st.geometry.word_bits), warn=z3.Bool(f"{t}warn", st.ctx),
                    oops=z3.Bool(f"{t}oops", st.ctx), early=exits, tables=None, refuse_late=None)


def decision_rules(st: SymbolicState, d: Decision) -> tuple[Any, Any]:
    """(tables, refuse_late) of ``d`` as terms; a free decision's (None) are free variables made
    here when a formula first reads them, so that a check whose formulas never do builds the same
    terms as before they existed (the solver's search depends on the terms a context holds)."""
    if d.tables is not None:
        return as_bool(d.tables, st.ctx), as_bool(d.refuse_late, st.ctx)
    memo = st.__dict__.setdefault("_free_rules", {})
    if id(d) not in memo:
        t = f"{st.tag}free_rules{len(memo)}_"
        memo[id(d)] = (d, z3.Bool(f"{t}tables", st.ctx), z3.Bool(f"{t}refuse_late", st.ctx))
    return memo[id(d)][1], memo[id(d)][2]


def violation_of(st: SymbolicState, variant: Variant, pid: str, level: str) -> "Violation":
    """The negation of ``pid`` for the variant's decision on the state, built once per state (a
    check asks for it from each of its goals, and its cutoff once more)."""
    memo = st.__dict__.setdefault("_violations", {})
    hit = memo.get((id(variant), pid, level))
    if hit is not None and hit[0] is variant:
        return hit[1]
    v = property_violation(pid, st, variant, decision_of(st, variant, level), level)
    memo[id(variant), pid, level] = (variant, v)
    return v


# --- properties ---------------------------------------------------------------------------------

def range_hits(st: SymbolicState, lo: Any, hi: Any) -> z3.BoolRef:
    return z3.And(lo < hi, st.has_entries(lo, hi))


def _aligned(x: Any, size: int) -> z3.BoolRef:
    return x % size == 0


@dataclass
class Violation:
    """A property's negation: ``condition`` is exact wherever ``assumption`` holds.

    ``stop`` says whether a counterexample carries an allocation failure (``stop_at``).  ``over``
    is an over-approximate condition to try when the exact one has no model (return-value's
    breaks at cursors between old_addr and old_end): its models must be confirmed concretely.
    """

    condition: z3.BoolRef
    assumption: z3.BoolRef
    stop: bool = False
    over: z3.BoolRef | None = None
    why_assumed: str = ""
    #: what a model of ``over`` that the simulator does not confirm leaves open (the unknown's reason)
    over_why: str = ""
    cases: list = field(default_factory=list)  # disjuncts of ``condition``, cheaper to solve one by one

    def alternatives(self) -> list:
        return self.cases or [self.condition]


KEPT = "the decision keeps new_addr - old_addr, starts at or below old_addr and does not overlap upward"


def offset_kept(st: SymbolicState, c0: Any, n0: Any) -> z3.BoolRef:
    """The decision starts no higher than old_addr and keeps new - old (every built-in does), and
    a move up does not overlap its own source."""
    return z3.And(c0 <= st.old_addr, st.new_addr - n0 == st.old_addr - c0,
                  z3.Implies(c0 < n0, st.old_end <= n0))


class Loop:
    """Facts about the move loop from cursors (c0, n0) to old_end, derived from its structure.

    With ``delta = c0 - n0`` every iteration moves [c, c + extent) to c - delta.  A PMD- (PUD-)
    level move is attempted at cursor c iff c and c - delta are PMD (PUD) aligned, at least
    PMD_SIZE (PUD_SIZE) remains, and the source entry one level up is present.  Tables exist
    initially exactly where entries are (simulate.initial_tables()), so presence at the call is
    ``has_entries`` over the slot.  Before the first WARN, the only source table a move leaves
    behind is that of the slot an unaligned first cursor starts in (moved by move_ptes()); a
    destination slot can only have been written by iterations whose destinations lie below it.
    """

    def __init__(self, st: SymbolicState, c0: Any, n0: Any, tables: Any = True, refuse_late: Any = False) -> None:
        """``tables``/``refuse_late``: the decision's (Decision): where ``tables`` is false no table
        move is tried, so nothing warns or jumps; where ``refuse_late`` holds every try warns on a
        populated destination and otherwise leaves the table where it is."""
        self.st, self.c0, self.n0 = st, c0, n0
        self.g = st.geometry
        self.delta = c0 - n0
        self.end = st.old_end
        self.tables = as_bool(tables, st.ctx)
        self.late = as_bool(refuse_late, st.ctx)

    def fits(self, c: Any, size: int) -> z3.BoolRef:
        return c + size <= self.end

    def pmd_present0(self, x: Any) -> z3.BoolRef:
        return self.st.slot_has_entries(x, self.g.pmd_size)

    def pud_present0(self, x: Any) -> z3.BoolRef:
        return self.st.slot_has_entries(x, self.g.pud_size)

    def pud_attempt(self, c: Any) -> z3.BoolRef:
        """move_normal_pud() is tried at cursor c (the source PUD entry present)."""
        if not self.g.have_move_pud:
            return z3.BoolVal(False, self.st.ctx)
        pud = self.g.pud_size
        return z3.And(self.tables, _aligned(c, pud), _aligned(c - self.delta, pud), self.fits(c, pud),
                      self.pud_present0(c))

    def swallowed(self, c: Any) -> z3.BoolRef:
        """c lies strictly inside a PUD slot the loop moved whole from a PUD-aligned cursor >= c0.

        (Had that move been refused, its WARN is one of the other cases.)"""
        if not self.g.have_move_pud:
            return z3.BoolVal(False, self.st.ctx)
        pud = self.g.pud_size
        p = c - c % pud
        return z3.And(self.tables, z3.Not(self.late), _aligned(self.delta, pud), self.c0 <= p, p < c,
                      self.fits(p, pud), self.pud_present0(p))

    def pmd_stage(self, c: Any) -> z3.BoolRef:
        """The loop reaches the PMD stage at cursor c > c0 with the source PMD entry present."""
        return z3.And(self.pmd_present0(c), z3.Not(self.pud_attempt(c)), z3.Not(self.swallowed(c)))

    def warn(self, w_pmd: Any, w_pud: Any) -> list:
        """The ways a PMD/PUD-level move can find its destination entry populated (needs
        _offset_kept); a WARN happens iff one of them holds."""
        moving = self._warn(w_pmd, w_pud)
        if z3.is_false(z3.simplify(self.late)):
            return moving
        # refused after the WARN: no table ever moves, so every slot keeps the table it had
        # (the destination range's own were freed by the munmap before); every cursor at a
        # PMD (PUD) boundary on both sides with a whole slot to go is tried, and warns iff its
        # destination slot had a table at the call (earlier iterations write only below it)
        g, d = self.g, self.delta
        late = []
        for w, size, on in ((w_pmd, g.pmd_size, g.have_move_pmd), (w_pud, g.pud_size, g.have_move_pud)):
            if on:
                # (both aligned: a slot is the range itself, no remainder for the solver)
                late.append(z3.And(self.tables, self.late, _aligned(w, size), _aligned(d, size), self.c0 <= w,
                                   self.fits(w, size), self.st.has_entries(w, w + size),
                                   self.st.has_entries(w - d, w - d + size)))
        return [z3.And(z3.Not(self.late), x) for x in moving] + late

    def _warn(self, w_pmd: Any, w_pud: Any) -> list:
        st, g, c0, n0, d = self.st, self.g, self.c0, self.n0, self.delta
        pmd, pud = g.pmd_size, g.pud_size
        cases = []
        down = n0 < c0
        if g.have_move_pud:
            # the first iteration's PUD move onto a populated PUD entry
            cases.append(z3.And(self.pud_attempt(c0), self.pud_present0(n0)))
            # a PUD slot entered mid-way keeps its PMD table; moving down by a PUD multiple, the
            # PUD move at that slot + delta lands on it
            s0 = c0 - c0 % pud
            cases.append(z3.And(down, _aligned(d, pud), z3.Not(_aligned(c0, pud)), self.pud_present0(s0),
                                self.pud_attempt(s0 + d)))
            # a later PUD move whose destination lies in D = [n0, new_addr) and is populated
            cases.append(z3.And(_aligned(d, pud), _aligned(w_pud, pud), n0 < w_pud, w_pud < st.new_addr,
                                self.pud_attempt(w_pud + d), self.pud_present0(w_pud)))
        if g.have_move_pmd:
            cases.append(z3.And(self.tables, self.pud_present0(c0), z3.Not(self.pud_attempt(c0)), _aligned(c0, pmd),
                                _aligned(n0, pmd), self.fits(c0, pmd), self.pmd_present0(c0),
                                self.pmd_present0(n0)))
            # Linus's case: the unaligned first chunk moves by PTEs and leaves its table behind;
            # moving down by a PMD multiple, the PMD move at that slot + delta lands on it
            s0 = c0 - c0 % pmd
            cases.append(z3.And(self.tables, down, _aligned(d, pmd), z3.Not(_aligned(c0, pmd)), self.pmd_present0(s0),
                                self.fits(s0 + d, pmd), self.pmd_stage(s0 + d)))
            # a later PMD move whose destination lies in D and is populated
            cases.append(z3.And(self.tables, _aligned(d, pmd), _aligned(w_pmd, pmd), n0 < w_pmd, w_pmd < st.new_addr,
                                self.fits(w_pmd + d, pmd), self.pmd_stage(w_pmd + d), self.pmd_present0(w_pmd)))
        return cases


def undo_warn(st: SymbolicState, d: Decision, undo: Undo) -> list:
    """The ways the undo move can attempt a PMD- or PUD-level move onto a populated entry, over-
    approximated (their models go to the simulator): at an undo cursor u aligned at that level
    (with its destination u - (u0 - v0)), inside the undo's range, whose source slot may hold a
    table after the first move (it had one at the call, or the first move wrote into it), and
    whose destination slot may too: it had one at the call and the first move cannot have moved it
    away whole (it moves a table only from a slot it passed completely with table moves allowed),
    or the first move wrote into it.  Page tables are never freed during the moves, so a slot
    holds a table after the first move only in those cases.  It assumes that the first move, run
    to its end, warns nowhere (else it may have kept a table it would have moved): no-warn's exact
    part, which the checker asks first, says that, and where it has a model no-warn is violated
    anyway."""
    g = st.geometry
    c0, n0 = term(d.old_addr), term(d.new_addr)
    u0, v0 = term(undo.decision.old_addr), term(undo.decision.new_addr)
    c, back = st.stop_at, u0 - v0
    wrote_hi = c + (n0 - c0)  # the first move wrote into slots meeting [n0, wrote_hi)
    # the first move takes a table away only where it may and does move tables; the undo tries
    # (and warns) wherever it does not refuse before the WARN
    tables, late = decision_rules(st, d)
    t1 = z3.And(tables, z3.Not(late))
    t2 = decision_rules(st, undo.decision)[0]

    def meets(lo: Any, hi: Any) -> z3.BoolRef:
        return z3.And(lo < wrote_hi, n0 < hi, n0 < wrote_hi)

    cases = []
    for level, size, on in (("pmd", g.pmd_size, g.have_move_pmd), ("pud", g.pud_size, g.have_move_pud)):
        if not on:
            continue
        u = z3.Int(f"undo_{level}", st.ctx)
        x = u - back
        source = z3.Or(st.has_entries(u, u + size), meets(u, u + size))  # (u, x aligned: slots as ranges)
        kept = z3.Or(z3.And(st.has_entries(x, x + size), z3.Not(z3.And(t1, c0 <= x, x + size <= c))),
                     meets(x, x + size))
        cases.append(z3.And(undo.runs, t2, _aligned(u, size), _aligned(x, size), u0 <= u, u + size <= undo.end,
                            source, kept))
    return cases


def property_violation(pid: str, st: SymbolicState, variant: Variant, d: Decision, level: str = "pmd") -> Violation:
    """The negation of property ``pid`` on the symbolic state, for the decision ``d`` (each
    property's module states it: modelcheck/checks/)."""
    from modelcheck.checks import PROPERTIES
    if pid not in PROPERTIES:
        raise KeyError(pid)
    v = PROPERTIES[pid].violation(st, variant, d, level)  # type: ignore[misc]
    v.condition, v.assumption = as_bool(v.condition, st.ctx), as_bool(v.assumption, st.ctx)
    if d.early:
        # move_page_tables() returns before its loop: nothing moves, so no property of the move
        # can break there; what a C head evaluates before its return (a WARN, a NULL pointer)
        # is judged on its own path; the value it returns must be the bytes moved, none
        early = reaches_no_loop(st, d)
        of_the_head = pid in _OF_THE_HEAD and variant.source is not None
        if not of_the_head:
            # exact there: the encoding's assumption (about the loop's cursors) does not matter
            v.cases = [z3.And(z3.Not(early), x) for x in v.cases] if v.cases else []
            v.condition = z3.And(z3.Not(early), v.condition)
            v.assumption = z3.Or(early, v.assumption)
            if v.over is not None:
                v.over = z3.And(z3.Not(early), v.over)
    if pid == "return-value":
        # (a case of its own even where no early return exists, so that a state's alternatives
        # line up with those of the same goal on an abstract state: search._refuted_abstractly)
        # (nothing moved there: right only for a zero-length call, returning 0: return_value.judge)
        wrong = z3.And(reaches_no_loop(st, d), z3.Or(st.len != 0, term(early_value(st, d)) != 0)) if d.early \
            else z3.BoolVal(False, st.ctx)
        v.cases = [*v.alternatives(), wrong]
        v.condition = z3.Or(v.condition, wrong)
    return v


#: the properties of what the decision's code does on its path (its WARN_ON_ONCE(), a NULL VMA
#: pointer), which a C head's code before an early return does too
_OF_THE_HEAD = ("no-predicate-warn", "no-null-deref")


def reaches_no_loop(st: SymbolicState, d: Decision) -> z3.BoolRef:
    """move_page_tables() returns before its loop (Decision.early)."""
    return z3.Or(*[as_bool(c, st.ctx) for _, c, _ in d.early]) if d.early else z3.BoolVal(False, st.ctx)


def early_value(st: SymbolicState, d: Decision) -> Any:
    """What move_page_tables() returns before its loop: the first early return taken (as a word;
    0 where none is)."""
    k = st.ops
    return k.cond([(as_bool(c, st.ctx), value) for _, c, value in d.early], k.word(0))


# --- models back to scenarios ---------------------------------------------------------------------

def decode(st: SymbolicState, model: z3.ModelRef, with_stop: bool) -> Scenario:
    """The concrete scenario a model describes (model completion for don't-care values)."""
    def val(x: Any) -> int:
        return model.eval(x, model_completion=True).as_long()

    def truth(x: Any) -> bool:
        return z3.is_true(model.eval(x, model_completion=True))

    n = st.n if st.count is None else val(st.count)
    vmas = tuple(Vma(val(s), val(e), truth(p), uffd_wp=truth(u))
                 for s, e, p, u in list(zip(st.starts, st.ends, st.populated, st.uffd))[:n])
    stop = val(st.stop_at) if with_stop and truth(st.has_stop) else None
    move = Move(val(st.old_vma), val(st.new_vma), val(st.old_addr), val(st.new_addr), val(st.len),
                truth(st.for_stack), stop)
    return Scenario(st.geometry, vmas, move)
