/*
 * v6.7: the merged series [PATCH v6 0/7] (3 Sep 2023), commit
 * af8ca1c149069176e6322a77b532e3ffd99ccffe "mm/mremap: optimize the start addresses in
 * move_page_tables()" and its stack follow-up, first released in v6.7.  Written for modelcheck
 * from its meaning.
 *
 * modelcheck-base: v5 (the functions not defined here are v5's)
 */

/*
 * May ADDR (in VMA) move down to ADDR & MASK?  Only from the start of VMA, except for the exec
 * stack, which may realign inside its own VMA; and never over another mapping.
 */
static bool can_align_down(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long mask, bool for_stack)
{
	unsigned long down = addr & mask;

	if (!for_stack && vma->vm_start != addr)
		return false;
	if (for_stack && down >= vma->vm_start)
		return true;
	return find_vma_intersection(vma->vm_mm, down, vma->vm_start) == NULL;
}
