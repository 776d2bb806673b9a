/*
 * v6.15's predicate without the offset test: realigns whenever the boundary is in reach and
 * nothing lies below either address, whether or not old_addr and new_addr share their offset
 * into the PMD.  Written for modelcheck's tests (aligned-down).
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
	unsigned long to_boundary = (offset_mask + 1) - old_offset;

	if (pmc->len_in < to_boundary)
		return false;
	if (old_offset == 0)
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

void move_page_tables_start(struct pagetable_move_control *pmc)
{
	try_realign_addr(pmc, PMD_MASK);
}
