/* v4's predicate reading the VMA below through a VMA iterator instead of find_vma_prev() */
static bool can_align_down(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long mask, bool for_stack)
{
	unsigned long down = addr & mask;
	struct vm_area_struct *below;
	VMA_ITERATOR(vmi, vma->vm_mm, vma->vm_start);

	if (!for_stack && vma->vm_start != addr)
		return false;
	below = vma_prev(&vmi);
	return !below || below->vm_end <= down;
}
