/*
 * v3: [PATCH v3 1/6] <20230524153239.3036507-2-joel@joelfernandes.org> with 2/6 (stack moves
 * within one VMA).  Written for modelcheck from its meaning: can_align_down() in the positive
 * sense with an unsigned long masked address; outside the stack case it only refuses when the
 * masked address is still inside VMA, which lets a move from the middle of a VMA sweep the part
 * below it.
 *
 * modelcheck-base: v2 (the functions not defined here are v2's)
 */

static bool can_align_down(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long mask, bool for_stack)
{
	unsigned long down = addr & mask;
	struct vm_area_struct *below = NULL;
	struct vm_area_struct *self = find_vma_prev(vma->vm_mm, vma->vm_start, &below);

	if (!for_stack && vma->vm_start <= down)
		return false;
	if (!self || self != vma || !below)
		return false;
	return below->vm_end <= down;
}

/* Realign both addresses down to MASK when they are mutually aligned and both may move down. */
static void realign_addr(unsigned long *old_addr, struct vm_area_struct *old_vma,
			 unsigned long *new_addr, struct vm_area_struct *new_vma,
			 unsigned long mask, bool for_stack)
{
	unsigned long offset = *old_addr & ~mask;

	if (offset == 0 || offset != (*new_addr & ~mask))
		return;
	if (!can_align_down(old_vma, *old_addr, mask, for_stack) ||
	    !can_align_down(new_vma, *new_addr, mask, for_stack))
		return;
	*old_addr &= mask;
	*new_addr &= mask;
}

/* move_page_tables() before its loop: realign when the move reaches the next PMD boundary. */
void move_page_tables_start(struct vm_area_struct *vma, unsigned long *old_addr,
			    struct vm_area_struct *new_vma, unsigned long *new_addr,
			    unsigned long len, bool for_stack)
{
	if (len >= PMD_SIZE - (*old_addr & ~PMD_MASK))
		realign_addr(old_addr, vma, new_addr, new_vma, PMD_MASK, for_stack);
}
