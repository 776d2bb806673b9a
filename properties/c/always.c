/*
 * always: a baseline, not a kernel version -- realign whenever the addresses are mutually aligned
 * and the move reaches the next boundary, without looking at the mappings; pmc_progress() tail.
 */

void move_page_tables_start(struct pagetable_move_control *pmc)
{
	unsigned long offset = pmc->old_addr & ~PMD_MASK;

	if (pmc->len_in < PMD_SIZE - offset)
		return;
	if (offset == 0 || offset != (pmc->new_addr & ~PMD_MASK))
		return;
	pmc->old_addr &= PMD_MASK;
	pmc->new_addr &= PMD_MASK;
}

static unsigned long pmc_progress(struct pagetable_move_control *pmc)
{
	unsigned long start = pmc->old_end - pmc->len_in;

	return pmc->old_addr < start ? 0 : pmc->old_addr - start;
}
