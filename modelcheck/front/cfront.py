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

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycparser import c_ast, c_parser
from pycparser.plyparser import ParseError

from modelcheck._data import read_spec
from modelcheck.errors import InputError
from modelcheck.model.ops import KernelOps
from modelcheck.model.variants import Call, Decision, Variant

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
struct vm_area_struct *vma_next(struct vma_iterator *vmi);
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);
int WARN_ON_ONCE(int condition);
long likely(long x);
long unlikely(long x);
extern void *const NULL;
extern const unsigned long PMD_MASK, PMD_SIZE, PUD_MASK, PUD_SIZE, PAGE_MASK, PAGE_SIZE;
"""
_PRELUDE_NAMES = {"find_vma_prev", "find_vma_intersection", "find_vma", "vma_prev", "vma_next", "vma_lookup",
                  "VMA_ITERATOR", "WARN_ON_ONCE",
                  "likely", "unlikely"}
START, RETURN, PMC_RETURN = "move_page_tables_start", "move_page_tables_return", "pmc_progress"


@dataclass
class CUnit:
    """The function definitions of one or more C files, by name."""

    functions: dict[str, c_ast.FuncDef] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # function name -> the file it came from
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # function name -> its first and last line
    # every function a file defines (parsed or not) -> its first and last line
    defined: dict[str, tuple[int, int]] = field(default_factory=dict)
    # move_page_tables() of a whole kernel file, cut at its loop (its head is START, its tail RETURN)
    kernel: "MoveTables | None" = None

    def cut(self, name: str) -> bool:
        """Whether ``name`` (START or RETURN) is a part of move_page_tables() cut from a file."""
        return self.kernel is not None and name in (START, RETURN) and self.files.get(name) == self.kernel.file

    def label(self, name: str) -> str:
        """How a function is named to the user: START and RETURN cut from move_page_tables()
        are its parts before and after the loop."""
        if self.cut(name):
            if name == START:
                return f"{MPT}() before its loop"
            if name == RETURN:
                return f"{MPT}() after its loop"
        return f"{name}()"


MPT = "move_page_tables"


def parse_c(text: str, path: str, roots: tuple[str, ...] = ()) -> CUnit:
    """The functions of a C file that the checker reads: those named like the realignment's
    (``LINKED``), ``move_page_tables()`` cut at its loop, and the file's functions they call.  The
    file may be a hand-cut function or a whole mm/mremap.c: it is preprocessed first (``ksource``)
    and its other functions are listed, never parsed.  Errors name FILE:LINE:COL."""
    from modelcheck.front import ksource
    chunks = ksource.functions(ksource.preprocess(text, path), path)
    unit = CUnit(defined={n: (c.line, c.end_line) for n, c in chunks.items()})
    for n, c in chunks.items():
        if n in _PRELUDE_NAMES:
            raise InputError(f"{c.file}:{c.line}:{c.col}", f"{n}() is a kernel helper the checker models; "
                                                          "do not define it")
    todo = [n for n in chunks if n in LINKED or n == MPT or n in roots]
    while todo:
        name = todo.pop(0)
        if name in unit.functions:
            continue
        fn = _parse_chunk(chunks[name])
        _check_nesting(fn)
        unit.functions[name], unit.files[name] = fn, path
        unit.spans[name] = (chunks[name].line, chunks[name].end_line)
        if name == MPT:
            unit.kernel = _cut(fn, chunks, path)
            for part, stmts in ((START, unit.kernel.head), (RETURN, unit.kernel.tail)):
                body = c_ast.Compound(stmts, coord=fn.body.coord)
                unit.functions[part] = c_ast.FuncDef(fn.decl, None, body, coord=fn.coord)
                unit.files[part] = path
            unit.spans[START] = (chunks[name].line, unit.kernel.loop_line - 1)
            unit.spans[RETURN] = (unit.kernel.tail_line, chunks[name].end_line)
            callees = set().union(*(calls(unit.functions[p]) for p in (START, RETURN)))
        else:
            callees = calls(fn)
        todo += sorted(c for c in callees if c in chunks and c not in unit.functions)
    if MPT in unit.functions:
        del unit.functions[MPT]  # its loop is not run: only its head and tail are
    return unit


#: kernel type names the subset never reads but that declarations of unrelated locals use
_STUB = re.compile(r"\b([a-z_][a-z0-9_]*_t|u8|u16|u32|u64|s8|s16|s32|s64)\b")


def _parse_chunk(chunk: Any) -> c_ast.FuncDef:
    """One function's text, parsed at its original position; kernel typedefs the subset has no use
    for (``pmd_t``, ``spinlock_t``, ...) are declared opaque so that the declarations parse."""
    stubs = sorted(set(_STUB.findall(chunk.text)))
    source = PRELUDE + "".join(f"typedef struct __modelcheck_{t} {t};\n" for t in stubs) + chunk.source()
    try:
        ast = c_parser.CParser().parse(source, filename=chunk.file)
    except ParseError as e:
        loop = _VMA_LOOP.search(chunk.text)
        if loop is not None:  # a macro that expands to a loop, which pycparser reads as a call
            raise InputError(_position(chunk, loop.start()), f"{loop.group(1)}() is a loop over VMAs; the subset "
                                                            "has no loops (a predicate looks VMAs up one by one: "
                                                            "find_vma(), vma_prev(), vma_next(), vma_lookup())") from None
        where, _, msg = str(e).partition(": ")
        raise InputError(where if where.startswith(chunk.file) else chunk.file, msg or str(e)) from None
    except (AssertionError, IndexError, KeyError, TypeError, ValueError, RecursionError) as e:
        # pycparser's own checks on input it cannot read (its lexer asserts on some of it)
        raise InputError(f"{chunk.file}:{chunk.line}", f"the C parser cannot read {chunk.name}() "
                                                        f"({type(e).__name__})") from None
    fns = [x for x in ast.ext if isinstance(x, c_ast.FuncDef)]
    if len(fns) != 1 or fns[0].decl.name != chunk.name:
        raise InputError(f"{chunk.file}:{chunk.line}:{chunk.col}", f"cannot read {chunk.name}() as one function "
                                                                   "definition")
    return fns[0]


#: the VMA iterator's loop macros (include/linux/mm.h)
_VMA_LOOP = re.compile(r"\b(for_each_vma(?:_range)?|for_each_vma_iter)\s*\(")


def _position(chunk: Any, offset: int) -> str:
    """FILE:LINE:COL of ``offset`` in a chunk's text (its #line markers followed)."""
    line, file = chunk.line, chunk.file
    start = 0
    for raw in chunk.text[:offset].split("\n")[:-1]:
        m = re.match(r'\s*#\s*(?:line\s+)?(\d+)\s+"([^"]*)"', raw)
        if m:
            line, file = int(m.group(1)), m.group(2)
        else:
            line += 1
        start += len(raw) + 1
    col = offset - start + (chunk.col if start == 0 else 1)
    return f"{file}:{line}:{col}"


