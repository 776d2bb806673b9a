"""Kernel operations that variants are written against, and their concrete (plain int) backend.

A variant is written once, as a pure function of a ``KernelOps`` object.  This module's
``ConcreteOps`` runs it on Python ints with C ``unsigned long`` wrap-around; the Z3 backend in
``modelcheck.solver.encoding`` implements the same interface on bit-vector terms.

Rules for variant code (they keep both backends exact):

* words support ``+ - ~``, and ``& | ^ *`` and shifts (``<<``, and ``shr()`` for the logical
  right shift) where one operand is a constant, all modulo 2^word_bits (the integer encoding
  refuses two non-constant operands of a bitwise operator or of ``*``);
* every comparison goes through ``ult/ule/ugt/uge/eq/ne`` (Z3's ``<`` is signed, so ordering
  operators on concrete words raise ``TypeError``);
* control flow is data: ``ite`` and ``cond`` (the first true guard wins, like a chain of
  ``if (...) return ...;``), since a branch on a symbolic value cannot be a Python ``if``;
* a C ``int`` comes from ``to_int`` (truncation) and goes back to ``unsigned long`` with
  ``int_to_ulong`` (sign extension), the usual arithmetic conversions of the comparisons in the
  historic predicates;
* VMA pointers are opaque references: ``null``, ``is_null``, ``same``, ``vm_start``, ``vm_end``,
  ``uffd_without_remap`` (vma_has_uffd_without_event_remap(): registered with userfaultfd in
  write-protect mode on a uffd without UFFD_FEATURE_EVENT_REMAP, include/linux/userfaultfd_k.h),
  ``find_vma_prev`` and ``find_vma_intersection`` (maple-tree semantics, mm/mmap.c); a reference
  has no arithmetic and no order, in either backend (a computed one is refused with TypeError),
  so that a lookup is the only way to reach a VMA, as the VMA count assumes.
"""

from __future__ import annotations

import bisect
from typing import Any, Protocol, Sequence

from modelcheck.model.geometry import Geometry

__all__ = ["KernelOps", "ConcreteOps", "Word", "VmaRef"]


class KernelOps(Protocol):
    """What a variant may use.  ``W``/``B``/``R`` are the backend's word, bool and VMA-ref types."""

    geometry: Geometry
    null: Any

    def word(self, value: int) -> Any: ...
    def ult(self, a: Any, b: Any) -> Any: ...
    def ule(self, a: Any, b: Any) -> Any: ...
    def ugt(self, a: Any, b: Any) -> Any: ...
    def uge(self, a: Any, b: Any) -> Any: ...
    def eq(self, a: Any, b: Any) -> Any: ...
    def ne(self, a: Any, b: Any) -> Any: ...
    def and_(self, *bs: Any) -> Any: ...
    def or_(self, *bs: Any) -> Any: ...
    def not_(self, b: Any) -> Any: ...
    def ite(self, c: Any, a: Any, b: Any) -> Any: ...
    def cond(self, cases: Sequence[tuple[Any, Any]], default: Any) -> Any: ...
    def shr(self, w: Any, n: int) -> Any: ...
    def to_int(self, w: Any) -> Any: ...
    def int_to_ulong(self, i: Any) -> Any: ...
    def is_null(self, r: Any) -> Any: ...
    def same(self, r1: Any, r2: Any) -> Any: ...
    def vm_start(self, r: Any) -> Any: ...
    def vm_end(self, r: Any) -> Any: ...
    def find_vma_prev(self, addr: Any) -> tuple[Any, Any]: ...
    def find_vma_intersection(self, start: Any, end: Any) -> Any: ...
    def uffd_without_remap(self, r: Any) -> Any: ...


class Word:
    """A C unsigned integer of ``bits`` bits: arithmetic wraps, ordering needs an explicit ult()/ule()."""

    __slots__ = ("value", "bits")

    def __init__(self, value: int, bits: int) -> None:
        self.bits = bits
        self.value = value & ((1 << bits) - 1)

    def _v(self, other: Any) -> int:
        if isinstance(other, Word):
            if other.bits != self.bits:
                raise TypeError(f"mixing {self.bits}-bit and {other.bits}-bit words without a conversion")
            return other.value
        if isinstance(other, int) and not isinstance(other, bool):
            return other
        raise TypeError(f"cannot combine a word with {type(other).__name__}")

    def __add__(self, o: Any) -> "Word":
        return Word(self.value + self._v(o), self.bits)

    __radd__ = __add__

    def __sub__(self, o: Any) -> "Word":
        return Word(self.value - self._v(o), self.bits)

    def __rsub__(self, o: Any) -> "Word":
        return Word(self._v(o) - self.value, self.bits)

    def __and__(self, o: Any) -> "Word":
        return Word(self.value & self._v(o), self.bits)

    __rand__ = __and__

    def __or__(self, o: Any) -> "Word":
        return Word(self.value | self._v(o), self.bits)

    __ror__ = __or__

    def __xor__(self, o: Any) -> "Word":
        return Word(self.value ^ self._v(o), self.bits)

    __rxor__ = __xor__

    def __mul__(self, o: Any) -> "Word":
        return Word(self.value * self._v(o), self.bits)

    __rmul__ = __mul__

    def __invert__(self) -> "Word":
        return Word(~self.value, self.bits)

    def __lshift__(self, n: int) -> "Word":
        return Word(self.value << n, self.bits)

    def __rshift__(self, n: int) -> "Word":  # unsigned: logical shift
        return Word(self.value >> n, self.bits)

    def _no_order(self, _: Any) -> bool:
        raise TypeError("use ops.ult/ule/ugt/uge: '<' on a Z3 bit-vector is a signed comparison")

    __lt__ = __le__ = __gt__ = __ge__ = _no_order

    def __eq__(self, o: object) -> bool:
        return isinstance(o, Word) and o.bits == self.bits and o.value == self.value

    def __hash__(self) -> int:
        return hash((self.value, self.bits))

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"Word({hex(self.value)}, {self.bits})"


