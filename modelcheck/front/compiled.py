"""The compiler as a second opinion on the C the front-end runs.

The functions a C variant's checks ran (cfront's parsed unit: the predicate, its callers, the
head and the tail of move_page_tables()) are printed back as C (pycparser's generator), compiled
by the machine's C compiler with this module's stubs of the kernel around them, and run on
concrete states: the lookups over a sorted array of VMAs (mm/mmap.c's semantics, written here
in C independently of ``ops.ConcreteOps``), the alignment macros as include/linux/align.h and
math.h define them, WARN_ON_ONCE() recording that it fired, a NULL dereference caught as a
fault.  On each state the harness gives the decision (whether the cursors moved, where to,
whether a WARN fired or NULL was read, whether move_page_tables() returned before its loop)
and the tail's return value at several cursors; the interpreter must give the same.  Any
difference is an internal error naming the state: a verdict about the model's reading of the
C, not the C, is never shown.

It needs a compiler (``cc``), a geometry whose ``unsigned long`` is the compiler's (64-bit;
toy geometries and 32-bit ones are not cross-checked) and a 32-bit ``int``; otherwise
``crosscheck`` says why it did not run.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import random
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycparser import c_ast, c_generator

from modelcheck.errors import InputError, InternalError
from modelcheck.model.geometry import Geometry
from modelcheck.model.ops import ConcreteOps
from modelcheck.model.scenario import Move, Scenario, Vma
from modelcheck.model.variants import Call, Variant

__all__ = ["CrossCheck", "crosscheck", "second_opinion", "harness_source", "compiler", "states_for", "CROSSCHECK_STATES"]

from modelcheck.front.cfront import _check_entry, _undefined
from modelcheck.front.cinterp import KNOWN_FALSE, KNOWN_TRUE, NO_EFFECT, VMA_FLAGS, WARNINGS
from modelcheck.front.cparse import PMC_RETURN, RETURN, START, CUnit, reachable

#: at most this many VMAs in a state the harness runs
MAX_VMAS = 64
#: how many random states a check of a C variant runs compiled, besides its counterexample
CROSSCHECK_STATES = 1000

_PRELUDE = r"""
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef _Bool bool;
enum { false = 0, true = 1 };
#define NULL ((void *)0)
struct mm_struct { int mc_unused; };
struct vm_area_struct { unsigned long vm_start; unsigned long vm_end; struct mm_struct *vm_mm; int mc_uffd; };
struct pagetable_move_control {
	struct vm_area_struct *old; struct vm_area_struct *new;
	unsigned long old_addr; unsigned long old_end; unsigned long new_addr; unsigned long len_in;
	bool need_rmap_locks; bool for_stack;
};
struct vma_iterator { unsigned long index; };
#define VMA_ITERATOR(name, mm, addr) struct vma_iterator name = { .index = (addr) }

static struct mm_struct mc_mm;
static struct vm_area_struct mc_vmas[MC_MAX];
static int mc_n;
static unsigned long PMD_MASK, PMD_SIZE, PUD_MASK, PUD_SIZE, PAGE_MASK, PAGE_SIZE;
static unsigned long PMD_SHIFT, PUD_SHIFT, PAGE_SHIFT;
static int mc_warned;
static int mc_reached;
static unsigned long mc_old, mc_new;

/* the first VMA ending above addr (mm/mmap.c find_vma()) */
static int mc_above(unsigned long addr)
{
	int i;

	for (i = 0; i < mc_n; i++)
		if (mc_vmas[i].vm_end > addr)
			return i;
	return mc_n;
}

static struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	int i = mc_above(addr);

	return i < mc_n ? &mc_vmas[i] : NULL;
}

static struct vm_area_struct *find_vma_prev(struct mm_struct *mm, unsigned long addr,
					    struct vm_area_struct **pprev)
{
	int i = mc_above(addr);

	*pprev = i > 0 ? &mc_vmas[i - 1] : NULL;
	return i < mc_n ? &mc_vmas[i] : NULL;
}

/* mt_find(start, end - 1): NULL when start > end - 1 */
static struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, unsigned long start,
						    unsigned long end)
{
	unsigned long last = end - 1;
	int i;

	if (start > last)
		return NULL;
	i = mc_above(start);
	return i < mc_n && mc_vmas[i].vm_start <= last ? &mc_vmas[i] : NULL;
}

