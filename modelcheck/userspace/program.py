"""A program of system calls (recipe.load_calls: mmap, write, read, uffd_wp, mremap) as a
standalone C program, to run on a real kernel beside the system-call simulator's account of it.

The program makes the calls in order at their fixed addresses (MAP_FIXED_NOREPLACE; a taken
address makes it skip) and writes a tag into the first and last word of every page a ``write``
call touches.  Each mremap is ``syscall(SYS_mremap, old, len, len, MREMAP_MAYMOVE|MREMAP_FIXED
[|MREMAP_DONTUNMAP], new)``, whatever the C library's wrapper would make of it, and its result is
printed as ``# calls[I] mremap = ADDR`` or ``# calls[I] mremap errno N (TEXT)``.  A moved range
carries its tags with it (since 6.17 a move of several VMAs keeps the gaps between them, so every
page of ``[old, old + len)`` lands at the same offset from ``new``; one VMA before 6.17 the same);
a failed mremap leaves each tag either where it was or moved (a multi-VMA move that fails
part-way keeps the pieces it moved).  Tags in a destination the mremap unmapped first are gone.
At the end every tag is read back where the calls put it (process_vm_readv() on itself, so that
an unmapped address is a failed read, not a crash): ``ok 1`` when every one is there.  TAP, exit
codes 0, 1 and 4 (skip) as the kernel's selftests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcheck.errors import InputError

if TYPE_CHECKING:
    from modelcheck.model.geometry import Geometry

__all__ = ["program_c", "program_build_command"]

_OPS = {"mmap": "OP_MMAP", "write": "OP_WRITE", "read": "OP_READ", "uffd_wp": "OP_UFFD", "mremap": "OP_MREMAP"}

_PROGRAM = r"""#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

enum { OP_MMAP, OP_WRITE, OP_READ, OP_UFFD, OP_MREMAP };

struct call {
	int op;
	unsigned long a, len, b;	/* mmap/write/read/uffd: [a, a + len); mremap: a -> b */
	int flag;			/* mmap: MAP_SHARED; mremap: MREMAP_DONTUNMAP */
};

/* a written page: where its tag should be, and (after a failed mremap) where else it may be */
struct tag {
	unsigned long at, alt, value, origin;
};
"""

_MAIN = r"""
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

static struct tag tags[MAX_TAGS ? MAX_TAGS : 1];
static unsigned long ntags, page_size;
static int uffd = -1;

static void skip_all(const char *why)
{
	printf("ok 1 # SKIP %s\n", why);
	exit(KSFT_SKIP);
}

static unsigned long tag_value(unsigned long addr)
{
	return (addr * 0x9e3779b97f4a7c15UL) ^ 0x6d6f64656c636b00UL;
}

static int peek(unsigned long addr, unsigned long *word)
{
	struct iovec local = { .iov_base = word, .iov_len = sizeof(*word) };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = sizeof(*word) };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof(*word) ? 0 : -1;
}

/* both tagged words of the page at addr hold the tag */
static int tagged(unsigned long addr, unsigned long value)
{
	unsigned long first, last;

	if (!addr || peek(addr, &first) || peek(addr + page_size - sizeof(long), &last))
		return 0;
	return first == value && last == value;
}

static void write_page(unsigned long addr)
{
	unsigned long i, value = tag_value(addr);

	*(volatile unsigned long *)addr = value;
	*(volatile unsigned long *)(addr + page_size - sizeof(long)) = value;
	for (i = 0; i < ntags; i++)
		if (tags[i].at == addr) {
			tags[i].value = value;
			tags[i].alt = 0;
			return;
		}
	tags[ntags].at = addr;
	tags[ntags].origin = addr;
	tags[ntags].alt = 0;
	tags[ntags++].value = value;
}

static void register_wp(unsigned long start, unsigned long len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	struct uffdio_register reg = { .range = { .start = start, .len = len }, .mode = UFFDIO_REGISTER_MODE_WP };

	if (uffd < 0) {
		uffd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (uffd < 0)
			skip_all("userfaultfd is not available (CONFIG_USERFAULTFD, vm.unprivileged_userfaultfd)");
		if (ioctl(uffd, UFFDIO_API, &api))
			skip_all("this kernel has no userfaultfd write-protect for shmem");
	}
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		printf("# UFFDIO_REGISTER(%#lx, %#lx): %s\n", start, len, strerror(errno));
		skip_all("userfaultfd-wp registration failed");
	}
}

/* what an mremap of [old, old + len) to new did to the tags: moved with the range, or (failed)
 * moved or not; a tag in the destination, which mremap_to() unmaps first, is gone */
static void moved(unsigned long old, unsigned long len, unsigned long new, int ok)
{
	unsigned long i;

	for (i = 0; i < ntags; i++) {
		unsigned long *where[2] = { &tags[i].at, &tags[i].alt };
		int k;

		for (k = 0; k < 2; k++) {
			unsigned long a = *where[k];

			if (ok && a >= new && a < new + len && !(a >= old && a < old + len))
				*where[k] = 0;
		}
		if (tags[i].at >= old && tags[i].at < old + len) {
			if (ok)
				tags[i].at += new - old;
			else
				tags[i].alt = tags[i].at + new - old;
		}
	}
}

