/* v6.15 with the start-of-VMA rule turned into a WARN_ON_ONCE(), as if moving from inside a VMA
 * could not happen */
static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,
			   unsigned long addr_to_align, unsigned long mask)
{
	unsigned long addr_masked = addr_to_align & mask;

	if (WARN_ON_ONCE(!pmc->for_stack && vma->vm_start != addr_to_align))
		return false;
	if (pmc->for_stack && addr_masked >= vma->vm_start)
		return true;
	return find_vma_intersection(vma->vm_mm, addr_masked, vma->vm_start) == NULL;
}