@dataclass(frozen=True)
class MoveTables:
    """move_page_tables() of a kernel file, cut at its loop: the statements before it (which
    realign) and after it (which compute the return value), the shape of its parameters, and the
    statements of the head that run before anything can move the addresses (the tail sees what
    they computed: old_end = old_addr + len)."""

    file: str
    shape: str  # "pointers" (vma, old_addr, new_vma, new_addr, len, need_rmap_locks[, for_stack]) or "pmc"
    params: tuple[str, ...]
    head: list
    tail: list
    prefix: list  # the head's leading statements that write no address
    decls: list  # the head's other top-level declarations (their values are not carried past the loop)
    loop_line: int
    tail_line: int
    # the variables the head writes once the addresses may have moved, by name: the line of the
    # first write (the tail cannot read them: their values are not carried past the loop)
    late: dict = field(default_factory=dict)


_GEN = None


def _text(node: c_ast.Node) -> str:
    global _GEN
    if _GEN is None:
        from pycparser import c_generator
        _GEN = c_generator.CGenerator()
    return re.sub(r"\s+", " ", _GEN.visit(node)).strip()


def _cut(fn: c_ast.FuncDef, chunks: dict, path: str) -> MoveTables:
    """move_page_tables() split at its loop, which must have the shape the model's loop has:
    ``for (; old_addr < old_end; old_addr += extent, new_addr += extent)`` over
    ``old_end = old_addr + len`` computed before any realignment, or (6.15 on)
    ``for (; !pmc_done(pmc); pmc_next(pmc, extent))`` with the file's pmc_done() and pmc_next()
    as 6.15 has them; and its body may not write the addresses, the end or the length.
    Anything else is refused naming the line."""
    params = fn.decl.type.args.params if fn.decl.type.args else []
    types = [ctype(p) for p in params]
    names = tuple(p.name for p in params)
    if types == ["pmc*"]:
        shape = "pmc"
    elif types[:6] == ["vma*", "ulong", "vma*", "ulong", "ulong", "bool"] and types[6:] in ([], ["bool"]):
        shape = "pointers"
    else:
        raise _fail(fn, f"{MPT}() must take (struct vm_area_struct *vma, unsigned long old_addr, struct "
                        "vm_area_struct *new_vma, unsigned long new_addr, unsigned long len, bool "
                        "need_rmap_locks[, bool for_stack]) or (struct pagetable_move_control *pmc); it takes "
                        f"({', '.join(types)})")
    items = fn.body.block_items or []
    loops = [i for i, x in enumerate(items) if isinstance(x, (c_ast.For, c_ast.While, c_ast.DoWhile))]
    if len(loops) != 1:
        raise _fail(fn, f"{MPT}() has {len(loops)} loops at its top level; the model knows one (the "
                        "page-table walk)")
    loop = items[loops[0]]
    head, tail = items[:loops[0]], items[loops[0] + 1:]
    if not isinstance(loop, c_ast.For):
        raise _fail(loop, f"{MPT}()'s loop must be a for loop over the old-side cursor")
    if shape == "pointers":
        old, new, len_ = names[1], names[3], names[4]
        step = loop.next
        ok_step = (isinstance(step, c_ast.ExprList) and len(step.exprs) == 2
                   and all(isinstance(e, c_ast.Assignment) and e.op == "+=" for e in step.exprs)
                   and [_text(e.lvalue) for e in step.exprs] == [old, new]
                   and _text(step.exprs[0].rvalue) == _text(step.exprs[1].rvalue))
        cond = loop.cond
        end = cond.right.name if (isinstance(cond, c_ast.BinaryOp) and cond.op == "<" and _text(cond.left) == old
                                  and isinstance(cond.right, c_ast.ID)) else None
        if loop.init is not None or not ok_step or end is None:
            raise _fail(loop, f"{MPT}()'s loop must read 'for (; {old} < old_end; {old} += extent, {new} += "
                              f"extent)'; it reads 'for ({_text(loop.init) if loop.init else ''}; "
                              f"{_text(cond) if cond else ''}; {_text(step) if step else ''})'")
        written = {old, new, end, len_}
    else:
        pmc = names[0]
        ok = (loop.init is None and _text(loop.cond) == f"!pmc_done({pmc})"
              and isinstance(loop.next, c_ast.FuncCall) and _text(loop.next.name) == "pmc_next"
              and loop.next.args is not None and len(loop.next.args.exprs) == 2
              and _text(loop.next.args.exprs[0]) == pmc)
        if not ok:
            raise _fail(loop, f"{MPT}()'s loop must read 'for (; !pmc_done({pmc}); pmc_next({pmc}, extent))'")
        for helper, body in (("pmc_done", ["return {p}->old_addr >= {p}->old_end;"]),
                             ("pmc_next", ["{p}->old_addr += {e};", "{p}->new_addr += {e};"])):
            if helper not in chunks:
                raise _fail(loop, f"{MPT}()'s loop calls {helper}(), which the file does not define")
            h = _parse_chunk(chunks[helper])
            ps = [q.name for q in (h.decl.type.args.params if h.decl.type.args else [])]
            want = [b.format(p=ps[0], e=ps[-1]) for b in body] if ps else None
            if want is None or [_text(x) + ("" if _text(x).endswith(";") else ";")
                                for x in (h.body.block_items or [])] != want:
                raise _fail(h, f"{helper}() must be '{' '.join(b.format(p='pmc', e='extent') for b in body)}' "
                               "as in 6.15, the loop the model has")
        written = {f"{pmc}->old_addr", f"{pmc}->new_addr", f"{pmc}->old_end", f"{pmc}->len_in"}
        end = None
    for node in _walk(loop.stmt):
        target = None
        if isinstance(node, c_ast.Assignment):
            target = node.lvalue
        elif isinstance(node, c_ast.UnaryOp) and node.op in ("++", "--", "p++", "p--", "&"):
            target = node.expr
        if target is not None and _text(target) in written:
            raise _fail(node, f"{MPT}()'s loop body changes {_text(target)}; the model's loop only advances "
                              "the cursor by extents")
    prefix, decls, moved = [], [], False
    for x in head:
        if not moved and _writes_addresses(x, shape, names):
            moved = True
        if not moved:
            prefix.append(x)
        elif isinstance(x, c_ast.Decl):
            decls.append(x)
    if shape == "pointers":
        sets = [x for x in prefix if isinstance(x, c_ast.Assignment) and _text(x.lvalue) == end]
        sets += [x for x in prefix if isinstance(x, c_ast.Decl) and x.name == end and x.init is not None]
        rhs = _text(sets[0].rvalue if isinstance(sets[0], c_ast.Assignment) else sets[0].init) if sets else ""
        if len(sets) != 1 or rhs not in (f"{old} + {len_}", f"{len_} + {old}"):
            raise _fail(loop, f"{MPT}()'s loop runs to '{end}', which must be set once to '{old} + {len_}' "
                              "before the addresses are realigned (the model's old_end)")
        for node in _walk(c_ast.Compound(head)):
            if isinstance(node, c_ast.Assignment) and _text(node.lvalue) in (end, len_) and node is not sets[0]:
                raise _fail(node, f"{MPT}() changes {_text(node.lvalue)} before its loop; the model's "
                                  "old_end is old_addr + len")
    late: dict[str, int] = {}
    for x in head[len(prefix):]:
        for name, node in _written(x):
            late.setdefault(name, node.coord.line if node.coord else 0)
    for d in decls:
        late.setdefault(d.name, d.coord.line if d.coord else 0)
    tail_line = tail[0].coord.line if tail and tail[0].coord else loop.coord.line
    return MoveTables(path, shape, names, head, tail, prefix, decls, loop.coord.line, tail_line, late)


