/* syzbot 4d9a13f0797c46a29e42's call on a kernel with fault injection: a 4 MiB shared mapping,
 * userfaultfd-wp without EVENT_REMAP, mremap to 12 MiB above it with the n-th page allocation
 * failing, for every n until none fails.  Written for modelcheck's confirmation run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SRC 0x200000000000UL
#define DST 0x200000c00000UL
#define LEN 0x400000UL

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		printf("write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	char buf[32];
	int n;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	put("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	put("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N");
	put("/sys/kernel/debug/fail_page_alloc/min-order", "0");
	put("/sys/kernel/debug/fail_page_alloc/verbose", "0");
	for (n = 1; n < 200; n++) {
		struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
		struct uffdio_register reg = { .range = { .start = SRC, .len = LEN }, .mode = UFFDIO_REGISTER_MODE_WP };
		long uffd;
		void *p, *r;
		int fd, left, err = 0;

		p = mmap((void *)SRC, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != (void *)SRC) {
			printf("mmap: %s\n", strerror(errno));
			break;
		}
		memset(p, 0x5a, LEN);
		uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (uffd < 0 || ioctl((int)uffd, UFFDIO_API, &api) || ioctl((int)uffd, UFFDIO_REGISTER, &reg)) {
			printf("userfaultfd: %s\n", strerror(errno));
			break;
		}
		fd = open("/proc/thread-self/fail-nth", O_RDWR);
		if (fd < 0) {
			printf("fail-nth: %s\n", strerror(errno));
			break;
		}
		snprintf(buf, sizeof(buf), "%d", n);
		write(fd, buf, strlen(buf));
		r = mremap((void *)SRC, LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)DST);
		err = errno;
		lseek(fd, 0, SEEK_SET);
		memset(buf, 0, sizeof(buf));
		read(fd, buf, sizeof(buf) - 1);
		left = (int)strtol(buf, NULL, 10);
		write(fd, "0", 1);
		close(fd);
		printf("n=%d mremap=%s left=%d\n", n, r == MAP_FAILED ? strerror(err) : "moved", left);
		close((int)uffd);
		munmap((void *)SRC, LEN);
		munmap((void *)DST, LEN);
		if (left > 0)
			break;	/* fewer than n allocations: every one has failed once */
	}
	printf("modelcheck: done\n");
	fflush(stdout);
	return 0;	/* init exits: the kernel panics, panic=-1 reboots, qemu -no-reboot exits */
}
