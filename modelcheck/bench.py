"""Benchmarks: how fast the checker is, how its cost grows, which encoding is fastest, and how it
compares with explicit enumeration.

    python -m modelcheck.bench [SECTION ...] [--out DIR] [--repeat R] [--quick]

Sections (default: all): ``matrix`` (the main job, whole process), ``checks`` (every built-in
check at N = 16 VMAs on x86_64-4level), ``vmas`` (cost against the VMA bound N = 2 .. 64),
``words`` (against the word size, 16 .. 64 bits), ``encodings`` (the choices of
the fields of ``modelcheck.settings.Settings``, one at a time, and bit-vectors
against integers), ``enumeration`` (Z3 against the concrete simulator run on every state of toy
geometries).  Each timing is the median of ``--repeat`` runs in this one process, so machine
noise cancels in the ratios.  Results go to DIR/bench.json and DIR/bench.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import z3

from modelcheck.solver import search
from modelcheck.solver.encoding import BV_ORDER, BvOps, SymbolicState, call_rules, new_context, vma_rules, violation_of
from modelcheck.enumeration import scenarios
from modelcheck.model.geometry import Geometry, get_geometry
from modelcheck.solver.search import CHECKS, check
from modelcheck.model.semantics import evaluate
from modelcheck.settings import DEFAULT, Settings
from modelcheck.checks import PROPERTIES
from modelcheck.model.variants import VARIANTS, Call, get_variant

SECTIONS = ("startup", "matrix", "checks", "vmas", "unbounded", "words", "encodings", "enumeration", "layouts",
            "review")
X86 = "x86_64-4level"
#: the checks whose cost is followed as N and the word size grow: the merged code's proofs and
#: missed-optimization, and v3's refuted no-source-collateral
FOLLOWED = [("v6.15", p) for p in CHECKS] + [("v3", "no-source-collateral")]
TARGET_CHECK_SECONDS = 0.2
TARGET_MATRIX_SECONDS = 30.0
#: `modelcheck --help` may take at most this many times `python -c "import z3"`
TARGET_STARTUP_RATIO = 2.5
#: seconds `modelcheck review --variant ID` may take on 2 cores
TARGET_REVIEW = 10.0


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rlimit_for(vmas: int) -> int:
    """The default resource limit, grown with N² past the default bound (a query's size grows so)."""
    return search.DEFAULT_RLIMIT * max(1, (vmas * vmas) // (search.DEFAULT_VMAS * search.DEFAULT_VMAS))


def _timed_check(vid: str, pid: str, g: Geometry, vmas: int, repeat: int) -> dict:
    runs = [check(get_variant(vid), pid, g, vmas=vmas, rlimit=rlimit_for(vmas), extend=False) for _ in range(repeat)]
    return {"variant": vid, "property": pid, "geometry": g.name, "vmas": vmas, "verdict": runs[0].verdict,
            "rlimit": rlimit_for(vmas), "reason": runs[0].reason,
            "seconds": _median([r.seconds for r in runs]), "solver_seconds": _median([r.solver_seconds for r in runs])}


# --- sections ---------------------------------------------------------------------------------

def bench_startup(repeat: int, quick: bool) -> dict:
    """`modelcheck --help` against `python -c "import z3"`, each a fresh process (bytecode
    compiled first, so neither pays for compiling), alternating so that both see the same machine;
    the median of 5 runs each (3 with --quick) and their ratio.  The CLI loads the solver, the
    simulator and the drawing libraries only in the commands that use them."""
    import compileall
    compileall.compile_dir(str(Path(__file__).resolve().parent), quiet=1)
    commands = {"help": [sys.executable, "-m", "modelcheck", "--help"], "import_z3": [sys.executable, "-c", "import z3"]}
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(3 if quick else 5):
        for name, cmd in commands.items():
            t = time.perf_counter()
            done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - t)
            if done.returncode:
                raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}")
    help_s, z3_s = _median(times["help"]), _median(times["import_z3"])
    z3_loaded = subprocess.run([sys.executable, "-c", "import sys, modelcheck.cli; print('z3' in sys.modules)"],
                               capture_output=True, text=True).stdout.strip() == "True"
    _log(f"startup: --help {help_s:.3f} s, import z3 {z3_s:.3f} s ({help_s / z3_s:.2f}x); z3 loaded by the CLI: {z3_loaded}")
    return {"help_seconds": help_s, "import_z3_seconds": z3_s, "ratio": help_s / z3_s, "runs": times,
            "target_ratio": TARGET_STARTUP_RATIO, "cli_imports_z3": z3_loaded}


