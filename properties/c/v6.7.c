/*
 * v6.7: the merged series [PATCH v6 0/7] (3 Sep 2023), commit
 * af8ca1c149069176e6322a77b532e3ffd99ccffe "mm/mremap: optimize the start addresses in
 * move_page_tables()" and its stack follow-up, first released in v6.7.  Written for modelcheck
 * from its meaning.
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

/* move_page_tables() after its loop: 0 when the loop stopped below the requested start. */
unsigned long move_page_tables_return(unsigned long old_addr, unsigned long old_end,
				      unsigned long len)
{
	if (len + old_addr < old_end)	/* the sum wraps on 32-bit kernels */
		return 0;
	return len + old_addr - old_end;
}
