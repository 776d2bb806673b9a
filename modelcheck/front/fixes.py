"""Suggested fixes: one edit to a C variant's decision or return value that makes every property
hold, proved, without a new missed optimization against the original -- shown as a patch hunk.

The edits, each of one expression of the functions the entry points reach:

* ``drop``: a condition takes its neutral value (true as an operand of ``&&``, false as an
  operand of ``||``, false as a guard: its branch is never taken);
* ``negate``: a condition becomes its negation (``!c``, or ``c`` for ``!c``);
* ``flip``: a comparison changes direction (``<`` ↔ ``>``, ``<=`` ↔ ``>=``) or strictness
  (``<`` ↔ ``<=``, ``>`` ↔ ``>=``);
* ``and-or``: ``&&`` ↔ ``||``;
* ``return``: a guard's return value flips (``true`` ↔ ``false``, ``0`` ↔ ``1``);
* ``swap``: a variable of a condition becomes another parameter or local of the same function
  with the same type (``addr_masked`` ↔ ``addr_to_align``).

An edit is a fix when ``check`` proves every property for the edited variant (each holds, with
what its proof covers) and ``diff`` finds no state where the original realigns safely and the
edited variant declines, in a complete search (one that gave up proves nothing).  The original
is the variant itself, or the code a C file or a patch changes: the base a file is linked with,
the tree before the patch.  An edit that makes every property hold but declines some
realignment the original takes safely (often one that was safe by luck: a move from inside a
VMA whose lower part holds no entries) is shown as well, with that state, as a fix that
declines safe realignments.  The properties the original violates are checked first, so that
an edit that does not touch the bug is refuted by its first counterexample.  Each fix is
written back into the source as a unified diff when the edited expression can be found there
token by token; otherwise the fix names the place and the edit without a hunk.
"""

from __future__ import annotations

import bisect
import copy
import difflib
import re
from dataclasses import dataclass
from typing import Callable

from pycparser import c_ast, c_generator

from modelcheck.checks import PROPERTIES
from modelcheck.errors import InputError
from modelcheck.front.cfront import START, CUnit, _check_entry, _where, c_variant, reachable
from modelcheck.front.review import conditions
from modelcheck.model.geometry import Geometry, get_geometry
from modelcheck.model.scenario import Scenario
from modelcheck.model.variants import Variant, get_variant
from modelcheck.solver.pool import Workers, workers
from modelcheck.model.semantics import evaluate
from modelcheck.model.simulate import TooLong
from modelcheck.solver.search import HOLDS, VIOLATED, check, diff, shared_states

__all__ = ["Edit", "Fix", "Original", "edits", "suggest", "start_suggest", "EDIT_KINDS"]

EDIT_KINDS = ("drop", "negate", "flip", "and-or", "return", "swap")

_FLIPS = {"<": (">", "<="), "<=": (">=", "<"), ">": ("<", ">="), ">=": ("<=", ">")}


@dataclass(frozen=True)
class Edit:
    """One candidate edit: the expression ``node`` evaluated as ``replacement``."""

    kind: str
    node: c_ast.Node
    replacement: c_ast.Node
    function: str
    description: str  # e.g. "'<' -> '<='", "drop 'old_offset == 0'"
    # how the source text changes (_rewrite): ("span", text) replaces the expression, ("not",)
    # wraps it in !( ), ("unnot",) drops its !, ("op", old, new) replaces its operator, ("drop",
    # context) removes it from its && / || or removes its if statement
    source: tuple


@dataclass
class Fix:
    """A proved fix: the edit, what the proof covers, and the patch hunk (None when the source
    text could not be matched)."""

    kind: str
    file: str
    line: int
    col: int
    function: str
    description: str
    covers: dict[str, str]  # property -> what its holds covers
    hunk: str | None
    # a state where the original realigns safely and the edited variant declines (None: there is
    # none, proved): an edit that makes every property hold but gives up such realignments is
    # still shown, as a fix that declines safe realignments
    loses: Scenario | None = None
    # the source region the edit replaces ((line, col, end line, end col): end exclusive, 1-based,
    # as SARIF's regions) and the text put there; None with the hunk
    replacement: tuple[tuple[int, int, int, int], str] | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "file": self.file, "line": self.line, "col": self.col, "function": self.function,
                "edit": self.description, "covers": dict(self.covers), "patch": self.hunk,
                "loses": None if self.loses is None else self.loses.to_json()}


