/* never: a baseline, not a kernel version -- the v6.6 code before the series: no realignment. */

void move_page_tables_start(struct vm_area_struct *vma, unsigned long *old_addr,
			    struct vm_area_struct *new_vma, unsigned long *new_addr,
			    unsigned long len, bool for_stack)
{
}

/* move_page_tables() after its loop: the bytes done, measured from the original end. */
unsigned long move_page_tables_return(unsigned long old_addr, unsigned long old_end,
				      unsigned long len)
{
	return len + old_addr - old_end;
}
