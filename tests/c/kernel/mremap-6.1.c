// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel-style fixture written for modelcheck's tests: a move_page_tables() of the 6.1 kind,
 * before the realignment existed -- the loop starts where the user's range starts.
 */
#include <linux/mm.h>

#ifndef arch_supports_page_table_move
#define arch_supports_page_table_move arch_supports_page_table_move
static inline bool arch_supports_page_table_move(void)
{
	return IS_ENABLED(CONFIG_HAVE_MOVE_PMD) ||
		IS_ENABLED(CONFIG_HAVE_MOVE_PUD);
}
#endif

unsigned long move_page_tables(struct vm_area_struct *vma,
		unsigned long old_addr, struct vm_area_struct *new_vma,
		unsigned long new_addr, unsigned long len,
		bool need_rmap_locks)
{
	unsigned long extent, old_end;
	struct mmu_notifier_range range;

	old_end = old_addr + len;
	flush_cache_range(vma, old_addr, old_end);

	if (is_vm_hugetlb_page(vma))
		return move_hugetlb_page_tables(vma, new_vma, old_addr,
						new_addr, len);

	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		cond_resched();
		extent = get_extent(NORMAL_PMD, old_addr, old_end, new_addr);
		if (move_one(vma, old_addr, new_vma, new_addr, extent))
			break;
	}

	mmu_notifier_invalidate_range_end(&range);

	return len + old_addr - old_end;	/* how much done */
}
