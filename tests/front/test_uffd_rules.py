"""The loop's userfaultfd rule read from a whole kernel file: the guards of move_normal_pmd() and
move_normal_pud() before and after their WARN_ON_ONCE(), and the loop's own condition on a table
move (6.12.y's uffd_supports_move).  On kernel-style fixtures written for these tests (each a
variation of tests/c/kernel/mremap-pmc.c or mremap-v6.7.c), proved equal to the kernel profile
that has the same rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelcheck.errors import InputError
from modelcheck.front.cfront import load_c
from modelcheck.model.geometry import get_geometry
from modelcheck.model.variants import VARIANTS, get_variant, with_rule
from modelcheck.solver.search import prove_same

KERNEL = Path(__file__).resolve().parent.parent / "c" / "kernel"
PMC, V67 = (KERNEL / "mremap-pmc.c").read_text(), (KERNEL / "mremap-v6.7.c").read_text()
PUD_STUB = PMC[PMC.index("#if CONFIG_PGTABLE_LEVELS > 2"):PMC.index("/* The start of the page table")]

MOVER = """
static bool move_normal_{lv}(struct pagetable_move_control *pmc, {lv}_t *old_{lv}, {lv}_t *new_{lv})
{{
	struct vm_area_struct *vma = pmc->old;
	spinlock_t *old_ptl;

	if (!arch_supports_page_table_move())
		return false;
{before}	if (WARN_ON_ONCE(!{lv}_none(*new_{lv})))
		return false;
{after}	old_ptl = {lv}_lock(vma->vm_mm, old_{lv});
	return true;
}}
"""
BOTH = "\tif (!mc_uffd_ok(pmc))\n\t\treturn false;\n"
LATE = "\tif (vma_has_uffd_without_event_remap(vma))\n\t\treturn false;\n"
HELPER = """
static inline bool mc_uffd_ok(struct pagetable_move_control *pmc)
{
	return !vma_has_uffd_without_event_remap(pmc->old) &&
	       !vma_has_uffd_without_event_remap(pmc->new);
}
"""


def movers(pmd_before="", pmd_after="", pud_before=None, pud_after=None) -> str:
    pud_before = pmd_before if pud_before is None else pud_before
    pud_after = pmd_after if pud_after is None else pud_after
    return PMC.replace(PUD_STUB, HELPER + MOVER.format(lv="pmd", before=pmd_before, after=pmd_after)
                       + MOVER.format(lv="pud", before=pud_before, after=pud_after))


def variant(text: str, name: str = "mremap-uffd.c"):
    return load_c([name], None, texts={name: text})[0]


G = get_geometry("x86_64-4level")


@pytest.mark.parametrize("text, profile", [(movers(BOTH), "linux-6.17"), (movers("", LATE), "linux-6.15"),
                                           (movers(), "v6.15")])
def test_the_rule_is_the_files(text, profile):
    v = variant(text)
    assert prove_same(v, get_variant(profile), G)[0] == "holds"
    other = {"linux-6.17": "linux-6.15", "linux-6.15": "linux-6.17", "v6.15": "linux-6.17"}[profile]
    assert prove_same(v, get_variant(other), G)[0] == "violated"


def test_the_loop_condition_of_6_12():
    """6.12.y's form: the head computes the test once, the loop's condition reads it."""
    head = "\tif (len >= PMD_SIZE - MC_PMD_OFFSET(old_addr))"
    assert head in V67
    text = V67.replace(head, "\tuffd_ok = !vma_has_uffd_without_event_remap(vma) &&\n"
                             "\t\t  !vma_has_uffd_without_event_remap(new_vma);\n\n" + head, 1)
    loop = "extent == PMD_SIZE &&\n\t\t    move_pgt_entry("
    assert loop in text
    text = text.replace(loop, "extent == PMD_SIZE && uffd_ok &&\n\t\t    move_pgt_entry(", 1)
    text = text.replace("\tunsigned long extent, old_end;", "\tunsigned long extent, old_end;\n\tbool uffd_ok;", 1)
    assert text.count("uffd_ok") == 3
    both = with_rule(VARIANTS["v6.7"], "both", "v6.7+both", "", "")
    assert prove_same(variant(text), both, G)[0] == "holds"


def test_pmd_and_pud_that_differ_are_refused():
    with pytest.raises(InputError, match="move_normal_pmd\\(\\) and move_normal_pud\\(\\) refuse"):
        variant(movers(BOTH, "", "", LATE))


def test_a_guard_on_the_page_tables_is_refused_at_its_line():
    text = movers("\tif (!pmd_none(*old_pmd))\n\t\treturn false;\n")
    with pytest.raises(InputError, match="'old_pmd' is a kernel object the model does not read") as e:
        variant(text)
    line = text[:text.index("if (!pmd_none(*old_pmd))")].count("\n") + 1
    assert f"mremap-uffd.c:{line}:" in str(e.value)


def test_a_loop_that_moves_entries_only_has_no_table_move_to_warn():
    """Before 2c91bd4a4e2e the loop called move_ptes() alone: a file whose loop moves no table
    whole gets no move_normal_pmd() WARN from the model (the exec stack move's, otherwise the
    first counterexample)."""
    from modelcheck.solver.search import check
    block = ("\t\tif (IS_ENABLED(CONFIG_HAVE_MOVE_PMD) && extent == PMD_SIZE &&\n"
             "\t\t    move_pgt_entry(NORMAL_PMD, vma, old_addr, new_addr,\n"
             "\t\t\t\t   old_pmd, new_pmd, true))\n\t\t\tcontinue;\n")
    assert block in V67
    old = variant(V67)
    assert check(old, "no-warn", G).verdict == "violated"
    entries_only = variant(V67.replace(block, ""), "mremap-4.14-like.c")
    r = check(entries_only, "no-warn", G)
    assert r.verdict == "holds" and r.unbounded
