"""Cross-validation: the Z3 encoding against the concrete simulator.

Pointwise, on many random scenarios of the toy geometries (where PMD and PUD effects are a few
pages apart): wherever the encoding's assumption holds, its violation condition is satisfiable
exactly when the simulator finds the property violated (return-value: the exact part implies a
violation, and every violation satisfies the exact or the over-approximate part).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from modelcheck.model.semantics import evaluate
from modelcheck.checks import PROPERTIES
from modelcheck.model.variants import VARIANTS, get_variant

from common.crossval import symbolic_verdicts
from common.strategies import scenarios

PIDS = list(PROPERTIES)


def agree(s, vid, level="pmd"):
    concrete = evaluate(s, get_variant(vid), level)
    symbolic = symbolic_verdicts(s, get_variant(vid), PIDS, level)
    for pid in PIDS:
        violated = concrete.properties[pid] == "violated"
        inside, exact, over = symbolic[pid]
        if not inside:
            continue
        if pid == "return-value":
            assert not exact or violated, (vid, pid, s.dumps())
            assert not violated or exact or over, (vid, pid, s.dumps())
        else:
            assert exact == violated, (vid, pid, level, concrete.details.get(pid), s.dumps())


@pytest.mark.parametrize("geometry", ["toy-16", "toy-16-2level"])
@pytest.mark.parametrize("vid", ["v6.7", "always", "never", "v3", "rfc"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_pointwise(geometry, vid, data):
    agree(data.draw(scenarios(geometry)), vid)


@pytest.mark.slow
@pytest.mark.parametrize("geometry", ["toy-16", "toy-16-2level", "toy-8"])
@pytest.mark.parametrize("vid", list(VARIANTS))
@pytest.mark.parametrize("level", ["pmd", "pud"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_pointwise_all(geometry, vid, level, data):
    agree(data.draw(scenarios(geometry)), vid, level)
