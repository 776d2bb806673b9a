"""A multi-VMA mremap (6.17's remap_move()) is a sequence of move_page_tables() calls, one per
piece, each on the layout the pieces before it left.  The proofs cover it piece by piece: every
piece is a one-VMA mremap's call (check_prep_vma(), mremap_to(), move_vma()), so its state lies
in the set `check --reachable` searches, and a property that holds there for any number of VMAs
holds for every piece; the pieces' requests are disjoint, so no piece may touch another's pages.
Here the solver proves no-source-collateral and no-dest-clobber for linux-6.17 over that set,
and every piece of 60 random multi-VMA programs is shown to lie in it (the encoding's own
constraints, pinned to the piece's state, are satisfiable)."""

import z3

from modelcheck.model.geometry import get_geometry
from modelcheck.model.variants import get_variant
from modelcheck.runs.differential import random_programs
from modelcheck.solver.encoding import SymbolicState
from modelcheck.solver.search import check
from modelcheck.userspace.recipe import run_calls
from tests.common.crossval import pin


def test_every_piece_lies_where_the_reachable_proofs_look():
    pieces = [p for _, g, calls in random_programs(60, 11) for r in run_calls(g, calls, True) for p in r.pieces]
    assert len(pieces) >= 120
    for p in pieces:
        st = SymbolicState(p.geometry, len(p.vmas))
        solver = z3.Solver(ctx=st.ctx)
        solver.add(*st.constraints, *pin(st, p), st.exec_reachable(True))
        assert solver.check() == z3.sat, p.dumps()


def test_no_collateral_for_every_piece_on_6_17():
    v = get_variant("linux-6.17")
    for pid in ("no-source-collateral", "no-dest-clobber"):
        r = check(v, pid, get_geometry("x86_64-4level"), reachable=True)
        assert r.verdict == "holds" and r.unbounded, (pid, r.verdict)