/* mtree_load(): the VMA containing addr */
static struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	int i = mc_above(addr);

	return i < mc_n && mc_vmas[i].vm_start <= addr ? &mc_vmas[i] : NULL;
}

/* a fresh iterator at index: the previous VMA ends at or below it, the next ends above it */
static struct vm_area_struct *vma_prev(struct vma_iterator *vmi)
{
	int i;

	for (i = mc_n - 1; i >= 0; i--)
		if (mc_vmas[i].vm_end <= vmi->index)
			return &mc_vmas[i];
	return NULL;
}

static struct vm_area_struct *vma_next(struct vma_iterator *vmi)
{
	struct vm_area_struct *vma = find_vma(NULL, vmi->index);

	if (vma)
		vmi->index = vma->vm_end;
	return vma;
}

/* mas_find(max - 1): the next VMA from the index that starts below max */
static struct vm_area_struct *vma_find(struct vma_iterator *vmi, unsigned long max)
{
	struct vm_area_struct *vma = find_vma_intersection(NULL, vmi->index, max);

	if (vma)
		vmi->index = vma->vm_end;
	return vma;
}

static int mc_warn(int cond)
{
	if (cond)
		mc_warned = 1;
	return cond;
}

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __ALIGN_KERNEL_MASK(x, mask) (((x) + (mask)) & ~(mask))
#define __ALIGN_KERNEL(x, a) __ALIGN_KERNEL_MASK(x, (__typeof__(x))(a) - 1)
#define ALIGN(x, a) __ALIGN_KERNEL((x), (a))
#define ALIGN_DOWN(x, a) __ALIGN_KERNEL((x) - ((a) - 1), (a))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define PAGE_ALIGN(addr) ALIGN(addr, PAGE_SIZE)
#define PAGE_ALIGN_DOWN(addr) ALIGN_DOWN(addr, PAGE_SIZE)
#define PAGE_ALIGNED(addr) IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)
#define __round_mask(x, y) ((__typeof__(x))((y) - 1))
#define round_up(x, y) ((((x) - 1) | __round_mask(x, y)) + 1)
#define round_down(x, y) ((x) & ~__round_mask(x, y))
#define move_hugetlb_page_tables(...) 0UL
"""

_DRIVER = r"""
static sigjmp_buf mc_jump;
static volatile int mc_oops;

static void mc_segv(int sig)
{
	mc_oops = 1;
	siglongjmp(mc_jump, 1);
}

/* one state a line: shift_pmd shift_pud n (start end)*n old_vma new_vma old_addr new_addr len
 * for_stack k (cursor)*k; prints: moved old new warned oops early early-value (tail)*k */
