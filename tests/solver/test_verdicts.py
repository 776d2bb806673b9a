"""Every built-in variant's verdict per property, against the expectations in properties/variants.toml.

Each expectation there carries its reason (the minimal counterexample in a line, or why it holds).
The default tier checks the main job's geometries (x86-64, arm64 with 64K pages, i386 PAE); the slow
tier every other preset.
"""

import pytest

from modelcheck.model.geometry import PRESETS, get_geometry
from modelcheck.runs.matrix import DEFAULT_GEOMETRIES, run_matrix
from modelcheck.solver.search import CHECKS
from modelcheck.model.variants import VARIANTS


def _check_pins(results) -> None:
    wrong = []
    for r in results:
        want = VARIANTS[r.variant].expected_verdict(r.property, get_geometry(r.geometry))
        assert want is not None, f"no expected verdict for {r.variant} {r.property}"
        if r.verdict != want:
            wrong.append(f"{r.geometry} {r.variant} {r.property}: got {r.verdict}, expected {want} {r.reason}")
        if r.verdict == "violated":
            assert r.counterexample is not None and r.replay is not None
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("geometry", DEFAULT_GEOMETRIES)
def test_default_geometries(default_matrix, geometry):
    # the main job's own results (minimal counterexamples), shared with the gallery test
    results = [r for r in default_matrix if r.geometry == geometry]
    assert len(results) == len(VARIANTS) * len(CHECKS)
    _check_pins(results)


@pytest.mark.slow
@pytest.mark.parametrize("geometry", [g for g in PRESETS if not g.startswith("toy-") and g not in DEFAULT_GEOMETRIES])
def test_other_presets(geometry):
    _check_pins(run_matrix(list(VARIANTS), CHECKS, [geometry], jobs=2, minimal=False))


def test_never_is_vacuous():
    r = run_matrix(["never"], ["no-source-collateral"], ["x86_64-4level"])[0]
    assert r.verdict == "holds" and r.vacuous
    r = run_matrix(["v6.7"], ["no-source-collateral"], ["x86_64-4level"])[0]
    assert r.verdict == "holds" and not r.vacuous