int main(void)
{
	unsigned long i, a, bad = 0, checked = 0;

	page_size = (unsigned long)sysconf(_SC_PAGESIZE);
	printf("TAP version 13\n");
	printf("1..1\n");
	if (page_size != PAGE_SIZE || sizeof(long) * 8 != WORD_BITS)
		skip_all("the program is for another page size or word size");
	for (i = 0; i < NCALLS; i++) {
		const struct call *c = &calls[i];
		void *p;

		switch (c->op) {
		case OP_MMAP:
			p = mmap((void *)c->a, c->len, PROT_READ | PROT_WRITE,
				 (c->flag ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED && (errno == EEXIST || errno == EPERM || errno == ENOMEM)) {
				printf("# calls[%lu] mmap(%#lx, %#lx): %s\n", i, c->a, c->len, strerror(errno));
				skip_all("an address of the program is taken or not allowed here");
			}
			if (p != (void *)c->a) {
				printf("# calls[%lu] mmap(%#lx, %#lx): %s\n", i, c->a, c->len,
				       p == MAP_FAILED ? strerror(errno) : "placed elsewhere");
				skip_all("the program's mappings cannot be made here");
			}
			break;
		case OP_WRITE:
			for (a = c->a; a < c->a + c->len; a += page_size)
				write_page(a);
			break;
		case OP_READ:
			for (a = c->a; a < c->a + c->len; a += page_size)
				(void)*(volatile unsigned long *)a;
			break;
		case OP_UFFD:
			register_wp(c->a, c->len);
			break;
		case OP_MREMAP:
			p = (void *)syscall(SYS_mremap, c->a, c->len, c->len,
					    MREMAP_MAYMOVE | MREMAP_FIXED | (c->flag ? MREMAP_DONTUNMAP : 0), c->b);
			if (p == MAP_FAILED) {
				printf("# calls[%lu] mremap errno %d (%s)\n", i, errno, strerror(errno));
				moved(c->a, c->len, c->b, 0);
			} else {
				printf("# calls[%lu] mremap = %#lx\n", i, (unsigned long)p);
				moved(c->a, c->len, c->b, 1);
			}
			break;
		}
	}
	fflush(stdout);
	for (i = 0; i < ntags; i++) {
		if (!tags[i].at && !tags[i].alt)
			continue;
		checked++;
		if (tagged(tags[i].at, tags[i].value) || tagged(tags[i].alt, tags[i].value))
			continue;
		if (!bad++)
			printf("# the page written at %#lx is not at %#lx%s\n", tags[i].origin, tags[i].at,
			       tags[i].alt ? " nor where a failed mremap may have left it" : "");
	}
	printf("# %lu of %lu written pages checked where the calls put them\n", checked - bad, checked);
	printf("%sok 1 every written page is where the calls put it\n", bad ? "not " : "");
	return bad ? KSFT_FAIL : KSFT_PASS;
}
"""


def program_build_command(g: "Geometry", calls: list[dict]) -> str:
    """gcc -static ..., the program's text linked above everything it maps (as
    reproduce.build_command: at the first GiB boundary above, when that is below 2 GiB)."""
    from modelcheck.userspace.reproduce import gcc_line
    return gcc_line(g, max(max(c.get("addr", 0) + c.get("len", 0), c.get("new", 0) + c.get("len", 0))
                           for c in calls))


def program_c(g: "Geometry", calls: list[dict], name: str = "") -> str:
    """The C program of ``calls`` (recipe.load_calls' form) for geometry ``g``."""
    if not calls:
        raise InputError("calls", "expected a non-empty list")
    page = g.page_size
    rows, pages = [], 0
    for i, c in enumerate(calls):
        op = c["op"]
        if op not in _OPS:
            raise InputError(f"calls[{i}].op", f"expected one of {', '.join(_OPS)}")
        if op == "mremap":
            a, length, b, flag = c["old"], c["len"], c["new"], int(c["dontunmap"])
        else:
            a, length, b, flag = c["addr"], c["len"], 0, int(c.get("shared", False))
        if a % page or length % page or b % page:
            raise InputError(f"calls[{i}]", f"addresses and lengths must be multiples of the page size {hex(page)}")
        pages += length // page if op == "write" else 0
        rows.append(f"\t{{ {_OPS[op]}, {hex(a)}UL, {hex(length)}UL, {hex(b)}UL, {flag} }},")
    lines = [
        "/*",
        " * A program of system calls generated by modelcheck" + (f" ({name})" if name else "") + f", geometry {g.name}.",
        " * Every page a write touches carries a tag in its first and last word; at the end each tag",
        " * must be where the calls put it (\"ok 1\").  Each mremap's result is printed as a comment.",
        " *",
        f" * Build: {program_build_command(g, calls)}",
        " * Run:   ./repro",
        " */",
    ]
    lines = [lines[0], *(x.replace("/*", "/ *").replace("*/", "* /") for x in lines[1:-1]), lines[-1]]
    return "\n".join([
        *lines, _PROGRAM,
        f"#define PAGE_SIZE {hex(page)}UL",
        f"#define WORD_BITS {g.word_bits}",
        f"#define MAX_TAGS {pages}",
        "",
        "static const struct call calls[] = {",
        *rows,
        "};",
    ]) + "\n" + _MAIN