def _type_key(gen: c_generator.CGenerator, node: c_ast.Node) -> str:
    return gen._generate_type(node, emit_declname=False)  # the declared type without its name


def _variables(fn: c_ast.FuncDef) -> dict[str, str]:
    """The parameters and locals of ``fn``: name -> type."""
    gen = c_generator.CGenerator()
    out: dict[str, str] = {}
    params = getattr(fn.decl.type, "args", None)
    for p in (params.params if params is not None else []):
        if isinstance(p, c_ast.Decl) and p.name:
            out[p.name] = _type_key(gen, p.type)

    class Locals(c_ast.NodeVisitor):
        def visit_Decl(self, node: c_ast.Decl) -> None:
            if node.name and not isinstance(node.type, c_ast.FuncDecl):
                out[node.name] = _type_key(gen, node.type)
            self.generic_visit(node)
    Locals().visit(fn.body)
    return out


def edits(unit: CUnit) -> list[Edit]:
    """Every candidate edit of the set above, in source order."""
    conds = conditions(unit)
    by_id = {c.node_id: c for c in conds}
    _, tail = _check_entry(unit)
    gen = c_generator.CGenerator()
    out: list[Edit] = []
    for name in reachable(unit, {START, tail}):
        fn = unit.functions[name]
        variables = _variables(fn)

        def within(expr: c_ast.Node) -> list[c_ast.Node]:
            nodes: list[c_ast.Node] = []

            class Walk(c_ast.NodeVisitor):
                def generic_visit(self, node: c_ast.Node) -> None:
                    nodes.append(node)
                    super().generic_visit(node)
            Walk().visit(expr)
            return nodes

        class Visit(c_ast.NodeVisitor):
            def visit_If(self, node: c_ast.If) -> None:
                body = node.iftrue.block_items if isinstance(node.iftrue, c_ast.Compound) else [node.iftrue]
                if node.iffalse is None and body and len(body) == 1 and isinstance(body[0], c_ast.Return):
                    ret = body[0].expr
                    flipped = {"true": "false", "false": "true", "0": "1", "1": "0"}.get(
                        ret.name if isinstance(ret, c_ast.ID) else ret.value if isinstance(ret, c_ast.Constant)
                        else "", None)
                    if flipped is not None:
                        new = c_ast.ID(flipped) if isinstance(ret, c_ast.ID) else c_ast.Constant("int", flipped)
                        out.append(Edit("return", ret, new, name, f"return {flipped} instead of {gen.visit(ret)}",
                                        ("span", flipped)))
                self.generic_visit(node)

        Visit().visit(fn.body)
        # a comparison inside a guard and inside its operand is met twice: the first is kept (uniq)
        for node in within(fn.body):
            c = by_id.get(id(node))
            if c is None:
                continue
            neutral = c_ast.ID("true" if c.neutral else "false")
            out.append(Edit("drop", node, neutral, name, f"drop '{c.text}'", ("drop", c.context)))
            if isinstance(node, c_ast.UnaryOp) and node.op == "!":
                out.append(Edit("negate", node, node.expr, name, f"'{c.text}' -> '{gen.visit(node.expr)}'",
                                ("unnot",)))
            else:
                out.append(Edit("negate", node, c_ast.UnaryOp("!", copy.copy(node)), name,
                                f"'{c.text}' -> '!({c.text})'", ("not",)))
            subs = within(node)
            # a variable is swapped where it is an operand of a comparison or of arithmetic
            operands = {id(x) for b in subs if isinstance(b, c_ast.BinaryOp) and b.op not in ("&&", "||")
                        for x in (b.left, b.right)}
            for sub in subs:
                if isinstance(sub, c_ast.BinaryOp) and sub.op in _FLIPS:
                    for op in _FLIPS[sub.op]:
                        out.append(Edit("flip", sub, c_ast.BinaryOp(op, sub.left, sub.right), name,
                                        f"'{sub.op}' -> '{op}' in '{gen.visit(sub)}'", ("op", sub.op, op)))
                elif isinstance(sub, c_ast.BinaryOp) and sub.op in ("&&", "||"):
                    op = "||" if sub.op == "&&" else "&&"
                    out.append(Edit("and-or", sub, c_ast.BinaryOp(op, sub.left, sub.right), name,
                                    f"'{sub.op}' -> '{op}' in '{gen.visit(sub)}'", ("op", sub.op, op)))
                elif isinstance(sub, c_ast.ID) and sub.name in variables and id(sub) in operands:
                    for other, ty in variables.items():
                        if other != sub.name and ty == variables[sub.name]:
                            out.append(Edit("swap", sub, c_ast.ID(other), name,
                                            f"'{sub.name}' -> '{other}' in '{c.text}'", ("span", other)))
    uniq: dict[tuple, Edit] = {}
    for e in out:
        uniq.setdefault((id(e.node), e.kind, gen.visit(e.replacement)), e)
    return sorted(uniq.values(), key=lambda e: (_where(e.node), EDIT_KINDS.index(e.kind)))


