/*
 * v2: [PATCH v2 1/4] (19 May 2023), the version Linus reviewed.  Written for modelcheck from its
 * meaning: the RFC's predicate (still an int), the caller's condition that the move reaches the
 * next PMD boundary, and the "if (len + old_addr < old_end) return 0" guard.
 *
 * modelcheck-base: rfc (the functions not defined here are rfc's)
 */

/* move_page_tables() before its loop: realign when the move reaches the next PMD boundary. */
void move_page_tables_start(struct vm_area_struct *vma, unsigned long *old_addr,
			    struct vm_area_struct *new_vma, unsigned long *new_addr,
			    unsigned long len, bool for_stack)
{
	if (len >= PMD_SIZE - (*old_addr & ~PMD_MASK))
		realign_addr(old_addr, vma, new_addr, new_vma, PMD_MASK);
}

/* move_page_tables() after its loop: 0 when the loop stopped below the requested start. */
unsigned long move_page_tables_return(unsigned long old_addr, unsigned long old_end,
				      unsigned long len)
{
	if (len + old_addr < old_end)	/* the sum wraps on 32-bit kernels */
		return 0;
	return len + old_addr - old_end;
}
