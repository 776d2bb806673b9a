"""The C front-end's first stage: kernel C read as the checker reads it.

A C file (a hand-cut function or a whole mm/mremap.c, preprocessed by ``ksource``) is parsed with
pycparser, function by function, at its original positions: the realignment functions by name
(``LINKED``), the file's functions they call, and ``move_page_tables()`` cut at its loop
(``MoveTables``: the statements before the loop, which decide, and after it, which compute the
return value; the loop itself must have the model's shape).  What the cut cannot carry past the
loop is recorded (``MoveTables.late``) for the interpreter to refuse.  Units link over a
built-in's (``link``).  Errors name FILE:LINE:COL.  Next stage: ``cinterp`` runs the parsed C.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pycparser import c_ast, c_parser
from pycparser.plyparser import ParseError

from modelcheck.errors import InputError

__all__ = ["CUnit", "MoveTables", "PRELUDE", "START", "RETURN", "PMC_RETURN", "MPT", "LINKED", "parse_c", "link",
           "reachable", "calls", "ctype"]

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
struct vm_area_struct *vma_find(struct vma_iterator *vmi, unsigned long max);
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);
int WARN_ON_ONCE(int condition);
long likely(long x);
long unlikely(long x);
extern void *const NULL;
extern const unsigned long PMD_MASK, PMD_SIZE, PUD_MASK, PUD_SIZE, PAGE_MASK, PAGE_SIZE;
"""
_PRELUDE_NAMES = {"find_vma_prev", "find_vma_intersection", "find_vma", "vma_prev", "vma_next", "vma_find", "vma_lookup",
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
    # move_normal_pmd()/move_normal_pud() of a whole kernel file: their guards (TableGuards)
    guards: dict = field(default_factory=dict)

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

#: the loop's table movers, whose userfaultfd guards a whole kernel file's profile is read from
TABLE_MOVERS = ("move_normal_pmd", "move_normal_pud")


@dataclass
class TableGuards:
    """The early returns of move_normal_pmd()/move_normal_pud() around their
    WARN_ON_ONCE(!pmd_none(*new_pmd)): ``before`` are the ``if (C) return ...;`` statements
    that come before it (a refusal that cannot warn), ``after`` those right after it (0cef0bb836e3
    put its userfaultfd test there: the WARN fires first), ``decls`` the declarations with
    initial values of VMA pointers they may read (``struct vm_area_struct *vma = pmc->old;``).
    ``warn`` is None when the function has no such WARN (then every guard counts as before)."""

    fn: c_ast.FuncDef
    decls: list
    before: list
    after: list
    warn: c_ast.Node | None

    def statements(self) -> list:
        return [*self.decls, *self.before, *self.after]


def _guard(stmt: c_ast.Node) -> bool:
    """``if (C) return X;`` with no else."""
    if not isinstance(stmt, c_ast.If) or stmt.iffalse is not None:
        return False
    body = stmt.iftrue
    if isinstance(body, c_ast.Compound) and len(body.block_items or []) == 1:
        body = body.block_items[0]
    return isinstance(body, c_ast.Return)


def _warns(node: c_ast.Node) -> bool:
    return any(isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID)
               and n.name.name in ("WARN_ON_ONCE", "WARN_ON") for n in _walk(node))


def table_guards(fn: c_ast.FuncDef) -> TableGuards:
    """The guards of a table mover (TableGuards), found in its top-level statements."""
    decls, before, after, warn = [], [], [], None
    for x in fn.body.block_items or []:
        if isinstance(x, c_ast.Decl):
            if x.init is not None and isinstance(x.type, c_ast.PtrDecl) and "vm_area_struct" in _text(x.type):
                decls.append(x)
            continue
        if warn is None and _warns(x):
            warn = x
            continue
        if _guard(x):
            (before if warn is None else after).append(x)
        elif warn is not None:
            break
    if warn is None:  # no WARN to be before or after: every guard refuses without warning
        before, after = before + after, []
    return TableGuards(fn, decls, before, after, warn)


