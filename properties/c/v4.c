/*
 * v4: [PATCH v4 1/7] <20230531220807.2048037-2-joel@joelfernandes.org> with 2/7.  Written for
 * modelcheck from its meaning: realign only from the start of the VMA (Linus's "!=" test), WARN
 * when the lookup does not find VMA itself, and allow it when no previous mapping ends above the
 * aligned-down address.
 *
 * modelcheck-base: v3 (the functions not defined here are v3's)
 */

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
	return !below || below->vm_end <= down;
}
