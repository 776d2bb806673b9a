"""Realignment logic written in the kernel's own C, run exactly on any ``KernelOps`` backend.

A C file holds some of the functions of mm/mremap.c's realignment: a predicate
(``can_align_down()`` or the RFC's ``check_addr_in_prev()``), its caller (``realign_addr()``,
``try_realign_addr()``, ``can_realign_addr()``) and, as entry points, two functions that stand for
the head and the tail of move_page_tables():

* ``void move_page_tables_start(struct vm_area_struct *vma, unsigned long *old_addr,
  struct vm_area_struct *new_vma, unsigned long *new_addr, unsigned long len, bool for_stack)``
  or ``void move_page_tables_start(struct pagetable_move_control *pmc)``: what runs before the
  loop (it may realign ``*old_addr``/``*new_addr``, or ``pmc->old_addr``/``pmc->new_addr``);
* ``unsigned long move_page_tables_return(unsigned long old_addr, unsigned long old_end,
  unsigned long len)`` or ``unsigned long pmc_progress(struct pagetable_move_control *pmc)``: the
  return value, given the loop's final old-side cursor.

A user's file is linked over a base (a built-in variant's C file, ``properties/c/``): each function
the user defines replaces the base's function of the same name, so a patch's
``can_align_down()`` alone is a complete variant.  ``PMD_MASK``/``PMD_SIZE`` stand for the
realignment level's mask and size (the PUD's with ``--level pud``).

The C subset has exact semantics: ``int``/``unsigned int``/``long``/``unsigned long``/``bool``
with the geometry's widths, integer promotions and the usual arithmetic conversions, truncation
and sign extension, unsigned wrap-around, signed and unsigned comparisons, ``&&``/``||``
short-circuit, ``?:``, ``if``/``else``, early ``return``, locals, VMA pointers and NULL, the
helpers' out-parameters (``&prev``), pointer parameters to scalars, ``struct`` field reads and the
``pagetable_move_control`` fields, ``find_vma_prev()``/``find_vma_intersection()``/``find_vma()``
and ``VMA_ITERATOR(vmi, mm, addr)`` with one ``vma_prev(&vmi)``.  Two things on a path are
recorded with the condition that reaches them, for the properties no-predicate-warn and
no-null-deref: a ``WARN_ON_ONCE(x)`` (which evaluates to ``x``) whose ``x`` holds, and a field
read through a NULL VMA pointer (after which the path reads 0, so the run can go on).  Everything else (loops, ``switch``, ``goto``, unknown
functions, ``* / % | ^ << >>``, writes through other pointers, recursion) is rejected with
``FILE:LINE:COL: message``, never approximated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycparser import c_ast, c_parser
from pycparser.plyparser import ParseError

from modelcheck._data import read_spec
from modelcheck.errors import InputError
from modelcheck.ops import KernelOps
from modelcheck.variants import Call, Decision, Variant

__all__ = ["CUnit", "Linkage", "parse_c", "link", "reachable", "c_variant", "load_c", "load_c_variant", "builtin_c", "builtin_unit", "PRELUDE", "ctype"]

#: what kernel headers would provide, as far as the subset needs it
PRELUDE = """\
typedef _Bool bool;
enum { false = 0, true = 1 };
struct mm_struct;
struct vm_area_struct { unsigned long vm_start; unsigned long vm_end; struct mm_struct *vm_mm; };
struct pagetable_move_control {
	struct vm_area_struct *old; struct vm_area_struct *new;
	unsigned long old_addr; unsigned long old_end; unsigned long new_addr; unsigned long len_in;
	bool need_rmap_locks; bool for_stack;
};
struct vm_area_struct *find_vma_prev(struct mm_struct *mm, unsigned long addr, struct vm_area_struct **pprev);
struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, unsigned long start, unsigned long end);
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);
struct vma_iterator;
struct vm_area_struct *vma_prev(struct vma_iterator *vmi);
int WARN_ON_ONCE(int condition);
long likely(long x);
long unlikely(long x);
extern void *const NULL;
extern const unsigned long PMD_MASK, PMD_SIZE, PUD_MASK, PUD_SIZE, PAGE_MASK, PAGE_SIZE;
"""
_PRELUDE_NAMES = {"find_vma_prev", "find_vma_intersection", "find_vma", "vma_prev", "VMA_ITERATOR", "WARN_ON_ONCE",
                  "likely", "unlikely"}
START, RETURN, PMC_RETURN = "move_page_tables_start", "move_page_tables_return", "pmc_progress"


@dataclass
class CUnit:
    """The function definitions of one or more C files, by name."""

    functions: dict[str, c_ast.FuncDef] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # function name -> the file it came from
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # function name -> its first and last line


def _strip(text: str, path: str) -> str:
    """Comments to spaces (lines and columns kept); ``#include`` lines blanked; other directives refused."""
    def blank(m: re.Match) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*.*?\*/|//[^\n]*", blank, text, flags=re.S)
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        s = line.lstrip()
        if s.startswith("#"):
            if not re.match(r"#\s*include\b", s):
                col = len(line) - len(s) + 1
                raise InputError(f"{path}:{n}:{col}", "preprocessor directives other than #include are not "
                                                      "supported; write the expanded code")
            line = ""
        out.append(line)
    return "\n".join(out)


