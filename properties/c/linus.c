/*
 * linus: Linus Torvalds' simplified check in his reply to v2,
 * Message-ID <CAHk-=wiNUe7YjK9fmZk+2ZQhjLH-64WrkwnXO9813_iLuaFXuQ@mail.gmail.com> (as recorded in
 * the reference): the found VMA must be VMA itself (WARN otherwise) and the real test is whether a
 * previous mapping ends above the aligned-down address.  v2's int declaration is kept.
 */

static bool check_addr_in_prev(struct vm_area_struct *vma, unsigned long addr,
			       unsigned long mask)
{
	int down = addr & mask;
	struct vm_area_struct *below = NULL;
	struct vm_area_struct *self = find_vma_prev(vma->vm_mm, vma->vm_start, &below);

	if (WARN_ON_ONCE(self != vma))
		return true;
	return below && below->vm_end > down;
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
