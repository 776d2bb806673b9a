"""A standalone C reproducer for a reachable counterexample, in the style of the kernel's mm
selftests: TAP output, pass/fail/skip exit codes (0, 1, 4), nothing beyond libc.

The program performs the recipe at its fixed addresses (MAP_FIXED_NOREPLACE; an address that is
taken, or a kernel that ignores the flag, makes it skip; the program's own text is linked above
the scenario, so that the predicate sees no VMA the scenario does not have), gives every written mapping its own
byte pattern, does the mremap and then checks, for every page of every mapping, that what a
correct move leaves there is there: the pages outside the moved range unchanged, the moved range
intact at the destination; after an mremap that failed, every page where it was (the kernel
must undo what it moved; a wrong return value makes it undo too little).  Mappings the recipe only reads (private memory that must keep its
anon_vma NULL, so that copy_vma() can merge) hold the zero page, whose bytes cannot show a wrong
move; for them the program compares the present bits of /proc/self/pagemap before and after.

A move with an allocation failure (``stop_at``) gets another body: the n-th page allocation of
the mremap fails (/proc/thread-self/fail-nth, fail_page_alloc told through debugfs to fail
order-0 allocations that may sleep), for n = 1, 2, ... until the mremap makes fewer; after each
attempt every byte is checked, and as root the kernel log (/dev/kmsg) is read for a WARNING from
mm/mremap.c (TAP 1..3); a kernel without fault injection makes it skip.
A recipe's userfaultfd registrations are made after the writes (UFFDIO_API without
UFFD_FEATURE_EVENT_REMAP, UFFDIO_REGISTER_MODE_WP); a kernel without userfaultfd, or without
write-protect for shmem, makes it skip.  Only mremap recipes have reproducers: an exec stack move
depends on the randomized stack top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcheck.errors import InputError
from modelcheck.userspace.recipe import Reachability
from modelcheck.output.report import move_call
from modelcheck.model.scenario import Scenario
from modelcheck.userspace.syscalls import MAP_SHARED

__all__ = ["reproducer", "reproducer_for", "build_command", "gcc_line"]

if TYPE_CHECKING:
    from modelcheck.model.geometry import Geometry

_PRELUDE = r"""#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

struct region {
	unsigned long start, len;
	int shared;	/* MAP_SHARED, else MAP_PRIVATE */
	int fill;	/* FILL_WRITE: a pattern of its own; FILL_READ: read only (zero page); FILL_NONE */
};

enum { FILL_NONE, FILL_READ, FILL_WRITE };

/* a range registered with userfaultfd-wp on a uffd without UFFD_FEATURE_EVENT_REMAP */
struct uffd_range {
	unsigned long start, len;
};
"""

_COMMON = r"""
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

static unsigned long page_size;
static const unsigned char zero_page[PAGE_SIZE];
static int tests_run, tests_failed;

static unsigned char pattern(unsigned int region, unsigned long offset)
{
	return (unsigned char)(region * 37 + (offset / page_size) * 13 + offset % 251 + 1);
}

static void skip_all(const char *why)
{
	printf("ok 1 # SKIP %s\n", why);
	exit(KSFT_SKIP);
}

static void report(int ok, const char *what)
{
	tests_run++;
	if (!ok)
		tests_failed++;
	printf("%sok %d %s\n", ok ? "" : "not ", tests_run, what);
}

