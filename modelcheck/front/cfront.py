"""Realignment logic written in the kernel's own C, as variants: the front-end's last stage.

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

or a whole ``move_page_tables()``, cut at its loop.  A user's file is linked over a base (a
built-in variant's C file, ``properties/c/``): each function the user defines replaces the base's
function of the same name, so a patch's ``can_align_down()`` alone is a complete variant.
``PMD_MASK``/``PMD_SIZE`` stand for the realignment level's mask and size (the PUD's with
``--level pud``).

The stages: ``cparse`` (parse and cut, FILE:LINE:COL errors), ``cinterp`` (run exactly, or
refuse), this module (variants, linking over a base, the smoke run that takes every path; an
early return of move_page_tables() is an exit the model runs: Decision.early), and ``compiled`` (the compiler's
second opinion).  The names of the first two are re-exported here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycparser import c_ast

from modelcheck._data import read_spec
from modelcheck.errors import InputError
from modelcheck.model.ops import KernelOps
from modelcheck.model.variants import Call, Decision, Variant
from modelcheck.front.cparse import (LINKED, MPT, PMC_RETURN, PRELUDE, RETURN, START, CUnit, _fail, _text, _where, ctype, link,
                                     parse_c, reachable)
from modelcheck.front.cinterp import (_TAIL_HIDDEN, KNOWN_FALSE, mover_refusals, Bool, Cell, Hidden, Int, Interp, Ptr, Ref, _pmc,
                                      _tail_pmc)

__all__ = ["CUnit", "Linkage", "parse_c", "link", "reachable", "c_variant", "load_c", "load_c_variant", "builtin_c",
           "builtin_unit", "PRELUDE", "ctype", "Interp", "where_decided", "detect_base", "load_tree", "KNOWN_FALSE",
           "MPT", "START", "RETURN", "PMC_RETURN", "LINKED"]

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
        frame = None
        pmc = None
        if shape == "pmc":
            pmc = _pmc(k, c.vma, c.new_vma, c.old_addr, c.new_addr, c.old_addr + c.len, c.len, c.for_stack)
            if start == "kernel":
                frame = interp.run(unit.functions[START], [pmc])
            else:
                interp.call(START, [pmc])
            old, new = pmc.fields["old_addr"].v.w, pmc.fields["new_addr"].v.w
        elif start == "kernel":
            assert mt is not None
            args = [Ref(c.vma), Int("ulong", c.old_addr), Ref(c.new_vma), Int("ulong", c.new_addr),
                    Int("ulong", c.len), Bool(False), Bool(c.for_stack)][:len(mt.params)]
            frame = interp.run(unit.functions[START], args)
            env = frame.env
            old, new = env[mt.params[1]].v.w, env[mt.params[3]].v.w
        else:
            o, n = Cell("ulong", Int("ulong", c.old_addr)), Cell("ulong", Int("ulong", c.new_addr))
            interp.call(START, [Ref(c.vma), Ptr(o), Ref(c.new_vma), Ptr(n), Int("ulong", c.len),
                                Bool(c.for_stack)])
            old, new = o.v.w, n.v.w
        early = tuple(interp.exits) if start == "kernel" else ()  # returns of move_page_tables() itself
        tables, late = _table_rules(interp, unit, frame, c, pmc)
        return Decision(k.or_(k.ne(old, c.old_addr), k.ne(new, c.new_addr)), old, new,
                        warn=interp.happens("warn"), oops=interp.happens("oops"), sites=tuple(interp.sites),
                        early=early, tables=tables, refuse_late=late)

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
                frame = interp.run(fn, [pmc], _tail_prefix(mt) + _undefined(mt.decls))
                pmc.fields["old_addr"].v = Int("ulong", cursor)
            else:
                args = [Ref(k.null), Int("ulong", first), Ref(k.null), Int("ulong", first), Int("ulong", len_),
                        Bool(False), Bool(False)][:len(mt.params)]
                hidden = {mt.params[i]: Hidden(f"{mt.params[i]}: {_TAIL_HIDDEN}", vma=i in (0, 2))
                          for i in (0, 2, 3, 5, 6) if i < len(mt.params)}
                frame = interp.run(fn, args, _tail_prefix(mt) + _undefined(mt.decls), hidden)
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

    return Variant(vid, summary, provenance, decide, progress, source=unit)


def _table_rules(interp: Interp, unit: CUnit, frame: Any, c: Call, pmc: Any) -> tuple[Any, Any]:
    """(Decision.tables, Decision.refuse_late) as the file says: the loop's own conditions on a
    table move (6.12.y's ``uffd_supports_move``), read where the head left them, and the guards
    of its move_normal_pmd()/move_normal_pud() (772e5b4a5e83's uffd_supports_page_table_move()
    before the WARN, 0cef0bb836e3's test after it).  A file without them: tables always move."""
    k = interp.k
    tables: Any = True
    late: Any = False
    mt = unit.kernel
    if mt is None or frame is None:
        return tables, late
    if mt.entries_only:  # a loop that moves no table whole (before 2c91bd4a4e2e): nothing to refuse or warn
        return False, False
    levels = [lv for lv in ("pmd", "pud") if getattr(k.geometry, f"have_move_{lv}")
              and (lv in mt.gates or f"move_normal_{lv}" in unit.guards)]
    seen: dict[str, tuple] = {}
    for level in levels:
        gates = mt.gates.get(level, [])
        guards = unit.guards.get(f"move_normal_{level}")
        seen[level] = (tuple(_text(x) for x in gates), ((), ()) if guards is None else
                       (tuple(_text(x.cond) for x in guards.before), tuple(_text(x.cond) for x in guards.after)))
        if level != levels[0]:
            continue  # the same text (checked below): the model runs one rule, the first level's
        for gate in gates:
            tables = k.and_(tables, interp.as_bool(interp.expr(gate, frame, True), gate))
        if guards is not None:
            call = {"pmc*": pmc} if pmc is not None else {"vma*": Ref(c.vma)}
            before, after = mover_refusals(interp, guards, call)
            tables, late = k.and_(tables, k.not_(before)), k.or_(late, after)
    if len(set(seen.values())) > 1:
        fn = unit.guards.get("move_normal_pud")
        where = _where(fn.fn) if fn is not None else mt.file
        raise InputError(where, "move_normal_pmd() and move_normal_pud() refuse a table move under different "
                                "conditions; the model has one rule for both levels")
    return tables, late


def _tail_prefix(mt: Any) -> list:
    """The head's leading statements the tail needs: those writing what the tail reads, directly
    or through another such statement (old_end = old_addr + len).  The others (6.12.y computes
    uffd_supports_move from the VMAs there) are not run: the tail has no VMAs."""
    from modelcheck.front.cparse import _walk, _written
    needed = {n.name for x in mt.tail for n in _walk(x) if isinstance(n, c_ast.ID)}
    keep = []
    for x in reversed(mt.prefix):
        writes = {x.name} if isinstance(x, c_ast.Decl) else {name for name, _ in _written(x)}
        if writes & needed:
            keep.append(x)
            needed |= {n.name for n in _walk(x) if isinstance(n, c_ast.ID)}
    return list(reversed(keep))


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


#: larger than any mm/mremap.c (7.3's is 60 KB): a file this size is not one, and is refused at once
MAX_SOURCE = 4 << 20


def _read(path: str) -> str:
    """A C file's text: a regular file of UTF-8 text without NUL bytes, at most MAX_SOURCE bytes."""
    p = Path(path)
    try:
        if p.exists() and not p.is_file():
            raise InputError(path, "not a regular file")
        if p.stat().st_size > MAX_SOURCE:
            raise InputError(path, f"{p.stat().st_size} bytes: larger than any mm/mremap.c "
                                   f"(at most {MAX_SOURCE >> 20} MiB is read)")
        data = p.read_bytes()
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise InputError(path, f"a NUL byte at offset {nul}: not C source")
    try:
        return data.decode("utf-8")
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
    reached = reachable(unit, {START, tail, *unit.guards})
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
    decision_of(st, v, "pmd")
    k = st.ops
    v.progress(k, k.wrap(st.old_addr), k.wrap(st.old_end), k.wrap(st.len))
