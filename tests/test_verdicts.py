"""Every built-in variant's verdict per property, against the expectations in properties/variants.toml.

Each expectation there carries its reason (the minimal counterexample in a line, or why it holds).
The default tier checks x86-64 and i386 PAE; the slow tier every other preset.
"""

import pytest

from modelcheck.geometry import PRESETS, get_geometry
from modelcheck.matrix import run_matrix
from modelcheck.search import CHECKS
from modelcheck.variants import VARIANTS


def _pin(geometry: str) -> None:
    g = get_geometry(geometry)
    results = run_matrix(list(VARIANTS), CHECKS, [geometry], jobs=2, minimal=False)
    wrong = []
    for r in results:
        want = VARIANTS[r.variant].expected_verdict(r.property, g)
        assert want is not None, f"no expected verdict for {r.variant} {r.property}"
        if r.verdict != want:
            wrong.append(f"{r.variant} {r.property}: got {r.verdict}, expected {want} {r.reason}")
        if r.verdict == "violated":
            assert r.counterexample is not None and r.replay is not None
    assert not wrong, "\n".join(wrong)


# 64-bit and 32-bit x86 in the default tier; the others (arm64's no-warn proofs take minutes) in the slow one
FAST = ["x86_64-4level", "i386-pae"]


@pytest.mark.parametrize("geometry", FAST)
def test_fast_geometries(geometry):
    _pin(geometry)


@pytest.mark.slow
@pytest.mark.parametrize("geometry", [g for g in PRESETS if not g.startswith("toy-") and g not in FAST])
def test_other_presets(geometry):
    _pin(geometry)


def test_never_is_vacuous():
    r = run_matrix(["never"], ["no-source-collateral"], ["x86_64-4level"])[0]
    assert r.verdict == "holds" and r.vacuous
    r = run_matrix(["v6.7"], ["no-source-collateral"], ["x86_64-4level"])[0]
    assert r.verdict == "holds" and not r.vacuous