def parse_c(text: str, path: str) -> CUnit:
    """Parse a C file of the subset; errors name FILE:LINE:COL."""
    stripped = _strip(text, path)
    source = PRELUDE + f'#line 1 "{path}"\n' + stripped
    closing = _braces(stripped, path)
    try:
        ast = c_parser.CParser().parse(source, filename=path)
    except ParseError as e:
        where, _, msg = str(e).partition(": ")
        raise InputError(where if where.startswith(path) else path, msg or str(e)) from None
    except (AssertionError, IndexError, KeyError, TypeError, ValueError, RecursionError) as e:
        # pycparser's own checks on input it cannot read (its lexer asserts on some of it)
        raise InputError(path, f"the C parser cannot read this file ({type(e).__name__})") from None
    unit = CUnit()
    for ext in ast.ext:
        if isinstance(ext, c_ast.FuncDef):
            name = ext.decl.name
            if name in unit.functions:
                raise InputError(_where(ext), f"{name}() is defined twice")
            if name in _PRELUDE_NAMES:
                raise InputError(_where(ext), f"{name}() is a kernel helper the checker models; do not define it")
            _check_nesting(ext)
            unit.functions[name] = ext
            unit.files[name] = path
            unit.spans[name] = (ext.coord.line, closing[ext.body.coord.line, ext.body.coord.column])
    return unit