def _written(stmt: c_ast.Node):
    """The variables a statement writes: (name, node) of each assignment, increment or address
    taken (``&x`` may be written through)."""
    for node in _walk(stmt):
        target = None
        if isinstance(node, c_ast.Assignment):
            target = node.lvalue
        elif isinstance(node, c_ast.UnaryOp) and node.op in ("++", "--", "p++", "p--", "&"):
            target = node.expr
        if isinstance(target, c_ast.ID):
            yield target.name, node


def _walk(node: c_ast.Node):
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        todo += [c for _, c in n.children()]


def _writes_addresses(stmt: c_ast.Node, shape: str, names: tuple[str, ...]) -> bool:
    """Whether a statement of move_page_tables()'s head may change the addresses: it assigns or
    takes the address of old_addr/new_addr, or passes the pmc to a function."""
    targets = {names[1], names[3]} if shape == "pointers" else {f"{names[0]}->old_addr", f"{names[0]}->new_addr"}
    for node in _walk(stmt):
        if isinstance(node, c_ast.Assignment) and _text(node.lvalue) in targets:
            return True
        if isinstance(node, c_ast.UnaryOp) and node.op in ("&", "++", "--", "p++", "p--") \
                and _text(node.expr) in targets:
            return True
        if shape == "pmc" and isinstance(node, c_ast.FuncCall) and node.args is not None \
                and any(isinstance(a, c_ast.ID) and a.name == names[0] for a in node.args.exprs):
            return True
    return False


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
                 {**base.spans, **user.spans}, {**base.defined, **user.defined},
                 user.kernel if user.kernel is not None else base.kernel)


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
#: move_hugetlb_page_tables() instead) and no userfaultfd registration
KNOWN_FALSE = ("is_vm_hugetlb_page", "vma_has_uffd_without_event_remap")
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
        self.exits: list[tuple[str, Any]] = []

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
            if self.depth == 0:
                self.exits.append((_where(node), g))
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
        if name == "vma_prev":
            # mas_prev() on a fresh iterator walks to its index, then returns the previous
            # non-empty entry: the highest VMA ending at or below addr, find_vma_prev()'s *pprev.
            it = self.expr(args[0], frame, g) if len(args) == 1 else None
            if not isinstance(it, Ptr) or not isinstance(it.cell.v, Iter):
                raise _fail(node, "vma_prev() takes &vmi of a VMA_ITERATOR(vmi, ...)")
            if it.cell.v.stepped:
                raise _fail(node, "only one vma_prev() or vma_next() per VMA_ITERATOR is supported")
            it.cell.v.stepped = True
            return Ref(k.find_vma_prev(it.cell.v.addr)[1])
        if name == "vma_lookup":
            # the VMA containing addr, or NULL (include/linux/mm.h: mtree_load(&mm->mm_mt, addr))
            if len(args) != 2:
                raise _fail(node, "vma_lookup() takes 2 arguments")
            if not isinstance(self.expr(args[0], frame, g), Mm):
                raise _fail(args[0], "the first argument must be a vma->vm_mm")
            a = self.convert(self.expr(args[1], frame, g), "ulong", args[1]).w
            return Ref(k.find_vma_intersection(a, a + 1))
        if name == "vma_next":
            # vma_find(vmi, ULONG_MAX) on a fresh iterator: the first VMA ending above its address
            it = self.expr(args[0], frame, g) if len(args) == 1 else None
            if not isinstance(it, Ptr) or not isinstance(it.cell.v, Iter):
                raise _fail(node, "vma_next() takes &vmi of a VMA_ITERATOR(vmi, ...)")
            if it.cell.v.stepped:
                raise _fail(node, "only one vma_prev() or vma_next() per VMA_ITERATOR is supported")
            it.cell.v.stepped = True
            return Ref(k.find_vma_prev(it.cell.v.addr)[0])
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


