/*
 * v6.12: v6.7's decision with the return-value guard of commit
 * a4a282daf1a190f03790bf163458ea3c8d28d217 (v6.12, stable 6.11.10), which cannot wrap on 32-bit.
 * Written for modelcheck from its meaning.
 *
 * modelcheck-base: v6.7 (the functions not defined here are v6.7's)
 */

/* move_page_tables() after its loop, with the a4a282daf1a1 guard that cannot wrap. */
unsigned long move_page_tables_return(unsigned long old_addr, unsigned long old_end,
				      unsigned long len)
{
	if (old_addr < old_end - len)
		return 0;
	return len + old_addr - old_end;
}
