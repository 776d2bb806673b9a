import pytest

from modelcheck.errors import InputError
from modelcheck.model.geometry import PRESETS, get_geometry

REAL = ["x86_64-4level", "x86_64-5level", "arm64-4k-39", "arm64-4k-48", "arm64-16k-47", "arm64-16k-48",
        "arm64-64k-42", "arm64-64k-48", "i386-2level", "i386-pae"]


def test_preset_names():
    assert [n for n in PRESETS if not n.startswith("toy-")] == REAL
    assert any(n.startswith("toy-") for n in PRESETS)


@pytest.mark.parametrize("name, pmd, pud, moves_pud", [
    # x86-64: PMD_SHIFT 21, PUD_SHIFT 30 (pgtable_64_types.h)
    ("x86_64-4level", 1 << 21, 1 << 30, True),
    # arm64 64K/42: two levels, PMD folded into the PGD: (16-3)*(4-2)+3 = 29; no move_normal_pud()
    ("arm64-64k-42", 1 << 29, 1 << 29, False),
    # arm64 64K/48: three levels, PUD folded into the PGD at (16-3)*(4-1)+3 = 42
    ("arm64-64k-48", 1 << 29, 1 << 42, True),
    # arm64 16K/47: PMD (14-3)*2+3 = 25, PUD folded at (14-3)*3+3 = 36
    ("arm64-16k-47", 1 << 25, 1 << 36, True),
    # i386 without PAE: 4 MiB PGD entries, both PMD and PUD folded
    ("i386-2level", 1 << 22, 1 << 22, False),
    # i386 PAE: 2 MiB PMD, PUD folded into the 1 GiB PGD entries
    ("i386-pae", 1 << 21, 1 << 30, True),
])
def test_sizes_and_folding(name, pmd, pud, moves_pud):
    g = get_geometry(name)
    assert (g.pmd_size, g.pud_size, g.have_move_pud) == (pmd, pud, moves_pud)
    assert g.pmd_mask == ((1 << g.word_bits) - 1) & ~(pmd - 1)


def test_word_sizes():
    assert get_geometry("i386-pae").word_bits == 32
    assert get_geometry("i386-pae").pmd_mask == 0xFFE00000
    assert get_geometry("x86_64-5level").task_size == (1 << 56) - 0x1000


def test_custom_geometry():
    g = get_geometry("custom:word=32,page=12,pmd=22,pud=22,levels=2,task=0xc0000000,min=0x1000")
    assert (g.word_bits, g.int_bits, g.pmd_size, g.have_move_pud) == (32, 32, 1 << 22, False)


@pytest.mark.parametrize("spec, where", [
    ("nonsense", "geometry"),
    ("custom:word=64,page=12", "geometry"),
    ("custom:word=64,page=12,pmd=21,pud=30,task=0x1000,min=0x10000", "geometry"),
    ("custom:word=64,page=12,pmd=21,pud=30,task=0x7ffffffff000,min=0x10000,colour=3", "geometry"),
])
def test_bad_geometry(spec, where):
    with pytest.raises(InputError) as e:
        get_geometry(spec)
    assert e.value.where == where