# --- variants from C -----------------------------------------------------------------------

def _params(unit: CUnit, name: str) -> list[str]:
    fn = unit.functions[name]
    ps = fn.decl.type.args.params if fn.decl.type.args else []
    return [ctype(p) for p in ps]


def _check_entry(unit: CUnit) -> tuple[str, str]:
    """How the entry points are called: ("kernel", RETURN) for a whole move_page_tables() (its
    head and tail), ("pmc" or "pointers", the tail's name) for the hand-written entry points."""
    if unit.cut(START):
        return "kernel", RETURN
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


def where_decided(unit: CUnit, pid: str, faults: list[tuple[str, str]]) -> tuple[str, int, int] | None:
    """Where the C of ``unit`` decides a violation of ``pid`` (FILE, LINE, COL), for a finding
    located in the source: the site of the fault the property is about (a WARN or NULL
    dereference) among the replay's ``faults`` ((kind, FILE:LINE:COL) pairs); for return-value the
    tail's first guard or return; else the predicate, its caller or move_page_tables()."""
    from modelcheck.checks import get_property
    prop = get_property(pid)
    sites = [w for k, w in faults if k == prop.fault]
    if sites:
        file, line, col = sites[0].rsplit(":", 2)
        return file, int(line), int(col)
    tails = [RETURN, "pmc_progress"] if prop.of_the_return else \
        [*PREDICATES, "can_realign_addr", "try_realign_addr", "realign_addr", START]
    name = next((n for n in tails if n in unit.functions and n in unit.spans), None)
    if name is None:
        return None
    if prop.of_the_return:  # the tail's first guard or return, not its first line
        first = next((x for x in unit.functions[name].body.block_items or []
                      if isinstance(x, (c_ast.If, c_ast.Return)) and x.coord is not None), None)
        if first is not None:
            return unit.files[name], first.coord.line, first.coord.column
    return unit.files[name], unit.spans[name][0], 1