int main(void)
{
	struct sigaction sa;
	int n, i, k, ov, nv, stack, pmd_shift, pud_shift;
	unsigned long old_addr, new_addr, len, cursors[16];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mc_segv;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	PAGE_SHIFT = MC_PAGE_SHIFT;
	PAGE_SIZE = 1UL << PAGE_SHIFT;
	PAGE_MASK = ~(PAGE_SIZE - 1);
	PUD_SHIFT = MC_PUD_SHIFT;
	PUD_SIZE = 1UL << PUD_SHIFT;
	PUD_MASK = ~(PUD_SIZE - 1);
	while (scanf("%d %d %d", &pmd_shift, &pud_shift, &n) == 3) {
		PMD_SHIFT = pmd_shift;
		PMD_SIZE = 1UL << PMD_SHIFT;
		PMD_MASK = ~(PMD_SIZE - 1);
		mc_n = n;
		for (i = 0; i < n; i++) {
			if (scanf("%lx %lx %d", &mc_vmas[i].vm_start, &mc_vmas[i].vm_end, &mc_vmas[i].mc_uffd) != 3)
				return 2;
			mc_vmas[i].vm_mm = &mc_mm;
		}
		if (scanf("%d %d %lx %lx %lx %d %d", &ov, &nv, &old_addr, &new_addr, &len, &stack, &k) != 7 || k > 16)
			return 2;
		for (i = 0; i < k; i++)
			if (scanf("%lx", &cursors[i]) != 1)
				return 2;
		mc_warned = mc_oops = mc_reached = 0;
		mc_old = old_addr;
		mc_new = new_addr;
		mc_head_ret = 0;
		if (!sigsetjmp(mc_jump, 1))
			MC_HEAD;
		printf("%d %lx %lx %d %d %d %lx", mc_old != old_addr || mc_new != new_addr, mc_old, mc_new, mc_warned,
		       mc_oops, !mc_reached && !mc_oops, !mc_reached && !mc_oops ? mc_head_ret : 0UL);
		for (i = 0; i < k; i++) {
			unsigned long ret = 0;

			mc_oops = 0;
			if (!sigsetjmp(mc_jump, 1))
				ret = MC_TAIL(cursors[i]);
			if (mc_oops)
				printf(" oops");
			else
				printf(" %lx", ret);
		}
		printf("\n");
		fflush(stdout);
	}
	return 0;
}
"""


def compiler() -> str | None:
    """The C compiler on PATH (``cc``, else ``gcc``), or None."""
    return shutil.which("cc") or shutil.which("gcc")


def _why_not(g: Geometry) -> str | None:
    """Why states of ``g`` cannot run compiled on this machine (None: they can)."""
    if g.word_bits != 64 or g.int_bits != 32:
        return f"{g.name} has a {g.word_bits}-bit unsigned long and a {g.int_bits}-bit int; the compiler's are 64 and 32"
    if compiler() is None:
        return "no C compiler (cc or gcc) on PATH"
    return None


def _statements(text: str) -> list:
    """Statements written in C, as pycparser nodes (to put into a generated function)."""
    from pycparser import c_parser
    prelude = ("typedef _Bool bool; struct vm_area_struct; struct pagetable_move_control { unsigned long old_addr, "
               "new_addr; }; unsigned long mc_old, mc_new, mc_cursor; int mc_reached;")
    ast = c_parser.CParser().parse(prelude + "void f(struct pagetable_move_control *pmc, unsigned long old_addr, "
                                   "unsigned long new_addr) {" + text + "}")
    return ast.ext[-1].body.block_items or []


def _renamed(fn: c_ast.FuncDef, name: str, body: list) -> c_ast.FuncDef:
    """``fn``'s declaration under another name, with another body."""
    import copy
    decl = copy.deepcopy(fn.decl)
    decl.name = name
    t = decl.type.type
    while not isinstance(t, c_ast.TypeDecl):
        t = t.type
    t.declname = name
    decl.storage = ["static"]
    return c_ast.FuncDef(decl, None, c_ast.Compound(body))


