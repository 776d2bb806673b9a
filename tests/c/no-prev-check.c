/* one token from v4: "!below ||" left out of the real test, so a VMA with nothing below it
 * dereferences NULL (Linus on v2: "if there is no 'prev', then you should return false") */
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
	return below->vm_end <= down;
}