def c_variant(unit: CUnit, vid: str, summary: str, provenance: str, forced: dict[int, bool] | None = None,
              seen: list | None = None, replaced: dict[int, c_ast.Node] | None = None) -> Variant:
    """A Variant whose decision and return value are the C functions of ``unit`` (with the
    conditions in ``forced`` taken as given, the expressions in ``replaced`` evaluated as their
    replacements, and evaluations recorded in ``seen``: Interp)."""
    start, tail = _check_entry(unit)

    mt = unit.kernel
    shape = mt.shape if start == "kernel" and mt is not None else start  # "pmc" or "pointers"

    def decide(k: KernelOps, c: Call, level: str) -> Decision:
        interp = Interp(unit, k, level, forced, seen, replaced, frozen=frozenset({"old_end", "len_in"}))
        if shape == "pmc":
            pmc = _pmc(k, c.vma, c.new_vma, c.old_addr, c.new_addr, c.old_addr + c.len, c.len, c.for_stack)
            interp.run(unit.functions[START], [pmc]) if start == "kernel" else interp.call(START, [pmc])
            old, new = pmc.fields["old_addr"].v.w, pmc.fields["new_addr"].v.w
        elif start == "kernel":
            assert mt is not None
            args = [Ref(c.vma), Int("ulong", c.old_addr), Ref(c.new_vma), Int("ulong", c.new_addr),
                    Int("ulong", c.len), Bool(False), Bool(c.for_stack)][:len(mt.params)]
            env = interp.run(unit.functions[START], args).env
            old, new = env[mt.params[1]].v.w, env[mt.params[3]].v.w
        else:
            o, n = Cell("ulong", Int("ulong", c.old_addr)), Cell("ulong", Int("ulong", c.new_addr))
            interp.call(START, [Ref(c.vma), Ptr(o), Ref(c.new_vma), Ptr(n), Int("ulong", c.len),
                                Bool(c.for_stack)])
            old, new = o.v.w, n.v.w
        early = tuple(interp.exits) if start == "kernel" else ()  # returns of move_page_tables() itself
        return Decision(k.or_(k.ne(old, c.old_addr), k.ne(new, c.new_addr)), old, new,
                        warn=interp.happens("warn"), oops=interp.happens("oops"), sites=tuple(interp.sites),
                        early=early)

    def progress(k: KernelOps, cursor: Any, old_end: Any, len_: Any) -> Any:
        interp = Interp(unit, k, "pmd", forced, seen, replaced)
        if start == "kernel":
            # the head's statements before anything moves the addresses run as at the call (they
            # compute old_end = old_addr + len); then the cursor is where the loop left it
            assert mt is not None
            fn = unit.functions[RETURN]
            first = old_end - len_
            if mt.shape == "pmc":
                pmc = _tail_pmc(k, first, old_end, len_)
                frame = interp.run(fn, [pmc], mt.prefix + _undefined(mt.decls))
                pmc.fields["old_addr"].v = Int("ulong", cursor)
            else:
                args = [Ref(k.null), Int("ulong", first), Ref(k.null), Int("ulong", first), Int("ulong", len_),
                        Bool(False), Bool(False)][:len(mt.params)]
                hidden = {mt.params[i]: Hidden(f"{mt.params[i]}: {_TAIL_HIDDEN}", vma=i in (0, 2))
                          for i in (0, 2, 3, 5, 6) if i < len(mt.params)}
                frame = interp.run(fn, args, mt.prefix + _undefined(mt.decls), hidden)
                frame.env[mt.params[1]].v = Int("ulong", cursor)
            for name, line in mt.late.items():  # what the head computed once the addresses could move
                if name in frame.env and name != (mt.params[1] if mt.shape == "pointers" else None):
                    frame.env[name].v = Hidden(f"{MPT}() sets it at line {line}, after the addresses may have "
                                               "moved; the model carries only the cursor past the loop")
            for x in fn.body.block_items or []:
                interp.stmt(x, frame, True)
            if frame.value is None:
                raise _fail(fn, f"{MPT}() can end without returning a value")
            return interp.convert(frame.value, "ulong", fn).w
        if tail == PMC_RETURN:
            value = interp.call(PMC_RETURN, [_tail_pmc(k, cursor, old_end, len_)])
        else:
            value = interp.call(RETURN, [Int("ulong", cursor), Int("ulong", old_end), Int("ulong", len_)])
        return interp.convert(value, "ulong", unit.functions[tail]).w

    return Variant(vid, summary, provenance, decide, progress)