# -- the source text of an expression, token by token

_TOKEN = re.compile(r"""\s+|//[^\n]*|/\*.*?\*/|(?P<tok>[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|->|<<=|>>=|
                       \+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!~<>=?:;,.()\[\]{}])""", re.S | re.X)


def _tokens(text: str) -> list[tuple[int, int, int, int, str]]:
    """(line, col, start, end, text) of every C token of ``text`` (1-based line and column)."""
    out = []
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    for m in _TOKEN.finditer(text):
        if m.group("tok"):
            ln = bisect.bisect_right(line_starts, m.start())
            out.append((ln, m.start() - line_starts[ln - 1] + 1, m.start(), m.end(), m.group("tok")))
    return out


def _span(toks: list, node: c_ast.Node) -> tuple[int, int] | None:
    """The token range [first, last] of ``node`` in ``toks``: from the token at its coordinate,
    as many tokens as c_generator writes for it (parentheses aside), then the closing
    parentheses its own opening ones need."""
    _, line, col = _where(node).rsplit(":", 2)
    at = next((i for i, t in enumerate(toks) if (t[0], t[1]) == (int(line), int(col))), None)
    if at is None:
        return None
    want = [t[4] for t in _tokens(c_generator.CGenerator().visit(node)) if t[4] not in "()"]
    # a prefix operator's node (!x, -x, a cast) has the coordinate of its operand: step back to it
    for first in (at, at - 1, at - 2):
        if first >= 0 and toks[first][4] == want[0]:
            found = _match(toks, first, want)
            if found is not None:
                return found
    return None


def _match(toks: list, first: int, want: list[str]) -> tuple[int, int] | None:
    i, depth, n = first, 0, 0
    while i < len(toks) and n < len(want):
        text = toks[i][4]
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth < 0:  # "(*p & m) == 0": the node began at a parenthesis before its coordinate
                if first == 0 or toks[first - 1][4] != "(":
                    return None
                first, depth = first - 1, 0
        else:
            if text != want[n]:
                return None
            n += 1
        i += 1
    if n < len(want):
        return None
    while depth > 0 and i < len(toks) and toks[i][4] == ")":
        depth -= 1
        i += 1
    return (first, i - 1) if depth == 0 else None


def _rewrite(text: str, e: Edit, parents: dict[int, c_ast.Node]) -> str | None:
    """``text`` with the edit applied, or None when its expression cannot be found in it."""
    toks = _tokens(text)
    span = _span(toks, e.node)
    if span is None:
        return None
    a, b = toks[span[0]][2], toks[span[1]][3]
    how = e.source
    if how[0] == "span":
        return text[:a] + how[1] + text[b:]
    if how[0] == "not":
        return text[:a] + "!(" + text[a:b] + ")" + text[b:]
    if how[0] == "unnot":
        inner = _span(toks, e.node.expr)
        if inner is None or toks[span[0]][4] != "!":
            return None
        return text[:a] + text[toks[inner[0]][2]:toks[inner[1]][3]] + text[b:]
    if how[0] == "op":
        left = _span(toks, e.node.left)
        if left is None or left[1] + 1 >= len(toks) or toks[left[1] + 1][4] != how[1]:
            return None
        t = toks[left[1] + 1]
        return text[:t[2]] + how[2] + text[t[3]:]
    if how[0] == "drop":
        parent = parents.get(id(e.node))
        if how[1] in ("&&", "||") and isinstance(parent, c_ast.BinaryOp):
            if parent.left is e.node:  # "A && B" -> "B"
                right = _span(toks, parent.right)
                return None if right is None else text[:a] + text[toks[right[0]][2]:]
            left = _span(toks, parent.left)  # "A && B" -> "A"
            return None if left is None else text[:toks[left[1]][3]] + text[b:]
        if how[1] == "if" and isinstance(parent, c_ast.If):
            return _drop_if(text, toks, parent)
    return None


