/*
 * v5: [PATCH v5 1/7] + 2/7 (22 Aug 2023).  Written for modelcheck from its meaning: the
 * start-of-VMA rule, and no VMA may intersect [addr & mask, addr) -- up to the address being
 * aligned, which for the exec stack's own VMA is always true: the stack move never realigns.
 *
 * modelcheck-base: v4 (the functions not defined here are v4's)
 */

static bool can_align_down(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long mask, bool for_stack)
{
	unsigned long down = addr & mask;

	if (!for_stack && vma->vm_start != addr)
		return false;
	return find_vma_intersection(vma->vm_mm, down, addr) == NULL;
}

/* Realign both addresses down to MASK when they are mutually aligned and both may move down. */
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

/* move_page_tables() before its loop: realign when the move reaches the next PMD boundary. */
void move_page_tables_start(struct vm_area_struct *vma, unsigned long *old_addr,
			    struct vm_area_struct *new_vma, unsigned long *new_addr,
			    unsigned long len, bool for_stack)
{
	if (len >= PMD_SIZE - (*old_addr & ~PMD_MASK))
		try_realign_addr(old_addr, vma, new_addr, new_vma, PMD_MASK, for_stack);
}
