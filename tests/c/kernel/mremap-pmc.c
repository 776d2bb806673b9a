// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel-style fixture written for modelcheck's tests: the 6.15 pagetable_move_control shape
 * of the realignment, written with the kernel's alignment helpers, shifts, '|', '^', '*' and
 * '?:' instead of plain masks -- the same decisions as v6.15, in other words.  Not kernel source.
 */
#include <linux/mm.h>
#include <linux/mmu_notifier.h>

#define MC_TABLE_SIZE(mask)	((~(mask)) + 1)
#define MC_IS_STACK(pmc)	unlikely((pmc)->for_stack)

struct pagetable_move_control;	/* in mm/internal.h */

enum pgt_entry {
	NORMAL_PMD,
	HPAGE_PMD,
	NORMAL_PUD,
	HPAGE_PUD,
};

#if CONFIG_PGTABLE_LEVELS > 2 && defined(CONFIG_HAVE_MOVE_PUD)
static bool move_normal_pud(struct pagetable_move_control *pmc, pud_t *old_pud, pud_t *new_pud)
{
	return !pud_none(*old_pud) && pud_none(*new_pud);
}
#else
static inline bool move_normal_pud(struct pagetable_move_control *pmc, pud_t *old_pud, pud_t *new_pud)
{
	return false;
}
#endif

/* The start of the page table ADDR is in, by shifting rather than masking. */
static inline unsigned long mc_table_start(unsigned long addr, unsigned long mask)
{
	return mask == PMD_MASK ? (addr >> PMD_SHIFT) << PMD_SHIFT : ALIGN_DOWN(addr, MC_TABLE_SIZE(mask));
}

static bool can_align_down(struct pagetable_move_control *pmc,
			   struct vm_area_struct *vma, unsigned long addr_to_align,
			   unsigned long mask)
{
	unsigned long addr_masked = mc_table_start(addr_to_align, mask);

	VM_WARN_ON_ONCE(!PAGE_ALIGNED(addr_to_align));

	if (!MC_IS_STACK(pmc) && (addr_to_align ^ ~0UL) != ~vma->vm_start)
		return false;

	if (MC_IS_STACK(pmc) && addr_masked >= vma->vm_start)
		return true;

	return find_vma_intersection(vma->vm_mm, addr_masked, vma->vm_start) == NULL;
}

static bool can_realign_addr(struct pagetable_move_control *pmc,
			     unsigned long pagetable_mask)
{
	unsigned long align_mask = ~pagetable_mask;
	unsigned long old_align = pmc->old_addr & align_mask;
	unsigned long new_align = pmc->new_addr - (pmc->new_addr | align_mask) + align_mask;
	unsigned long old_align_next = MC_TABLE_SIZE(pagetable_mask) * 1 - old_align;

	if (pmc->len_in < old_align_next)
		return false;
	if (IS_ALIGNED(pmc->old_addr, MC_TABLE_SIZE(pagetable_mask)))
		return false;
	if (old_align != new_align)
		return false;
	if (!can_align_down(pmc, pmc->old, pmc->old_addr, pagetable_mask) ||
	    !can_align_down(pmc, pmc->new, pmc->new_addr, pagetable_mask))
		return false;
	return true;
}

static void try_realign_addr(struct pagetable_move_control *pmc,
			     unsigned long pagetable_mask)
{
	if (!can_realign_addr(pmc, pagetable_mask))
		return;
	pmc->old_addr &= pagetable_mask;
	pmc->new_addr = round_down(pmc->new_addr, MC_TABLE_SIZE(pagetable_mask));
}

static bool pmc_done(struct pagetable_move_control *pmc)
{
	return pmc->old_addr >= pmc->old_end;
}

static void pmc_next(struct pagetable_move_control *pmc, unsigned long extent)
{
	pmc->old_addr += extent;
	pmc->new_addr += extent;
}

static unsigned long pmc_progress(struct pagetable_move_control *pmc)
{
	unsigned long orig_old_addr = pmc->old_end - pmc->len_in;
	unsigned long old_addr = pmc->old_addr;

	return old_addr < orig_old_addr ? 0 : old_addr - orig_old_addr;
}

unsigned long move_page_tables(struct pagetable_move_control *pmc)
{
	unsigned long extent;
	struct mmu_notifier_range range;
	pmd_t *old_pmd, *new_pmd;
	struct mm_struct *mm = pmc->old->vm_mm;

	if (!pmc->len_in)
		return 0;

	if (is_vm_hugetlb_page(pmc->old))
		return move_hugetlb_page_tables(pmc->old, pmc->new, pmc->old_addr,
						pmc->new_addr, pmc->len_in);

	try_realign_addr(pmc, PMD_MASK);

	flush_cache_range(pmc->old, pmc->old_addr, pmc->old_end);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm,
				pmc->old_addr, pmc->old_end);
	mmu_notifier_invalidate_range_start(&range);

	for (; !pmc_done(pmc); pmc_next(pmc, extent)) {
		cond_resched();
		extent = get_extent(NORMAL_PMD, pmc);
		old_pmd = get_old_pmd(mm, pmc->old_addr);
		if (!old_pmd)
			continue;
		new_pmd = alloc_new_pmd(mm, pmc->new_addr);
		if (!new_pmd)
			break;
again:
		if (pmd_is_huge(*old_pmd)) {
			if (extent == HPAGE_PMD_SIZE &&
			    move_pgt_entry(pmc, HPAGE_PMD, old_pmd, new_pmd))
				continue;
			split_huge_pmd(pmc->old, old_pmd, pmc->old_addr);
		} else if (IS_ENABLED(CONFIG_HAVE_MOVE_PMD) && extent == PMD_SIZE) {
			if (move_pgt_entry(pmc, NORMAL_PMD, old_pmd, new_pmd))
				continue;
		}
		if (pmd_none(*old_pmd))
			continue;
		if (pte_alloc(pmc->new->vm_mm, new_pmd))
			break;
		if (move_ptes(pmc, extent, old_pmd, new_pmd) < 0)
			goto again;
	}

	mmu_notifier_invalidate_range_end(&range);

	return pmc_progress(pmc);
}