def bench_matrix(repeat: int, quick: bool) -> dict:
    """The main job as a user runs it: ``modelcheck matrix`` in a fresh process, pictures included."""
    walls = []
    for _ in range(1 if quick else repeat):
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "modelcheck", "matrix", "--out", out],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t)
        if done.returncode != 0:
            raise RuntimeError(f"modelcheck matrix exited {done.returncode}")
        _log(f"matrix: {walls[-1]:.1f} s")
    return {"wall_seconds": walls, "median": _median(walls), "jobs": os.cpu_count(),
            "target": TARGET_MATRIX_SECONDS}


#: vm.max_map_count's default (DEFAULT_MAX_MAP_COUNT, include/linux/mm.h): the most VMAs a process has
MAX_MAP_COUNT = 65530
TARGET_LAYOUT_SECONDS = 2.0


def many_vmas_scenario(n: int, near: bool = False) -> dict:
    """A counterexample (v3 sweeps its source's first PMD) in a process with ``n`` VMAs: one-page
    mappings every other page below it, as a JSON scenario with names, a claim and hex numbers,
    as `check --out` writes one.  With ``near`` the move lies just above them, in the same PUD
    slot (the tables the move can see then count every one of them); else far above."""
    base = 0x30000000 if near else 0x7F0000000000
    vmas = [{"start": hex(0x10000000 + 0x2000 * i), "end": hex(0x10001000 + 0x2000 * i), "populated": True,
             "name": f"lib{i}.so"} for i in range(n - 3)]
    vmas += [{"start": hex(base + 0x10000), "end": hex(base + 0x11000), "populated": False},
             {"start": hex(base + 0x201000), "end": hex(base + 0x400000), "populated": True, "name": "src"},
             {"start": hex(base + 0x401000), "end": hex(base + 0x600000), "populated": False, "name": "dst"}]
    return {"schema": 1, "geometry": X86, "vmas": vmas,
            "move": {"old_vma": n - 2, "new_vma": n - 1, "old_addr": hex(base + 0x3FF000),
                     "new_addr": hex(base + 0x5FF000), "len": "0x1000", "for_stack": False, "stop_at": None},
            "claim": {"variant": "v3", "property": "no-source-collateral", "level": "pmd"}}


