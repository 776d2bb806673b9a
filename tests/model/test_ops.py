import pytest

from modelcheck.model.geometry import get_geometry
from modelcheck.model.ops import ConcreteOps, Word

X86 = get_geometry("x86_64-4level")


def test_word_wraps_like_unsigned_long():
    assert int(Word(0x1000, 64) - 0x2000) == (1 << 64) - 0x1000
    assert int(~Word(0x1fffff, 64)) == 0xFFFFFFFFFFE00000
    assert int(Word(0xFFFFF000, 32) + 0x2000) == 0x1000


def test_ordering_operators_refuse():
    # Z3's '<' is signed: variant code must say ult/ule, so the concrete backend refuses '<' too.
    with pytest.raises(TypeError):
        Word(1, 64) < Word(2, 64)


def test_mixed_widths_refuse():
    with pytest.raises(TypeError):
        Word(1, 64) + Word(1, 32)


def test_int_truncation_and_sign_extension():
    k = ConcreteOps(X86, [])
    # int addr_masked = 0x7f1f98600000: the low 32 bits 0x98600000 are negative as an int, and
    # comparing with an unsigned long converts back by sign extension.
    assert int(k.int_to_ulong(k.to_int(k.word(0x7F1F98600000)))) == 0xFFFFFFFF98600000
    assert int(k.int_to_ulong(k.to_int(k.word(0x7F1F18600000)))) == 0x18600000
    # On a 32-bit kernel int and unsigned long have the same width: nothing is lost.
    k32 = ConcreteOps(get_geometry("i386-pae"), [])
    assert int(k32.int_to_ulong(k32.to_int(k32.word(0xB8600000)))) == 0xB8600000


def test_find_vma_prev():
    k = ConcreteOps(X86, [(0x1000, 0x2000), (0x5000, 0x6000)])
    v = k.vma
    assert k.find_vma_prev(k.word(0x5000)) == (v(1), v(0))   # the VMA at addr, and the one before it
    assert k.find_vma_prev(k.word(0x3000)) == (v(1), v(0))   # no VMA at addr: the next one
    assert k.find_vma_prev(k.word(0x1000)) == (v(0), k.null)
    assert k.find_vma_prev(k.word(0x7000)) == (k.null, v(1))


def test_find_vma_intersection():
    k = ConcreteOps(X86, [(0x1000, 0x2000), (0x5000, 0x6000)])
    assert k.find_vma_intersection(k.word(0x2000), k.word(0x5000)) == k.null  # the gap
    assert k.find_vma_intersection(k.word(0x1fff), k.word(0x5001)) == k.vma(0)  # the lowest one
    assert k.find_vma_intersection(k.word(0x4000), k.word(0x5001)) == k.vma(1)
    assert k.find_vma_intersection(k.word(0x5000), k.word(0x1000)) == k.null  # mt_find: index > max
    assert k.find_vma_intersection(k.word(0x3000), k.word(0)) == k.vma(1)     # end - 1 wraps to ULONG_MAX


def test_a_vma_reference_is_opaque_in_both_backends():
    """k.vm_end(c.vma - 6) would read the VMA six below by index arithmetic, a VMA no lookup
    returns and the VMA count does not see: refused, concretely and symbolically."""
    import z3

    from modelcheck.model.variants import Call
    from modelcheck.solver.encoding import SymbolicState
    k = ConcreteOps(X86, [(0x1000, 0x2000), (0x5000, 0x6000)])
    with pytest.raises(TypeError):
        k.vma(1) - 1
    with pytest.raises(TypeError):
        k.vm_end(1)  # an int is not a reference
    with pytest.raises(TypeError):
        k.ult(k.vma(0), k.word(1))
    st = SymbolicState(X86, 2)
    c = st.call()
    with pytest.raises(TypeError):
        st.ops.vm_end(c.vma - 6)
    with pytest.raises(TypeError):
        st.ops.same(c.vma, c.new_vma + 1)
    # what lookups return, and their merges, are references
    cur, prev = st.ops.find_vma_prev(st.ops.vm_start(c.vma))
    st.ops.vm_end(st.ops.ite(z3.Bool("p"), prev, c.vma))
    assert isinstance(c, Call)
