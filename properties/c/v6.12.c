/*
 * v6.12: v6.7's decision with the return-value guard of commit
 * a4a282daf1a190f03790bf163458ea3c8d28d217 (v6.12, stable 6.11.10), which cannot wrap on 32-bit.
 * Written for modelcheck from its meaning.
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

/* move_page_tables() after its loop, with the a4a282daf1a1 guard that cannot wrap. */
unsigned long move_page_tables_return(unsigned long old_addr, unsigned long old_end,
				      unsigned long len)
{
	if (old_addr < old_end - len)
		return 0;
	return len + old_addr - old_end;
}