def bench_layouts(repeat: int, quick: bool) -> dict:
    """`modelcheck eval` (every built-in variant) and `modelcheck replay` on a scenario of up to
    vm.max_map_count VMAs, each a fresh process as a user runs it."""
    rows = []
    sizes = [3000, MAX_MAP_COUNT] if quick else [1000, 3000, 10000, 30000, MAX_MAP_COUNT]
    for n, near in [(n, False) for n in sizes] + [(MAX_MAP_COUNT, True)]:
        with tempfile.TemporaryDirectory() as d:
            f = Path(d) / "many.json"
            f.write_text(json.dumps(many_vmas_scenario(n, near)), encoding="utf-8")
            row: dict[str, Any] = {"vmas": n, "near": near}
            for command, ok in (("eval", (1,)), ("replay", (1,))):
                walls = []
                for _ in range(1 if quick else repeat):
                    t = time.perf_counter()
                    done = subprocess.run([sys.executable, "-m", "modelcheck", command, str(f)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                    walls.append(time.perf_counter() - t)
                    if done.returncode not in ok:
                        raise RuntimeError(f"modelcheck {command} exited {done.returncode}: {done.stderr}")
                row[f"{command}_seconds"] = _median(walls)
            _log(f"layouts: {n} VMAs{' just below the move' if near else ''}: eval {row['eval_seconds']:.2f} s, "
                 f"replay {row['replay_seconds']:.2f} s")
            rows.append(row)
    return {"rows": rows, "target": TARGET_LAYOUT_SECONDS}


def bench_checks(repeat: int, quick: bool) -> dict:
    """Every built-in variant × check at N = 16 on x86_64-4level."""
    g = get_geometry(X86)
    rows = []
    for vid in VARIANTS:
        for pid in CHECKS:
            rows.append(_timed_check(vid, pid, g, 16, 1 if quick else repeat))
            _log(f"checks: {vid} {pid} {rows[-1]['verdict']} {rows[-1]['solver_seconds']:.3f} s")
    solver = [r["solver_seconds"] for r in rows]
    return {"vmas": 16, "geometry": X86, "rows": rows, "median_solver_seconds": _median(solver),
            "max_solver_seconds": max(solver), "within_target": sum(x <= TARGET_CHECK_SECONDS for x in solver),
            "target": TARGET_CHECK_SECONDS}


def _growth(xs: list[float], ys: list[float]) -> float:
    """The least-squares slope of log y against log x: y ~ x^slope."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-4)) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def bench_vmas(repeat: int, quick: bool) -> dict:
    """Solver time against the VMA bound N for the FOLLOWED checks on x86_64-4level."""
    g = get_geometry(X86)
    ns = [2, 4, 8, 16] if quick else [2, 4, 8, 16, 32, 64]
    series = {}
    for vid, pid in FOLLOWED:
        pts = []
        for n in ns:
            pts.append(_timed_check(vid, pid, g, n, 1 if quick or n > 16 else repeat))
            _log(f"vmas: {vid} {pid} N={n} {pts[-1]['solver_seconds']:.3f} s")
        series[f"{vid} {pid}"] = pts
    total = [sum(s[i]["solver_seconds"] for s in series.values()) for i in range(len(ns))]
    tail = [i for i, n in enumerate(ns) if n >= 8]
    return {"vmas": ns, "series": series, "total_solver_seconds": total,
            "growth_exponent": _growth([ns[i] for i in tail], [total[i] for i in tail]) if len(tail) > 1 else None}


def bench_unbounded(repeat: int, quick: bool) -> dict:
    """Every built-in check on x86_64-4level as `check` runs it: searched up to its cutoff, so
    that a holds covers any number of VMAs; solver time, VMAs searched, and whether it is
    unbounded.  CBMC is not run (there is no harness generator for it yet): its figures at 16, 32
    and 64 VMAs (``CBMC_FIGURES``) are drawn beside the bounded curve as a reference."""
    import shutil
    g = get_geometry(X86)
    pairs = [(vid, pid) for vid in (["v4", "v6.15"] if quick else list(VARIANTS)) for pid in CHECKS]
    # rounds over every check rather than repeats of one: a slow spell of the machine then
    # spoils one run of many checks instead of every run of a few
    runs: dict[tuple[str, str], list] = {p: [] for p in pairs}
    for _ in range(1 if quick else repeat):
        for vid, pid in pairs:
            runs[vid, pid].append(check(get_variant(vid), pid, g))
    rows = []
    for (vid, pid), done in runs.items():
        r = done[0]
        rows.append({"variant": vid, "property": pid, "verdict": r.verdict, "unbounded": r.unbounded,
                     "vmas_searched": r.vmas_bound, "cutoff": r.cutoff.vmas if r.cutoff else None,
                     "solver_seconds": _median([x.solver_seconds for x in done]),
                     "seconds": _median([x.seconds for x in done])})
        _log(f"unbounded: {vid} {pid} {r.verdict} up to {r.vmas_bound}: {rows[-1]['solver_seconds']:.3f} s")
    # the kernel profiles' no-warn among reachable states: the move, its undo and the uffd rules
    from modelcheck.model.variants import PROFILES
    profiles = []
    for pid_ in (["linux-6.17"] if quick else list(PROFILES)):
        done = [check(get_variant(pid_), "no-warn", g, reachable=True) for _ in range(1 if quick else repeat)]
        r = done[0]
        profiles.append({"profile": pid_, "property": "no-warn", "reachable": True, "verdict": r.verdict,
                         "unbounded": r.unbounded, "vmas_searched": r.vmas_bound,
                         "solver_seconds": _median([x.solver_seconds for x in done]),
                         "seconds": _median([x.seconds for x in done])})
        _log(f"unbounded: {pid_} no-warn (reachable) {r.verdict}: {profiles[-1]['seconds']:.3f} s")
    holds = [x for x in rows if x["verdict"] == "holds"]
    return {"rows": rows, "profiles": profiles, "target": TARGET_CHECK_SECONDS,
            "holds_unbounded": sum(x["unbounded"] for x in holds), "holds": len(holds),
            "max_holds_solver_seconds": max((x["solver_seconds"] for x in holds), default=0.0),
            "median_holds_solver_seconds": _median([x["solver_seconds"] for x in holds]) if holds else 0.0,
            "cbmc": "not run (no harness generator); "
                    + (f"installed at {shutil.which('cbmc')}" if shutil.which("cbmc") else "not installed")
                    + "; reference figures " + ", ".join(f"{n} VMAs {t} s" for n, t in CBMC_FIGURES.items())}


def word_geometry(w: int) -> Geometry:
    """A 4-level LP64-shaped geometry with ``w``-bit words: 4K pages, 2M PMDs and 1G PUDs where
    the word allows, user space the lower three quarters."""
    page, pmd, pud = (12, 21, 30) if w >= 40 else (8, 12, 16) if w >= 24 else (4, 7, 10)
    task = (3 << (w - 2)) - (1 << page)
    return get_geometry(f"custom:word={w},int={min(32, w // 2)},page={page},pmd={pmd},pud={pud},"
                        f"levels=4,task={hex(task)},min={hex(1 << page)}")


def bench_words(repeat: int, quick: bool) -> dict:
    """Solver time against the word size for the FOLLOWED checks with N = 4."""
    widths = [16, 32, 64] if quick else [16, 24, 32, 40, 48, 56, 64]
    series = {}
    for vid, pid in FOLLOWED:
        pts = []
        for w in widths:
            pts.append(_timed_check(vid, pid, word_geometry(w), 4, 1 if quick else repeat))
            _log(f"words: {vid} {pid} W={w} {pts[-1]['solver_seconds']:.3f} s")
        series[f"{vid} {pid}"] = pts
    total = [sum(s[i]["solver_seconds"] for s in series.values()) for i in range(len(widths))]
    return {"word_bits": widths, "vmas": 4, "series": series, "total_solver_seconds": total,
            "growth_exponent": _growth(widths, total)}


# --- encodings --------------------------------------------------------------------------------

def _workload(quick: bool) -> list[tuple[str, str, str, int]]:
    """Every built-in check on x86_64-4level with N = 4, and the merged code's at N = 16."""
    work = [(vid, pid, X86, 4) for vid in VARIANTS for pid in CHECKS]
    if not quick:
        work += [("v6.15", pid, X86, 16) for pid in CHECKS]
    return work


def _run_workload(work: list, repeat: int, settings: Settings = DEFAULT) -> tuple[float, float, list]:
    solver, wall, answers = [], [], None
    for _ in range(repeat):
        t = time.perf_counter()
        results = [check(get_variant(v), p, get_geometry(g), vmas=n, rlimit=rlimit_for(n), settings=settings)
                   for v, p, g, n in work]
        wall.append(time.perf_counter() - t)
        solver.append(sum(r.solver_seconds for r in results))
        answers = [(r.verdict, r.counterexample) for r in results]
    return _median(solver), _median(wall), answers


def _bv_collateral_queries(g: Geometry, vid: str, n: int, ctx: z3.Context) -> list[list]:
    """No-source-collateral for ``vid`` with n VMAs, with bit-vector words (BvOps): the
    encoding's own scenario rules (encoding.vma_rules(), call_rules()) on bit-vectors, plus what
    integers give for free (page alignment, words that do not wrap), and the same has_entries()
    as SymbolicState, written on bit-vectors."""
    W, page = g.word_bits, g.page_size
    bv = lambda name: z3.BitVec(name, W, ctx)  # noqa: E731
    starts, ends = [bv(f"s{i}") for i in range(n)], [bv(f"e{i}") for i in range(n)]
    populated = [z3.Bool(f"p{i}", ctx) for i in range(n)]
    old_vma, new_vma = z3.BitVec("ov", 8, ctx), z3.BitVec("nv", 8, ctx)
    old, new, length, stack = bv("old"), bv("new"), bv("len"), z3.Bool("stack", ctx)
    k = BvOps(g, starts, ends)
    c = []
    for x in starts + ends + [old, new, length]:
        c.append(x & (page - 1) == 0)
    for i in range(n):
        c += vma_rules(BV_ORDER, g, starts, ends, i, range(i))
    c += [z3.ULT(old_vma, n), z3.ULT(new_vma, n), z3.UGT(length, 0), z3.ULE(length, g.task_size),
          z3.ULE(old, g.task_size), z3.ULE(new, g.task_size)]
    new_end = new + length
    c += call_rules(BV_ORDER, k.vm_start, k.vm_end, old_vma, new_vma, old, new, length, stack)
    d = get_variant(vid).decide(k, Call(old_vma, new_vma, old, new, length, stack), "pmd")
    lo, hi = d.old_addr, old
    hits = []
    for i in range(n):
        first = z3.If(z3.And(stack, old_vma == i), old, starts[i])
        meets = z3.And(z3.ULT(first, hi), z3.ULT(lo, ends[i]), z3.ULT(lo, hi))
        inside = z3.And(z3.Not(stack), z3.Or(z3.UGE(first, new), z3.UGE(lo, new)),
                        z3.Or(z3.ULE(ends[i], new_end), z3.ULE(hi, new_end)))
        hits.append(z3.And(populated[i], meets, z3.Not(inside)))
    return [[*c, z3.Or(*hits), caller] for caller in (z3.Not(stack), stack)]


def _int_collateral_queries(g: Geometry, vid: str, n: int, ctx: z3.Context) -> list[list]:
    st = SymbolicState(g, n, ctx=ctx)
    v = violation_of(st, get_variant(vid), "no-source-collateral", "pmd")
    return [[*st.constraints, v.assumption, v.condition, caller, z3.Not(st.has_stop)]
            for caller in (z3.Not(st.for_stack), st.for_stack)]


def _solve_all(queries: list[list], rlimit: int, ctx: z3.Context) -> tuple[float, list[str]]:
    total, answers = 0.0, []
    for q in queries:
        s = search.new_solver(ctx)
        s.set("rlimit", rlimit)
        s.add(*q)
        t = time.perf_counter()
        answers.append(str(s.check()))
        total += time.perf_counter() - t
    return total, answers


def bench_bitvectors(repeat: int, quick: bool) -> dict:
    """Integer terms against bit-vectors: no-source-collateral, each variant, n = 1 .. 3 VMAs."""
    g = get_geometry(X86)
    rows = []
    for vid in (["v3", "v6.15"] if quick else list(VARIANTS)):
        for n in (1, 2, 3):
            row: dict[str, Any] = {"variant": vid, "vmas": n}
            for name, build in (("int", _int_collateral_queries), ("bitvector", _bv_collateral_queries)):
                times, answers = [], []
                for _ in range(1 if quick else repeat):
                    ctx = new_context()
                    secs, answers = _solve_all(build(g, vid, n, ctx), 4 * search.DEFAULT_RLIMIT, ctx)
                    times.append(secs)
                row[name] = _median(times)
                row[name + "_answers"] = answers
            row["agree"] = row["int_answers"] == row["bitvector_answers"]
            rows.append(row)
            _log(f"bitvectors: {vid} n={n} int {row['int']:.3f} s, bv {row['bitvector']:.3f} s")
    return {"rows": rows, "int_seconds": sum(r["int"] for r in rows),
            "bitvector_seconds": sum(r["bitvector"] for r in rows)}


#: one choice changed at a time from the default
def _choices() -> list[tuple[str, Settings]]:
    out = [("default", DEFAULT)]
    out += [(f"solver={k}", DEFAULT.replace(solver=k)) for k in search.SOLVERS if k != DEFAULT.solver]
    out.append((f"incremental={not DEFAULT.incremental}", DEFAULT.replace(incremental=not DEFAULT.incremental)))
    alternatives = {"sorted": ["pairwise", "adjacent"], "none": ["direct", "lookup"], "overlap": ["logic", "minmax"],
                    "named": ["named", "select"]}
    for key, values in alternatives.items():
        out += [(f"{key}={v}", DEFAULT.replace(**{key: v})) for v in values if v != getattr(DEFAULT, key)]
    out.append(("exact-first=all", DEFAULT.replace(exact_first=10**6)))
    return out


def bench_encodings(repeat: int, quick: bool) -> dict:
    work = _workload(quick)
    rows, reference = [], None
    for name, settings in _choices():
        solver, wall, answers = _run_workload(work, 1 if quick else repeat, settings)
        if reference is None:
            reference = answers
        rows.append({"choice": name, "solver_seconds": solver, "wall_seconds": wall,
                     "same_results": answers == reference,
                     "unknown": sum(v == "unknown" for v, _ in answers)})
        _log(f"encodings: {name}: solver {solver:.2f} s, wall {wall:.2f} s, same {answers == reference}")
    return {"workload": f"{len(work)} checks (every built-in check at N=4 on {X86}"
                        + ("" if quick else ", v6.15's at N=16") + ")",
            "defaults": {"solver": DEFAULT.solver, "incremental": DEFAULT.incremental,
                         "exact_first": DEFAULT.exact_first, **DEFAULT.encoding()},
            "rows": rows, "bitvectors": bench_bitvectors(repeat, quick)}


# --- enumeration ------------------------------------------------------------------------------

def toy_geometry(pages: int) -> Geometry:
    """A toy with ``pages`` pages of user space (4-byte pages, 2-page PMDs, 4-page PUDs, 16-bit words)."""
    return get_geometry(f"custom:word=16,int=8,page=2,pmd=3,pud=4,levels=4,task={hex(4 * (pages + 1))},min=0x4")


def _enumerate(g: Geometry, vid: str, vmas: int, budget: float) -> tuple[float | None, dict]:
    """Judge every state: the seconds it took (None past ``budget``) and the properties violated."""
    v = get_variant(vid)
    found: dict[str, bool] = {}
    t = time.perf_counter()
    for s in scenarios(g, vmas):
        for pid in evaluate(s, v).violated():
            found[pid] = True
        if time.perf_counter() - t > budget:
            return None, found
    return time.perf_counter() - t, found


def bench_enumeration(repeat: int, quick: bool) -> dict:
    """For v6.15 and v3 with up to 2 VMAs: every property by Z3 and by enumerating every state
    of toy geometries of growing size, until each passes the time budget."""
    budget = 10.0 if quick else 60.0
    rows = []
    for vid in ("v6.15", "v3"):
        pages, enum_done, z3_done = 4, True, True
        while enum_done or z3_done:
            g = toy_geometry(pages)
            row: dict[str, Any] = {"variant": vid, "pages": pages, "geometry": g.name}
            if z3_done:
                t = time.perf_counter()
                verdicts = {pid: check(get_variant(vid), pid, g, vmas=2).verdict for pid in PROPERTIES}
                row["z3_seconds"] = time.perf_counter() - t
                row["z3_violated"] = sorted(p for p, v in verdicts.items() if v == "violated")
                z3_done = row["z3_seconds"] <= budget and pages < 4096
            if enum_done:
                secs, found = _enumerate(g, vid, 2, budget)
                row["enumeration_seconds"] = secs
                row["enumeration_violated"] = sorted(found) if secs is not None else None
                enum_done = secs is not None
            if row.get("enumeration_seconds") and row.get("z3_seconds"):
                row["ratio"] = row["enumeration_seconds"] / row["z3_seconds"]
                row["agree"] = row["enumeration_violated"] == row["z3_violated"]
            rows.append(row)
            _log(f"enumeration: {vid} {pages} pages: z3 {row.get('z3_seconds')}, enumeration "
                 f"{row.get('enumeration_seconds')}")
            pages *= 2
    largest = {}
    for vid in ("v6.15", "v3"):
        mine = [r for r in rows if r["variant"] == vid]
        largest[vid] = {
            "z3": max((r["pages"] for r in mine if r.get("z3_seconds") is not None and r["z3_seconds"] <= budget),
                      default=None),
            "enumeration": max((r["pages"] for r in mine if r.get("enumeration_seconds") is not None), default=None)}
    return {"budget_seconds": budget, "vmas": 2, "rows": rows, "largest_within_budget": largest}


# --- output -----------------------------------------------------------------------------------

#: CBMC's solver seconds on v6.15 no-source-collateral by VMA bound, measured on this kind of
#: machine when the unbounded proofs were asked for (the reference the bounded curve is set against)
CBMC_FIGURES = {16: 3.9, 32: 6.6, 64: 44.0}


def _plot_unbounded(ax: Any, unbounded: dict | None, series: dict, xs: list) -> None:
    """Each followed check's proof for any number of VMAs, as a flat line across every N (what it
    covers), drawn in its bounded series' colour; its cutoff is marked where the line starts."""
    if not unbounded:
        return
    colours = {ln.get_label(): ln.get_color() for ln in ax.get_lines()}
    for row in unbounded["rows"]:
        name = f"{row['variant']} {row['property']}"
        if name not in series or not row["unbounded"]:
            continue
        t = max(row["solver_seconds"], 1e-4)
        ax.plot([row["vmas_searched"], xs[-1]], [t, t], linestyle="--", linewidth=0.8,
                color=colours.get(name, "black"))
        ax.plot([row["vmas_searched"]], [t], marker="|", markersize=8, color=colours.get(name, "black"))
    ax.plot([], [], linestyle="--", color="black", linewidth=0.8, label="any number of VMAs (from the cutoff |)")


def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("vmas", "words", "enumeration") if k in results]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, key in zip(axes[0], panels):
        r = results[key]
        if key in ("vmas", "words"):
            xs = r["vmas"] if key == "vmas" else r["word_bits"]
            for name, pts in r["series"].items():
                ax.plot(xs, [max(p["solver_seconds"], 1e-4) for p in pts], marker="o", linewidth=1, label=name)
            ax.plot(xs, [max(t, 1e-4) for t in r["total_solver_seconds"]], color="black", linewidth=2.5,
                    label="total")
            if key == "vmas":
                ax.set_xscale("log", base=2)
                ref = r["total_solver_seconds"][0]
                ax.plot(xs, [ref * (x / xs[0]) ** 2 for x in xs], linestyle=":", color="grey", label="~N²")
                _plot_unbounded(ax, results.get("unbounded"), r["series"], xs)
                ax.plot(list(CBMC_FIGURES), list(CBMC_FIGURES.values()), marker="x", color="red", linestyle="--",
                        label="CBMC, v6.15 no-source-collateral (reference figures, not run here)")
            ax.set_yscale("log")
            ax.set_xlabel("VMA bound N" if key == "vmas" else "word size (bits), N = 4")
            ax.set_ylabel("solver seconds (median)")
            ax.set_title("cost against N (x86_64-4level)" if key == "vmas" else "cost against word size")
            ax.legend(fontsize=6)
        else:
            for vid in ("v6.15", "v3"):
                rows = [x for x in r["rows"] if x["variant"] == vid]
                ax.plot([x["pages"] for x in rows if x.get("z3_seconds") is not None],
                        [x["z3_seconds"] for x in rows if x.get("z3_seconds") is not None], marker="o",
                        label=f"Z3 {vid}")
                done = [x for x in rows if x.get("enumeration_seconds") is not None]
                ax.plot([x["pages"] for x in done], [x["enumeration_seconds"] for x in done], marker="s",
                        linestyle="--", label=f"enumeration {vid}")
            ax.axhline(r["budget_seconds"], color="grey", linestyle=":", label="budget")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("pages of user space (toy geometry, up to 2 VMAs)")
            ax.set_ylabel("seconds, every property")
            ax.set_title("Z3 against explicit enumeration")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": "modelcheck"})
    plt.close(fig)


def bench_review(repeat: int, quick: bool) -> dict:
    """`modelcheck review --variant ID` on x86_64-4level as a user runs it (a fresh process, the
    fix search included), per built-in with C: rfc, v2 and v6.15 (rfc with --quick); the review
    alone (--no-fixes) beside it.  Target: each within TARGET_REVIEW seconds."""
    rows = []
    for vid in ("rfc",) if quick else ("rfc", "v2", "v6.15"):
        row: dict[str, Any] = {"variant": vid}
        for label, extra in (("seconds", []), ("no_fixes_seconds", ["--no-fixes"])):
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "modelcheck", "review", "--variant", vid, "--json", *extra],
                                  capture_output=True, text=True)
            row[label] = time.perf_counter() - t
            if done.returncode not in (0, 1):
                raise RuntimeError(f"modelcheck review --variant {vid} exited {done.returncode}")
            if not extra:
                out = json.loads(done.stdout)
                row["conditions"], row["edits_tried"] = len(out["conditions"]), out["edits_tried"]
                row["fixes"] = len(out["fixes"])
        _log(f"review {vid}: {row['seconds']:.1f} s ({row['no_fixes_seconds']:.1f} s without the fix search), "
             f"{row['conditions']} conditions, {row['edits_tried']} edits tried")
        rows.append(row)
    return {"rows": rows, "target": TARGET_REVIEW, "max_seconds": max(r["seconds"] for r in rows)}


