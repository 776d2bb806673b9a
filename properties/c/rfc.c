/*
 * rfc: [PATCH RFC 1/4], Message-ID <20230518021825.712742-2-joel@joelfernandes.org>.
 * Written for modelcheck from that patch's meaning: the predicate's masked address is an int,
 * the caller realigns whenever len >= PMD_SIZE, and the return value has no guard.
 */

/* True when moving ADDR down to MASK could reach a mapping below VMA (or that cannot be ruled out). */
static bool check_addr_in_prev(struct vm_area_struct *vma, unsigned long addr,
			       unsigned long mask)
{
	int down = addr & mask;		/* an int, as in the patch: truncated on 64-bit */
	struct vm_area_struct *below = NULL;
	struct vm_area_struct *self = find_vma_prev(vma->vm_mm, vma->vm_start, &below);

	if (vma->vm_start <= down)	/* down converts back to unsigned long, sign-extended */
		return false;
	if (self == NULL || self != vma || below == NULL)
		return true;
	return below->vm_end > down;
}

/* Realign both addresses down to MASK when they are mutually aligned and nothing is in the way. */
static void realign_addr(unsigned long *old_addr, struct vm_area_struct *old_vma,
			 unsigned long *new_addr, struct vm_area_struct *new_vma,
			 unsigned long mask)
{
	unsigned long offset = *old_addr & ~mask;

	if (offset == 0 || offset != (*new_addr & ~mask))
		return;
	if (check_addr_in_prev(old_vma, *old_addr, mask) ||
	    check_addr_in_prev(new_vma, *new_addr, mask))
		return;
	*old_addr &= mask;
	*new_addr &= mask;
}

/* move_page_tables() before its loop: realign when at least a PMD is to be moved (RFC). */
void move_page_tables_start(struct vm_area_struct *vma, unsigned long *old_addr,
			    struct vm_area_struct *new_vma, unsigned long *new_addr,
			    unsigned long len, bool for_stack)
{
	if (len >= PMD_SIZE)
		realign_addr(old_addr, vma, new_addr, new_vma, PMD_MASK);
}

/* move_page_tables() after its loop: the bytes done, measured from the original end. */
unsigned long move_page_tables_return(unsigned long old_addr, unsigned long old_end,
				      unsigned long len)
{
	return len + old_addr - old_end;
}
