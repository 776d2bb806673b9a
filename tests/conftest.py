"""Shared builders: scenarios from compact tuples, and the scenario files under tests/scenarios/."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelcheck.model.geometry import get_geometry
from modelcheck.model.scenario import Move, Scenario, Vma, load_scenario

SCENARIOS = Path(__file__).parent / "scenarios"


def build(geometry: str, vmas: list[tuple], old_vma: int, new_vma: int, old_addr: int, new_addr: int,
          length: int, for_stack: bool = False, stop_at: int | None = None) -> Scenario:
    """vmas: (start, end) or (start, end, populated)."""
    vs = tuple(Vma(v[0], v[1], v[2] if len(v) > 2 else True) for v in vmas)
    return Scenario(get_geometry(geometry), vs, Move(old_vma, new_vma, old_addr, new_addr, length, for_stack, stop_at))


def guarded_pmd(x: int) -> Scenario:
    """A one-page guard at PMD boundary x, the source VMA 256 KiB above it (old_addr = vm_start),
    a mutually aligned destination 16 MiB higher with nothing in its PMD below it."""
    return build("x86_64-4level", [(x, x + 0x1000), (x + 0x40000, x + 0x240000),
                                   (x + 0x1040000, x + 0x1240000, False)], 1, 2,
                 x + 0x40000, x + 0x1040000, 0x200000)


def scenario_file(name: str) -> Scenario:
    return load_scenario(str(SCENARIOS / f"{name}.json"))


@pytest.fixture
def load():
    return scenario_file


_MATRIX: list = []


@pytest.fixture(scope="session")
def default_matrix():
    """The main job's checks (every built-in variant × property on the default geometries, minimal
    counterexamples) run once per session: the verdict pins and the gallery test share them."""
    if not _MATRIX:
        from modelcheck.runs.matrix import DEFAULT_GEOMETRIES, run_matrix
        from modelcheck.solver.search import CHECKS
        from modelcheck.model.variants import VARIANTS
        _MATRIX.extend(run_matrix(list(VARIANTS), CHECKS, DEFAULT_GEOMETRIES, jobs=2))
    return _MATRIX