RUNNERS: dict[str, Callable[[int, bool], dict]] = {
    "startup": bench_startup, "matrix": bench_matrix, "checks": bench_checks, "vmas": bench_vmas, "unbounded": bench_unbounded, "words": bench_words,
    "encodings": bench_encodings, "enumeration": bench_enumeration, "layouts": bench_layouts, "review": bench_review,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m modelcheck.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("sections", nargs="*", metavar="SECTION",
                    help=f"what to measure: {', '.join(SECTIONS)} (default: all)")
    ap.add_argument("--out", default="bench-out", help="directory for bench.json and bench.png")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is reported")
    ap.add_argument("--quick", action="store_true", help="fewer sizes and one run each (a smoke run)")
    args = ap.parse_args(argv)
    unknown = [x for x in args.sections if x not in SECTIONS]
    if unknown:
        ap.error(f"unknown section {unknown[0]!r} (known: {', '.join(SECTIONS)})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "z3": z3.get_version_string(),
                                           "cpus": os.cpu_count(), "platform": platform.platform()},
                               "command": " ".join(["python -m modelcheck.bench", *sys.argv[1:]]),
                               "date": time.strftime("%Y-%m-%d")}
    for section in args.sections or SECTIONS:
        t = time.perf_counter()
        results[section] = RUNNERS[section](args.repeat, args.quick)
        results[section]["section_seconds"] = time.perf_counter() - t
    (out / "bench.json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    plot(results, out / "bench.png")
    print(summary(results))
    print(f"wrote {out / 'bench.json'}, {out / 'bench.png'}")
    return 0


def summary(results: dict) -> str:
    lines = []
    if "review" in results:
        r = results["review"]
        lines.append("review (x86_64-4level, with the fix search): " + ", ".join(
            f"{x['variant']} {x['seconds']:.1f} s ({x['no_fixes_seconds']:.1f} s without)" for x in r["rows"])
            + f" (target {r['target']:.0f} s)")
    if "startup" in results:
        u = results["startup"]
        lines.append(f"startup: modelcheck --help {u['help_seconds']:.3f} s, import z3 {u['import_z3_seconds']:.3f} s: "
                     f"{u['ratio']:.2f}x (target {u['target_ratio']}x); the CLI imports z3: {u['cli_imports_z3']}")
    if "matrix" in results:
        m = results["matrix"]
        lines.append(f"matrix: {m['median']:.1f} s wall (target {m['target']:.0f} s, {m['jobs']} cores)")
    if "checks" in results:
        c = results["checks"]
        lines.append(f"checks at N=16: median solver {c['median_solver_seconds']:.3f} s, max "
                     f"{c['max_solver_seconds']:.3f} s, {c['within_target']}/{len(c['rows'])} within "
                     f"{c['target']} s")
    if "vmas" in results:
        v = results["vmas"]
        lines.append("solver seconds by N: " + ", ".join(f"{n}: {t:.2f}" for n, t in
                                                         zip(v["vmas"], v["total_solver_seconds"]))
                     + (f" (growth ~N^{v['growth_exponent']:.2f} for N >= 8)" if v["growth_exponent"] else ""))
    if "unbounded" in results:
        u = results["unbounded"]
        lines.append(f"checks for any number of VMAs: {u['holds_unbounded']}/{u['holds']} holds unbounded, solver "
                     f"median {u['median_holds_solver_seconds']:.3f} s, max {u['max_holds_solver_seconds']:.3f} s "
                     f"(target {u['target']} s); CBMC: {u['cbmc']}")
        if u.get("profiles"):
            lines.append("kernel profiles, no-warn among reachable states: " + ", ".join(
                f"{x['profile']} {x['verdict']}{' (any number of VMAs)' if x['unbounded'] else ''} "
                f"{x['seconds']:.2f} s" for x in u["profiles"]))
    if "words" in results:
        w = results["words"]
        lines.append("solver seconds by word size: " + ", ".join(f"{b}: {t:.2f}" for b, t in
                                                                 zip(w["word_bits"], w["total_solver_seconds"])))
    if "encodings" in results:
        e = results["encodings"]
        for r in e["rows"]:
            lines.append(f"  {r['choice']:<22} solver {r['solver_seconds']:7.2f} s  wall {r['wall_seconds']:7.2f} s"
                         f"  {'same results' if r['same_results'] else 'DIFFERENT results'}")
        b = e["bitvectors"]
        lines.append(f"  no-source-collateral, n=1..3: integers {b['int_seconds']:.2f} s, bit-vectors "
                     f"{b['bitvector_seconds']:.2f} s")
    if "layouts" in results:
        rows = results["layouts"]["rows"]
        lines.append("eval / replay wall seconds by VMAs: " + ", ".join(
            f"{r['vmas']}{' near the move' if r.get('near') else ''}: {r['eval_seconds']:.2f} / "
            f"{r['replay_seconds']:.2f}" for r in rows)
            + f" (target {results['layouts']['target']:.0f} s)")
    if "enumeration" in results:
        n = results["enumeration"]
        for vid, best in n["largest_within_budget"].items():
            lines.append(f"largest toy within {n['budget_seconds']:.0f} s for {vid}: Z3 {best['z3']} pages, "
                         f"enumeration {best['enumeration']} pages")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