class VmaRef:
    """A VMA pointer of the concrete backend: which VMA (an index into the layout, -1 for NULL),
    opaque to variant code: == and != only (``same``), no arithmetic, no order, no int value.

    >>> VmaRef(1) == VmaRef(1), VmaRef(1) == 1
    (True, False)
    """

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __eq__(self, o: object) -> bool:
        return isinstance(o, VmaRef) and o.index == self.index

    def __hash__(self) -> int:
        return hash(("vma", self.index))

    def __repr__(self) -> str:
        return "NULL" if self.index < 0 else f"vmas[{self.index}]"


def _index(r: Any) -> int:
    if not isinstance(r, VmaRef):
        raise TypeError(f"a VMA reference is opaque (== and != only, from a lookup or the call); got {r!r}")
    return r.index


def _val(x: Any) -> int:
    return x.value if isinstance(x, Word) else int(x)


class ConcreteOps:
    """KernelOps on one concrete layout: VMA refs are ``VmaRef``s of indexes into ``vmas``."""

    null = VmaRef(-1)

    def __init__(self, geometry: Geometry, vmas: Sequence[tuple[int, int]], *, checked: bool = False,
                 uffd: Sequence[bool] = ()) -> None:
        """``vmas`` sorted and disjoint (checked here unless ``checked``: a Scenario's ``spans``);
        ``uffd``: which of them are registered with userfaultfd-wp without EVENT_REMAP (none if empty)."""
        self.geometry = geometry
        self.uffd = tuple(uffd)
        self.bits = geometry.word_bits
        self.vmas = vmas if checked else [(int(s), int(e)) for s, e in vmas]
        self.ends = [e for _, e in self.vmas]
        if not checked and any(a[1] > b[0] for a, b in zip(self.vmas, self.vmas[1:])):
            raise ValueError("ConcreteOps needs sorted, disjoint VMAs (the lookups bisect)")

    def vma(self, index: int) -> VmaRef:
        """The reference to ``vmas[index]`` (the call's VMAs are made so)."""
        if not 0 <= index < len(self.vmas):
            raise IndexError(f"no VMA {index} in a layout of {len(self.vmas)}")
        return VmaRef(index)

    # words and booleans
    def word(self, value: int) -> Word:
        return Word(value, self.bits)

    def ult(self, a: Any, b: Any) -> bool:
        return _val(a) < _val(b)

    def ule(self, a: Any, b: Any) -> bool:
        return _val(a) <= _val(b)

    def ugt(self, a: Any, b: Any) -> bool:
        return _val(a) > _val(b)

    def uge(self, a: Any, b: Any) -> bool:
        return _val(a) >= _val(b)

    def eq(self, a: Any, b: Any) -> bool:
        return _val(a) == _val(b)

    def ne(self, a: Any, b: Any) -> bool:
        return _val(a) != _val(b)

    def and_(self, *bs: Any) -> bool:
        return all(bs)

    def or_(self, *bs: Any) -> bool:
        return any(bs)

    def not_(self, b: Any) -> bool:
        return not b

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        return a if c else b

    def cond(self, cases: Sequence[tuple[Any, Any]], default: Any) -> Any:
        for guard, value in cases:
            if guard:
                return value
        return default

    # C int conversions
    def shr(self, w: Any, n: int) -> Word:
        """The logical right shift of a word by a constant."""
        return Word(_val(w) >> n, self.bits)

    def to_int(self, w: Any) -> Word:
        return Word(_val(w), self.geometry.int_bits)

    def int_to_ulong(self, i: Word) -> Word:
        ib = i.bits
        v = i.value - (1 << ib) if i.value >> (ib - 1) else i.value
        return Word(v, self.bits)

    # VMA references
    def is_null(self, r: VmaRef) -> bool:
        return _index(r) < 0

    def same(self, r1: VmaRef, r2: VmaRef) -> bool:
        return _index(r1) == _index(r2)

    def vm_start(self, r: VmaRef) -> Word:
        i = _index(r)
        return Word(self.vmas[i][0] if i >= 0 else 0, self.bits)

    def vm_end(self, r: VmaRef) -> Word:
        i = _index(r)
        return Word(self.vmas[i][1] if i >= 0 else 0, self.bits)

    def uffd_without_remap(self, r: VmaRef) -> bool:
        i = _index(r)
        return 0 <= i < len(self.uffd) and self.uffd[i]

    def find_vma_prev(self, addr: Any) -> tuple[VmaRef, VmaRef]:
        """(lowest VMA with vm_end > addr, highest VMA with vm_end <= addr), NULL where none."""
        i = bisect.bisect_right(self.ends, _val(addr))
        return VmaRef(i if i < len(self.vmas) else -1), VmaRef(i - 1 if i > 0 else -1)

    def find_vma_intersection(self, start: Any, end: Any) -> VmaRef:
        """mt_find(start, end - 1): NULL when start > end - 1 (with wrap), else the lowest VMA meeting it."""
        s = _val(start)
        last = (_val(end) - 1) & ((1 << self.bits) - 1)
        if s > last:
            return self.null
        i = bisect.bisect_right(self.ends, s)
        return VmaRef(i) if i < len(self.vmas) and self.vmas[i][0] <= last else self.null
