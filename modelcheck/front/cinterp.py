"""The C front-end's second stage: the parsed C run exactly on any ``KernelOps`` backend.

``Interp`` runs the functions of a ``cparse.CUnit`` on concrete ints (``ConcreteOps``) or Z3 terms
(``IntOps``), merging both sides of every branch under its path condition.  The subset has exact
semantics: ``int``/``unsigned int``/``long``/``unsigned long``/``bool`` with the geometry's
widths, integer promotions and the usual arithmetic conversions, truncation and sign extension,
unsigned wrap-around, signed and unsigned comparisons, ``&&``/``||`` short-circuit, ``?:``,
``if``/``else``, early ``return``, locals, VMA pointers and NULL, the helpers' out-parameters,
pointer parameters to scalars, ``struct`` field reads and the ``pagetable_move_control`` fields,
the lookups (``find_vma_prev()``, ``find_vma_intersection()``, ``find_vma()``, ``vma_lookup()``,
one ``vma_prev()``/``vma_next()`` per ``VMA_ITERATOR``), ``sizeof(type)``, the alignment macros,
``likely()``/``unlikely()``.  A ``WARN_ON_ONCE(x)`` whose ``x`` holds and a field read through a
NULL VMA pointer are recorded with the condition that reaches them.  Everything else is refused
with ``FILE:LINE:COL: message``, never approximated: loops, ``switch``, ``goto``, unknown
functions, writes through other pointers, recursion, static locals, writes to what the loop reads
of the call (``pmc->old_end``/``len_in``), side effects in the arguments of calls the model does
not run, and reads in the tail of what it does not see (``Hidden``).  Next stage: ``cfront``
makes variants of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pycparser import c_ast

from modelcheck.errors import InputError
from modelcheck.model.ops import KernelOps
from modelcheck.front.cparse import CUnit, _fail, _walk, _where, ctype

__all__ = ["Interp", "CONSTRUCTS", "Construct", "Int", "Bool", "Ref", "Null", "Mm", "Iter", "Cell", "Ptr", "Pmc", "Hidden", "SIGNED", "ARITH",
           "ALIGN_HELPERS", "WARNINGS", "NO_EFFECT", "KNOWN_FALSE", "KNOWN_TRUE", "VMA_FLAGS"]

SIGNED = {"int": True, "long": True, "uint": False, "ulong": False}
#: the binary arithmetic operators of the subset (``*`` with a constant operand)
ARITH = ("+", "-", "&", "|", "^", "*")
#: the alignment macros of include/linux/align.h, math.h and mm.h
ALIGN_HELPERS = ("ALIGN", "ALIGN_DOWN", "IS_ALIGNED", "round_up", "round_down", "PAGE_ALIGN", "PAGE_ALIGN_DOWN",
                 "PAGE_ALIGNED")
#: warnings that evaluate to their condition (asm-generic/bug.h, linux/mmdebug.h with CONFIG_DEBUG_VM)
WARNINGS = ("WARN_ON_ONCE", "WARN_ON", "VM_WARN_ON_ONCE", "VM_WARN_ON")
#: kernel calls that move_page_tables() makes before or after its loop and that change nothing the
#: model reads (caches, MMU notifiers, scheduling): their arguments are not evaluated
NO_EFFECT = ("flush_cache_range", "mmu_notifier_range_init", "mmu_notifier_invalidate_range_start",
             "mmu_notifier_invalidate_range_end", "cond_resched", "flush_tlb_range", "vma_start_write",
             "lockdep_assert_held", "mmap_assert_write_locked")
#: kernel predicates false of every VMA the model has: it has no hugetlb VMA (their moves take
#: move_hugetlb_page_tables() instead)
KNOWN_FALSE = ("is_vm_hugetlb_page",)
#: kernel predicates true on every configuration the model has: the geometry says which levels
#: move whole tables (have_move_pmd/have_move_pud), as CONFIG_HAVE_MOVE_P?D does
KNOWN_TRUE = ("arch_supports_page_table_move",)
#: the VMA flags the model has: vma_has_uffd_without_event_remap() (Vma.uffd_wp)
VMA_FLAGS = ("vma_has_uffd_without_event_remap",)
OPAQUE = "opaque"


def _opaque(node: c_ast.Decl) -> bool:
    """A local whose type the subset does not have (pmd_t *, struct mmu_notifier_range, ...)."""
    try:
        ctype(node)
        return False
    except InputError:
        return True


@dataclass
class Int:
    ty: str  # int, uint, long, ulong; the word holds the value sign- or zero-extended to the word
    w: Any


@dataclass
class Bool:
    b: Any


@dataclass
class Ref:
    r: Any  # a VMA reference of the backend (k.null for NULL)


class Null:
    pass


class Mm:
    pass


@dataclass
class Iter:
    """A ``struct vma_iterator`` set up by ``VMA_ITERATOR(vmi, mm, addr)`` at ``addr``."""

    addr: Any
    stepped: bool = False


@dataclass
class Cell:
    ty: str
    v: Any


@dataclass
class Ptr:
    cell: Cell  # a pointer to a scalar or to a VMA pointer


@dataclass
class Pmc:
    fields: dict[str, Cell]


_PMC_FIELDS = {"old": "vma*", "new": "vma*", "old_addr": "ulong", "old_end": "ulong", "new_addr": "ulong",
               "len_in": "ulong", "need_rmap_locks": "bool", "for_stack": "bool"}


class _Return(Exception):
    pass


@dataclass
class Hidden:
    """A value the model does not carry to where it is read: move_page_tables()'s tail runs after
    the loop, on the cursor alone, and cannot see what the head computed once the addresses could
    move, nor the call's VMAs and flags.  Reading it is refused, naming why."""

    why: str
    vma: bool = False  # a VMA pointer: its ->vm_mm (a kernel object the model does not read) is fine


_TAIL_HIDDEN = "the tail (after the loop) sees only the cursor, old_end and the length"


def _tail_pmc(k: KernelOps, cursor: Any, old_end: Any, len_: Any) -> "Pmc":
    """The pagetable_move_control as the tail reads it: the old-side cursor where the loop left it,
    old_end and len_in; its other fields are not carried to the tail (Hidden)."""
    pmc = _pmc(k, k.null, k.null, cursor, cursor, old_end, len_, False)
    for f in ("old", "new"):
        pmc.fields[f].v = Hidden(f"pmc->{f}: {_TAIL_HIDDEN}", vma=True)
    for f in ("new_addr", "need_rmap_locks", "for_stack"):
        pmc.fields[f].v = Hidden(f"pmc->{f}: {_TAIL_HIDDEN}")
    return pmc


