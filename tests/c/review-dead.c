/* v6.15's can_align_down() with a test that can never be true and one that is never reached */
static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,
			   unsigned long addr, unsigned long mask)
{
	unsigned long down = addr & mask;

	if (down > addr) {
		if (vma->vm_start == addr)
			return false;
	}
	if (!pmc->for_stack && vma->vm_start != addr)
		return false;
	if (pmc->for_stack && down >= vma->vm_start)
		return true;
	return find_vma_intersection(vma->vm_mm, down, vma->vm_start) == NULL;
}