def _braces(text: str, path: str) -> dict[tuple[int, int], int]:
    """Each '{' (line, column) and the line of the '}' that closes it, string and character
    literals aside (comments are blanked in ``text``); a '}' without its '{', or a '{' never
    closed, is refused at its position (pycparser's lexer asserts on the first)."""
    text = re.sub(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', lambda m: " " * len(m.group(0)), text)
    opened: list[tuple[int, int]] = []
    closing: dict[tuple[int, int], int] = {}
    for n, line in enumerate(text.split("\n"), 1):
        for col, ch in enumerate(line, 1):
            if ch == "{":
                opened.append((n, col))
            elif ch == "}":
                if not opened:
                    raise InputError(f"{path}:{n}:{col}", "'}' closes no '{'")
                closing[opened.pop()] = n
    if opened:
        n, col = opened[-1]
        raise InputError(f"{path}:{n}:{col}", "this '{' is never closed")
    return closing


#: how deeply statements and expressions may nest in one function (kernel realignment code
#: nests about ten deep; the interpreter and Z3's terms recurse once per level)
MAX_NESTING = 64


def _check_nesting(fn: c_ast.FuncDef) -> None:
    """Refuse, at its position, a construct nested deeper than MAX_NESTING (walked without
    recursion, so any depth is measured)."""
    todo: list[tuple[c_ast.Node, int]] = [(fn.body, 1)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_NESTING:
            raise _fail(node, f"nested more than {MAX_NESTING} levels deep (statements and expressions); "
                              "the subset takes at most that")
        todo += [(child, depth + 1) for _, child in node.children()]


def calls(fn: c_ast.FuncDef) -> set[str]:
    """The names of the functions ``fn`` calls directly."""
    out, todo = set(), [fn]
    while todo:
        node = todo.pop()
        if isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID):
            out.add(node.name.name)
        todo += [child for _, child in node.children()]
    return out


def reachable(unit: "CUnit", roots: set[str]) -> set[str]:
    """The functions of ``unit`` that ``roots`` call, directly or not, ``roots`` included."""
    seen, todo = set(), [r for r in roots if r in unit.functions]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [c for c in calls(unit.functions[name]) if c in unit.functions]
    return seen


def link(base: CUnit, user: CUnit) -> CUnit:
    """The base's functions, each replaced by the user's function of the same name."""
    return CUnit({**base.functions, **user.functions}, {**base.files, **user.files},
                 {**base.spans, **user.spans})


def _where(node: c_ast.Node) -> str:
    c = node.coord
    return f"{c.file}:{c.line}:{c.column}" if c is not None else "<c>"


def _fail(node: c_ast.Node, msg: str) -> InputError:
    return InputError(_where(node), msg)


# --- values ---------------------------------------------------------------------------------

def ctype(node: c_ast.Node, word_bits: int = 64) -> str:
    """The subset's name of a declared type: int, uint, long, ulong, bool, vma*, pmc*, ulong*, ..."""
    if isinstance(node, c_ast.Typename) or isinstance(node, c_ast.Decl):
        return ctype(node.type, word_bits)
    if isinstance(node, c_ast.TypeDecl):
        t = node.type
        if isinstance(t, c_ast.IdentifierType):
            names = [n for n in t.names if n not in ("const", "volatile", "signed")]
            names.sort(key=lambda n: n != "unsigned")  # "long unsigned" is "unsigned long"
            key = " ".join(n for n in names if n != "int") or "int"
            table = {"int": "int", "unsigned": "uint", "long": "long", "unsigned long": "ulong",
                     "long long": "long", "unsigned long long": "ulong", "_Bool": "bool", "bool": "bool",
                     "void": "void"}
            if key in table and (key not in ("long long", "unsigned long long") or word_bits == 64):
                return table[key]
            raise _fail(node, f"type '{' '.join(t.names)}' is not supported")
        if isinstance(t, c_ast.Struct):
            return f"struct {t.name}"
        raise _fail(node, "unsupported type")
    if isinstance(node, c_ast.PtrDecl):
        inner = ctype(node.type, word_bits)
        table = {"struct vm_area_struct": "vma*", "struct mm_struct": "mm*",
                 "struct pagetable_move_control": "pmc*", "ulong": "ulong*", "long": "long*", "int": "int*",
                 "uint": "uint*", "bool": "bool*", "vma*": "vma**", "void": "void*"}
        if inner in table:
            return table[inner]
        raise _fail(node, f"pointers to {inner} are not supported")
    raise _fail(node, "unsupported declaration")


SIGNED = {"int": True, "long": True, "uint": False, "ulong": False}


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


class Interp:
    """Runs functions of a CUnit on a KernelOps backend, merging both sides of every branch."""

    def __init__(self, unit: CUnit, k: KernelOps, level: str, forced: dict[int, bool] | None = None,
                 seen: list | None = None) -> None:
        """``forced``: conditions (by ``id()`` of their node in ``unit``) to take as the given value
        wherever they are evaluated; ``seen``: where to record each evaluation of a condition
        (the node's id, the path condition, its value) - for review.  (Ids, not FILE:LINE:COL:
        an if's condition starts where its first operand does.)"""
        self.unit, self.k, self.level = unit, k, level
        self.forced = forced or {}
        self.seen = seen
        g = k.geometry
        self.wbits, self.ibits = g.word_bits, g.int_bits
        self.consts = {"PMD_MASK": g.level_mask(level), "PMD_SIZE": g.level_size(level),
                       "PUD_MASK": g.pud_mask, "PUD_SIZE": g.pud_size,
                       "PAGE_SIZE": g.page_size, "PAGE_MASK": ~(g.page_size - 1) & g.word_mask}
        self.depth = 0
        # what the paths run into: (kind, FILE:LINE:COL, condition), kind "warn" or "oops"
        self.sites: list[tuple[str, str, Any]] = []

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
                return Int(ty, self.k.word(value))
        raise _fail(node, "constant too large for unsigned long")

    # -- control: every statement runs under a guard (the path condition, not yet returned)
    def call(self, name: str, args: list[Any], node: c_ast.Node | None = None, g: Any = True) -> Any:
        """Run ``name`` on ``args`` under the caller's guard ``g`` (its writes happen only there)."""
        fn = self.unit.functions.get(name)
        if fn is None:
            raise _fail(node, f"call to unknown function {name}()") if node else InputError(name, "not defined")
        if self.depth > 16:
            raise _fail(fn, "calls nest too deep (recursion is not supported)")
        params = fn.decl.type.args.params if fn.decl.type.args else []
        params = [p for p in params if not (isinstance(p, c_ast.Typename) and self.ctype(p) == "void")]
        if len(params) != len(args):
            raise _fail(node or fn, f"{name}() takes {len(params)} arguments, {len(args)} given")
        env = {}
        for p, a in zip(params, args):
            ty = self.ctype(p)
            env[p.name] = Cell(ty, self.convert(a, ty, p))
        ret_ty = self.ctype(fn.decl.type.type)
        frame = _Frame(ret_ty, env)
        self.depth += 1
        try:
            self.block(fn.body, frame, g)
        finally:
            self.depth -= 1
        if ret_ty == "void":
            return None
        if frame.value is None:
            raise _fail(fn, f"{name}() can end without returning a value")
        return frame.value

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
            if not isinstance(node.type, (c_ast.TypeDecl, c_ast.PtrDecl)):
                raise _fail(node, "only scalar and pointer locals are supported")
            ty = self.ctype(node)
            init = self.convert(self.expr(node.init, frame, g), ty, node) if node.init is not None else None
            frame.env[node.name] = Cell(ty, init)
        elif isinstance(node, c_ast.If):
            c = self.decides(node.cond, self.as_bool(self.expr(node.cond, frame, g), node.cond), g)
            self.stmt(node.iftrue, frame, k.and_(g, c))
            if node.iffalse is not None:
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
        elif isinstance(node, (c_ast.Assignment, c_ast.FuncCall, c_ast.UnaryOp, c_ast.BinaryOp, c_ast.ID,
                               c_ast.Cast)):
            self.expr(node, frame, g)
        elif isinstance(node, c_ast.EmptyStatement):
            pass
        elif isinstance(node, (c_ast.For, c_ast.While, c_ast.DoWhile)):
            raise _fail(node, "loops are not supported")
        else:
            raise _fail(node, f"{type(node).__name__} statements are not supported")

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
                return base.fields[node.field.name]
            raise _fail(node, "only pagetable_move_control fields can be assigned")
        raise _fail(node, "writes to this expression are not supported (only variables, *out-parameters, pmc fields)")

    def expr(self, node: c_ast.Node, frame: "_Frame", g: Any) -> Any:
        k = self.k
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
            if cell.v is None:
                raise _fail(node, f"'{node.name}' is read before it is set")
            return cell.v
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
                if op not in ("&", "+", "-"):
                    raise _fail(node, f"'{node.op}' is not supported")
                value = self.arith(op, cell.v, value, node)
            self.store(cell, value, g, node)
            return cell.v
        if isinstance(node, c_ast.StructRef):
            base = self.expr(node.name, frame, g)
            f = node.field.name
            if node.type != "->":
                raise _fail(node, "only '->' field reads are supported")
            if isinstance(base, Ref):
                self.fault("oops", node, k.and_(g, k.is_null(base.r)))
                if f == "vm_start":
                    return Int("ulong", k.vm_start(base.r))
                if f == "vm_end":
                    return Int("ulong", k.vm_end(base.r))
                if f == "vm_mm":
                    return Mm()
            if isinstance(base, Pmc) and f in base.fields:
                return base.fields[f].v
            raise _fail(node, f"field '{f}' is not supported")
        if isinstance(node, c_ast.FuncCall):
            return self.funcall(node, frame, g)
        raise _fail(node, f"{type(node).__name__} expressions are not supported")

    def unary(self, node: c_ast.UnaryOp, frame: "_Frame", g: Any) -> Any:
        k = self.k
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
        a, b = self.as_int(a, node), self.as_int(b, node)
        ty = self.common(a, b)
        x, y = self._norm(ty, a.w).w, self._norm(ty, b.w).w
        try:
            w = {"+": lambda: x + y, "-": lambda: x - y, "&": lambda: x & y}[op]()
        except TypeError as e:  # the integer encoding's '&' needs a constant mask
            raise _fail(node, str(e)) from None
        return self._norm(ty, w)

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
        if op in ("+", "-", "&"):
            return self.arith(op, a, b, node)
        raise _fail(node, f"operator '{op}' is not supported (the subset has + - & ~ and comparisons)")

    def funcall(self, node: c_ast.FuncCall, frame: "_Frame", g: Any) -> Any:
        k = self.k
        if not isinstance(node.name, c_ast.ID):
            raise _fail(node, "calls through pointers are not supported")
        name = node.name.name
        args = node.args.exprs if node.args else []
        if name in ("likely", "unlikely"):
            return self.expr(args[0], frame, g)
        if name == "WARN_ON_ONCE":
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
        if name == "vma_prev":
            # mas_prev() on a fresh iterator walks to its index, then returns the previous
            # non-empty entry: the highest VMA ending at or below addr, find_vma_prev()'s *pprev.
            it = self.expr(args[0], frame, g) if len(args) == 1 else None
            if not isinstance(it, Ptr) or not isinstance(it.cell.v, Iter):
                raise _fail(node, "vma_prev() takes &vmi of a VMA_ITERATOR(vmi, ...)")
            if it.cell.v.stepped:
                raise _fail(node, "only one vma_prev() per VMA_ITERATOR is supported")
            it.cell.v.stepped = True
            return Ref(k.find_vma_prev(it.cell.v.addr)[1])
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


@dataclass
class _Frame:
    ret_ty: str
    env: dict
    returned: Any = False  # the condition under which the function has returned
    value: Any = None  # the return value, merged over the paths that returned

    def lookup(self, name: str) -> Cell | None:
        return self.env.get(name)


# --- variants from C -----------------------------------------------------------------------

def _params(unit: CUnit, name: str) -> list[str]:
    fn = unit.functions[name]
    ps = fn.decl.type.args.params if fn.decl.type.args else []
    return [ctype(p) for p in ps]


def _check_entry(unit: CUnit) -> tuple[str, str]:
    if START not in unit.functions:
        raise InputError(START, f"no {START}() in the C files (it comes from the base variant's file)")
    start = "pmc" if _params(unit, START) == ["pmc*"] else "pointers"
    if start == "pointers" and _params(unit, START) != ["vma*", "ulong*", "vma*", "ulong*", "ulong", "bool"]:
        raise _fail(unit.functions[START], f"{START}() must take (struct vm_area_struct *vma, unsigned long "
                                           "*old_addr, struct vm_area_struct *new_vma, unsigned long *new_addr, "
                                           "unsigned long len, bool for_stack) or (struct pagetable_move_control *)")
    tail = PMC_RETURN if start == "pmc" and PMC_RETURN in unit.functions else RETURN
    if tail not in unit.functions:
        raise InputError(tail, f"no {tail}() in the C files")
    return start, tail


def _pmc(k: KernelOps, c_vma: Any, c_new: Any, old: Any, new: Any, old_end: Any, len_: Any, for_stack: Any) -> Pmc:
    v = {"old": Ref(c_vma), "new": Ref(c_new), "old_addr": Int("ulong", old), "old_end": Int("ulong", old_end),
         "new_addr": Int("ulong", new), "len_in": Int("ulong", len_), "need_rmap_locks": Bool(False),
         "for_stack": Bool(for_stack)}
    return Pmc({f: Cell(_PMC_FIELDS[f], v[f]) for f in _PMC_FIELDS})


def c_variant(unit: CUnit, vid: str, summary: str, provenance: str, forced: dict[int, bool] | None = None,
              seen: list | None = None) -> Variant:
    """A Variant whose decision and return value are the C functions of ``unit`` (with the
    conditions in ``forced`` taken as given, and evaluations recorded in ``seen``: Interp)."""
    start, tail = _check_entry(unit)

    def decide(k: KernelOps, c: Call, level: str) -> Decision:
        interp = Interp(unit, k, level, forced, seen)
        if start == "pmc":
            pmc = _pmc(k, c.vma, c.new_vma, c.old_addr, c.new_addr, c.old_addr + c.len, c.len, c.for_stack)
            interp.call(START, [pmc])
            old, new = pmc.fields["old_addr"].v.w, pmc.fields["new_addr"].v.w
        else:
            o, n = Cell("ulong", Int("ulong", c.old_addr)), Cell("ulong", Int("ulong", c.new_addr))
            interp.call(START, [Ref(c.vma), Ptr(o), Ref(c.new_vma), Ptr(n), Int("ulong", c.len),
                                Bool(c.for_stack)])
            old, new = o.v.w, n.v.w
        return Decision(k.or_(k.ne(old, c.old_addr), k.ne(new, c.new_addr)), old, new,
                        warn=interp.happens("warn"), oops=interp.happens("oops"), sites=tuple(interp.sites))

    def progress(k: KernelOps, cursor: Any, old_end: Any, len_: Any) -> Any:
        interp = Interp(unit, k, "pmd", forced, seen)
        if tail == PMC_RETURN:
            pmc = _pmc(k, k.null, k.null, cursor, cursor, old_end, len_, False)
            value = interp.call(PMC_RETURN, [pmc])
        else:
            value = interp.call(RETURN, [Int("ulong", cursor), Int("ulong", old_end), Int("ulong", len_)])
        return interp.convert(value, "ulong", unit.functions[tail]).w

    return Variant(vid, summary, provenance, decide, progress)


def builtin_c(vid: str) -> str:
    """The C text of a built-in variant's own file (properties/c/VARIANT.c)."""
    try:
        return read_spec(f"c/{vid}.c")
    except FileNotFoundError:
        raise InputError("--base", f"{vid} has no C file") from None


def builtin_unit(vid: str) -> CUnit:
    """A built-in variant's functions: its file, linked over the file it names in a
    ``modelcheck-base: ID`` line (each version's file holds only what changed)."""
    text = builtin_c(vid)
    unit = parse_c(text, f"properties/c/{vid}.c")
    m = re.search(r"modelcheck-base:\s*(\S+)", text)
    return link(builtin_unit(m.group(1)), unit) if m else unit


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None


PREDICATES = ("can_align_down", "check_addr_in_prev")


@dataclass(frozen=True)
class Linkage:
    """Where a C variant's functions come from: for each user file the functions that the entry
    points reach (name, first line, last line) and those it defines that nothing calls; what the
    base supplies."""

    base: str
    used: dict[str, tuple[tuple[str, int, int], ...]]
    unused: dict[str, tuple[str, ...]]
    from_base: tuple[str, ...]
    unit: CUnit | None = field(default=None, repr=False, compare=False)  # the linked functions

    def lines(self) -> list[str]:
        out = []
        for path, used in self.used.items():
            line = f"{path}: uses " + ", ".join(f"{n}() (lines {a}-{b})" for n, a, b in used)
            if self.unused[path]:
                line += "; never called: " + ", ".join(f"{n}()" for n in self.unused[path])
            out.append(line)
        if self.from_base:
            out.append(f"--base {self.base}: supplies " + ", ".join(f"{n}()" for n in self.from_base))
        return out

    def to_json(self) -> dict:
        return {"base": self.base, "from_base": list(self.from_base),
                "files": [{"file": p, "used": [{"function": n, "lines": [a, b]} for n, a, b in used],
                           "unused": list(self.unused[p])} for p, used in self.used.items()]}


#: the functions a C file can contribute under their kernel names
LINKED = ("can_align_down", "check_addr_in_prev", "realign_addr", "try_realign_addr", "can_realign_addr",
          START, RETURN, PMC_RETURN)


def _c_bases() -> list[str]:
    """The built-in variants that have a C file, in the registry's order."""
    from modelcheck.variants import VARIANTS
    out = []
    for vid in VARIANTS:
        try:
            builtin_c(vid)
            out.append(vid)
        except InputError:
            pass
    return out


def load_c(paths: list[str], base: str = "v6.15", function: str | None = None,
           vid: str | None = None) -> tuple[Variant, Linkage]:
    """The variant of the user's C files linked over the base variant's C file, and where its
    functions come from.  ``function`` names the user's predicate when it is not called like the
    base's (can_align_down() or check_addr_in_prev()); it then replaces the base's.

    Every file must contribute: a file none of whose functions the entry points
    (move_page_tables_start() and the return-value tail) reach is refused, naming what the
    checker looks for and what the file defines, since checking the base alone under the
    file's name would be an answer about other code.
    """
    from modelcheck.variants import get_variant
    b = get_variant(base)
    unit = builtin_unit(base)
    defined: dict[str, list[str]] = {}
    target = None
    for p in paths:
        user = parse_c(_read(p), p)
        if function:
            if function not in user.functions:
                raise InputError("--function", f"{p} defines no function {function}()")
            target = next((f for f in PREDICATES if f in unit.functions), None)
            if target is None:
                raise InputError("--function", f"{base}'s C file has no predicate to replace")
            user.functions[target] = user.functions.pop(function)
            user.files[target] = user.files.pop(function)
            user.spans[target] = user.spans.pop(function)
        defined[p] = sorted(user.functions)
        unit = link(unit, user)
    start, tail = _check_entry(unit)
    reached = reachable(unit, {START, tail})
    base_reached = reachable(builtin_unit(base), {START, tail})
    if target is not None and target not in reached:
        raise InputError("--function", f"{function}() stands for {target}(), which --base {base} never calls "
                                       f"(it calls {', '.join(sorted(base_reached))})")
    used: dict[str, tuple[tuple[str, int, int], ...]] = {}
    unused: dict[str, tuple[str, ...]] = {}
    for p in paths:
        mine = [n for n in unit.functions if unit.files[n] == p]
        took = sorted(n for n in mine if n in reached)
        if not took:
            names = [function if n == target else n for n in defined[p]]
            looked = ", ".join(f"{n}()" for n in sorted(base_reached))
            hint = "; a predicate under another name is given with --function NAME" if names else ""
            for n in names:
                if n in LINKED:
                    bases = [vid for vid in _c_bases() if n in reachable(builtin_unit(vid), {START, RETURN, PMC_RETURN})]
                    hint = f"; {n}() is linked by --base {', '.join(bases)}" if bases else hint
                    break
            raise InputError(p, f"defines none of the functions the checker links over --base {base} "
                                f"(it looks for {looked}); the file defines "
                                f"{', '.join(n + '()' for n in names) or 'no function'}{hint}")
        used[p] = tuple((function if n == target else n, *unit.spans[n]) for n in took)
        unused[p] = tuple(function if n == target else n
                          for n in defined[p] if n not in reached or unit.files[n] != p)
    from_base = tuple(sorted(n for n in reached if unit.files[n] not in used))
    name = vid or "+".join(Path(p).stem for p in paths)
    v = c_variant(unit, name, f"C: {', '.join(paths)} over {base}", f"user C over {b.id} ({b.provenance})")
    _smoke(v, unit)
    return v, Linkage(base, used, unused, from_base, unit)


def load_c_variant(paths: list[str], base: str = "v6.15", function: str | None = None,
                   vid: str | None = None) -> Variant:
    """The variant alone of ``load_c()``."""
    return load_c(paths, base, function, vid)[0]


def _smoke(v: Variant, unit: CUnit) -> None:
    """Run the variant once symbolically, which takes every path, so that an unsupported construct
    fails now with its line rather than in the middle of a check."""
    from modelcheck.encoding import SymbolicState, decision_of
    from modelcheck.geometry import get_geometry
    st = SymbolicState(get_geometry("x86_64-4level"), 2)
    decision_of(st, v, "pmd")
    k = st.ops
    v.progress(k, k.wrap(st.old_addr), k.wrap(st.old_end), k.wrap(st.len))