def _undefined(decls: list) -> list:
    """Declarations as they are, without their initial values (which the tail cannot know)."""
    return [c_ast.Decl(d.name, d.quals, d.align, d.storage, d.funcspec, d.type, None, d.bitsize, coord=d.coord)
            for d in decls]


def builtin_c(vid: str) -> str:
    """The C text of a built-in variant's own file (properties/c/VARIANT.c)."""
    try:
        return read_spec(f"c/{vid}.c")
    except FileNotFoundError:
        raise InputError("--base", f"{vid} has no C file") from None


@functools.lru_cache(maxsize=None)
def builtin_unit(vid: str) -> CUnit:
    """A built-in variant's functions: its file, linked over the file it names in a
    ``modelcheck-base: ID`` line (each version's file holds only what changed).  Parsed once per
    process; callers link over it (``link`` makes a new unit) and never change it."""
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
    others: dict[str, int] = field(default_factory=dict)  # per file: functions the checker has no use for
    detected: str = ""  # how the base was chosen, when it was not given
    notes: tuple[str, ...] = ()  # the patches applied
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)  # path -> text read

    def label(self, name: str) -> str:
        return self.unit.label(name) if self.unit is not None else f"{name}()"

    def lines(self) -> list[str]:
        out = [self.detected] if self.detected else []
        out += [f"applied {n}" for n in self.notes]
        for path, used in self.used.items():
            line = f"{path}: uses " + ", ".join(f"{self.label(n)} (lines {a}-{b})" for n, a, b in used)
            if self.unused[path]:
                line += "; never called: " + ", ".join(f"{n}()" for n in self.unused[path])
            if self.others.get(path):
                n = self.others[path]
                line += f"; {n} other function{'s' if n != 1 else ''} not read"
            out.append(line)
        if self.from_base:
            out.append(f"--base {self.base}: supplies " + ", ".join(f"{n}()" for n in self.from_base))
        return out

    def to_json(self) -> dict:
        return {"base": self.base, "from_base": list(self.from_base), "detected": self.detected or None,
                "patches": list(self.notes),
                "files": [{"file": p, "used": [{"function": n, "label": self.label(n), "lines": [a, b]}
                                               for n, a, b in used],
                           "unused": list(self.unused[p]), "others": self.others.get(p, 0)}
                          for p, used in self.used.items()]}


#: the functions a C file can contribute under their kernel names
LINKED = ("can_align_down", "check_addr_in_prev", "realign_addr", "try_realign_addr", "can_realign_addr",
          START, RETURN, PMC_RETURN)


def _c_bases() -> list[str]:
    """The built-in variants that have a C file, in the registry's order."""
    from modelcheck.model.variants import VARIANTS
    out = []
    for vid in VARIANTS:
        try:
            builtin_c(vid)
            out.append(vid)
        except InputError:
            pass
    return out


_C_TYPES = {"vma*": "struct vm_area_struct *", "pmc*": "struct pagetable_move_control *", "ulong": "unsigned long",
            "ulong*": "unsigned long *", "long": "long", "int": "int", "uint": "unsigned int", "bool": "bool",
            "void": "void", "vma**": "struct vm_area_struct **", "mm*": "struct mm_struct *"}


def signature(unit: CUnit, name: str) -> str:
    """A function's name and parameter types as C writes them: ``can_align_down(struct
    vm_area_struct *, unsigned long, unsigned long, bool)``; the kernel entry by its shape."""
    if name == START and unit.cut(START):
        return f"{MPT}({'struct pagetable_move_control *' if unit.kernel.shape == 'pmc' else 'vma, old_addr, …'})"
    return f"{name}({_c_params(unit, name)})"