def harness_source(unit: CUnit, g: Geometry) -> str:
    """The whole harness: stubs, the unit's functions as C, the head and tail as the model cuts
    them, and the driver."""
    gen = c_generator.CGenerator()
    start, tail = _check_entry(unit)
    mt = unit.kernel
    shape = mt.shape if start == "kernel" and mt is not None else start
    fns: list[c_ast.FuncDef] = []
    movers = reachable(unit, set(unit.guards)) - reachable(unit, {START, tail}) if unit.guards else set()
    for name, fn in unit.functions.items():
        if name in (START, RETURN) and unit.cut(name) or name in movers:
            continue  # (the table movers' guards are the interpreter's alone: the harness has no loop)
        fns.append(fn)
    if start == "kernel":
        assert mt is not None
        moved = ("mc_old = pmc->old_addr; mc_new = pmc->new_addr; mc_reached = 1; return 0;" if shape == "pmc"
                 else f"mc_old = {mt.params[1]}; mc_new = {mt.params[3]}; mc_reached = 1; return 0;")
        head = _renamed(unit.functions[START], "mc_head", list(mt.head) + _statements(moved))
        cursor = "pmc->old_addr = mc_cursor;" if shape == "pmc" else f"{mt.params[1]} = mc_cursor;"
        tail_fn = _renamed(unit.functions[RETURN], "mc_tail_body",
                           list(mt.prefix) + _undefined(mt.decls) + _statements(cursor) + list(mt.tail))
        fns += [head, tail_fn]
    defs = [gen.visit(fn) for fn in fns]
    protos = [gen.visit(fn.decl) + ";" for fn in fns]
    text = "\n".join(defs)
    # kernel types the unit declares locals of but never reads: complete, empty stand-ins
    types = sorted(set(re.findall(r"\b([a-z_][a-z0-9_]*_t|u8|u16|u32|u64|s8|s16|s32|s64)\b", text)))
    structs = sorted(set(re.findall(r"\bstruct\s+([A-Za-z_]\w*)", text)) -
                     {"mm_struct", "vm_area_struct", "pagetable_move_control", "vma_iterator"})
    stubs = [f"struct {s} {{ int mc_unused; }};" for s in structs]
    stubs += [f"typedef struct mc_{t} {{ int mc_unused; }} {t};" for t in types]
    macros = [f"#define {n}(...) ((void)0)" for n in NO_EFFECT]
    macros += [f"#define {n}(...) 0" for n in KNOWN_FALSE]
    macros += [f"#define {n}(...) 1" for n in KNOWN_TRUE]
    macros += [f"#define {n}(v) ((v)->mc_uffd)" for n in VMA_FLAGS]
    macros += [f"#define {n}(x) mc_warn(!!(x))" for n in WARNINGS]
    call = "(&(struct pagetable_move_control){ .old = &mc_vmas[ov], .new = &mc_vmas[nv], .old_addr = old_addr, " \
           ".old_end = old_addr + len, .new_addr = new_addr, .len_in = len, .for_stack = stack })"
    if start == "kernel":
        assert mt is not None
        if shape == "pmc":
            run_head = f"mc_head_ret = mc_head{call}"
            run_tail = f"mc_tail_body{call}"
        else:
            args = ["&mc_vmas[ov]", "old_addr", "&mc_vmas[nv]", "new_addr", "len", "0", "stack"][:len(mt.params)]
            run_head = f"mc_head_ret = mc_head({', '.join(args)})"
            run_tail = f"mc_tail_body({', '.join(args)})"
        tail_expr = f"(mc_cursor = (c), {run_tail})"
    elif shape == "pmc":
        run_head = (f"do {{ struct pagetable_move_control *p = {call}; {START}(p); mc_old = p->old_addr; "
                    "mc_new = p->new_addr; mc_reached = 1; } while (0)")
        tail_expr = (f"({PMC_RETURN}(&(struct pagetable_move_control){{ .old_addr = (c), .old_end = old_addr + len, "
                     ".len_in = len }))") if tail == PMC_RETURN else f"{RETURN}((c), old_addr + len, len)"
    else:
        run_head = (f"do {{ unsigned long o = old_addr, w = new_addr; {START}(&mc_vmas[ov], &o, &mc_vmas[nv], &w, "
                    "len, stack); mc_old = o; mc_new = w; mc_reached = 1; } while (0)")
        tail_expr = f"{RETURN}((c), old_addr + len, len)"
    head_lines = [f"#define MC_MAX {MAX_VMAS}", f"#define MC_PAGE_SHIFT {g.page_shift}",
                  f"#define MC_PUD_SHIFT {g.pud_shift}", _PRELUDE, *stubs, *macros,
                  "static unsigned long mc_cursor, mc_head_ret;", *protos, text]
    driver = _DRIVER.replace("MC_HEAD", run_head).replace("MC_TAIL(cursors[i])", tail_expr.replace("(c)", "(cursors[i])"))
    return "\n".join(head_lines) + "\n" + driver


@dataclass
class CrossCheck:
    """What the compiled C said about the states the interpreter ran: how many agreed, or why
    it did not run."""

    states: int = 0
    compiler: str = ""
    skipped: str = ""  # why it did not run (no compiler, a geometry it cannot compile for)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.skipped:
            return f"not cross-checked with a compiler: {self.skipped}"
        return (f"cross-checked with {self.compiler}: {self.states} states, the decision and the return value "
                "at each loop end as the interpreter runs them")


_BUILT: dict[str, str] = {}  # harness text hash -> binary (one build per harness per process)
_WORK: list[str] = []  # the build directories this process made, removed when it exits


def _clean() -> None:
    for work in _WORK:
        shutil.rmtree(work, ignore_errors=True)