def loop_gates(loop: c_ast.Node) -> dict[str, list]:
    """The conditions under which the loop calls move_pgt_entry(NORMAL_PMD/NORMAL_PUD, ...),
    besides IS_ENABLED(CONFIG_HAVE_MOVE_P?D) and extent == P?D_SIZE (the model's loop has those):
    6.12.y's ``uffd_supports_move``, computed before the loop.  By level ("pmd", "pud"), for the
    levels at which the loop moves tables."""
    out: dict[str, list] = {}

    def mover(call: c_ast.Node) -> str | None:
        if (isinstance(call, c_ast.FuncCall) and isinstance(call.name, c_ast.ID) and call.name.name == "move_pgt_entry"
                and call.args and call.args.exprs):
            first = [a for a in call.args.exprs if isinstance(a, c_ast.ID) and a.name in ("NORMAL_PMD", "NORMAL_PUD")]
            return first[0].name[-3:].lower() if first else None
        return None

    for node in _walk(loop):
        if not isinstance(node, c_ast.If) or node.cond is None:
            continue
        conds, todo = [], [node.cond]
        while todo:
            c = todo.pop()
            if isinstance(c, c_ast.BinaryOp) and c.op == "&&":
                todo += [c.right, c.left]
            else:
                conds.append(c)
        # the call in the condition itself (``... && move_pgt_entry(NORMAL_PMD, ...)``) or in the branch
        levels = [lv for lv in map(mover, conds) if lv] or \
            [lv for lv in (mover(x) for x in _walk(node.iftrue)) if lv][:1] if node.iftrue is not None else []
        for level in levels:
            out.setdefault(level, [])
            for c in conds:
                t = _text(c)
                if mover(c) or isinstance(c, c_ast.Constant) or t.startswith("IS_ENABLED(") or t in (f"extent == {level.upper()}_SIZE",
                                                                     f"{level.upper()}_SIZE == extent"):
                    continue
                if all(_text(x) != t for x in out[level]):
                    out[level].append(c)
    return out


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
    movers = TABLE_MOVERS if MPT in chunks else ()
    todo = [n for n in chunks if n in LINKED or n == MPT or n in roots or n in movers]
    while todo:
        name = todo.pop(0)
        if name in unit.functions:
            continue
        fn = _parse_chunk(chunks[name])
        if name in movers:  # only their userfaultfd guards are read: the rest is the model's loop
            unit.functions[name], unit.files[name] = fn, path
            unit.spans[name] = (chunks[name].line, chunks[name].end_line)
            unit.guards[name] = table_guards(fn)
            todo += sorted(c for c in set().union(*(calls(x) for x in unit.guards[name].statements()))
                           if c in chunks and c not in unit.functions and c != "arch_supports_page_table_move")
            continue
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
    chunk = _expand_vma_loops(chunk)
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
#: their expansions, as include/linux/mm.h defines them
_VMA_LOOPS = {"for_each_vma": (2, "while ((({1}) = vma_next(&({0}))) != NULL)"),
              "for_each_vma_range": (3, "while ((({1}) = vma_find(&({0}), ({2}))) != NULL)")}


def _expand_vma_loops(chunk: Any) -> Any:
    """The chunk with for_each_vma() and for_each_vma_range() expanded as the kernel expands them
    (their arguments kept in place, so that lines do not move): loops the interpreter runs when
    their body leaves on every path."""
    import dataclasses
    text, out, pos = chunk.text, [], 0
    for m in re.finditer(r"\b(for_each_vma(?:_range)?)\s*\(", text):
        if m.start() < pos:
            continue
        depth, i, args, start = 1, m.end(), [], m.end()
        while i < len(text) and depth:
            ch = text[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if (ch == "," and depth == 1) or depth == 0:
                args.append(text[start:i])
                start = i + 1
            i += 1
        want, form = _VMA_LOOPS[m.group(1)]
        if depth or len(args) != want:
            continue  # left as it is: the parser says where
        out += [text[pos:m.start()], form.format(*args)]
        pos = i
    return dataclasses.replace(chunk, text="".join(out) + text[pos:]) if out else chunk


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
    # the loop's own conditions on moving a whole table, by level (loop_gates())
    gates: dict = field(default_factory=dict)
    # the loop moves entries only: it calls move_ptes() and nothing that moves a table
    # (move_pgt_entry(), move_normal_pmd(), move_normal_pud()), as before 2c91bd4a4e2e ("mm: speed
    # up mremap by 20x on large regions")
    entries_only: bool = False


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
    called = {n.name.name for n in _walk(loop.stmt) if isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID)}
    entries_only = "move_ptes" in called and not called & {"move_pgt_entry", *TABLE_MOVERS}
    return MoveTables(path, shape, names, head, tail, prefix, decls, loop.coord.line, tail_line, late,
                      loop_gates(loop.stmt), entries_only)


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
                 user.kernel if user.kernel is not None else base.kernel,
                 {**base.guards, **user.guards} if user.kernel is None else dict(user.guards))


def _where(node: c_ast.Node) -> str:
    c = node.coord
    return f"{c.file}:{c.line}:{c.column}" if c is not None else "<c>"


def _fail(node: c_ast.Node, msg: str) -> InputError:
    return InputError(_where(node), msg)



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


#: the functions a C file can contribute under their kernel names
LINKED = ("can_align_down", "check_addr_in_prev", "realign_addr", "try_realign_addr", "can_realign_addr",
          START, RETURN, PMC_RETURN)