def _c_params(unit: CUnit, name: str) -> str:
    """A function's parameter types as C writes them, comma-separated."""
    return ", ".join(_C_TYPES.get(t, t) for t in _params(unit, name))


#: the built-in bases a C file is detected against, latest first: the posted versions (the
#: baselines always/never and Linus's suggestion are not versions of the series; never is the
#: shape of a move_page_tables() that realigns nothing)
def _versions() -> list[str]:
    return [v for v in reversed(_c_bases()) if v not in ("always", "never", "linus")]


def _fits(user: CUnit, base: str, function: str | None) -> str | None:
    """Why the user's functions do not fit ``base`` (the first that does not), or None."""
    b = builtin_unit(base)
    b_reached = reachable(b, {START, RETURN, PMC_RETURN})
    for name in sorted(n for n in user.functions if n in LINKED and n not in (START, RETURN)
                       or n == function):
        target = name
        if name == function:
            target = next((f for f in PREDICATES if f in b.functions), None)
            if target is None:
                return f"--base {base} has no predicate for --function to replace"
        if target not in b.functions or target not in b_reached:
            return f"{signature(user, name)} has no counterpart in --base {base}"
        if _params(user, name) != _params(b, target):
            return f"{signature(user, name)} does not fit --base {base}, whose {target}() takes ({_c_params(b, target)})"
    if user.kernel is None:
        for name in (START, RETURN, PMC_RETURN):
            if name in user.functions and name in b.functions and _params(user, name) != _params(b, name):
                return f"{signature(user, name)} does not fit --base {base}, whose {name}() takes ({_c_params(b, name)})"
    return None


def detect_base(users: list[tuple[str, CUnit]], function: str | None = None) -> tuple[str, str]:
    """The base that fits the user's functions, and how it was chosen: the latest version whose
    functions have the signatures the files' functions have (the RFC/v2 check_addr_in_prev(), the
    v6.7-v6.14 can_align_down(vma, addr, mask, for_stack) with try_realign_addr(&old_addr, ...), the
    6.15 pagetable_move_control functions); ``never`` for a move_page_tables() that calls no
    realignment.  No fit is refused, naming the signatures found."""
    found = [(p, n) for p, u in users for n in sorted(u.functions)
             if (n in LINKED and n not in (START, RETURN)) or n == function]
    if not found and all(u.kernel is not None for _, u in users):
        return "never", "base never (detected: move_page_tables() calls no realignment function)"
    fits = [v for v in _versions() if all(_fits(u, v, function) is None for _, u in users)]
    sigs = ", ".join(signature(next(u for q, u in users if q == p), n) for p, n in found)
    if not fits:
        raise InputError(users[0][0], f"no built-in base fits {sigs or 'these functions'}; give --base ID "
                                      "(see 'modelcheck variants')")
    also = f"; also fits {', '.join(reversed(fits[1:]))}" if len(fits) > 1 else ""
    return fits[0], f"base {fits[0]} (detected from {sigs or 'move_page_tables()'}{also})"