@dataclass(frozen=True)
class Construct:
    """One row of the table of C constructs: how the subset handles it, and an example of it as
    statements at the top of v6.15's can_align_down() (locals: vma, addr, mask, down, pmc), which
    tests/front/test_constructs.py runs: an ``exact`` row loads, agrees with the compiled C and
    keeps v6.15's decisions where it says ``same``; a ``refused`` row is refused at its line.
    (The rules about move_page_tables()'s head and tail, which need it around them, are in
    ``cfront`` and ``cparse`` and held by tests/front/test_soundness.py.)"""

    construct: str
    handling: str  # "exact" or "refused"
    how: str
    example: str
    same: bool = False  # the example leaves v6.15's decision unchanged (proved in the test)


#: every construct of user C, as the interpreter handles it: run exactly or refused, never dropped
CONSTRUCTS = (
    Construct("integer types, promotions, usual arithmetic conversions", "exact",
              "the geometry's widths; int is truncated and sign-extended, unsigned wraps",
              "\tint low = (int)(addr & ~mask);\n\tif (low < 0 && (unsigned int)low > 0x7fffffffU)\n\t\treturn low < -1;\n"),
    Construct("signed and unsigned comparisons", "exact", "signed order by the sign bit, as C",
              "\tif ((long)addr < 0 && addr < 0x8000000000000000UL)\n\t\treturn false;\n", same=True),
    Construct("&&, ||, !, ?:", "exact", "short-circuit: the right operand runs only where it is reached",
              "\tif (!vma || (vma->vm_start > vma->vm_end ? true : false))\n\t\treturn false;\n", same=True),
    Construct("+ - ~ << >> (constant count), & | ^ * (a constant operand)", "exact", "modulo 2^W",
              "\tif (((addr >> 12) << 12) + (addr & 0xfff) != addr || (addr ^ 1) == addr || ~addr == addr ||\n"
              "\t    (addr | 0xfff) - (addr & 0xfff) != (addr & ~0xfffUL) + 0xfff ||\n"
              "\t    (addr * 2) >> 1 == addr + 1)\n\t\treturn false;\n", same=True),
    Construct("sizeof(type)", "exact", "the geometry's sizes (size_t)",
              "\tif (sizeof(unsigned long) != 8 || sizeof(int) != 4)\n\t\treturn true;\n", same=True),
    Construct("likely(), unlikely()", "exact", "!!(x): 0 or 1 (include/linux/compiler.h)",
              "\tif (likely(vma->vm_start) == 2)\n\t\treturn true;\n", same=True),
    Construct("ALIGN(), ALIGN_DOWN(), IS_ALIGNED(), round_up(), round_down(), PAGE_ALIGN*()", "exact",
              "include/linux/align.h and math.h, in x's type",
              "\tif (round_down(addr, PMD_SIZE) != ALIGN_DOWN(addr, PMD_SIZE) || !IS_ALIGNED(down, PMD_SIZE))\n"
              "\t\treturn true;\n", same=True),
    Construct("WARN_ON_ONCE(), WARN_ON(), VM_WARN_ON_ONCE(), VM_WARN_ON()", "exact",
              "evaluates to its condition; recorded where it fires (no-predicate-warn)",
              "\tif (WARN_ON_ONCE(vma->vm_start > vma->vm_end))\n\t\treturn false;\n", same=True),
    Construct("find_vma(), find_vma_prev(), find_vma_intersection(), vma_lookup()", "exact",
              "mm/mmap.c's semantics on the sorted VMAs",
              "\tif (vma_lookup(vma->vm_mm, vma->vm_start) != find_vma(vma->vm_mm, addr))\n\t\treturn true;\n",
              same=True),
    Construct("VMA_ITERATOR() with one vma_prev() or vma_next()", "exact", "the iterator's first step",
              "\tVMA_ITERATOR(vmi, vma->vm_mm, vma->vm_start);\n\tif (vma_next(&vmi) != vma)\n\t\treturn true;\n",
              same=True),
    Construct("a field read through a NULL VMA pointer", "exact", "recorded (no-null-deref); the path reads 0",
              "\tstruct vm_area_struct *nil = NULL;\n\tif (pmc->for_stack && addr == 0 && nil->vm_start)\n"
              "\t\treturn false;\n", same=True),
    Construct("kernel calls that change nothing the model reads (flush_cache_range(), MMU notifiers, ...)",
              "exact", "not run; their arguments must have no side effect",
              "\tflush_cache_range(vma, addr, addr + PAGE_SIZE);\n", same=True),
    Construct("a side effect in the arguments of such a call", "refused", "the call's arguments are not evaluated",
              "\tflush_cache_range(vma, addr++, addr);\n"),
    Construct("static locals", "refused", "they keep their value from one call to the next",
              "\tstatic int calls;\n"),
    Construct("a loop whose body returns on every path; for_each_vma(), for_each_vma_range()", "exact",
              "the body runs at most once (the macros as include/linux/mm.h expands them)",
              "\tstruct vm_area_struct *v;\n\tVMA_ITERATOR(vmi, vma->vm_mm, vma->vm_end);\n\n"
              "\tfor_each_vma_range(vmi, v, vma->vm_end) {\n\t\tif (v != vma)\n\t\t\treturn true;\n"
              "\t\treturn false;\n\t}\n", same=True),  # an empty range: the body never runs
    Construct("any other loop", "refused", "its body could run again",
              "\twhile (addr)\n\t\taddr >>= 1;\n"),
    Construct("switch", "refused", "not in the subset", "\tswitch (addr) { default: break; }\n"),
    Construct("goto", "refused", "not in the subset", "\tgoto out;\nout:\n"),
    Construct("/ and %", "refused", "not in the subset", "\tif (addr / PAGE_SIZE == 3)\n\t\treturn false;\n"),
    Construct("writes to pmc->old_end and pmc->len_in", "refused",
              "the loop runs to old_end = old_addr + len_in as the caller set them", "\tpmc->len_in = 0;\n"),
    Construct("calls of functions the files do not define", "refused", "nothing is assumed of them",
              "\tif (vma_is_anonymous(vma))\n\t\treturn false;\n"),
    Construct("writes through pointers other than out-parameters", "refused", "not in the subset",
              "\tvma->vm_start = addr;\n"),
)