def _drop_if(text: str, toks: list, node: c_ast.If) -> str | None:
    """``text`` without the ``if`` statement ``node`` (whole lines only)."""
    _, line, col = _where(node).rsplit(":", 2)
    first = next((i for i, t in enumerate(toks) if (t[0], t[1]) == (int(line), int(col)) and t[4] == "if"), None)
    if first is None:
        return None
    depth, i, end = 0, first + 1, None
    while i < len(toks):  # the condition's parentheses, then one statement or a block
        t = toks[i][4]
        depth += t in "({"
        depth -= t in ")}"
        if depth == 0 and (t == ";" or t == "}") and i > first + 1:
            end = i
            break
        i += 1
    if end is None:
        return None
    a = text.rfind("\n", 0, toks[first][2]) + 1
    b = text.find("\n", toks[end][3])
    b = len(text) if b < 0 else b + 1
    if text[a:toks[first][2]].strip() or text[toks[end][3]:b].strip():
        return None  # the statement shares a line with something else
    return text[:a] + text[b:]


def _replacement(old: str, new: str) -> tuple[tuple[int, int, int, int], str]:
    """The one region of ``old`` that ``new`` replaces, as ((line, col, end line, end col), text):
    1-based, the end exclusive."""
    a = 0
    while a < min(len(old), len(new)) and old[a] == new[a]:
        a += 1
    b = 0
    while b < min(len(old), len(new)) - a and old[len(old) - 1 - b] == new[len(new) - 1 - b]:
        b += 1

    def at(i: int) -> tuple[int, int]:
        line = old.count("\n", 0, i) + 1
        return line, i - (old.rfind("\n", 0, i) + 1) + 1
    return (*at(a), *at(len(old) - b)), new[a:len(new) - b]


def _parents(unit: CUnit) -> dict[int, c_ast.Node]:
    out: dict[int, c_ast.Node] = {}

    class Walk(c_ast.NodeVisitor):
        def generic_visit(self, node: c_ast.Node) -> None:
            for _, child in node.children():
                out[id(child)] = node
            super().generic_visit(node)
    for fn in unit.functions.values():
        Walk().visit(fn)
    return out


@dataclass(frozen=True)
class Original:
    """The code a fix must lose no safe realignment against: a built-in variant (by id), or the C
    of a unit (the reviewed one, or a tree before a patch).  Plain data, so that it pickles."""

    vid: str
    unit: CUnit | None = None

    def variant(self) -> Variant:
        return get_variant(self.vid) if self.unit is None else c_variant(self.unit, self.vid, "", "")


@dataclass(frozen=True)
class _Job:
    unit: CUnit
    vid: str
    order: tuple[str, ...]
    geometry: str
    level: str
    vmas: int
    rlimit: int
    reachable_only: bool
    original: Original
    refuters: dict


def suggest(unit: CUnit, vid: str, verdicts: dict[str, str], g: Geometry, level: str, vmas: int, rlimit: int,
            reachable_only: bool, source: Callable[[str], str | None],
            tried: list | None = None, original: Original | None = None, jobs: int = 1,
            pool: Workers | None = None, refuters: dict[str, Scenario] | None = None) -> list[Fix]:
    """The proved fixes among edits(unit) of the variant ``vid`` (whose verdicts per property are
    ``verdicts``); ``source(file)`` gives a file's text for the hunks.  The realignments a fix
    must keep are those ``original`` takes safely (default the reviewed code itself; for a C
    file its base, for a patch the code before it).  ``tried`` collects each edit's outcome:
    (edit, None for a fix, or the property refuting it / why it is not proved).  The edits are
    tried on ``pool`` (default: ``jobs`` workers of its own), each in a Z3 context of its own (as
    review's conditions).  ``refuters`` are counterexamples of the variant (review's
    ``witnesses``): an edit that still violates the property on one, as the simulator runs it,
    is refuted without a search."""
    if pool is None:
        with workers(jobs) as own:
            return suggest(unit, vid, verdicts, g, level, vmas, rlimit, reachable_only, source, tried, original,
                           pool=own, refuters=refuters)
    return start_suggest(unit, vid, verdicts, g, level, vmas, rlimit, reachable_only, source, pool, tried,
                         original, refuters)()


