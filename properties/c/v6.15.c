/*
 * v6.15: the pagetable_move_control refactor, commits 664dc4da2694 and
 * 2a4077f49ccd6f904be6edb363714646e47292c9: v6.7's conditions, now all in can_realign_addr(),
 * over a struct that carries the move, and pmc_progress() for the return value.  Written for
 * modelcheck from its meaning.
 */

static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,
			   unsigned long addr, unsigned long mask)
{
	unsigned long down = addr & mask;

	if (!pmc->for_stack && vma->vm_start != addr)
		return false;
	if (pmc->for_stack && down >= vma->vm_start)
		return true;
	return find_vma_intersection(vma->vm_mm, down, vma->vm_start) == NULL;
}

static bool can_realign_addr(struct pagetable_move_control *pmc, unsigned long pagetable_mask)
{
	unsigned long offset_mask = ~pagetable_mask;
	unsigned long old_offset = pmc->old_addr & offset_mask;
	unsigned long new_offset = pmc->new_addr & offset_mask;
	unsigned long to_boundary = (offset_mask + 1) - old_offset;

	if (pmc->len_in < to_boundary)		/* the move does not reach the next boundary */
		return false;
	if (old_offset == 0 || old_offset != new_offset)
		return false;
	return can_align_down(pmc, pmc->old, pmc->old_addr, pagetable_mask) &&
	       can_align_down(pmc, pmc->new, pmc->new_addr, pagetable_mask);
}

static void try_realign_addr(struct pagetable_move_control *pmc, unsigned long pagetable_mask)
{
	if (!can_realign_addr(pmc, pagetable_mask))
		return;
	pmc->old_addr &= pagetable_mask;
	pmc->new_addr &= pagetable_mask;
}

/* move_page_tables() before its loop */
void move_page_tables_start(struct pagetable_move_control *pmc)
{
	try_realign_addr(pmc, PMD_MASK);
}

/* The bytes of the user's range that moved: none if the loop stopped below its start. */
static unsigned long pmc_progress(struct pagetable_move_control *pmc)
{
	unsigned long start = pmc->old_end - pmc->len_in;

	return pmc->old_addr < start ? 0 : pmc->old_addr - start;
}
