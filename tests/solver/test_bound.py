"""The VMA bound (modelcheck.solver.search's docstring): N + 2 VMAs find no verdict that N missed."""

import pytest

from modelcheck.model.geometry import get_geometry
from modelcheck.solver.search import CHECKS, DEFAULT_VMAS, check
from modelcheck.model.variants import VARIANTS, get_variant


@pytest.mark.slow
@pytest.mark.parametrize("geometry", ["x86_64-4level", "i386-pae", "toy-16"])
@pytest.mark.parametrize("vid", list(VARIANTS))
def test_bound(geometry, vid):
    g = get_geometry(geometry)
    for pid in CHECKS:
        small = check(get_variant(vid), pid, g, vmas=DEFAULT_VMAS, minimal=False)
        large = check(get_variant(vid), pid, g, vmas=DEFAULT_VMAS + 2, minimal=False)
        assert small.verdict == large.verdict, (vid, pid, small.verdict, large.verdict,
                                                large.counterexample and large.counterexample.dumps())
