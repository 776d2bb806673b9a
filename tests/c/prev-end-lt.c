/* one token from v4: "below->vm_end < down" where v4 has "<=": a VMA ending exactly at the
 * boundary no longer allows realignment */
static bool can_align_down(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long mask, bool for_stack)
{
	unsigned long down = addr & mask;
	struct vm_area_struct *below = NULL;
	struct vm_area_struct *self = find_vma_prev(vma->vm_mm, vma->vm_start, &below);

	if (!for_stack && vma->vm_start != addr)
		return false;
	if (WARN_ON_ONCE(self != vma))
		return false;
	return !below || below->vm_end < down;
}
