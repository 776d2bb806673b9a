// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel-style fixture written for modelcheck's tests: the RFC's predicate and caller
 * (Message-ID <20230518021825.712742-2-joel@joelfernandes.org>) in a whole move_page_tables(),
 * realigning before the hugetlb early return as the RFC did.  Not kernel source.
 */
#include <linux/mm.h>

static bool check_addr_in_prev(struct vm_area_struct *vma, unsigned long addr,
			       unsigned long mask)
{
	int addr_masked = addr & mask;
	struct vm_area_struct *prev = NULL, *cur = NULL;

	if (vma->vm_start <= addr_masked)
		return false;

	cur = find_vma_prev(vma->vm_mm, vma->vm_start, &prev);
	if (!cur || cur != vma || !prev)
		return true;

	if (prev->vm_end > addr_masked)
		return true;

	return false;
}

static void realign_addr(unsigned long *old_addr, struct vm_area_struct *old_vma,
			 unsigned long *new_addr, struct vm_area_struct *new_vma,
			 unsigned long mask)
{
	if ((*old_addr & ~mask) &&
	    (*old_addr & ~mask) == (*new_addr & ~mask) &&
	    !check_addr_in_prev(old_vma, *old_addr, mask) &&
	    !check_addr_in_prev(new_vma, *new_addr, mask)) {
		*old_addr = *old_addr & mask;
		*new_addr = *new_addr & mask;
	}
}

unsigned long move_page_tables(struct vm_area_struct *vma,
		unsigned long old_addr, struct vm_area_struct *new_vma,
		unsigned long new_addr, unsigned long len,
		bool need_rmap_locks)
{
	unsigned long extent, old_end;

	old_end = old_addr + len;

	if (len >= PMD_SIZE)
		realign_addr(&old_addr, vma, &new_addr, new_vma, PMD_MASK);

	if (is_vm_hugetlb_page(vma))
		return move_hugetlb_page_tables(vma, new_vma, old_addr,
						new_addr, len);

	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		extent = next_extent(old_addr, old_end);
		if (!move_one(vma, old_addr, new_vma, new_addr, extent))
			break;
	}

	return len + old_addr - old_end;	/* how much done */
}