/* the recipe's mappings at their addresses, written or read as it says (KSFT_FAIL: mmap failed) */
static int map_regions(void)
{
	unsigned int i;
	unsigned long off;

	for (i = 0; i < NREGIONS; i++) {
		void *p = mmap((void *)regions[i].start, regions[i].len, PROT_READ | PROT_WRITE,
			       (regions[i].shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);

		if (p == MAP_FAILED && (errno == EEXIST || errno == EPERM || errno == ENOMEM)) {
			printf("# mmap(%#lx, %#lx): %s\n", regions[i].start, regions[i].len, strerror(errno));
			skip_all("an address of the recipe is taken or not allowed here");
		}
		if (p == MAP_FAILED) {
			printf("# mmap(%#lx): %s\n", regions[i].start, strerror(errno));
			return KSFT_FAIL;
		}
		if ((unsigned long)p != regions[i].start)
			skip_all("MAP_FIXED_NOREPLACE is not honoured by this kernel");
	}
	for (i = 0; i < NREGIONS; i++) {
		volatile unsigned char *b = (volatile unsigned char *)regions[i].start;

		if (regions[i].fill == FILL_WRITE)
			for (off = 0; off < regions[i].len; off++)
				b[off] = pattern(i, off);
		else if (regions[i].fill == FILL_READ)
			for (off = 0; off < regions[i].len; off += page_size)
				(void)b[off];
	}
	return KSFT_PASS;
}

/* the recipe's userfaultfd registrations: UFFDIO_API without UFFD_FEATURE_EVENT_REMAP (shmem
 * write-protect needs its feature), UFFDIO_REGISTER_MODE_WP; the uffd stays open (closing it
 * would unregister them) */
static void register_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	unsigned int i;
	long fd;

	if (!NUFFD)
		return;
	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		printf("# userfaultfd: %s\n", strerror(errno));
		skip_all("userfaultfd is not available (CONFIG_USERFAULTFD, vm.unprivileged_userfaultfd)");
	}
	if (ioctl((int)fd, UFFDIO_API, &api))
		skip_all("this kernel has no userfaultfd write-protect for shmem");
	for (i = 0; i < NUFFD; i++) {
		struct uffdio_register reg = { .range = { .start = uffd_ranges[i].start, .len = uffd_ranges[i].len },
					       .mode = UFFDIO_REGISTER_MODE_WP };

		if (ioctl((int)fd, UFFDIO_REGISTER, &reg)) {
			printf("# UFFDIO_REGISTER(%#lx, %#lx): %s\n", uffd_ranges[i].start, uffd_ranges[i].len,
			       strerror(errno));
			skip_all("userfaultfd-wp registration failed");
		}
	}
}
"""

_BODY = r"""
static int pagemap_fd = -1;

/* 1 present, 0 not present, -1 unknown (no /proc/self/pagemap) */
static int present(unsigned long addr)
{
	uint64_t entry;

	if (pagemap_fd < 0 ||
	    pread(pagemap_fd, &entry, sizeof(entry), (off_t)(addr / page_size * sizeof(entry))) != sizeof(entry))
		return -1;
	return (int)(entry >> 63);
}


/* 0 once mremap() failed: then nothing may have moved (mremap_to() unmapped the target first) */
static int moved = 1;

/* where the page at addr is after a correct move; 0 if the move's destination unmapping dropped it */
static unsigned long after_move(unsigned long addr)
{
	if (moved && addr >= old_addr && addr < old_addr + move_len)
		return addr - old_addr + new_addr;
	if (addr >= new_addr && addr < new_addr + move_len)
		return 0;
	return addr;
}