def load_c(paths: list[str], base: str | None = "v6.15", function: str | None = None,
           vid: str | None = None, texts: dict[str, str] | None = None) -> tuple[Variant, Linkage]:
    """The variant of the user's C files linked over the base variant's C file, and where its
    functions come from.  ``function`` names the user's predicate when it is not called like the
    base's (can_align_down() or check_addr_in_prev()); it then replaces the base's.  With ``base``
    None the base is detected from the files' functions (``detect_base``); a given base that the
    files' signatures do not fit is refused, naming the base that does.

    Every file must contribute: a file none of whose functions the entry points
    (move_page_tables_start() and the return-value tail) reach is refused, naming what the
    checker looks for and what the file defines, since checking the base alone under the
    file's name would be an answer about other code.
    """
    from modelcheck.model.variants import get_variant
    sources = {p: texts[p] if texts and p in texts else _read(p) for p in paths}
    users = [(p, parse_c(sources[p], p, (function,) if function else ())) for p in paths]
    for p, user in users:
        if function and function not in user.functions:
            raise InputError("--function", f"{p} defines no function {function}()")
    detected = ""
    if base is None:
        base, detected = detect_base(users, function)
    else:
        get_variant(base)
        builtin_c(base)
        for p, user in users:
            why = _fits(user, base, function)
            if why is not None:
                try:
                    hint = f"; {detect_base([(p, user)], function)[0]} fits (or leave --base out)"
                except InputError:
                    hint = ""
                name = next(n for n in sorted(user.functions) if n in why.split("(")[0] or n == function)
                raise InputError(_where(user.functions[name]), why + hint)
    b = get_variant(base)
    unit = builtin_unit(base)
    defined: dict[str, list[str]] = {}
    others: dict[str, int] = {}  # how many functions of each file the checker has no use for
    alldefs: dict[str, list[str]] = {}
    target = None
    for p, user in users:
        if function:
            target = next((f for f in PREDICATES if f in unit.functions), None)
            if target is None:
                raise InputError("--function", f"{base}'s C file has no predicate to replace")
            user.functions[target] = user.functions.pop(function)
            user.files[target] = user.files.pop(function)
            user.spans[target] = user.spans.pop(function)
        alldefs[p] = sorted(user.defined)
        if user.kernel is None:  # a hand-cut file: every function it defines is named
            defined[p] = sorted({*user.functions, *user.defined} - ({function} if function else set()))
            others[p] = 0
        else:  # a whole kernel file: its realignment functions are named, the rest counted
            defined[p] = sorted(n for n in user.functions if n not in (START, RETURN))
            others[p] = len(user.defined) - len([n for n in user.defined if n in user.functions or n == function
                                                 or n == MPT])
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
            names = [function if n == target else n for n in alldefs[p]]
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
        used[p] = tuple(sorted(((function if n == target else n, *unit.spans[n]) for n in took),
                               key=lambda x: x[1]))
        unused[p] = tuple(function if n == target else n
                          for n in defined[p] if n not in reached or unit.files[n] != p)
    from_base = tuple(sorted(n for n in reached if unit.files[n] not in used))
    name = vid or "+".join(Path(p).stem for p in paths)
    v = c_variant(unit, name, f"C: {', '.join(paths)} over {base}", f"user C over {b.id} ({b.provenance})")
    _smoke(v, unit)
    return v, Linkage(base, used, unused, from_base, unit, others, detected, (), sources)


def load_tree(tree: str, patches: tuple[str, ...] | list[str] = (), base: str | None = None,
              function: str | None = None, vid: str | None = None) -> tuple[Variant, Linkage]:
    """The variant of a kernel tree's mm/mremap.c, with ``patches`` (git format-patch files or
    mboxes) applied to a copy of it; named after the version the tree's Makefile gives.  Positions
    are the patched file's, under the tree's path, as checkpatch.pl names a patch's lines."""
    import dataclasses
    import tempfile
    from modelcheck.front import ksource
    src, name = ksource.tree_source(tree)
    texts: dict[str, str] = {}
    applied: list[str] = []
    if patches:
        with tempfile.TemporaryDirectory(prefix="modelcheck-") as work:
            patched, applied = ksource.apply_patches(tree, list(patches), work)
            texts[src] = Path(patched).read_text(encoding="utf-8")
        name += "".join("+" + Path(p).stem for p in patches)
        if not applied:
            applied = [f"{', '.join(patches)}: nothing (no patch changes {ksource.MREMAP})"]
    v, linkage = load_c([src], base, function, vid or name, texts)
    return v, dataclasses.replace(linkage, notes=tuple(applied))


def load_c_variant(paths: list[str], base: str | None = "v6.15", function: str | None = None,
                   vid: str | None = None) -> Variant:
    """The variant alone of ``load_c()``."""
    return load_c(paths, base, function, vid)[0]


def _smoke(v: Variant, unit: CUnit) -> None:
    """Run the variant once symbolically, which takes every path, so that an unsupported construct
    fails now with its line rather than in the middle of a check."""
    from modelcheck.solver.encoding import SymbolicState, decision_of, new_context
    from modelcheck.model.geometry import get_geometry
    st = SymbolicState(get_geometry("x86_64-4level"), 2, ctx=new_context())
    d = decision_of(st, v, "pmd")
    k = st.ops
    v.progress(k, k.wrap(st.old_addr), k.wrap(st.old_end), k.wrap(st.len))
    _refuse_early_returns(v, st, d)


def _refuse_early_returns(v: Variant, st: Any, d: Decision) -> None:
    """A return of move_page_tables() before its loop (``if (!len) return 0;``) is accepted only
    where no call the model has reaches it (len is never 0 there; a hugetlb VMA is never one): the
    model always runs the loop.  Asked on x86_64-4level over every number of VMAs (the cutoff of
    the return's condition); a return some call reaches is refused at its line."""
    from modelcheck.solver.encoding import decision_of
    from modelcheck.solver.search import somewhere
    for i, (where, cond) in enumerate(d.early):
        if cond is False:
            continue
        answer = somewhere(st, lambda big, i=i: decision_of(big, v, "pmd").early[i][1])
        if answer != "unsat":
            reached = "on some calls" if answer == "sat" else "perhaps (the solver could not tell)"
            raise InputError(where, f"{MPT}() returns here before its loop {reached}; the model runs the loop "
                                    "on every call, so an early return that a call can reach is not supported")