def start_suggest(unit: CUnit, vid: str, verdicts: dict[str, str], g: Geometry, level: str, vmas: int, rlimit: int,
                  reachable_only: bool, source: Callable[[str], str | None], pool: Workers,
                  tried: list | None = None, original: Original | None = None,
                  refuters: dict[str, Scenario] | None = None) -> Callable[[], list[Fix]]:
    """``suggest``'s edits queued on ``pool`` now; what it returns waits for them and gives the fixes."""
    if all(v == HOLDS for v in verdicts.values()):
        return lambda: []
    order = tuple([p for p in PROPERTIES if verdicts[p] != HOLDS] + [p for p in PROPERTIES if verdicts[p] == HOLDS])
    job = _Job(unit, vid, order, g.name, level, vmas, rlimit, reachable_only, original or Original(vid, unit),
               dict(refuters or {}))
    candidates = edits(unit)
    pending = pool.submit(_tried, [(job, n) for n in range(len(candidates))])

    def fixes() -> list[Fix]:
        parents = _parents(unit)
        found: list[Fix] = []
        for e, (why, covers, loses) in zip(candidates, pending()):
            if tried is not None:
                tried.append((e, why))
            if why is not None:
                continue
            file, line, col = _where(e.node).rsplit(":", 2)
            text = source(file)
            hunk = replacement = None
            if text is not None:
                new = _rewrite(text, e, parents)
                if new is not None and new != text:
                    hunk = "".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True), f"a/{file}",
                                                        f"b/{file}", n=3))
                    replacement = _replacement(text, new)
            found.append(Fix(e.kind, file, int(line), int(col), unit.label(e.function), e.description, covers, hunk,
                             loses, replacement))
        return sorted(found, key=lambda f: f.loses is not None)  # the fixes that lose nothing first
    return fixes


def _tried(task: tuple[_Job, int]) -> tuple[str | None, dict[str, str], Scenario | None]:
    """Edit ``n`` of the job's unit: (why it is no fix or None, what each property's proof covers,
    a safe realignment of the original it loses or None)."""
    job, n = task
    g = get_geometry(job.geometry)
    states = shared_states(g)
    e = edits(job.unit)[n]
    covers: dict[str, str] = {}
    why = None
    loses = None
    try:
        fixed = c_variant(job.unit, f"{job.vid}-fix{n + 1}", "", "", replaced={id(e.node): e.replacement})
        for pid in job.order:
            if pid in job.refuters and _still(job.refuters[pid], fixed, pid, job.level):
                why = f"{pid} {VIOLATED}"  # what the check would find: a replayed violation
                break
            r = check(fixed, pid, g, job.level, job.vmas, job.rlimit, minimal=False, reachable=job.reachable_only,
                      states=states)
            if r.verdict != HOLDS:
                why = f"{pid} {r.verdict}"
                break
            covers[pid] = r.bound()
        if why is None:
            reference = job.original.variant()  # only for an edit every property holds for
            cases, gave_up = diff(reference, fixed, g, job.level, job.vmas, job.rlimit, job.reachable_only,
                                  tails=False, pids=(), safe=True, states=states)
            lost = [c for c in cases if c.realigns == reference.id]
            unproved = [x for x in gave_up if x.startswith(reference.id + " ")]
            if lost:
                loses = lost[0].scenario
            elif unproved:
                why = f"no proof that it misses no safe realignment: {unproved[0]}"
    except InputError as err:  # the edited C does not run (a variable read before it is set)
        why = f"the edited C does not run: {err.message}"
    return why, covers, loses


def _still(s: Scenario, v: Variant, pid: str, level: str) -> bool:
    """Does ``v`` violate ``pid`` on ``s``, as the simulator runs it?"""
    try:
        return evaluate(s, v, level).properties[pid] == VIOLATED
    except TooLong:
        return False