int main(void)
{
	static int before[MAX_PAGES];
	unsigned int i;
	unsigned long off, bad_bytes = 0, bad_pages = 0, checked = 0, with_entry = 0;
	void *p;

	page_size = (unsigned long)sysconf(_SC_PAGESIZE);
	printf("TAP version 13\n");
	printf("1..2\n");
	if (page_size != PAGE_SIZE || sizeof(long) * 8 != WORD_BITS)
		skip_all("the recipe is for another page size or word size");
	if (map_regions() != KSFT_PASS)
		return KSFT_FAIL;
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	for (i = 0, off = 0; i < NREGIONS; i++) {
		unsigned long a;

		for (a = regions[i].start; a < regions[i].start + regions[i].len; a += page_size) {
			before[off] = present(a);
			with_entry += before[off++] == 1;
		}
	}

	register_uffd();

	p = mremap((void *)old_addr, move_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)new_addr);
	report(p == (void *)new_addr, "mremap(" MOVE_TEXT ")");
	if (p == MAP_FAILED) {
		/* a failed mremap() must leave the old range as it was: check it in place */
		printf("# mremap: %s\n", strerror(errno));
		moved = 0;
	} else if (p != (void *)new_addr) {
		printf("# mremap: moved to %p\n", p);
		return KSFT_FAIL;
	}

	/* page-table entries first (reading the bytes would fault pages back in) */
	for (i = 0, off = 0; i < NREGIONS; i++) {
		unsigned long a;

		for (a = regions[i].start; a < regions[i].start + regions[i].len; a += page_size, off++) {
			unsigned long to = after_move(a);
			int now;

			if (!to || before[off] != 1)
				continue;
			now = present(to);
			if (now == 0) {
				if (bad_pages++ < 8)
					printf("# page %#lx: expected an entry at %#lx, found none\n", a, to);
			}
		}
	}
	for (i = 0; i < NREGIONS; i++) {
		unsigned long a;

		for (a = regions[i].start; a < regions[i].start + regions[i].len; a++) {
			unsigned long to = after_move(a);
			unsigned char want, got;

			if (!to)
				continue;
			/* an unwritten page reads as zeros: one memcmp() instead of a loop over its bytes */
			if (regions[i].fill != FILL_WRITE && a % page_size == 0 &&
			    !memcmp((const void *)to, zero_page, page_size)) {
				checked += page_size;
				a += page_size - 1;
				continue;
			}
			want = regions[i].fill == FILL_WRITE ? pattern(i, a - regions[i].start) : 0;
			got = *(volatile unsigned char *)to;
			checked++;
			if (got != want && bad_bytes++ < 8)
				printf("# byte %#lx (now at %#lx): expected %#x, found %#x\n", a, to, want, got);
		}
	}
	printf("# %lu bytes checked, %lu wrong; %lu of %lu page-table entries missing%s\n", checked, bad_bytes,
	       bad_pages, with_entry, pagemap_fd < 0 ? " (no /proc/self/pagemap)" : "");
	report(bad_bytes == 0 && bad_pages == 0, moved ? "every page outside the move unchanged, the moved range intact"
						      : "every page unchanged by the failed mremap");
	return tests_failed ? KSFT_FAIL : KSFT_PASS;
}
"""


_FAIL_BODY = r"""
#define MAX_NTH 256

