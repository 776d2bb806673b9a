"""The front-end's fuzz tier (tests/common/front_fuzz.py): generated C, accepted or refused.

An accepted program's verdicts are cross-checked twice: the compiled C agrees with the
interpreter on random edge states and on the counterexample (front.compiled), and where the
checker says holds, no random state violates the property in the simulator.  A refused one is
refused at the line of the construct, in one FILE:LINE:COL line.  The default tier runs a dozen
programs, the slow tier two hundred.
"""

from __future__ import annotations

import pytest

from common.front_fuzz import Program, programs
from modelcheck.errors import InputError
from modelcheck.front import compiled
from modelcheck.front.cfront import load_c
from modelcheck.model.geometry import get_geometry
from modelcheck.model.semantics import evaluate
from modelcheck.model.simulate import TooLong
from modelcheck.checks import PROPERTIES
from modelcheck.solver.search import check

X86 = get_geometry("x86_64-4level")
STATES = compiled.states_for(X86, 300, seed=11)


def _run(p: Program, tmp_path, pid: str) -> None:
    path = tmp_path / f"{p.name}.c"
    path.write_text(p.text)
    try:
        v, linkage = load_c([str(path)], None)
    except InputError as e:
        assert p.refused, f"refused: {e.where}: {e.message}\n{p.text}"
        file, line, col = e.where.rsplit(":", 2)
        assert file == str(path) and any(x in p.text.splitlines()[int(line) - 1] for x in p.refused), \
            (e.where, e.message, p.refused)
        return
    assert not p.refused, f"accepted, though it has {p.refused!r}\n{p.text}"
    r = check(v, pid, X86, minimal=False)
    assert r.verdict in ("holds", "violated"), r.reason
    if compiled.compiler() is not None:
        compiled.crosscheck(linkage.unit, v, X86, "pmd", ([r.counterexample] if r.counterexample else []) + STATES)
    if r.verdict == "holds":
        for s in STATES:
            try:
                assert evaluate(s, v).properties[pid] == "holds", (p.name, pid, s.dumps())
            except TooLong:
                continue


PIDS = list(PROPERTIES)


@pytest.mark.parametrize("i", range(12))
def test_generated_c(i, tmp_path):
    p = programs(12, seed=1)[i]
    _run(p, tmp_path, PIDS[i % len(PIDS)])


@pytest.mark.slow
@pytest.mark.parametrize("i", range(200))
def test_generated_c_many(i, tmp_path):
    p = programs(200, seed=2)[i]
    _run(p, tmp_path, PIDS[i % len(PIDS)])