class Interp:
    """Runs functions of a CUnit on a KernelOps backend, merging both sides of every branch."""

    def __init__(self, unit: CUnit, k: KernelOps, level: str, forced: dict[int, bool] | None = None,
                 seen: list | None = None, replaced: dict[int, c_ast.Node] | None = None,
                 frozen: frozenset[str] = frozenset()) -> None:
        """``forced``: conditions (by ``id()`` of their node in ``unit``) to take as the given value
        wherever they are evaluated; ``seen``: where to record each evaluation of a condition
        (the node's id, the path condition, its value) - for review.  (Ids, not FILE:LINE:COL:
        an if's condition starts where its first operand does.)  ``replaced``: expressions (by
        ``id()``) evaluated as another expression instead - review's suggested fixes."""
        self.unit, self.k, self.level = unit, k, level
        self.forced = forced or {}
        self.replaced = replaced or {}
        self.seen = seen
        g = k.geometry
        self.wbits, self.ibits = g.word_bits, g.int_bits
        self.consts = {"PMD_MASK": g.level_mask(level), "PMD_SIZE": g.level_size(level),
                       "PUD_MASK": g.pud_mask, "PUD_SIZE": g.pud_size,
                       "PAGE_SIZE": g.page_size, "PAGE_MASK": ~(g.page_size - 1) & g.word_mask}
        self.consts.update({"PMD_SHIFT": self.consts["PMD_SIZE"].bit_length() - 1,
                            "PUD_SHIFT": g.pud_size.bit_length() - 1, "PAGE_SHIFT": g.page_size.bit_length() - 1})
        self.depth = 0
        # what the paths run into: (kind, FILE:LINE:COL, condition), kind "warn" or "oops"
        self.sites: list[tuple[str, str, Any]] = []
        # pagetable_move_control fields that may not be written (what the loop and the tail read
        # of the call, which the model takes from the call itself)
        self.frozen = frozen
        # the returns of the outermost function run (move_page_tables()'s head): (FILE:LINE:COL,
        # the path condition that reaches it)
        self.exits: list[tuple[str, Any, Any]] = []  # move_page_tables()'s own returns: (where, when, value)

    def decides(self, node: c_ast.Node, value: Any, g: Any) -> Any:
        """A condition's value (an if's, a ?:'s, an operand of && or ||), as forced if it is."""
        if self.seen is not None:
            self.seen.append((id(node), g, value))
        return self.forced.get(id(node), value)

    def fault(self, kind: str, node: c_ast.Node, cond: Any) -> None:
        """Record that ``kind`` happens at ``node`` when ``cond`` (already guarded by the path) holds."""
        if cond is not False:
            self.sites.append((kind, _where(node), cond))

    def happens(self, kind: str) -> Any:
        conds = [c for kd, _, c in self.sites if kd == kind]
        return self.k.or_(*conds) if conds else False

    def ctype(self, node: c_ast.Node) -> str:
        return ctype(node, self.wbits)

    # -- integers
    def _norm(self, ty: str, w: Any) -> Int:
        k = self.k
        if ty in ("int", "uint") and self.ibits < self.wbits:
            w = k.int_to_ulong(k.to_int(w)) if ty == "int" else w & k.word((1 << self.ibits) - 1)
        return Int(ty, w)

    def _bits(self, ty: str) -> int:
        return self.ibits if ty in ("int", "uint") else self.wbits

    def as_int(self, v: Any, node: c_ast.Node) -> Int:
        if isinstance(v, Int):
            return v
        if isinstance(v, Bool):
            return Int("int", self.k.ite(v.b, self.k.word(1), self.k.word(0)))
        raise _fail(node, "an integer is needed here")

    def as_bool(self, v: Any, node: c_ast.Node) -> Any:
        k = self.k
        if isinstance(v, Bool):
            return v.b
        if isinstance(v, Int):
            return k.ne(v.w, 0)
        if isinstance(v, Ref):
            return k.not_(k.is_null(v.r))
        if isinstance(v, Null):
            return False
        raise _fail(node, "this value has no truth value in the subset")

    def convert(self, v: Any, ty: str, node: c_ast.Node) -> Any:
        if ty == "bool":
            return Bool(self.as_bool(v, node))
        if ty in SIGNED:
            return self._norm(ty, self.as_int(v, node).w)
        if ty == "vma*":
            if isinstance(v, Null):
                return Ref(self.k.null)
            if isinstance(v, Ref):
                return v
        if ty in ("mm*",) and isinstance(v, Mm):
            return v
        if ty == "pmc*" and isinstance(v, Pmc):
            return v
        if ty.endswith("*") and isinstance(v, Ptr):
            return v
        raise _fail(node, f"cannot convert this value to {ty}")

    def common(self, a: Int, b: Int) -> str:
        """The usual arithmetic conversions (after the integer promotions)."""
        ta, tb = a.ty, b.ty
        if ta == tb:
            return ta
        rank = {"int": 0, "uint": 0, "long": 1, "ulong": 1}
        if SIGNED[ta] == SIGNED[tb]:
            return ta if rank[ta] >= rank[tb] else tb
        u, s = (ta, tb) if not SIGNED[ta] else (tb, ta)
        if rank[u] >= rank[s]:
            return u
        if self._bits(s) > self._bits(u):
            return s
        return {"long": "ulong", "int": "uint"}[s]

    def literal(self, node: c_ast.Constant) -> Int:
        value, ty = self.literal_value(node)
        return Int(ty, self.k.word(value))

    def literal_value(self, node: c_ast.Constant) -> tuple[int, str]:
        """An integer constant's value and its type (C11 6.4.4.1)."""
        if node.type not in ("int", "unsigned int", "long int", "unsigned long int", "long long int",
                             "unsigned long long int"):
            raise _fail(node, f"{node.type} constants are not supported")
        text = node.value.lower()
        suffix = re.search(r"[ul]*$", text).group(0)
        digits = text[: len(text) - len(suffix)]
        octal = digits.startswith("0") and len(digits) > 1 and digits[1].isdigit()
        value = int(digits, 8) if octal else int(digits, 0)
        decimal = not digits.startswith("0") or digits == "0"
        order = {  # C11 6.4.4.1: the first type that can represent the value
            "": ["int", "long"] if decimal else ["int", "uint", "long", "ulong"],
            "u": ["uint", "ulong"], "l": ["long"] if decimal else ["long", "ulong"],
            "ul": ["ulong"], "lu": ["ulong"], "ll": ["long"] if decimal else ["long", "ulong"],
            "ull": ["ulong"], "llu": ["ulong"]}.get(suffix)
        if order is None:
            raise _fail(node, f"constant suffix '{suffix}' is not supported")
        for ty in order:
            limit = 1 << (self._bits(ty) - (1 if SIGNED[ty] else 0))
            if value < limit:
                return value, ty
        raise _fail(node, "constant too large for unsigned long")

    # -- control: every statement runs under a guard (the path condition, not yet returned)
    def call(self, name: str, args: list[Any], node: c_ast.Node | None = None, g: Any = True) -> Any:
        """Run ``name`` on ``args`` under the caller's guard ``g`` (its writes happen only there)."""
        fn = self.unit.functions.get(name)
        if fn is None:
            raise _fail(node, f"call to unknown function {name}()") if node else InputError(name, "not defined")
        if self.depth > 16:
            raise _fail(fn, "calls nest too deep (recursion is not supported)")
        frame = self.enter(fn, args, node)
        self.depth += 1
        try:
            self.block(fn.body, frame, g)
        finally:
            self.depth -= 1
        if frame.ret_ty == "void":
            return None
        if frame.value is None:
            raise _fail(fn, f"{name}() can end without returning a value")
        return frame.value

    def enter(self, fn: c_ast.FuncDef, args: list[Any], node: c_ast.Node | None = None) -> "_Frame":
        """The frame of a call of ``fn`` on ``args``: its parameters bound, nothing run yet."""
        params = fn.decl.type.args.params if fn.decl.type.args else []
        params = [p for p in params if not (isinstance(p, c_ast.Typename) and self.ctype(p) == "void")]
        if len(params) != len(args):
            raise _fail(node or fn, f"{fn.decl.name}() takes {len(params)} arguments, {len(args)} given")
        env = {}
        for p, a in zip(params, args):
            ty = self.ctype(p)
            env[p.name] = Cell(ty, self.convert(a, ty, p))
        return _Frame(self.ctype(fn.decl.type.type), env)

    def run(self, fn: c_ast.FuncDef, args: list[Any], stmts: list | None = None,
            hidden: dict[str, Hidden] | None = None) -> "_Frame":
        """Run ``stmts`` (default ``fn``'s body) in the frame of ``fn`` on ``args``, in that frame's
        own scope, and give the frame: its parameters and locals as they are at the end, and what
        it returned.  For the parts of move_page_tables(), which end without a return value.
        ``hidden``: parameters the run may not read (Hidden)."""
        frame = self.enter(fn, args)
        for name, h in (hidden or {}).items():
            frame.env[name].v = h
        for x in fn.body.block_items or [] if stmts is None else stmts:
            self.stmt(x, frame, True)
        return frame

    def guard(self, frame: "_Frame", g: Any) -> Any:
        return self.k.and_(g, self.k.not_(frame.returned)) if frame.returned is not False else g

    def block(self, node: c_ast.Compound, frame: "_Frame", g: Any) -> None:
        # a new scope: locals declared inside vanish after it; the cells of outer ones are shared
        inner = _Frame(frame.ret_ty, dict(frame.env), frame.returned, frame.value)
        for item in node.block_items or []:
            self.stmt(item, inner, g)
        frame.returned, frame.value = inner.returned, inner.value

    def stmt(self, node: c_ast.Node, frame: "_Frame", g: Any) -> None:
        k = self.k
        g = self.guard(frame, g)
        if g is False:
            return  # concrete: this path is not taken
        if isinstance(node, c_ast.Compound):
            self.block(node, frame, g)
        elif isinstance(node, c_ast.Decl):
            if "static" in (node.storage or []):
                raise _fail(node, "a static local keeps its value from one call to the next; the model runs "
                                  "every call afresh, so static locals are not supported")
            if not isinstance(node.type, (c_ast.TypeDecl, c_ast.PtrDecl)):
                raise _fail(node, "only scalar and pointer locals are supported")
            if node.init is None and _opaque(node):
                frame.env[node.name] = Cell(OPAQUE, None)  # a kernel object the model does not read
                return
            ty = self.ctype(node)
            init = self.convert(self.expr(node.init, frame, g), ty, node) if node.init is not None else None
            frame.env[node.name] = Cell(ty, init)
        elif isinstance(node, c_ast.If):
            c = self.decides(node.cond, self.as_bool(self.expr(node.cond, frame, g), node.cond), g)
            if c is not False:  # a condition known false (a kernel fact: no hugetlb VMA) skips its branch
                self.stmt(node.iftrue, frame, k.and_(g, c))
            if node.iffalse is not None and c is not True:
                self.stmt(node.iffalse, frame, k.and_(g, k.not_(c)))
        elif isinstance(node, c_ast.Return):
            if frame.ret_ty == "void":
                if node.expr is not None:
                    raise _fail(node, "a void function returns a value")
                value = None
            else:
                if node.expr is None:
                    raise _fail(node, "return without a value")
                value = self.convert(self.expr(node.expr, frame, g), frame.ret_ty, node)
            frame.value = value if frame.value is None else self.merge(g, value, frame.value, node)
            frame.returned = g if frame.returned is False else k.or_(frame.returned, g)
            if self.depth == 0:  # move_page_tables() returns an unsigned long: its word
                self.exits.append((_where(node), g, value.w if isinstance(value, Int) else self.k.word(0)))
        elif isinstance(node, (c_ast.Assignment, c_ast.FuncCall, c_ast.UnaryOp, c_ast.BinaryOp, c_ast.ID,
                               c_ast.Cast)):
            self.expr(node, frame, g)
        elif isinstance(node, c_ast.EmptyStatement):
            pass
        elif isinstance(node, (c_ast.For, c_ast.While, c_ast.DoWhile)):
            self.loop(node, frame, g)
        else:
            raise _fail(node, f"{type(node).__name__} statements are not supported")

    def loop(self, node: c_ast.Node, frame: "_Frame", g: Any) -> None:
        """A loop whose body returns on every path runs its body at most once: ``while (c) body``
        is ``if (c) body``, ``for (init; c; step) body`` is ``init; if (c) body`` and ``do body
        while (c)`` is ``body`` (so for_each_vma() with such a body is one lookup).  Any other
        loop could run again, and is refused."""
        if not _always_returns(node.stmt):
            raise _fail(node, "loops are supported only where the body returns on every path (so that it runs "
                              "at most once); this one can run again")
        if isinstance(node, c_ast.DoWhile):
            self.stmt(node.stmt, frame, g)
            return
        if isinstance(node, c_ast.For) and node.init is not None:
            if isinstance(node.init, c_ast.DeclList):
                raise _fail(node.init, "a declaration in a for loop is not supported")
            self.expr(node.init, frame, g)
        if node.cond is None:
            self.stmt(node.stmt, frame, g)
            return
        c = self.decides(node.cond, self.as_bool(self.expr(node.cond, frame, g), node.cond), g)
        if c is not False:
            self.stmt(node.stmt, frame, self.k.and_(g, c))

    def merge(self, g: Any, new: Any, old: Any, node: c_ast.Node) -> Any:
        k = self.k
        if old is None:
            return new
        if isinstance(new, Int) and isinstance(old, Int):
            return Int(new.ty, k.ite(g, new.w, old.w))
        if isinstance(new, Bool) and isinstance(old, Bool):
            return Bool(k.ite(g, new.b, old.b))
        if isinstance(new, Ref) and isinstance(old, Ref):
            return Ref(k.ite(g, new.r, old.r))
        if new is old or (isinstance(new, Ptr) and isinstance(old, Ptr) and new.cell is old.cell):
            return new
        raise _fail(node, "cannot merge these values of two paths")

    def store(self, cell: Cell, value: Any, g: Any, node: c_ast.Node) -> None:
        value = self.convert(value, cell.ty, node)
        cell.v = value if g is True or cell.v is None else self.merge(g, value, cell.v, node)

    # -- expressions
    def lvalue(self, node: c_ast.Node, frame: "_Frame", g: Any) -> Cell:
        if isinstance(node, c_ast.ID):
            cell = frame.lookup(node.name)
            if cell is None:
                raise _fail(node, f"'{node.name}' cannot be assigned")
            return cell
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            p = self.expr(node.expr, frame, g)
            if isinstance(p, Ptr):
                return p.cell
            raise _fail(node, "writes through this pointer are not supported")
        if isinstance(node, c_ast.StructRef):
            base = self.expr(node.name, frame, g)
            if isinstance(base, Pmc) and node.type == "->" and node.field.name in base.fields:
                if node.field.name in self.frozen:
                    raise _fail(node, f"writes to pmc->{node.field.name} are not supported: the model's loop "
                                      "runs to old_end = old_addr + len_in as the caller set them")
                return base.fields[node.field.name]
            raise _fail(node, "only pagetable_move_control fields can be assigned")
        raise _fail(node, "writes to this expression are not supported (only variables, *out-parameters, pmc fields)")

    def seen_value(self, v: Any, node: c_ast.Node, name: str, hidden_ok: bool = False) -> Any:
        """A value read at ``node``, refused if the model does not carry it there (Hidden)."""
        if isinstance(v, Hidden) and not (hidden_ok and v.vma):
            raise _fail(node, f"'{name}' is not modelled here: {v.why}")
        return v

    def expr(self, node: c_ast.Node, frame: "_Frame", g: Any, hidden_ok: bool = False) -> Any:
        k = self.k
        node = self.replaced.get(id(node), node)
        if isinstance(node, c_ast.Constant):
            return self.literal(node)
        if isinstance(node, c_ast.ID):
            if node.name in ("true", "false"):
                return Bool(node.name == "true")
            if node.name == "NULL":
                return Null()
            if node.name in self.consts:
                return Int("ulong", k.word(self.consts[node.name]))
            cell = frame.lookup(node.name)
            if cell is None:
                raise _fail(node, f"unknown identifier '{node.name}'")
            if cell.ty == OPAQUE:
                raise _fail(node, f"'{node.name}' is a kernel object the model does not read")
            if cell.v is None:
                raise _fail(node, f"'{node.name}' is read before it is set")
            return self.seen_value(cell.v, node, node.name, hidden_ok)
        if isinstance(node, c_ast.Cast):
            return self.convert(self.expr(node.expr, frame, g), self.ctype(node.to_type), node)
        if isinstance(node, c_ast.TernaryOp):
            c = self.decides(node.cond, self.as_bool(self.expr(node.cond, frame, g), node.cond), g)
            a = self.expr(node.iftrue, frame, k.and_(g, c)) if c is not False else None
            b = self.expr(node.iffalse, frame, k.and_(g, k.not_(c))) if c is not True else None
            if a is None or b is None:
                return a if b is None else b
            if isinstance(a, (Int, Bool)) and isinstance(b, (Int, Bool)):
                a, b = self.as_int(a, node), self.as_int(b, node)
                ty = self.common(a, b)
                a, b = self._norm(ty, a.w), self._norm(ty, b.w)
            if isinstance(a, Null) and isinstance(b, Ref):  # cond ? NULL : vma, and the converse
                a = Ref(k.null)
            if isinstance(b, Null) and isinstance(a, Ref):
                b = Ref(k.null)
            if isinstance(a, Null) and isinstance(b, Null):
                return a
            return self.merge(c, a, b, node)
        if isinstance(node, c_ast.UnaryOp):
            return self.unary(node, frame, g)
        if isinstance(node, c_ast.BinaryOp):
            return self.binary(node, frame, g)
        if isinstance(node, c_ast.Assignment):
            cell = self.lvalue(node.lvalue, frame, g)
            value = self.expr(node.rvalue, frame, g)
            if node.op != "=":
                op = node.op[:-1]
                if op in ("<<", ">>"):
                    value = self.shift(op, cell.v, node.rvalue, node)
                elif op in ARITH:
                    value = self.arith(op, cell.v, value, node)
                else:
                    raise _fail(node, f"'{node.op}' is not supported")
            self.store(cell, value, g, node)
            return cell.v
        if isinstance(node, c_ast.StructRef):
            f = node.field.name
            base = self.expr(node.name, frame, g, hidden_ok=f == "vm_mm")
            if node.type != "->":
                raise _fail(node, "only '->' field reads are supported")
            if isinstance(base, Hidden):
                return Mm()  # a VMA the tail cannot see: only its mm, which nothing reads
            if isinstance(base, Ref):
                self.fault("oops", node, k.and_(g, k.is_null(base.r)))
                if f == "vm_start":
                    return Int("ulong", k.vm_start(base.r))
                if f == "vm_end":
                    return Int("ulong", k.vm_end(base.r))
                if f == "vm_mm":
                    return Mm()
            if isinstance(base, Pmc) and f in base.fields:
                return self.seen_value(base.fields[f].v, node, f"pmc->{f}", hidden_ok)
            raise _fail(node, f"field '{f}' is not supported")
        if isinstance(node, c_ast.FuncCall):
            return self.funcall(node, frame, g)
        raise _fail(node, f"{type(node).__name__} expressions are not supported")

    def unary(self, node: c_ast.UnaryOp, frame: "_Frame", g: Any) -> Any:
        k = self.k
        if node.op == "sizeof":
            if not isinstance(node.expr, c_ast.Typename):
                raise _fail(node, "sizeof is supported on a type name only (sizeof(unsigned long))")
            ty = self.ctype(node.expr)
            size = {"int": self.ibits, "uint": self.ibits, "long": self.wbits, "ulong": self.wbits, "bool": 8}.get(
                ty, self.wbits if ty.endswith("*") else None)
            if size is None:
                raise _fail(node, f"sizeof({ty}) is not supported")
            return Int("ulong", k.word(size // 8))  # size_t
        if node.op == "&":
            return Ptr(self.lvalue(node.expr, frame, g))
        v = self.expr(node.expr, frame, g)
        if node.op == "!":
            return Bool(k.not_(self.as_bool(v, node.expr)))
        if node.op == "*":
            if isinstance(v, Ptr):
                if v.cell.v is None:
                    raise _fail(node, "read of an unset value")
                return v.cell.v
            raise _fail(node, "this pointer cannot be dereferenced")
        x = self.as_int(v, node.expr)
        if node.op == "~":
            return self._norm(x.ty, ~x.w)
        if node.op == "-":
            return self._norm(x.ty, k.word(0) - x.w)
        if node.op == "+":
            return x
        raise _fail(node, f"operator '{node.op}' is not supported")

    def arith(self, op: str, a: Any, b: Any, node: c_ast.Node) -> Int:
        """``a op b`` after the usual arithmetic conversions; signed results wrap (the kernel
        builds with -fno-strict-overflow).  ``*`` needs a constant operand (a scale, as kernel
        address arithmetic writes it), as do ``& | ^`` on the integer encoding."""
        a, b = self.as_int(a, node), self.as_int(b, node)
        ty = self.common(a, b)
        x, y = self._norm(ty, a.w).w, self._norm(ty, b.w).w
        if op == "*" and self.const_of(node) is None:
            raise _fail(node, "'*' is supported where an operand is a constant expression")
        try:
            w = {"+": lambda: x + y, "-": lambda: x - y, "&": lambda: x & y, "|": lambda: x | y,
                 "^": lambda: x ^ y, "*": lambda: x * y}[op]()
        except TypeError as e:  # the integer encoding's bitwise operators need a constant operand
            raise _fail(node, str(e)) from None
        return self._norm(ty, w)

    def const_of(self, node: c_ast.Node) -> int | None:
        """For a ``*``, the value of an operand that is an integer constant expression."""
        left, right = (node.left, node.right) if isinstance(node, c_ast.BinaryOp) else (node.lvalue, node.rvalue)
        for side in (right, left):
            v = self.constant(side)
            if v is not None:
                return v
        return None

    def constant(self, node: c_ast.Node) -> int | None:
        """The mathematical value of an integer constant expression (literals, the geometry's
        constants, + - * << >> & | ^ ~ and casts of them), or None."""
        if isinstance(node, c_ast.Constant):
            try:
                return self.literal_value(node)[0]
            except InputError:
                return None
        if isinstance(node, c_ast.ID):
            return self.consts.get(node.name)
        if isinstance(node, c_ast.Cast):
            return self.constant(node.expr)
        if isinstance(node, c_ast.UnaryOp) and node.op in ("-", "~", "+"):
            v = self.constant(node.expr)
            return None if v is None else {"-": -v, "~": ~v, "+": v}[node.op]
        if isinstance(node, c_ast.BinaryOp) and node.op in ("+", "-", "*", "<<", ">>", "&", "|", "^"):
            a, b = self.constant(node.left), self.constant(node.right)
            if a is None or b is None or (node.op in ("<<", ">>") and not 0 <= b < 128):
                return None
            return {"+": a + b, "-": a - b, "*": a * b, "<<": a << b, ">>": a >> b, "&": a & b, "|": a | b,
                    "^": a ^ b}[node.op]
        return None

    def shift(self, op: str, a: Any, count: c_ast.Node, node: c_ast.Node) -> Int:
        """``a << n`` / ``a >> n`` for a constant ``n`` (C11 6.5.7: the type is the promoted left
        operand's; a count below 0 or not below its width is undefined and refused); ``>>`` of a
        signed value is arithmetic, as GCC defines it."""
        x = self.as_int(a, node)
        ty = x.ty  # already promoted: the subset's narrowest types are int and unsigned int
        n = self.constant(count)
        if n is None:
            raise _fail(count, "the shift count must be a constant expression")
        if not 0 <= n < self._bits(ty):
            raise _fail(count, f"shift count {n} is undefined for a {self._bits(ty)}-bit {ty}")
        k, w = self.k, self._norm(ty, x.w).w
        if op == "<<":
            return self._norm(ty, w * (1 << n))
        if not SIGNED[ty]:
            return self._norm(ty, k.shr(w, n))
        top = 1 << (self.wbits - 1)  # signed values are held sign-extended to the word
        fill = ((1 << self.wbits) - 1) ^ ((1 << (self.wbits - n)) - 1)
        return self._norm(ty, k.shr(w, n) + k.ite(k.uge(w, k.word(top)), k.word(fill), k.word(0)))

    def compare(self, op: str, a: Any, b: Any, node: c_ast.Node) -> Bool:
        k = self.k
        if isinstance(a, (Ref, Null)) or isinstance(b, (Ref, Null)):
            if op not in ("==", "!="):
                raise _fail(node, "pointers are compared with == and != only")
            if isinstance(a, Null) and isinstance(b, Null):
                same = True
            elif isinstance(a, Null) or isinstance(b, Null):
                r = a if isinstance(a, Ref) else b
                if not isinstance(r, Ref):
                    raise _fail(node, "cannot compare this with NULL")
                same = k.is_null(r.r)
            elif isinstance(a, Ref) and isinstance(b, Ref):
                same = k.same(a.r, b.r)
            else:
                raise _fail(node, "cannot compare a pointer with this")
            return Bool(same if op == "==" else k.not_(same))
        a, b = self.as_int(a, node), self.as_int(b, node)
        ty = self.common(a, b)
        x, y = self._norm(ty, a.w).w, self._norm(ty, b.w).w
        if op == "==":
            return Bool(k.eq(x, y))
        if op == "!=":
            return Bool(k.ne(x, y))
        if SIGNED[ty]:  # signed order: flip the sign bit of the (sign-extended) words
            bias = k.word(1 << (self.wbits - 1))
            x, y = x + bias, y + bias
        return Bool({"<": k.ult, "<=": k.ule, ">": k.ugt, ">=": k.uge}[op](x, y))

    def binary(self, node: c_ast.BinaryOp, frame: "_Frame", g: Any) -> Any:
        k = self.k
        op = node.op
        if op in ("&&", "||"):
            a = self.decides(node.left, self.as_bool(self.expr(node.left, frame, g), node.left), g)
            if (op == "&&" and a is False) or (op == "||" and a is True):
                return Bool(a)
            b_guard = k.and_(g, a) if op == "&&" else k.and_(g, k.not_(a))
            b = self.decides(node.right, self.as_bool(self.expr(node.right, frame, b_guard), node.right), b_guard)
            return Bool(k.and_(a, b) if op == "&&" else k.or_(a, b))
        a = self.expr(node.left, frame, g)
        b = self.expr(node.right, frame, g)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self.compare(op, a, b, node)
        if op in ARITH:
            return self.arith(op, a, b, node)
        if op in ("<<", ">>"):
            return self.shift(op, a, node.right, node)
        raise _fail(node, f"operator '{op}' is not supported (the subset has {' '.join(ARITH)} << >> ~ ! and "
                          "comparisons)")

    def align(self, name: str, args: list[Any], node: c_ast.Node) -> Any:
        """The kernel's alignment macros (include/linux/align.h, include/linux/math.h,
        include/linux/mm.h), with their ``typeof(x)``: the mask ``(typeof(x))(a) - 1`` is
        computed in x's (promoted) type."""
        want = 1 if name in ("PAGE_ALIGN", "PAGE_ALIGN_DOWN", "PAGE_ALIGNED") else 2
        if len(args) != want:
            raise _fail(node, f"{name}() takes {want} arguments")
        x = self.as_int(args[0], node)
        a = args[1] if want == 2 else Int("ulong", self.k.word(self.consts["PAGE_SIZE"]))
        one = Int("int", self.k.word(1))
        mask = self.arith("-", self.convert(a, x.ty, node), one, node)
        notmask = self._norm(mask.ty, ~mask.w)
        if name in ("ALIGN", "PAGE_ALIGN", "round_up"):  # round_up: ((x - 1) | mask) + 1, the same value
            return self.arith("&", self.arith("+", x, mask, node), notmask, node)
        if name in ("ALIGN_DOWN", "PAGE_ALIGN_DOWN", "round_down"):
            return self.arith("&", x, notmask, node)
        return self.compare("==", self.arith("&", x, mask, node), Int("int", self.k.word(0)), node)

    def funcall(self, node: c_ast.FuncCall, frame: "_Frame", g: Any) -> Any:
        k = self.k
        if not isinstance(node.name, c_ast.ID):
            raise _fail(node, "calls through pointers are not supported")
        name = node.name.name
        args = node.args.exprs if node.args else []
        if name in ("likely", "unlikely"):  # __builtin_expect(!!(x), ...): 0 or 1 (include/linux/compiler.h)
            if len(args) != 1:
                raise _fail(node, f"{name}() takes one argument")
            return Bool(self.as_bool(self.expr(args[0], frame, g), args[0]))
        if name in ALIGN_HELPERS:
            return self.align(name, [self.expr(a, frame, g) for a in args], node)
        if name in VMA_FLAGS:
            if len(args) != 1:
                raise _fail(node, f"{name}() takes one VMA")
            r = self.expr(args[0], frame, g)
            if not isinstance(r, Ref):
                raise _fail(args[0], f"{name}() takes a struct vm_area_struct *")
            self.fault("oops", node, k.and_(g, k.is_null(r.r)))
            return Bool(k.uffd_without_remap(r.r))
        if name in KNOWN_TRUE:
            for a in args:
                effect = _side_effect(a)
                if effect is not None:
                    raise _fail(effect, f"an argument of {name}() has a side effect; the model does not run {name}()")
            return Bool(True)
        if name in NO_EFFECT or name in KNOWN_FALSE:
            for a in args:  # not evaluated: so none of them may change anything
                effect = _side_effect(a)
                if effect is not None:
                    raise _fail(effect, f"an argument of {name}() has a side effect; the model does not run "
                                        f"{name}(), nor evaluate its arguments")
            # what it does touches no address, VMA or value the model reads, or it is false of
            # every VMA the model has
            return None if name in NO_EFFECT else Bool(False)
        if name in WARNINGS:
            if len(args) != 1:
                raise _fail(node, f"{name}() takes one condition")
            c = self.as_bool(self.expr(args[0], frame, g), args[0])
            self.fault("warn", node, k.and_(g, c))
            return Bool(c)
        if name == "VMA_ITERATOR":  # the macro declares a struct vma_iterator at an address
            if len(args) != 3 or not isinstance(args[0], c_ast.ID):
                raise _fail(node, "VMA_ITERATOR(name, mm, addr) takes a new variable name, an mm and an address")
            if not isinstance(self.expr(args[1], frame, g), Mm):
                raise _fail(args[1], "the second argument must be a vma->vm_mm")
            addr = self.convert(self.expr(args[2], frame, g), "ulong", args[2]).w
            frame.env[args[0].name] = Cell("vmi", Iter(addr))
            return None
        if name == "vma_find":
            # the first VMA at or above the iterator's address that starts below max (mas_find()
            # up to max - 1), the first step of for_each_vma_range()
            it = self.expr(args[0], frame, g) if len(args) == 2 else None
            if not isinstance(it, Ptr) or not isinstance(it.cell.v, Iter):
                raise _fail(node, "vma_find() takes &vmi of a VMA_ITERATOR(vmi, ...) and an end")
            if it.cell.v.stepped:
                raise _fail(node, "only one vma_prev(), vma_next() or vma_find() per VMA_ITERATOR is supported")
            end = self.convert(self.expr(args[1], frame, g), "ulong", args[1]).w
            it.cell.v.stepped = True
            return Ref(k.find_vma_intersection(it.cell.v.addr, end))
        if name in ("vma_prev", "vma_next"):
            # on a fresh iterator: mas_prev() walks to its index, then returns the previous
            # non-empty entry, the highest VMA ending at or below addr (find_vma_prev()'s *pprev);
            # vma_find(vmi, ULONG_MAX) the first VMA ending above it (find_vma())
            it = self.expr(args[0], frame, g) if len(args) == 1 else None
            if not isinstance(it, Ptr) or not isinstance(it.cell.v, Iter):
                raise _fail(node, f"{name}() takes &vmi of a VMA_ITERATOR(vmi, ...)")
            if it.cell.v.stepped:
                raise _fail(node, "only one vma_prev(), vma_next() or vma_find() per VMA_ITERATOR is supported")
            it.cell.v.stepped = True
            return Ref(k.find_vma_prev(it.cell.v.addr)[1 if name == "vma_prev" else 0])
        if name == "vma_lookup":
            # the VMA containing addr, or NULL (include/linux/mm.h: mtree_load(&mm->mm_mt, addr))
            if len(args) != 2:
                raise _fail(node, "vma_lookup() takes 2 arguments")
            if not isinstance(self.expr(args[0], frame, g), Mm):
                raise _fail(args[0], "the first argument must be a vma->vm_mm")
            a = self.convert(self.expr(args[1], frame, g), "ulong", args[1]).w
            return Ref(k.find_vma_intersection(a, a + 1))
        if name in ("find_vma_prev", "find_vma_intersection", "find_vma"):
            want = {"find_vma_prev": 3, "find_vma_intersection": 3, "find_vma": 2}[name]
            if len(args) != want:
                raise _fail(node, f"{name}() takes {want} arguments")
            if not isinstance(self.expr(args[0], frame, g), Mm):
                raise _fail(args[0], "the first argument must be a vma->vm_mm")
            a = self.convert(self.expr(args[1], frame, g), "ulong", args[1]).w
            if name == "find_vma_intersection":
                e = self.convert(self.expr(args[2], frame, g), "ulong", args[2]).w
                return Ref(k.find_vma_intersection(a, e))
            cur, prev = k.find_vma_prev(a)
            if name == "find_vma_prev":
                out = self.expr(args[2], frame, g)
                if not isinstance(out, Ptr) or out.cell.ty != "vma*":
                    raise _fail(args[2], "the third argument must be &prev, a struct vm_area_struct * variable")
                self.store(out.cell, Ref(prev), g, node)
            return Ref(cur)
        values = [self.expr(a, frame, g) for a in args]
        return self.call(name, values, node, g)


def _always_returns(stmt: c_ast.Node | None) -> bool:
    """Does every path through ``stmt`` end in a return?"""
    if isinstance(stmt, c_ast.Return):
        return True
    if isinstance(stmt, c_ast.Compound):
        return any(_always_returns(x) for x in stmt.block_items or [])
    if isinstance(stmt, c_ast.If):
        return stmt.iffalse is not None and _always_returns(stmt.iftrue) and _always_returns(stmt.iffalse)
    return False


#: calls without side effects, inside the arguments of a call the model does not run
_PURE = ("likely", "unlikely", *ALIGN_HELPERS)


def _side_effect(node: c_ast.Node) -> c_ast.Node | None:
    """The first part of an expression that may change something when evaluated: an assignment,
    an increment, a call of anything but the pure helpers, or a warning (which fires)."""
    for n in _walk(node):
        if isinstance(n, c_ast.Assignment) or (isinstance(n, c_ast.UnaryOp) and n.op in ("++", "--", "p++", "p--")):
            return n
        if isinstance(n, c_ast.FuncCall) and not (isinstance(n.name, c_ast.ID) and n.name.name in _PURE):
            return n
    return None


@dataclass
class _Frame:
    ret_ty: str
    env: dict
    returned: Any = False  # the condition under which the function has returned
    value: Any = None  # the return value, merged over the paths that returned

    def lookup(self, name: str) -> Cell | None:
        return self.env.get(name)


def mover_refusals(interp: "Interp", guards: Any, call: dict[str, Any]) -> tuple[Any, Any]:
    """When move_normal_pmd()/move_normal_pud() (``guards``: cparse.TableGuards) return early
    before their WARN_ON_ONCE() and right after it: the conditions of their ``if (C) return``
    guards, with the parameters bound by type from ``call`` ("pmc*", "vma*": the call's source
    VMA, "ulong" addresses are not readable) and its VMA pointers declared with initial values.
    The page-table pointers they take are not readable (Hidden): a guard that reads one is
    refused at its line."""
    k = interp.k
    fn = guards.fn
    params = fn.decl.type.args.params if fn.decl.type.args else []
    env: dict[str, Cell] = {}
    for p in params:
        if getattr(p, "name", None) is None:
            continue
        ty = ""
        try:
            ty = ctype(p, k.geometry.word_bits)
        except InputError:
            pass
        if ty in call:
            env[p.name] = Cell(ty, call[ty])
        else:
            env[p.name] = Cell(ty or OPAQUE, Hidden(f"{p.name}: the model reads only the VMAs and flags of "
                                                    f"{fn.decl.name}()'s call, not its page tables or addresses"))
    frame = _Frame("bool", env)
    for d in guards.decls:
        interp.stmt(d, frame, True)

    def refused(stmts: list) -> Any:
        out: Any = False
        for x in stmts:
            g = k.not_(out)
            c = interp.decides(x.cond, interp.as_bool(interp.expr(x.cond, frame, g), x.cond), g)
            out = k.or_(out, c)
        return out
    return refused(guards.before), refused(guards.after)


def _pmc(k: KernelOps, c_vma: Any, c_new: Any, old: Any, new: Any, old_end: Any, len_: Any, for_stack: Any) -> Pmc:
    v = {"old": Ref(c_vma), "new": Ref(c_new), "old_addr": Int("ulong", old), "old_end": Int("ulong", old_end),
         "new_addr": Int("ulong", new), "len_in": Int("ulong", len_), "need_rmap_locks": Bool(False),
         "for_stack": Bool(for_stack)}
    return Pmc({f: Cell(_PMC_FIELDS[f], v[f]) for f in _PMC_FIELDS})
