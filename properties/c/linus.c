/*
 * linus: Linus Torvalds' simplified check in his reply to v2,
 * Message-ID <CAHk-=wiNUe7YjK9fmZk+2ZQhjLH-64WrkwnXO9813_iLuaFXuQ@mail.gmail.com> (as recorded in
 * the reference): the found VMA must be VMA itself (WARN otherwise) and the real test is whether a
 * previous mapping ends above the aligned-down address.  v2's int declaration is kept.
 *
 * modelcheck-base: v2 (the functions not defined here are v2's)
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
