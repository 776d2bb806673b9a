/*
 * v4: [PATCH v4 1/7] <20230531220807.2048037-2-joel@joelfernandes.org> with 2/7.  Written for
 * modelcheck from its meaning: realign only from the start of the VMA (Linus's "!=" test), WARN
 * when the lookup does not find VMA itself, and allow it when no previous mapping ends above the
 * aligned-down address.
 */

static bool can_align_down(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long mask, bool for_stack)
{
	unsigned long down = addr & mask;
	struct vm_area_struct *below = NULL;
	struct vm_area_struct *self = find_vma_prev(vma->vm_mm, vma->vm_start, &below);

	if (!for_stack && vma->vm_start != addr)
		return false;
	if (WARN_ON_ONCE(self != vma))
		return false;
	return !below || below->vm_end <= down;
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

/* move_page_tables() after its loop: 0 when the loop stopped below the requested start. */
unsigned long move_page_tables_return(unsigned long old_addr, unsigned long old_end,
				      unsigned long len)
{
	if (len + old_addr < old_end)	/* the sum wraps on 32-bit kernels */
		return 0;
	return len + old_addr - old_end;
}
