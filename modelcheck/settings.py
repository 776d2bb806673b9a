"""How the checker solves: one immutable value made once and passed down (no module state).

``check``, ``diff`` and the matrix take a ``Settings``; the search hands it to every symbolic
state it builds (the encoding choices) and to every solver it makes (the solver choices).  The
benchmark (``python -m modelcheck.bench encodings``) measures each alternative by making a
Settings with one field changed, ``DEFAULT.replace(solver="smt")``.  No z3 here: the CLI reads
the defaults without loading the solver.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["Settings", "DEFAULT", "DEFAULT_VMAS", "DEFAULT_RLIMIT", "DEFAULT_GEOMETRIES", "SOLVER_KINDS"]

#: the main job's geometries (`modelcheck matrix` without --geometries)
DEFAULT_GEOMETRIES = ["x86_64-4level", "arm64-64k-48", "i386-pae"]
DEFAULT_VMAS = 4
DEFAULT_RLIMIT = 50_000_000
#: the solvers ``solver`` and ``one_shot`` may name (modelcheck.solver.search.SOLVERS builds them)
SOLVER_KINDS = ("smt", "qflia", "pre+smt", "pre+qflia")


@dataclass(frozen=True)
class Settings:
    """Every choice of the search and the encoding, all exact (docs/performance.md measures them).

    Solving:
    ``rlimit``: Z3's resource limit per query (deterministic, unlike a time limit);
    ``seed``: Z3's random seeds;
    ``solver``: the solver of every query a counterexample is read from;
    ``incremental``: the queries about one state share a solver (the state's constraints added
    once, each condition in a push/pop scope) instead of one solver each;
    ``exact_first``: the search asks each number of VMAs up to this one by itself, then one query
    over any number up to the bound;
    ``shared_first_vmas``, ``shared_try_rlimit``, ``first_try_rlimit``: that query is first tried,
    on states of at most ``shared_first_vmas`` VMAs, on the solver shared by the goal's
    alternatives with ``shared_try_rlimit`` of the resource count; then on a fresh one-shot solver
    with ``first_try_rlimit``; then on a shared one with the whole ``rlimit`` (which of the first
    two is faster depends on the check and the state's size; fixed amounts, so a larger ``rlimit``
    does not make a failing try cost more);
    ``one_shot``: how queries whose model is never read are solved (that first try, an abstract
    refutation, vacuity): a tactic pipeline, whose first check in a fresh context is several times
    faster than that of the combined solver.

    Encoding:
    ``sorted``: "pairwise" (every pair of VMAs ordered) or "adjacent" (each after the one before);
    ``none``: how "find_vma_intersection() == NULL" is stated: "direct" (no VMA meets the range)
    or "lookup" (the lookup's result is -1);
    ``overlap``: "logic" (range overlap as a conjunction of comparisons) or "minmax";
    ``named``: "named" (the call's VMAs' bounds as variables of their own) or "select".
    """

    rlimit: int = DEFAULT_RLIMIT
    seed: int = 0
    solver: str = "qflia"
    incremental: bool = True
    exact_first: int = 1
    shared_first_vmas: int = 8
    shared_try_rlimit: int = 300_000
    first_try_rlimit: int = 50_000
    one_shot: str = "pre+smt"
    sorted: str = "pairwise"
    none: str = "direct"
    overlap: str = "logic"
    named: str = "named"

    def __post_init__(self) -> None:
        choices = {"solver": SOLVER_KINDS, "one_shot": SOLVER_KINDS, "sorted": ("pairwise", "adjacent"),
                   "none": ("direct", "lookup"), "overlap": ("logic", "minmax"), "named": ("named", "select")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"Settings.{name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}")

    def replace(self, **changes: object) -> "Settings":
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def encoding(self) -> dict[str, str]:
        """The encoding choices alone (what a symbolic state is built with)."""
        return {"sorted": self.sorted, "none": self.none, "overlap": self.overlap, "named": self.named}


DEFAULT = Settings()
