"""The table of C constructs (modelcheck.front.cinterp.CONSTRUCTS) holds: each row's example, put at
the top of v6.15's can_align_down(), is refused at its line when the row says refused, and when it
says exact it loads, runs compiled as interpreted (front.compiled) and, where the row says so, is
proved to leave v6.15's decisions as they are."""

from __future__ import annotations

import pytest

from modelcheck.errors import InputError
from modelcheck.front import compiled
from modelcheck.front.cfront import builtin_c, load_c
from modelcheck.front.cinterp import CONSTRUCTS
from modelcheck.model.geometry import get_geometry
from modelcheck.model.variants import get_variant
from modelcheck.solver.search import prove_same

X86 = get_geometry("x86_64-4level")
ANCHOR = "\tunsigned long down = addr & mask;\n"
STATES = compiled.states_for(X86, 300, seed=5)


@pytest.mark.parametrize("row", CONSTRUCTS, ids=[c.construct for c in CONSTRUCTS])
def test_each_construct_is_run_exactly_or_refused(row, tmp_path):
    assert row.handling in ("exact", "refused")
    text = builtin_c("v6.15")
    path = tmp_path / "construct.c"
    path.write_text(text.replace(ANCHOR, ANCHOR + row.example, 1))
    first = text[:text.index(ANCHOR)].count("\n") + 2  # the example's first line
    if row.handling == "refused":
        with pytest.raises(InputError) as e:
            load_c([str(path)], "v6.15")
        line = int(e.value.where.rsplit(":", 2)[1])
        assert first <= line < first + row.example.count("\n"), (e.value.where, e.value.message)
        return
    v, linkage = load_c([str(path)], "v6.15")
    if compiled.compiler() is not None:
        compiled.crosscheck(linkage.unit, v, X86, "pmd", STATES)
    if row.same:
        verdict, witness = prove_same(v, get_variant("v6.15"), X86)
        assert verdict == "holds", witness.dumps() if witness else verdict
