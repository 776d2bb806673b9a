"""The solver encodings against the concrete semantics, and C-exactness guards."""

import pytest
import z3
from hypothesis import given, settings, strategies as st

from modelcheck.solver.encoding import BvOps, IntOps, IntWord
from modelcheck.model.geometry import get_geometry
from modelcheck.model.semantics import decide
from modelcheck.model.variants import VARIANTS, Call, get_variant

from common.strategies import scenarios


def symbolic_decision(s, vid, backend):
    """The decision computed by a solver backend on the scenario's concrete values."""
    g = s.geometry
    if backend in ("int", "int-upto"):
        starts, ends = [z3.IntVal(v.start) for v in s.vmas], [z3.IntVal(v.end) for v in s.vmas]
        count = None
        if backend == "int-upto":  # two more slots that do not exist (as the solver pins them)
            starts, ends, count = starts + [z3.IntVal(0)] * 2, ends + [z3.IntVal(0)] * 2, z3.IntVal(len(s.vmas))
        k = IntOps(g, starts, ends, count)
        ref, word = (lambda r: k.issue(z3.IntVal(r))), lambda x: IntWord(z3.IntVal(x), g.word_bits)
        val = lambda t: z3.simplify(t.t if isinstance(t, IntWord) else t)
    else:
        k = BvOps(g, [z3.BitVecVal(v.start, g.word_bits) for v in s.vmas],
                  [z3.BitVecVal(v.end, g.word_bits) for v in s.vmas])
        ref, word = (lambda r: z3.BitVecVal(r, 8)), (lambda x: z3.BitVecVal(x, g.word_bits))
        val = z3.simplify
    m = s.move
    d = get_variant(vid).decide(k, Call(ref(m.old_vma), ref(m.new_vma), word(m.old_addr), word(m.new_addr),
                                        word(m.len), z3.BoolVal(m.for_stack)), "pmd")
    return z3.is_true(val(d.realign)), val(d.old_addr).as_long(), val(d.new_addr).as_long()


@pytest.mark.parametrize("geometry", ["toy-16", "toy-8"])
@pytest.mark.parametrize("backend", ["int", "int-upto", "bv"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_backends_agree_with_concrete(geometry, backend, data):
    s = data.draw(scenarios(geometry))
    for vid in VARIANTS:
        realigned, old_c, new_c, _ = decide(s, get_variant(vid))
        assert symbolic_decision(s, vid, backend) == (realigned, old_c, new_c), (vid, s.dumps())


@pytest.mark.parametrize("backend", ["int", "int-upto", "bv"])
def test_backends_on_the_truncation_case(backend):
    # The 64-bit int truncation (test_variants.test_int_addr_masked_truncation) in both encodings.
    from conftest import guarded_pmd as _guarded_pmd
    for x, realigns in ((0x18600000, False), (0x7F1F98600000, True)):
        s = _guarded_pmd(x)
        for vid in ("rfc", "v2", "linus"):
            assert symbolic_decision(s, vid, backend)[0] == realigns
            assert decide(s, get_variant(vid))[0] == realigns


SIGNED = ("bvslt", "bvsle", "bvsgt", "bvsge", "bvsdiv", "bvsrem", "bvsmod", "bvashr")


@pytest.mark.parametrize("vid", list(VARIANTS))
def test_bitvector_encoding_uses_only_unsigned_operations(vid):
    g = get_geometry("x86_64-4level")
    W = g.word_bits
    starts = [z3.BitVec(f"s{i}", W) for i in range(3)]
    ends = [z3.BitVec(f"e{i}", W) for i in range(3)]
    k = BvOps(g, starts, ends)
    v = get_variant(vid)
    call = Call(z3.BitVec("o", 8), z3.BitVec("n", 8), z3.BitVec("old", W), z3.BitVec("new", W),
                z3.BitVec("len", W), z3.Bool("stack"))
    d = v.decide(k, call, "pmd")
    tail = v.progress(k, z3.BitVec("cur", W), z3.BitVec("end", W), z3.BitVec("len", W))
    smt = " ".join(z3.simplify(x).sexpr() if not isinstance(x, bool) else "" for x in (d.realign, d.old_addr, tail))
    smt += " ".join(x.sexpr() for x in (d.realign, d.old_addr, d.new_addr, tail) if not isinstance(x, bool))
    assert not [op for op in SIGNED if op in smt]


def test_int_words_are_exact():
    W = 64
    a = IntWord(z3.IntVal(0x1000), W)
    assert z3.simplify((a - 0x2000).t).as_long() == (1 << 64) - 0x1000  # wraps like unsigned long
    x = IntWord(z3.Int("x"), W, 0, 0x7FFFFFFFF000)
    s = z3.Solver()
    s.add(x.t == 0x2F40000)
    assert s.check((x & 0xFFFFFFFFFFE00000).t == 0x2E00000) == z3.sat
    assert s.check((x & 0x1FFFFF).t == 0x140000) == z3.sat
    # any constant operand is exact (bit fields of the term); two unknown operands are refused
    for got, want in [(x & 0xF0F0, 0x2F40000 & 0xF0F0), (x | 0xF0F0, 0x2F40000 | 0xF0F0),
                      (x ^ 0x1FF000, 0x2F40000 ^ 0x1FF000), (x * 3, 0x2F40000 * 3), (x << 4, 0x2F40000 << 4),
                      (x >> 21, 0x2F40000 >> 21)]:
        assert s.check(got.t == want) == z3.sat and s.check(got.t != want) == z3.unsat
    for op in ("__and__", "__or__", "__xor__", "__mul__"):
        with pytest.raises(TypeError):
            getattr(x, op)(x)  # not a constant: refused, not approximated
    with pytest.raises(TypeError):
        x < a


@pytest.mark.parametrize("pid", ["no-source-collateral", "no-dest-clobber", "equivalence", "return-value", "no-warn"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_state_of_up_to_n_vmas_is_the_state_of_its_count(pid, data):
    # SymbolicState(upto=True) with count = k describes exactly the states of k VMAs: pinned to a
    # scenario, every property's negation has the same truth value as in the exact state.
    from modelcheck.solver.encoding import SymbolicState, decision_of, property_violation
    s = data.draw(scenarios("toy-16"))
    v = get_variant(data.draw(st.sampled_from(list(VARIANTS))))
    truths = []
    for st_ in (SymbolicState(s.geometry, len(s.vmas)), SymbolicState(s.geometry, len(s.vmas) + 2, upto=True)):
        m = s.move
        pin = [st_.old_vma == m.old_vma, st_.new_vma == m.new_vma, st_.old_addr == m.old_addr,
               st_.new_addr == m.new_addr, st_.len == m.len, st_.for_stack == m.for_stack, z3.Not(st_.has_stop)]
        for i, x in enumerate(s.vmas):
            pin += [st_.starts[i] == x.start, st_.ends[i] == x.end, st_.populated[i] == x.populated]
        if st_.count is not None:
            pin.append(st_.count == len(s.vmas))
        viol = property_violation(pid, st_, v, decision_of(st_, v, "pmd"))
        answers = []
        for goal in (z3.BoolVal(True), viol.assumption, z3.And(viol.assumption, viol.condition)):
            solver = z3.Solver()
            solver.add(*st_.constraints, *pin, goal)
            answers.append(solver.check())
        assert answers[0] == z3.sat
        truths.append(answers)
    assert truths[0] == truths[1]
