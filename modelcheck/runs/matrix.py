"""Run many checks (in parallel processes), save their counterexamples (scenario, graph, picture), build the gallery."""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from modelcheck.checks import CHECKS
from modelcheck.model.geometry import get_geometry
from modelcheck.solver.pool import parallel_map
from modelcheck.solver.search import CheckResult, check
from modelcheck.settings import DEFAULT_GEOMETRIES, DEFAULT_RLIMIT, DEFAULT_VMAS
from modelcheck.model.variants import VARIANTS, Variant, get_variant

__all__ = ["DEFAULT_GEOMETRIES", "Job", "run_matrix", "build_gallery"]

# variant, property, geometry, level, vmas, rlimit, minimal, where to write counterexamples, pictures too,
# reachable states only, a holds searched on to the cutoff, no search past the cutoff
Job = tuple[Variant, str, str, str, int, int, bool, "Path | None", bool, bool, bool, bool]


def _run(job: Job) -> CheckResult:
    variant, pid, gname, level, vmas, rlimit, minimal, out, pictures, reachable, extend, cap = job
    r = check(variant, pid, get_geometry(gname), level, vmas, rlimit, minimal, reachable, extend, cap=cap)
    if out is not None and r.counterexample is not None:
        from modelcheck.runs.gallery import write_entry  # networkx: imported where a counterexample is written
        write_entry(out, r, pictures)
    return r


def _picklable(jobs: list[Job]) -> bool:
    try:
        pickle.dumps({j[0].id: j[0] for j in jobs})
        return True
    except (pickle.PicklingError, AttributeError, TypeError):
        return False


def run_matrix(variants: Iterable[str], properties: Iterable[str], geometries: Iterable[str], level: str = "pmd",
               vmas: int = DEFAULT_VMAS, rlimit: int = DEFAULT_RLIMIT, jobs: int = 1,
               progress: Callable[[CheckResult, int, int], None] | None = None,
               minimal: bool = True, out: Path | None = None, pictures: bool = True,
               reachable: bool = False, extend: bool = True, cap: bool = False) -> list[CheckResult]:
    """Every variant × property × geometry; results in that order whatever ``jobs`` is.  With
    ``out``, each counterexample's files are written there (by the worker that found it).

    Workers are fresh processes (spawned: Z3 does not survive a fork of a process using it), so
    a user variant runs in parallel when its functions can be pickled (defined at module level),
    and serially otherwise.  Whatever ends the run early (an error, KeyboardInterrupt, the CLI's
    SIGTERM) terminates the workers before it propagates.
    """
    chosen = {v: get_variant(v) for v in variants}  # unknown ids fail here, before any work
    for g in geometries:
        get_geometry(g)
    todo: list[Job] = [(chosen[v], p, g, level, vmas, rlimit, minimal, out, pictures, reachable, extend, cap)
                       for g in geometries for v in variants for p in properties]
    return parallel_map(_run, todo, jobs if _picklable(todo) else 1, progress)


def build_gallery(out: Path, jobs: int = 1,
                  progress: Callable[["CheckResult", int, int], None] | None = None) -> list["CheckResult"]:
    """Rebuild ``out`` from scratch: run the default matrix, write every violated entry and the
    README.  The new gallery is built beside ``out`` and swapped in only when complete."""
    from modelcheck.runs.gallery import KEEP, gallery_readme  # networkx: only for the gallery

    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-new-"))
    try:
        results = run_matrix(list(VARIANTS), CHECKS, DEFAULT_GEOMETRIES, jobs=jobs, progress=progress, out=staging)
        if any(r.verdict == "unknown" for r in results):
            return results  # the caller reports it; the old gallery stays
        (staging / "README.md").write_text(gallery_readme(results, DEFAULT_GEOMETRIES), encoding="utf-8")
        for name in KEEP:  # written by other commands (modelcheck kernel report)
            if (out / name).is_file():
                shutil.copy2(out / name, staging / name)
        old = out.with_name(f".{out.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
        for r in results:  # the files' final place
            r.files = {k: str(out / Path(v).relative_to(staging)) for k, v in r.files.items()}
        return results
    finally:
        shutil.rmtree(staging, ignore_errors=True)
