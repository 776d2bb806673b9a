// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel-style fixture written for modelcheck's tests: the v6.7 realignment (af8ca1c14906)
 * inside the kind of file mm/mremap.c is -- headers, macros, configuration blocks and code
 * that has nothing to do with it.  Not kernel source: only its shape and meaning.
 */

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <asm/tlb.h>

#include "internal.h"

#define MC_PMD_OFFSET(addr)	((addr) & ~PMD_MASK)	/* offset inside the PMD */
#define MC_UNUSED_FLAG		0x40

#ifdef CONFIG_HAVE_MOVE_PMD
static bool move_normal_pmd(struct vm_area_struct *vma, unsigned long old_addr,
			    unsigned long new_addr, pmd_t *old_pmd, pmd_t *new_pmd)
{
	spinlock_t *old_ptl, *new_ptl;
	pmd_t pmd;

	if (WARN_ON_ONCE(!pmd_none(*new_pmd)))
		return false;
	old_ptl = pmd_lock(vma->vm_mm, old_pmd);
	pmd = *old_pmd;
	pmd_clear(old_pmd);
	set_pmd_at(vma->vm_mm, new_addr, new_pmd, pmd);
	spin_unlock(old_ptl);
	return true;
}
#else
static inline bool move_normal_pmd(struct vm_area_struct *vma, unsigned long old_addr,
				   unsigned long new_addr, pmd_t *old_pmd, pmd_t *new_pmd)
{
	return false;
}
#endif

static const char *const mc_names[] = { "pmd", "pud", };

/*
 * May ADDR_TO_ALIGN (in VMA) move down to ADDR_TO_ALIGN & MASK?  Only from the start of VMA,
 * except for the exec stack, and never onto another mapping.
 */
static bool can_align_down(struct vm_area_struct *vma, unsigned long addr_to_align,
			   unsigned long mask, bool for_stack)
{
	unsigned long addr_masked = addr_to_align & mask;

	if (!for_stack && vma->vm_start != addr_to_align)
		return false;

	if (for_stack && addr_masked >= vma->vm_start)
		return true;

	return find_vma_intersection(vma->vm_mm, addr_masked, vma->vm_start) == NULL;
}

static void try_realign_addr(unsigned long *old_addr, struct vm_area_struct *old_vma,
			     unsigned long *new_addr, struct vm_area_struct *new_vma,
			     unsigned long mask, bool for_stack)
{
	if ((*old_addr & ~mask) == 0)
		return;

	if ((*old_addr & ~mask) != (*new_addr & ~mask))
		return;

	if (!can_align_down(old_vma, *old_addr, mask, for_stack) ||
	    !can_align_down(new_vma, *new_addr, mask, for_stack))
		return;

	*old_addr = *old_addr & mask;
	*new_addr = *new_addr & mask;
}

unsigned long move_page_tables(struct vm_area_struct *vma,
		unsigned long old_addr, struct vm_area_struct *new_vma,
		unsigned long new_addr, unsigned long len,
		bool need_rmap_locks, bool for_stack)
{
	unsigned long extent, old_end;
	struct mmu_notifier_range range;
	pmd_t *old_pmd, *new_pmd;

	if (!len)
		return 0;

	old_end = old_addr + len;

	if (is_vm_hugetlb_page(vma))
		return move_hugetlb_page_tables(vma, new_vma, old_addr,
						new_addr, len);

	/* Realign to the PMD boundary when the move reaches it. */
	if (len >= PMD_SIZE - MC_PMD_OFFSET(old_addr))
		try_realign_addr(&old_addr, vma, &new_addr, new_vma, PMD_MASK,
				 for_stack);

	flush_cache_range(vma, old_addr, old_end);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, vma->vm_mm,
				old_addr, old_end);
	mmu_notifier_invalidate_range_start(&range);

	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		cond_resched();
		extent = get_extent(NORMAL_PMD, old_addr, old_end, new_addr);
		old_pmd = get_old_pmd(vma->vm_mm, old_addr);
		if (!old_pmd)
			continue;
		new_pmd = alloc_new_pmd(vma->vm_mm, vma, new_addr);
		if (!new_pmd)
			break;
		if (IS_ENABLED(CONFIG_HAVE_MOVE_PMD) && extent == PMD_SIZE &&
		    move_pgt_entry(NORMAL_PMD, vma, old_addr, new_addr,
				   old_pmd, new_pmd, true))
			continue;
		if (pte_alloc(new_vma->vm_mm, new_pmd))
			break;
		move_ptes(vma, old_pmd, old_addr, old_addr + extent, new_vma,
			  new_pmd, new_addr, need_rmap_locks);
	}

	mmu_notifier_invalidate_range_end(&range);

	/* Nothing of the range moved when the loop stopped below its start. */
	if (len + old_addr < old_end)
		return 0;

	return len + old_addr - old_end;	/* how much done */
}

SYSCALL_DEFINE5(mremap, unsigned long, addr, unsigned long, old_len,
		unsigned long, new_len, unsigned long, flags,
		unsigned long, new_addr)
{
	struct mm_struct *mm = current->mm;

	if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return -EINVAL;
	return mc_names[0] ? addr : -ENOMEM;
}