def _build(source: str) -> str:
    key = hashlib.sha256(source.encode()).hexdigest()
    if key in _BUILT and os.path.exists(_BUILT[key]):
        return _BUILT[key]
    work = tempfile.mkdtemp(prefix="modelcheck-cc-")
    if not _WORK:
        atexit.register(_clean)
    _WORK.append(work)
    c, exe = Path(work, "harness.c"), Path(work, "harness")
    c.write_text(source)
    cc = compiler()
    assert cc is not None
    r = subprocess.run([cc, "-std=gnu11", "-O1", "-fwrapv", "-fno-strict-aliasing", "-w", "-o", str(exe), str(c)],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        _WORK.remove(work)  # kept, for the message to name
        first = next((ln for ln in r.stderr.splitlines() if "error" in ln), r.stderr.strip()[:200])
        raise InternalError(f"the compiler cannot build the cross-check harness of this C ({first}); "
                            f"harness: {c}")
    _BUILT[key] = str(exe)
    return str(exe)


def _cursors(s: Scenario, old_c: int) -> list[int]:
    g, mv = s.geometry, s.move
    pmd = g.pmd_size
    out = {mv.old_addr, mv.old_end, old_c, mv.old_addr & g.pmd_mask, mv.old_end - g.page_size,
           (mv.old_addr & g.pmd_mask) + pmd}
    return sorted(c & g.word_mask for c in out)[:16]


def _line(s: Scenario, level: str, cursors: list[int]) -> str:
    g, mv = s.geometry, s.move
    shift = g.pmd_shift if level == "pmd" else g.pud_shift
    vmas = " ".join(f"{v.start:x} {v.end:x} {int(v.uffd_wp)}" for v in s.vmas)
    return (f"{shift} {g.pud_shift} {len(s.vmas)} {vmas} {mv.old_vma} {mv.new_vma} {mv.old_addr:x} "
            f"{mv.new_addr:x} {mv.len:x} {int(mv.for_stack)} {len(cursors)} " + " ".join(f"{c:x}" for c in cursors))


def _model(s: Scenario, v: Variant, level: str) -> tuple:
    """The interpreter's decision on ``s``: (moved, old, new, warn, oops, the value of an early
    return or None)."""
    k = ConcreteOps(s.geometry, s.spans, checked=True, uffd=s.uffd)
    mv = s.move
    d = v.decide(k, Call(k.vma(mv.old_vma), k.vma(mv.new_vma), k.word(mv.old_addr), k.word(mv.new_addr),
                         k.word(mv.len), mv.for_stack), level)
    value = next((int(x) for _, c, x in d.early if c), None)  # the first early return taken, if one is
    return (int(bool(d.realign)), int(d.old_addr), int(d.new_addr), int(bool(d.warn)), int(bool(d.oops)),
            value)


def crosscheck(unit: CUnit, v: Variant, g: Geometry, level: str, states: list[Scenario]) -> CrossCheck:
    """Run ``states`` through the compiled C and through ``v`` (the interpreter on ``unit``); a
    difference raises InternalError naming the state."""
    import time
    why = _why_not(g)
    if why is not None:
        return CrossCheck(skipped=why)
    t0 = time.perf_counter()
    exe = _build(harness_source(unit, g))
    states = [s for s in states if len(s.vmas) <= MAX_VMAS]
    lines, expected = [], []
    for s in states:
        moved, old, new, warn, oops, early = _model(s, v, level)
        cursors = _cursors(s, old)
        k = ConcreteOps(g, s.spans, checked=True)
        # (after an early return there is no loop end: its value is compared instead of the tail's)
        tails = None if early is not None else [
            int(v.progress(k, k.word(c), k.word(s.move.old_end), k.word(s.move.len))) for c in cursors]
        lines.append(_line(s, level, cursors))
        expected.append((moved, old, new, warn, oops, int(early is not None), tails, early or 0))
    r = subprocess.run([exe], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=300)
    got = r.stdout.splitlines()
    if r.returncode != 0 or len(got) != len(states):
        raise InternalError(f"the compiled cross-check stopped after {len(got)} of {len(states)} states "
                            f"(exit {r.returncode})")
    for s, want, out in zip(states, expected, got):
        f = out.split()
        moved, old, new, warn, oops, early = int(f[0]), int(f[1], 16), int(f[2], 16), int(f[3]), int(f[4]), int(f[5])
        value = int(f[6], 16)
        if oops or want[4]:
            if bool(oops) != bool(want[4]):
                raise _differs(s, "a NULL dereference", want[4], oops)
            continue  # C stops at the fault; the model reads 0 there and goes on
        # (after an early return the cursors are no decision: nothing moves; its value is compared)
        for what, a, b in (("an early return", want[5], early), ("a WARN_ON_ONCE()", want[3], warn),
                           *([] if early else [("the decision", want[:3], (moved, old, new))])):
            if a != b:
                raise _differs(s, what, a, b)
        if early:
            if value != want[7]:
                raise _differs(s, "the value of its early return", hex(want[7]), hex(value))
            continue
        tails = [None if x == "oops" else int(x, 16) for x in f[7:]]
        if tails != want[6]:
            raise _differs(s, "the return value at the cursors " + ", ".join(hex(c) for c in _cursors(s, want[1])),
                           [hex(x) for x in want[6]], [hex(x) if x is not None else "oops" for x in tails])
    return CrossCheck(states=len(states), compiler=Path(compiler() or "cc").name, seconds=time.perf_counter() - t0)


def second_opinion(v: Variant, g: Geometry, level: str, seen: list[Scenario]) -> str:
    """The line a command prints for a variant from C (``v.source``): ``crosscheck`` on the
    counterexamples it has ``seen`` and CROSSCHECK_STATES random states of ``g``."""
    return crosscheck(v.source, v, g, level, list(seen) + states_for(g, CROSSCHECK_STATES)).line()


def _differs(s: Scenario, what: str, model: Any, compiled: Any) -> InternalError:
    return InternalError(f"the interpreter and the compiled C differ on {what}: the model says {model}, "
                         f"the compiled C {compiled}, on this state:\n{s.dumps()}")


def states_for(g: Geometry, count: int, seed: int = 0) -> list[Scenario]:
    """``count`` random states at the realignment's edges on ``g``: one to four VMAs near one or
    two PMD (or PUD) boundaries, mremap moves that start at a VMA's start or near it, mutually
    aligned or not, and exec stack moves."""
    rng = random.Random(seed)
    out: list[Scenario] = []
    page, pmd, pud = g.page_size, g.pmd_size, g.pud_size
    lo, hi = g.mmap_min_addr, g.task_size
    tries = 0
    while len(out) < count and tries < count * 50:
        tries += 1
        unit = rng.choice([pmd, pmd, pud])
        base = rng.randrange(max(lo, unit), max(lo, unit) + 64 * unit, unit) if hi > 70 * unit else \
            rng.randrange(lo, hi, page) // unit * unit
        near = lambda: base + rng.choice([-1, 0, 1, 2]) * unit + rng.choice(  # noqa: E731
            [0, page, unit - page, rng.randrange(0, unit, page), -page])
        points = sorted({max(lo, min(hi, near())) for _ in range(rng.randint(2, 8))})
        if len(points) < 2:
            continue
        vmas = [Vma(a, b, rng.random() < 0.7, uffd_wp=rng.random() < 0.2) for a, b in zip(points[::2], points[1::2]) if a < b]
        if not vmas:
            continue
        try:
            i = rng.randrange(len(vmas))
            src = vmas[i]
            if rng.random() < 0.15:  # an exec stack move
                shift = rng.choice([pmd, pud, page * rng.randint(1, 16)])
                if src.start < lo + shift:
                    continue
                top = Vma(src.start - shift, src.end, src.populated)
                vmas[i] = top
                if i > 0 and vmas[i - 1].end > top.start:
                    continue
                s = Scenario(g, tuple(vmas), Move(i, i, src.start, top.start, src.end - src.start, True))
            else:
                j = rng.randrange(len(vmas))
                old = src.start if rng.random() < 0.6 else rng.randrange(src.start, src.end, page)
                length = rng.choice([page, pmd - (old % pmd) or pmd, pmd, rng.randrange(page, 4 * pmd, page)])
                length = min(length, src.end - old)
                dst = vmas[j]
                new = dst.start if rng.random() < 0.5 else rng.randrange(dst.start, dst.end, page)
                if rng.random() < 0.6:
                    new = new - new % pmd + old % pmd
                s = Scenario(g, tuple(vmas), Move(i, j, old, new, length, False))
        except (InputError, ValueError):
            continue
        out.append(s)
    return out