static int kmsg_fd = -1;

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("# %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* the mappings of the recipe, written or read as it says, and its userfaultfd registrations */
static void setup(void)
{
	if (map_regions() != KSFT_PASS)
		exit(KSFT_FAIL);
	register_uffd();
}

static void teardown(void)
{
	unsigned int i;

	for (i = 0; i < NREGIONS; i++)
		munmap((void *)regions[i].start, regions[i].len);
	munmap((void *)new_addr, move_len);
}

/* bytes that are not what a correct kernel leaves: the move done (moved) or not at all */
static unsigned long check(int moved)
{
	unsigned long bad = 0, a;
	unsigned int i;

	for (i = 0; i < NREGIONS; i++)
		for (a = regions[i].start; a < regions[i].start + regions[i].len; a++) {
			unsigned long to = a;
			unsigned char want, got;

			if (moved && a >= old_addr && a < old_addr + move_len)
				to = a - old_addr + new_addr;
			else if (a >= new_addr && a < new_addr + move_len)
				continue;
			if (regions[i].fill != FILL_WRITE && a % page_size == 0 &&
			    !memcmp((const void *)to, zero_page, page_size)) {
				a += page_size - 1;
				continue;
			}
			want = regions[i].fill == FILL_WRITE ? pattern(i, a - regions[i].start) : 0;
			got = *(volatile unsigned char *)to;
			if (got != want && bad++ < 8)
				printf("# byte %#lx (now at %#lx): expected %#x, found %#x\n", a, to, want, got);
		}
	return bad;
}

/* WARNING records of mm/mremap.c that the kernel logged since the last call (-1: no log) */
static int kernel_warnings(void)
{
	char rec[1024];
	int found = 0;
	ssize_t n;

	if (kmsg_fd < 0)
		return -1;
	while ((n = read(kmsg_fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, "WARNING:") && strstr(rec, "mm/mremap.c")) {
			printf("# kernel: %s", strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
			found++;
		}
	}
	return found;
}

int main(void)
{
	char buf[32];
	unsigned long bad = 0;
	int n, fd, left = 0, failed = 0, warnings = 0, last_moved = 0;

	page_size = (unsigned long)sysconf(_SC_PAGESIZE);
	printf("TAP version 13\n");
	printf("1..3\n");
	if (page_size != PAGE_SIZE || sizeof(long) * 8 != WORD_BITS)
		skip_all("the recipe is for another page size or word size");
	fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fd < 0)
		skip_all("no fault injection here (CONFIG_FAULT_INJECTION, CONFIG_FAIL_PAGE_ALLOC): "
			 "the move needs a page-table allocation to fail");
	close(fd);
	/* let fail_page_alloc fail order-0 allocations that may sleep: page tables are those (in a
	 * bare initramfs, debugfs and /dev/kmsg may not be there yet: made here, as root) */
	if (access("/sys/kernel/debug/fail_page_alloc", F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access("/dev/kmsg", F_OK))
		mknod("/dev/kmsg", S_IFCHR | 0600, makedev(1, 11));
	put("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	put("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N");
	put("/sys/kernel/debug/fail_page_alloc/min-order", "0");
	put("/sys/kernel/debug/fail_page_alloc/verbose", "0");
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
	else
		printf("# /dev/kmsg: %s: the kernel log is not checked\n", strerror(errno));
	/* the n-th page allocation of the mremap fails, for n = 1, 2, ... until it makes fewer */
	for (n = 1; n <= MAX_NTH; n++) {
		void *p;
		int err;

		setup();
		fd = open("/proc/thread-self/fail-nth", O_RDWR);
		snprintf(buf, sizeof(buf), "%d", n);
		if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
			skip_all("cannot arm /proc/thread-self/fail-nth");
		p = mremap((void *)old_addr, move_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)new_addr);
		err = errno;
		memset(buf, 0, sizeof(buf));
		if (lseek(fd, 0, SEEK_SET) < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = 0;
		left = atoi(buf);
		if (write(fd, "0", 1) < 0)
			(void)0;	/* (a kernel that refuses 0 has disarmed it on its own) */
		close(fd);
		last_moved = p == (void *)new_addr;
		if (p == MAP_FAILED)
			failed++;
		if (p == MAP_FAILED || left > 0)
			printf("# fail-nth %d: %s\n", n, p == MAP_FAILED ? strerror(err) : "moved, no allocation failed");
		bad += check(last_moved);
		if (kernel_warnings() > 0)
			warnings++;
		teardown();
		if (left > 0)
			break;	/* the mremap made fewer than n page allocations: each has failed once */
	}
	report(failed > 0 && last_moved, "mremap(" MOVE_TEXT ") failed with an injected allocation failure, "
	       "and moved once none failed");
	report(bad == 0, "after every attempt, every page where a correct kernel leaves it");
	if (kmsg_fd < 0)
		printf("ok 3 # SKIP the kernel log is not readable (run as root)\n");
	else
		report(warnings == 0, "no WARNING from mm/mremap.c in the kernel log");
	return tests_failed ? KSFT_FAIL : KSFT_PASS;
}
"""


def build_command(s: Scenario) -> str:
    """gcc -static ..., with the program's text linked at the first GiB boundary above the
    scenario (-Ttext-segment; its data and heap follow it), so that none of the program's own
    mappings lies below or among the scenario's VMAs, where the predicate would see them.  A
    scenario reaching above 1 GiB keeps the default link address (4 MiB, below it): the small
    code model of a static program cannot be linked above 2 GiB.  A 32-bit geometry's program is
    built with -m32 (gcc-multilib on an x86-64 host)."""
    return gcc_line(s.geometry, s.vmas[-1].end)


def gcc_line(g: "Geometry", top: int) -> str:
    """build_command for a program whose mappings end at or below ``top``."""
    cmd = "gcc" + (" -m32" if g.word_bits == 32 else "") + " -static -Wall -Werror -O2"
    gib = 1 << 30
    text = (top // gib + 1) * gib
    if g.word_bits == 64 and text < 2 * gib:  # the small code model links below 2 GiB only
        cmd += f" -Wl,-Ttext-segment={hex(text)}"
    return cmd + " -o repro repro.c"


def reproducer_for(s: Scenario, source: str = "") -> str:
    """The reproducer of a scenario, with its recipe."""
    from modelcheck.userspace.recipe import find_recipe
    return reproducer(s, find_recipe(s), source)


def reproducer(s: Scenario, r: Reachability, source: str = "") -> str:
    """The C program for the scenario's recipe ``r`` (see the module's description)."""
    if not r.reachable:
        raise InputError("scenario", f"no recipe: {r.reason}")
    if any(st.op == "exec" for st in r.steps):
        raise InputError("scenario", "exec stack moves have no reproducer: the shift is the randomized stack top")
    fills: dict[int, str] = {}
    regions: list[tuple[int, int, bool]] = []
    uffd = [st.args for st in r.steps if st.op == "uffd"]
    for st in r.steps:
        if st.op == "mmap":
            addr, length, _, flags = st.args
            regions.append((addr, length, bool(flags & MAP_SHARED)))
            fills[addr] = "FILL_NONE"
        elif st.op == "touch":
            addr, _, write = st.args
            fills[addr] = "FILL_WRITE" if write else "FILL_READ"
    mv = s.move
    g = s.geometry
    # mremap(old, 0, new_len): a zero-length move duplicates a shared mapping, new_len long
    new_len = mv.len if mv.len else next(st.args[3] for st in r.steps if st.op == "mremap")
    pages = sum(length for _, length, _ in regions) // g.page_size
    claim = f"{s.claim.variant} {s.claim.property}" if s.claim else "a counterexample"
    lines = [
        "/*",
        f" * Reproducer generated by modelcheck for {claim}" + (f" ({source})" if source else "") + ".",
        f" * Geometry {g.name}; the kernel is brought to",
        f" *   {move_call(s)}",
        " * by these calls:",
        *[f" *   {i}. {st.c()}" for i, st in enumerate(r.steps, 1)],
        *([f" * It also needs {r.needs}; without it the move completes normally."] if r.needs and
          mv.stop_at is None else []),
        *([" * The allocation failure comes from fault injection: the n-th page allocation of the mremap",
           " * fails (/proc/thread-self/fail-nth), for n = 1, 2, ... until it makes fewer; a kernel without",
           " * CONFIG_FAULT_INJECTION and CONFIG_FAIL_PAGE_ALLOC makes the program skip.  As root it lets",
           " * fail_page_alloc fail page-table allocations (debugfs) and reads the kernel log (/dev/kmsg):",
           " * a WARNING from mm/mremap.c there is \"not ok 3\"."] if mv.stop_at is not None else []),
        " * A kernel whose realignment is wrong here moves or overwrites pages outside the request;",
        " * this program then reports \"not ok 2\".",
        " *",
        f" * Build: {build_command(s)}",
        " * Run:   ./repro",
        " */",
        _PRELUDE,
        f"#define PAGE_SIZE {hex(g.page_size)}UL",
        f"#define WORD_BITS {g.word_bits}",
        f"#define MAX_PAGES {pages}",
        f'#define MOVE_TEXT "{hex(mv.old_addr)} -> {hex(mv.new_addr)}, {hex(mv.len)} bytes"',
        "",
        f"static const unsigned long old_addr = {hex(mv.old_addr)}UL, new_addr = {hex(mv.new_addr)}UL, "
        f"move_len = {hex(mv.len)}UL, new_len = {hex(new_len)}UL;",
        "",
        "static const struct region regions[] = {",
        *[f"\t{{ {hex(a)}UL, {hex(n)}UL, {int(sh)}, {fills[a]} }}," for a, n, sh in regions],
        "};",
        "",
        f"#define NUFFD {len(uffd)}",
        "static const struct uffd_range uffd_ranges[] = {",
        *([f"\t{{ {hex(a)}UL, {hex(n)}UL }}," for a, n in uffd] or ["\t{ 0, 0 },"]),
        "};",
    ]
    head = len(lines) - lines.index(" */")  # the header comment's text must not end the comment early
    lines[:-head] = [x.replace("/*", "/ *").replace("*/", "* /") if i else x for i, x in enumerate(lines[:-head])]
    return "\n".join(lines) + "\n" + _COMMON + (_BODY if mv.stop_at is None else _FAIL_BODY)
