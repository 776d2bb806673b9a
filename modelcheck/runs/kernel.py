"""Run reproducers on a real Linux kernel under QEMU and read back what the kernel did.

``build_initramfs()`` compiles the reproducers (modelcheck.userspace.reproduce) and a small static
``/init`` and packs them into a gzip'd newc cpio archive, written here in Python, so that no
root and no cpio tool are needed.  ``/init`` mounts proc and tracefs, puts kprobe trace events on
move_page_tables() (its old_addr, new_addr and len arguments in the x86-64 calling convention,
and its return value), runs each reproducer, prints its TAP output and the trace, and reboots.
``boot()`` runs ``qemu-system-x86_64`` under software emulation with a timeout, and ``parse()``
turns the console into per-reproducer results.

The kprobes are x86-64's (argument registers, the pagetable_move_control offsets).  An i386
image (a patched tinyconfig build, ``kpatch.configure(tree, "i386")``) boots under
qemu-system-i386 with /init and the reproducers built -m32; it has no kprobes, and logs its
decisions and return values itself.
"""

from __future__ import annotations

import gzip
import re
import struct
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING, Callable

from modelcheck.errors import InputError, RunFailed

if TYPE_CHECKING:
    from modelcheck.model.geometry import Geometry
    from modelcheck.model.scenario import Scenario
    from modelcheck.model.semantics import Evaluation
    from modelcheck.model.variants import Variant

__all__ = ["ProbedCall", "KernelRun", "KernelFailed", "build_initramfs", "boot", "parse", "compare", "outcome", "gallery_cases",
           "run_cases", "compare_program", "run_programs", "multi_vma", "program_lines", "programs_exit_code", "thp_mode", "PATCHABLE", "Tally", "KernelReport", "report", "INIT_C", "newc", "image_release", "image_bits", "variant_for", "MREMAP_CALLERS",
           "EXEC_CALLERS"]

INIT_C = r"""#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		printf("# /init: cannot write %s\n", path);
	if (fd >= 0)
		close(fd);
}

static void dump(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
}

/*
 * The probe layout from the running kernel's version: since 6.15 move_page_tables() takes one
 * struct pagetable_move_control * (%di; old_addr, new_addr and len_in at 16, 32 and 40, for_stack
 * at 49: mm/internal.h), before it the arguments (vma, old_addr, new_vma, new_addr, len,
 * need_rmap_locks, for_stack) in %di, %si, %dx, %cx, %r8, %r9 and the stack.
 */
static const char *layout(const char *release)
{
	int major = 0, minor = 0;

	sscanf(release, "%d.%d", &major, &minor);
	return major > 6 || (major == 6 && minor >= 15) ? "pmc" : "args";
}

/* set a THP knob from a file of the initramfs (if there), then print what the knob says */
static void thp(const char *file, const char *knob, const char *name)
{
	char mode[32] = "";
	int fd = open(file, O_RDONLY);
	ssize_t n;

	if (fd >= 0) {
		n = read(fd, mode, sizeof(mode) - 1);
		close(fd);
		if (n > 0) {
			mode[n] = 0;
			put(knob, mode, O_TRUNC);
		}
	}
	if (access(knob, R_OK)) {
		printf("=== %s none\n", name);
		return;
	}
	printf("=== %s ", name);
	fflush(stdout);
	dump(knob);
}

int main(void)
{
	char path[64];
	struct utsname u;
	const char *how;
	int i, status = 0;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("tracefs", "/tracing", "tracefs", 0, NULL);
	uname(&u);
	how = layout(u.release);
	if (!strcmp(how, "pmc"))
		put("/tracing/kprobe_events", "p:mpt move_page_tables old_addr=+16(%di):x64 new_addr=+32(%di):x64 "
		    "len=+40(%di):x64 for_stack=+49(%di):u8\n", O_APPEND);
	else
		put("/tracing/kprobe_events", "p:mpt move_page_tables old_addr=%si:x64 new_addr=%cx:x64 len=%r8:x64 "
		    "for_stack=$stack1:u8\n", O_APPEND);
	put("/tracing/kprobe_events", "r:mptr move_page_tables ret=$retval:x64\n", O_APPEND);
	/* x86's flush_tlb_range(vma, start, end): the ranges a move flushes show where it began */
	put("/tracing/kprobe_events", "p:tlb flush_tlb_mm_range start=%si:x64 end=%dx:x64\n", O_APPEND);
	/* ...but a huge page split inside the move flushes the whole huge entry: bracket it */
	put("/tracing/kprobe_events", "p:split __split_huge_pmd\n", O_APPEND);
	put("/tracing/kprobe_events", "r:splitr __split_huge_pmd\n", O_APPEND);
	put("/tracing/events/kprobes/enable", "1", O_TRUNC);
	printf("=== kernel up %s %s\n", u.release, how);
	thp("/thp", "/sys/kernel/mm/transparent_hugepage/enabled", "thp");
	thp("/thp-shmem", "/sys/kernel/mm/transparent_hugepage/shmem_enabled", "thp-shmem");
	for (i = 1;; i++) {
		snprintf(path, sizeof(path), "/repro/%d", i);
		if (access(path, X_OK))
			break;
		put("/tracing/trace", "", O_TRUNC);
		printf("=== begin %d\n", i);
		fflush(stdout);
		if (fork() == 0) {
			execl(path, path, (char *)NULL);
			_exit(127);
		}
		wait(&status);
		fflush(stdout);
		printf("=== trace %d\n", i);
		dump("/tracing/trace");
		printf("=== end %d %d\n", i, WIFEXITED(status) ? WEXITSTATUS(status) : 128);
		fflush(stdout);
	}
	printf("=== done\n");
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
"""


class KernelFailed(RunFailed):
    """The kernel could not be run, or its guest did not finish (as opposed to bad input)."""


#: the reproducer's summary: "# N bytes checked, W wrong; M of E page-table entries missing"
_CHECKED = re.compile(r"bytes checked, (\d+) wrong; (\d+) of \d+ page-table entries missing")

#: where move_page_tables() returns to: mremap (move_vma() before 6.15, copy_vma_and_data() since)
#: and exec's stack move (shift_arg_pages() before 6.12's relocate_vma_down())
MREMAP_CALLERS = ("move_vma", "copy_vma_and_data")
EXEC_CALLERS = ("relocate_vma_down", "shift_arg_pages", "setup_arg_pages")
#: flush_tlb_mm()'s whole-address-space flush (start 0, end TLB_FLUSH_ALL): says nothing of where a move began
FLUSH_ALL = (1 << 64) - 1


@dataclass(frozen=True)
class ProbedCall:
    """One move_page_tables() call the kernel made: its caller (move_vma or copy_vma_and_data for
    an mremap, relocate_vma_down/shift_arg_pages for exec), arguments, return value, and the TLB
    ranges it flushed (flush_tlb_mm_range() between its entry and its return, leaving out those
    of a huge page split, __split_huge_pmd(), which flushes the whole huge entry it splits)."""

    caller: str
    old_addr: int
    new_addr: int
    len: int
    ret: int | None
    for_stack: bool | None = None
    flushes: tuple[tuple[int, int], ...] = ()

    @property
    def realigned(self) -> tuple[int, int]:
        """Where the kernel began the move, (old_addr', new_addr'), read off its TLB flushes.  A move
        flushes only ranges of the page tables it moved: move_normal_pmd()/move_normal_pud() and
        move_huge_pmd() flush the whole entry they moved, move_ptes() the extent it moved when an
        entry was present (every page a reproducer maps is touched).  So a flush starting below
        old_addr happens exactly when the kernel realigned, and it starts at the realigned address;
        otherwise the move began at old_addr."""
        below = [start for start, end in self.flushes if start < self.old_addr and end != FLUSH_ALL]
        if not below:
            return self.old_addr, self.new_addr
        old2 = min(below)
        return old2, self.new_addr - (self.old_addr - old2)

    def to_json(self) -> dict:
        old2, new2 = self.realigned
        return {"caller": self.caller, "old_addr": hex(self.old_addr), "new_addr": hex(self.new_addr),
                "len": hex(self.len), "returned": None if self.ret is None else hex(self.ret),
                "for_stack": self.for_stack, "flushes": [[hex(a), hex(b)] for a, b in self.flushes],
                "began": [hex(old2), hex(new2)]}


@dataclass
class KernelRun:
    """What one reproducer did on the kernel."""

    index: int
    exit_code: int | None = None
    tap: list[str] = field(default_factory=list)
    calls: list[ProbedCall] = field(default_factory=list)
    kernel_log: list[str] = field(default_factory=list)  # decisions of a patched kernel, WARNINGs, BUGs
    release: str = ""  # uname -r of the guest
    thp: str = ""  # its transparent_hugepage/enabled, e.g. "always [madvise] never"
    shmem_thp: str = ""  # and transparent_hugepage/shmem_enabled

    @property
    def logged(self) -> list[tuple[int, int, int, int, int, bool]]:
        """A patched kernel's logged realignment decisions: (old, old', new, new', len, for_stack)."""
        from modelcheck.runs.kpatch import DECISION
        out = []
        for line in self.kernel_log:
            if (m := DECISION.search(line)):
                old, old2, new, new2, length = (int(m.group(i), 16) for i in range(2, 7))
                out.append((old, old2, new, new2, length, m.group(7) == "1"))
        return out

    @property
    def returns(self) -> list[tuple[int, int, int, int]]:
        """A patched kernel's logged move_page_tables() return values: (returned, cursor at the
        end, old_end, len)."""
        from modelcheck.runs.kpatch import RETURNED
        return [tuple(int(m.group(i), 16) for i in range(2, 6))  # type: ignore[misc]
                for line in self.kernel_log if (m := RETURNED.search(line))]

    @property
    def mremap_failed(self) -> bool:
        """The reproducer's mremap() returned an error (its test 1 failed)."""
        return any(t.startswith("not ok 1") for t in self.tap)

    @property
    def decisions(self) -> list[tuple[int, int, int, int, int, bool]]:
        """The kernel's realignment decisions, (old, old', new, new', len, for_stack): logged by a
        patched kernel, or else observed on a probed one from each call's TLB flushes."""
        if (logged := self.logged):
            return logged
        return [(c.old_addr, began[0], c.new_addr, began[1], c.len,
                 bool(c.for_stack) if c.for_stack is not None else c.caller in EXEC_CALLERS)
                for c in self.calls for began in [c.realigned]]

    @property
    def warned(self) -> bool:
        return any("WARNING:" in line for line in self.kernel_log)

    @property
    def oopsed(self) -> bool:
        return any(re.search(r"BUG:|Oops|Kernel panic", line) for line in self.kernel_log)

    @property
    def verdict(self) -> str:
        """intact (ok 2), corrupted (not ok 2: bytes wrong), entries-missing (not ok 2 with every
        byte right but page-table entries gone, as when a huge page split drops its mapping),
        skipped, or failed (no TAP result).  After an mremap() that failed, test 2 is of the old
        range where it was."""
        if self.exit_code == 4 or any("# SKIP" in t for t in self.tap):
            return "skipped"
        if any(t.startswith("not ok 2") for t in self.tap):
            counts = next((m for t in self.tap if (m := _CHECKED.search(t))), None)
            if counts is not None and int(counts.group(1)) == 0 and int(counts.group(2)) > 0:
                return "entries-missing"
            return "corrupted"
        if any(t.startswith("ok 2") for t in self.tap):
            return "intact"
        return "failed"

    def mremaps(self) -> list[ProbedCall]:
        return [c for c in self.calls if c.caller in MREMAP_CALLERS]

    def to_json(self) -> dict:
        return {"index": self.index, "release": self.release, "thp": self.thp, "shmem_thp": self.shmem_thp,
                "exit_code": self.exit_code,
                "verdict": self.verdict, "tap": self.tap,
                "calls": [c.to_json() for c in self.calls], "warned": self.warned, "oopsed": self.oopsed,
                "decisions": [[hex(x) if not isinstance(x, bool) else x for x in d] for d in self.decisions],
                "mremap_failed": self.mremap_failed,
                "returns": [[hex(x) for x in r] for r in self.returns],
                "decided_by": "log" if self.logged else "flushes" if self.calls else None}


def newc(files: list[tuple[str, int, bytes, tuple[int, int]]]) -> bytes:
    """A newc cpio archive of (name, mode, data, (rdev major, minor)) entries, and its trailer."""
    out = bytearray()
    for ino, (name, mode, data, rdev) in enumerate([*files, ("TRAILER!!!", 0, b"", (0, 0))], 1):
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
        out += ("070701" + "".join(f"{x:08X}" for x in fields)).encode() + name.encode() + b"\0"
        out += b"\0" * (-len(out) % 4)
        out += data + b"\0" * (-len(data) % 4)
    return bytes(out)


def _gcc(source: str, exe: Path, build: str) -> None:
    """Compile ``source`` with the reproducer's build line (gcc -static ...)."""
    if shutil.which("gcc") is None:
        raise InputError("gcc", "gcc is needed to build the reproducers and /init")
    src = exe.with_suffix(".c")
    src.write_text(source, encoding="utf-8")
    args = build.split()
    done = subprocess.run([*args, "-o", str(exe), str(src)], capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(str(src), done.stderr.strip().splitlines()[-1] if done.stderr else "gcc failed")


def build_initramfs(reproducers: list[str], out: Path, thp: str | None = None, shmem: str | None = None,
                    bits: int = 64) -> Path:
    """Compile the reproducers' C texts and /init, and write the gzip'd initramfs to ``out``;
    ``thp`` (never, madvise, always) is the transparent_hugepage mode /init sets, ``shmem``
    (never, always, within_size, advise, deny, force) its shmem_enabled, None the kernel's.
    For a 32-bit kernel (``bits``) everything is built with -m32: a reproducer of a 64-bit
    geometry then skips (its word size is not the recipe's)."""
    m32 = " -m32" if bits == 32 else ""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _gcc(INIT_C, d / "init", f"gcc{m32} -static -O2 -Wall -Werror")
        files = [(x, stat.S_IFDIR | 0o755, b"", (0, 0)) for x in ("dev", "proc", "sys", "tracing", "repro")]
        files.append(("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)))
        files.append(("init", stat.S_IFREG | 0o755, (d / "init").read_bytes(), (0, 0)))
        if thp is not None:
            files.append(("thp", stat.S_IFREG | 0o644, thp.encode(), (0, 0)))
        if shmem is not None:
            files.append(("thp-shmem", stat.S_IFREG | 0o644, shmem.encode(), (0, 0)))
        for i, text in enumerate(reproducers, 1):
            m = re.search(r"Build: (gcc .*) -o repro repro\.c", text)
            cmd = m.group(1) if m else "gcc -static -O2 -Wall -Werror"
            if m32 and "-m32" not in cmd.split():
                cmd = cmd.replace("gcc", "gcc" + m32, 1)
            _gcc(text, d / f"r{i}", cmd)
            files.append((f"repro/{i}", stat.S_IFREG | 0o755, (d / f"r{i}").read_bytes(), (0, 0)))
        tmp_out = out.with_name(out.name + ".tmp")
        tmp_out.write_bytes(gzip.compress(newc(files), mtime=0))
        tmp_out.replace(out)
    return out


def boot(kernel: Path, initrd: Path, timeout: float = 300, memory: int = 1024,
         append: str = "console=ttyS0 panic=-1 loglevel=5") -> str:
    """Boot ``kernel`` with ``initrd`` under qemu-system-x86_64, or qemu-system-i386 for a 32-bit
    image (software emulation: the same on
    every machine, where a nested KVM may refuse a guest) and return the console output; a boot
    that does not finish in ``timeout`` seconds is a KernelFailed.  1 GiB of memory: below 512 MiB the kernel turns
    transparent huge pages off (transparent_hugepage_init()), and a Debian kernel runs as shipped."""
    if not Path(kernel).is_file():
        raise InputError("--kernel", f"{kernel}: no such kernel image")
    name = "qemu-system-x86_64" if image_bits(kernel) == 64 else "qemu-system-i386"
    qemu = shutil.which(name)
    if qemu is None:
        raise KernelFailed("qemu", f"{name} is not installed (Debian: apt-get install qemu-system-x86)")
    # loglevel=5: WARNINGs (KERN_WARNING) and a patched kernel's decisions (KERN_ERR) reach the console
    if name.endswith("i386"):
        # the 32-bit scenarios map more than a GiB (old_end + len must pass 2^32), and the
        # overcommit heuristic refuses a mapping larger than RAM: PAE's highmem takes 2 GiB
        memory = max(memory, 2048)
    cmd = [qemu, "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
           "-nographic", "-no-reboot", "-m", str(memory), "-smp", "1"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        raise KernelFailed("--timeout", f"the kernel did not finish in {timeout:.0f} s; last output: "
                                      f"{out.strip().splitlines()[-1] if out.strip() else '(none)'}") from None
    return done.stdout.decode(errors="replace")


_CALL = re.compile(r"mpt: \(move_page_tables\+\S+\) old_addr=(0x[0-9a-f]+) new_addr=(0x[0-9a-f]+) "
                   r"len=(0x[0-9a-f]+)(?: for_stack=(0x[0-9a-f]+|\d+))?")
_RET = re.compile(r"mptr: \((\w+)\+\S+ <- move_page_tables\) ret=(0x[0-9a-f]+)")
_FLUSH = re.compile(r"tlb: \(flush_tlb_mm_range\+\S+\) start=(0x[0-9a-f]+) end=(0x[0-9a-f]+)")
_SPLIT = re.compile(r" split(r?): \(")
#: the largest user address of any x86-64 layout (five-level paging: 56 bits)
_USER_TOP = 1 << 56


def _implausible(c: ProbedCall) -> str:
    """Why a probed call cannot be a real move_page_tables() of user memory, or ''."""
    if c.caller not in MREMAP_CALLERS + EXEC_CALLERS:
        return (f"move_page_tables() returned to {c.caller}(), which is neither mremap's "
                f"({', '.join(MREMAP_CALLERS)}) nor exec's ({', '.join(EXEC_CALLERS)})")
    if (c.old_addr | c.new_addr | c.len) & 0xFFF or \
            max(c.old_addr + c.len, c.new_addr + c.len) > _USER_TOP or (c.ret is not None and c.ret > c.len):
        return (f"implausible move_page_tables() arguments (old_addr={c.old_addr:#x}, new_addr={c.new_addr:#x}, "
                f"len={c.len:#x}, returned {c.ret if c.ret is None else hex(c.ret)})")
    return ""


def parse(console: str) -> list[KernelRun]:
    """The per-reproducer results in a console log written by INIT_C.  A guest that did not
    finish, or a probe that read something no move_page_tables() call can have been given (the
    probe layout does not fit the kernel), is a KernelFailed: a failure of the run, never a
    disagreement."""
    if "=== done" not in console:
        tail = console.strip().splitlines()[-3:] if console.strip() else ["(no output)"]
        raise KernelFailed("kernel", "the guest did not finish its run: " + " | ".join(tail))
    runs: dict[int, KernelRun] = {}
    current, section = None, None
    release, layout, thp, shmem = "", "", "", ""
    splitting = False  # inside __split_huge_pmd(): its flush of the whole huge entry is not the move's
    pending: list[tuple[int, int, int, bool | None, list[tuple[int, int]]]] = []
    for line in console.splitlines():
        line = line.strip("\r")
        if (up := re.match(r"=== kernel up(?: (\S+) (\S+))?", line)):
            release, layout = up.group(1) or "", up.group(2) or ""
            continue
        if (m := re.match(r"=== thp-shmem (.*)", line)):
            shmem = m.group(1).strip()
            continue
        if (m := re.match(r"=== thp (.*)", line)):
            thp = m.group(1).strip()
            continue
        m = re.match(r"=== (begin|trace|end) (\d+)(?: (\d+))?", line)
        if m:
            current = runs.setdefault(int(m.group(2)), KernelRun(int(m.group(2)), release=release, thp=thp,
                                                                 shmem_thp=shmem))
            section = m.group(1)
            if section == "end":
                current.exit_code = int(m.group(3))
                pending = []
            continue
        if current is None:
            continue
        if re.search(r"modelcheck: |WARNING:|BUG:|Oops|Kernel panic", line):
            current.kernel_log.append(line)
        elif section == "begin" and re.match(r"(not )?ok \d|# ", line):
            current.tap.append(line)
        elif section == "trace":
            if (c := _CALL.search(line)):
                stack = None if c.group(4) is None else int(c.group(4), 0) != 0
                pending.append((int(c.group(1), 16), int(c.group(2), 16), int(c.group(3), 16), stack, []))
            elif (sp := _SPLIT.search(line)):
                splitting = not sp.group(1)  # "split" enters, "splitr" returns
            elif (f := _FLUSH.search(line)) and pending and not splitting:
                pending[0][4].append((int(f.group(1), 16), int(f.group(2), 16)))
            elif (r := _RET.search(line)) and pending:
                old, new, length, stack, flushes = pending.pop(0)
                call = ProbedCall(r.group(1), old, new, length, int(r.group(2), 16), stack, tuple(flushes))
                if (why := _implausible(call)):
                    raise KernelFailed("kernel", f"{why} on {release or 'this kernel'}: the probe layout "
                                                 f"'{layout or 'args'}' does not fit it")
                current.calls.append(call)
    return [runs[i] for i in sorted(runs)]


#: the shmem_enabled modes under which a shared anonymous mapping gets huge pages without madvise()
SHMEM_HUGE = ("always", "within_size", "force")


def shmem_splits(s: "Scenario", variant: "Variant", shmem: str,
                 ev: "Evaluation | None" = None) -> list[tuple[int, int]]:
    """The huge shmem pages the move splits, as (start, end) of their PMD extents: where the
    kernel drops the whole PMD mapping, so that every entry of the extent is missing (inside the
    request and out) while the data stays in the page cache.

    The reproducer's shared mappings are shmem (the recipe: MAP_SHARED|MAP_ANONYMOUS, written).
    Under shmem_enabled ``always``/``within_size``/``force`` (``SHMEM_HUGE``) a write fault maps
    a huge page for each PMD extent that lies inside the VMA when the VMA's start is PMD-aligned
    (page offset 0: thp_vma_suitable_order()).  move_page_tables() moves such a PMD whole
    (move_huge_pmd()) only when its loop reaches the extent at its start with the destination
    cursor PMD-aligned and at least a PMD still to move; at any other cursor in the extent it
    splits it first (split_huge_pmd(), which for shmem only unmaps: __split_huge_pmd_locked()).
    The cursors are the variant's, after its realignment decision (``ev``, the variant's
    evaluation of ``s``, when the caller has it)."""
    from modelcheck.model.semantics import evaluate
    from modelcheck.userspace.recipe import find_recipe
    from modelcheck.userspace.syscalls import MAP_SHARED
    mv, g = s.move, s.geometry
    src = s.vmas[mv.old_vma]
    if shmem not in SHMEM_HUGE or mv.for_stack or mv.stop_at is not None or not src.populated:
        return []
    reach = find_recipe(s)
    shared = {(st.args[0], st.args[0] + st.args[1]) for st in reach.steps
              if st.op == "mmap" and st.args[3] & MAP_SHARED}
    pmd = g.pmd_size
    if not reach.reachable or (src.start, src.end) not in shared or src.start % pmd:
        return []
    ev = ev if ev is not None else evaluate(s, variant)
    start, new, end = ev.old_addr, ev.new_addr, mv.old_end
    out = []
    for e in range(src.start, src.end - pmd + 1, pmd):
        lo = max(e, start)
        if lo >= min(e + pmd, end):
            continue  # the move does not reach this extent
        if lo == e and (new + (lo - start)) % pmd == 0 and end - lo >= pmd:
            continue  # moved whole
        out.append((e, e + pmd))
    return out


def compare(s: "Scenario", kr: KernelRun, variant: "Variant") -> dict:
    """What the kernel did on scenario ``s`` (as its reproducer performed it) against what the model
    predicts for ``variant``: the memory outside the request, the mremap's move_page_tables()
    call and return value, a WARN, and (on a patched kernel, which logs it) the decision."""
    from modelcheck.output.report import move_call
    from modelcheck.checks import PROPERTIES
    from modelcheck.model.semantics import evaluate
    ev = evaluate(s, variant)
    memory = {pid for pid, p in PROPERTIES.items() if p.memory}  # what a reproducer sees
    mv = s.move
    # move_vma()/copy_vma_and_data(): a return below len is -ENOMEM, and the undo moves back only
    # what the return value says was moved; the rest is unmapped with the new range
    fails = mv.stop_at is None and ev.returned < mv.len
    lost = fails and s.vmas[mv.old_vma].populated
    splits = shmem_splits(s, variant, thp_mode(kr.shmem_thp), ev) if kr.shmem_thp else []
    model = {"variant": variant.id, "memory": "corrupted" if memory & set(ev.violated()) or lost else
             "entries-missing" if splits else "intact",
             "splits": [[hex(a), hex(b)] for a, b in splits],
             "mremap": "fails (ENOMEM)" if fails else "moves",
             "old_addr": hex(mv.old_addr),
             "warn": any(PROPERTIES[pid].warns for pid in ev.violated() if pid in PROPERTIES),
             "returned": hex(ev.returned), "call": move_call(s),
             "decision": [hex(ev.old_addr), hex(ev.new_addr)]}
    calls = kr.mremaps()
    mine = [d for d in kr.decisions if (d[0], d[2], d[4]) == (mv.old_addr, mv.new_addr, mv.len)]
    # what this move returned: probed, or logged by a patched kernel without kprobes
    got = [c.ret for c in calls] if kr.calls else [r[0] for r in kr.returns if (r[2], r[3]) == (mv.old_end, mv.len)]
    # a kernel without kprobes (a tinyconfig build) shows the call only through its logged decision
    checks = {
        # entries gone from outside the request is what the model calls corrupted, whether or not
        # the bytes still read back (a shmem page is still in the page cache and faults back in)
        "memory": kr.verdict == model["memory"] or (kr.verdict, model["memory"]) == ("entries-missing", "corrupted"),
        "call": ([(c.old_addr, c.new_addr, c.len) for c in calls] == [(mv.old_addr, mv.new_addr, mv.len)]
                 if kr.calls else len(mine) == 1),
        # an allocation failure the kernel was not given changes the return value
        "returned": mv.stop_at is not None or got == [ev.returned] or (not kr.calls and not got),
        "mremap": mv.stop_at is not None or kr.verdict in ("skipped", "failed") or kr.mremap_failed == fails,
        "warn": mv.stop_at is not None or kr.warned == model["warn"],
        "decision": not mine or [(d[1], d[3]) for d in mine] == [(ev.old_addr, ev.new_addr)],
    }
    unobserved = []
    if mv.stop_at is not None:
        # the reproducer fails the n-th page allocation for n = 1, 2, ... until one mremap moves:
        # every call is then that move or an undo moving back at most what it moved; a WARN the
        # model predicts at this failure point must show (the others may warn or not)
        fwd, back = (mv.old_addr, mv.new_addr, mv.len), (mv.new_addr, mv.old_addr)
        checks["call"] = fwd in [(c.old_addr, c.new_addr, c.len) for c in calls] and all(
            (c.old_addr, c.new_addr, c.len) == fwd or ((c.old_addr, c.new_addr) == back and c.len <= mv.len)
            for c in calls) if kr.calls else bool(mine)
        checks["warn"] = kr.warned or not model["warn"]
    if not kr.calls and not kr.logged and not kr.returns:
        # a built kernel with neither kprobes nor a patched decision log shows no call at all
        unobserved = ["call", "returned", "decision"]
        for k in unobserved:
            checks.pop(k)
    model["decided"] = bool(mine)  # a kernel with neither kprobes nor a decision log shows none
    skipped = kr.verdict == "skipped"
    return {"kernel": kr.to_json(), "model": model, "checks": checks, "unobserved": unobserved,
            "returned": hex(got[0]) if len(got) == 1 and got[0] is not None else None,  # the kernel's, probed or logged
            "began": [hex(mine[0][1]), hex(mine[0][3])] if mine else None,  # where the kernel began this move
            "agree": not skipped and all(checks.values()), "skipped": skipped}


_MREMAP_DONE = re.compile(r"# calls\[(\d+)\] mremap (?:= (0x[0-9a-f]+)|errno (\d+))")


def compare_program(g: "Geometry", calls: list[dict], kr: KernelRun, variant: "Variant", multi: bool) -> dict:
    """What the kernel did with a program of calls (userspace.program's C) against the
    system-call simulator (recipe.run_calls; ``multi``: 6.17's remap_move(), a piece per VMA)
    and the model's evaluation of every piece for ``variant``: each mremap's result (the address,
    or the errno), every move_page_tables() call the mremaps made in order (old_addr, new_addr,
    len), what each returned and where each began (the decision, read off its TLB flushes), a
    WARN, and whether every written page is where the calls put it."""
    import errno as errnos

    from modelcheck.checks import PROPERTIES
    from modelcheck.model.semantics import evaluate
    from modelcheck.userspace.recipe import run_calls
    memory_ids = {pid for pid, p in PROPERTIES.items() if p.memory}
    results = run_calls(g, calls, multi)
    pieces, mremaps, corrupt, warn = [], {}, False, False
    for r in results:
        if r.call["op"] != "mremap":
            continue
        mremaps[r.index] = r.error.split(":")[0] if r.error else hex(r.call["new"])
        for p in r.pieces:
            ev = evaluate(p, variant)
            corrupt |= bool(memory_ids & set(ev.violated()))
            warn |= any(PROPERTIES[pid].warns for pid in ev.violated() if pid in PROPERTIES)
            # where a move began shows only in what it flushes, which needs a page table at its
            # first cursor: the source VMA populated (it begins in that first PMD extent)
            pieces.append({"old_addr": hex(p.move.old_addr), "new_addr": hex(p.move.new_addr),
                           "len": hex(p.move.len), "returned": hex(ev.returned),
                           "began": [hex(ev.old_addr), hex(ev.new_addr)],
                           "observable": p.vmas[p.move.old_vma].populated, "mremap": r.index})
    got: dict[int, str] = {}
    for line in kr.tap:
        if (m := _MREMAP_DONE.match(line)):
            got[int(m.group(1))] = m.group(2) or errnos.errorcode.get(int(m.group(3)), m.group(3))
    seen = [{"old_addr": hex(c.old_addr), "new_addr": hex(c.new_addr), "len": hex(c.len),
             "returned": None if c.ret is None else hex(c.ret), "began": [hex(x) for x in c.realigned],
             "caller": c.caller} for c in kr.mremaps()]
    if len(seen) == len(pieces):
        for k, m in zip(seen, pieces):
            k["observable"] = m["observable"]
    skipped = kr.exit_code == 4 or any("# SKIP" in t for t in kr.tap)
    memory = ("intact" if any(t.startswith("ok 1") for t in kr.tap) else
              "corrupted" if any(t.startswith("not ok 1") for t in kr.tap) else "failed")
    key = ("old_addr", "new_addr", "len")
    checks = {
        "mremap": got == {i: str(v) for i, v in mremaps.items()},
        "calls": [tuple(c[k] for k in key) for c in seen] == [tuple(c[k] for k in key) for c in pieces],
        "returned": [c["returned"] for c in seen] == [c["returned"] for c in pieces],
        "decision": len(seen) == len(pieces) and all(k["began"] == m["began"] for k, m in zip(seen, pieces)
                                                     if m["observable"]),
        "warn": kr.warned == warn,
        "memory": memory == ("corrupted" if corrupt else "intact"),
    }
    model = {"variant": variant.id, "multi": multi, "mremaps": {str(i): v for i, v in mremaps.items()},
             "calls": pieces, "memory": "corrupted" if corrupt else "intact", "warn": warn}
    kernel = {"release": kr.release, "thp": kr.thp, "tap": kr.tap, "mremaps": {str(i): v for i, v in got.items()},
              "calls": seen, "memory": memory, "warned": kr.warned, "oopsed": kr.oopsed}
    return {"kernel": kernel, "model": model, "checks": checks, "skipped": skipped,
            "agree": not skipped and all(checks.values()),
            "observed": sum(m["observable"] for m in pieces) if len(seen) == len(pieces) else 0,
            "realigned": sum(k["began"][0] != k["old_addr"] for k, m in zip(seen, pieces) if m["observable"])}


def thp_mode(line: str) -> str:
    """The selected mode of a transparent_hugepage/enabled line ('always [madvise] never' -> 'madvise')."""
    m = re.search(r"\[(\w+)\]", line)
    return m.group(1) if m else (line or "unknown")


def outcome(kr: KernelRun) -> str:
    """What the kernel did, in a word or two: data corrupted, WARN, BUG, nothing."""
    if kr.verdict == "skipped":
        return "skipped"
    words = {"corrupted": "data corrupted", "intact": "nothing", "failed": "no result",
             "entries-missing": "entries missing, data intact"}[kr.verdict]
    if kr.warned:
        words += ", WARN"
    if kr.oopsed:
        words += ", BUG"
    return words


def image_release(image: Path) -> str:
    """The release a bzImage/vmlinuz says it is (its setup header's kernel_version string,
    Documentation/arch/x86/boot.rst), e.g. '7.3.4+deb13-amd64'; '' when it carries none."""
    try:
        with open(image, "rb") as f:
            head = f.read(0x10000)
    except OSError:
        return ""
    if len(head) < 0x210 or head[0x202:0x206] != b"HdrS":
        return ""
    at = struct.unpack_from("<H", head, 0x20E)[0] + 0x200
    text = head[at:at + 256].split(b"\0")[0].decode(errors="replace")
    return text.split(" ")[0] if at < len(head) and text else ""


def image_bits(image: Path) -> int:
    """64 for an x86-64 bzImage, 32 for an i386 one: bit 0 of the setup header's xloadflags
    (XLF_KERNEL_64, boot protocol 2.12, Documentation/arch/x86/boot.rst); 64 when the header
    says nothing (an older protocol or not a bzImage)."""
    try:
        with open(image, "rb") as f:
            head = f.read(0x240)
    except OSError:
        return 64
    if len(head) < 0x238 or head[0x202:0x206] != b"HdrS" or struct.unpack_from("<H", head, 0x206)[0] < 0x20C:
        return 64
    return 64 if struct.unpack_from("<H", head, 0x236)[0] & 1 else 32


def variant_for(release: str) -> str | None:
    """The built-in variant a stock kernel of ``release`` runs: none below 6.7 ('never'), v6.7's
    tail guard until a4a282daf1a1 (v6.12, stable 6.11.10), v6.12's until the pagetable_move_control
    refactor of v6.15, v6.15's since (unchanged to 7.3); None when the release is not a version."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if not m:
        return None
    v = tuple(int(x or 0) for x in m.groups())
    if v < (6, 7):
        return "never"
    if v < (6, 11, 10):
        return "v6.7"
    return "v6.12" if v < (6, 15) else "v6.15"


#: the historic variants whose C fits a 6.12 tree (the v6.15 form does not)
PATCHABLE = ("rfc", "v2", "linus", "v3", "v4", "v5", "v6.7", "v6.12")


def gallery_cases(gallery: Path, vid: str = "*", geometry: str = "x86_64-4level",
                  limit: int = 64 << 20) -> list[Path]:
    """The reachable mremap counterexamples in the gallery of a variant (every variant with
    ``"*"``), with at most ``limit`` bytes mapped."""
    from modelcheck.userspace.recipe import find_recipe
    from modelcheck.model.scenario import load_scenario
    out = []
    for f in sorted((gallery / geometry).glob(f"{vid}/*.json")):
        if f.name.endswith(".graph.json"):
            continue
        s = load_scenario(str(f))
        if not s.move.for_stack and sum(v.end - v.start for v in s.vmas) <= limit and find_recipe(s).reachable:
            out.append(f)
    return out


def run_cases(image: Path, cases: list[tuple[str, "Scenario"]], timeout: float,
              each: bool = False, thp: str | None = None, shmem: str | None = None) -> tuple[list[KernelRun], float]:
    """Boot ``image`` with the reproducers of the (name, scenario) ``cases``: (a run per case,
    seconds of booting).  With ``each``, one boot per reproducer: a WARN_ON_ONCE() fires once per
    boot, so only a fresh boot shows whether this reproducer triggers it.  Building the initramfs
    fails with InputError, running the kernel with KernelFailed."""
    import time

    from modelcheck.userspace.reproduce import reproducer_for
    texts = [reproducer_for(s, name) for name, s in cases]
    groups = [[t] for t in texts] if each else [texts]
    runs: list[KernelRun] = []
    seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for group in groups:
            initrd = build_initramfs(group, Path(tmp) / "initrd.gz", thp, shmem, image_bits(image))
            t = time.perf_counter()
            runs += parse(boot(image, initrd, timeout))
            seconds += time.perf_counter() - t
    return runs, seconds


def programs_exit_code(rows: list[dict], missing: list[str]) -> int:
    """kernel run's exit code for the programs' comparisons (compare_program) and those without a result."""
    return _exit_code(sum(not r["agree"] and not r["skipped"] for r in rows), sum(r["skipped"] for r in rows),
                      len(missing))


def program_lines(rows: list[dict], missing: list[str], multi: bool) -> list[str]:
    """kernel run's text for the programs: per program its mremaps and move_page_tables() calls,
    the kernel's beside the model's, then a tally."""
    def began(c: dict) -> str:
        return "not realigned" if c["began"][0] == c["old_addr"] else f"realigned to {c['began'][0]} -> {c['began'][1]}"

    def moves(calls: list[dict], returned_word: str) -> str:
        return "; ".join(f"{c['old_addr']} -> {c['new_addr']}, {c['len']} {returned_word} {c['returned']}, "
                         + (began(c) if c.get("observable", True) or returned_word == "returns" else
                            "decision unseen (its source has no entries, so nothing is flushed)")
                         for c in calls) or "no move_page_tables() call"

    out = []
    for r in rows:
        k, m = r["kernel"], r["model"]
        if r["skipped"]:
            out.append(f"SKIPPED (no answer): {r['program']}\n  kernel: " + "; ".join(k["tap"]))
            continue
        wrong = [c for c, ok in r["checks"].items() if not ok]
        mrem = lambda d: ", ".join(f"calls[{i}] mremap {'= ' + v if v.startswith('0x') else v}"  # noqa: E731
                                   for i, v in sorted(d.items(), key=lambda x: int(x[0])))
        out.append(f"{'agrees' if r['agree'] else 'DISAGREES (' + ', '.join(wrong) + ')'}: {r['program']}\n"
                   f"  kernel: {mrem(k['mremaps'])}; memory {k['memory']}{', WARN' if k['warned'] else ''}; "
                   f"{moves(k['calls'], '=')}\n"
                   f"  model:  {mrem(m['mremaps'])}; memory {m['memory']}{', WARN' if m['warn'] else ''}; "
                   f"{moves(m['calls'], 'returns')}")
    ran = [r for r in rows if not r["skipped"]]
    calls = sum(len(r["kernel"]["calls"]) for r in ran)
    observed = sum(r["observed"] for r in ran)
    from collections import Counter
    pieces = sum(any(n > 1 for n in Counter(c["mremap"] for c in r["model"]["calls"]).values()) for r in ran)
    out.append(f"{len(rows) + len(missing)} programs ({'6.17 and later: a move_page_tables() call per VMA' if multi else 'before 6.17: one VMA per mremap'}): "
               f"{sum(r['agree'] for r in rows)} agree, {len(ran) - sum(r['agree'] for r in ran)} disagree, "
               f"{len(rows) - len(ran)} skipped, {len(missing)} without a result")
    out.append(f"of the {len(ran)} that ran: {pieces} moved several VMAs in one mremap; {calls} move_page_tables() calls, "
               f"the decision seen in {observed} (a populated source; the kernel realigned in "
               f"{sum(r['realigned'] for r in ran)}); calls, returns and decisions as the model says in "
               f"{sum(r['checks']['calls'] and r['checks']['returned'] and r['checks']['decision'] for r in ran)} "
               f"programs; mremap results as the simulator says in {sum(r['checks']['mremap'] for r in ran)}; "
               f"memory as the model says in {sum(r['checks']['memory'] for r in ran)}")
    return out


def run_programs(image: Path, programs: list[tuple[str, "Geometry", list[dict]]], timeout: float,
                 thp: str | None = None, shmem: str | None = None) -> list[KernelRun]:
    """Boot ``image`` once with the C programs (userspace.program) of the (name, geometry, calls)
    ``programs``: a run per program."""
    from modelcheck.userspace.program import program_c
    with tempfile.TemporaryDirectory() as tmp:
        initrd = build_initramfs([program_c(g, calls, name) for name, g, calls in programs],
                                 Path(tmp) / "initrd.gz", thp, shmem, image_bits(image))
        return parse(boot(image, initrd, timeout))


def multi_vma(release: str) -> bool:
    """Whether a kernel of ``release`` moves several VMAs in one mremap (6.17 and later:
    d23cb648e365 "mm/mremap: permit mremap() move of multiple VMAs"); before, a range over
    more than one VMA is -EFAULT."""
    m = re.match(r"(\d+)\.(\d+)", release)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (6, 17)


def _exit_code(disagree: int, skipped: int, missing: int) -> int:
    """0 when every run ran and agreed, 1 on a disagreement, 3 when some gave no answer."""
    return 1 if disagree else 3 if skipped or missing else 0


@dataclass
class Tally:
    """What one kernel (in one THP mode) did on one set of scenarios, against the model."""

    kernel: str
    thp: str
    scenarios: str
    model: str
    agree: int = 0
    disagree: int = 0
    skipped: int = 0
    missing: int = 0
    memory_agree: int = 0
    decided: int = 0
    realigned: int = 0
    decisions_agree: int = 0
    entries_missing: int = 0  # entries gone, every byte intact, where the model says intact (an unpredicted split)
    splits: int = 0  # a huge shmem page split where the model predicts it (shmem_splits), entries gone as it says
    wrong: list[str] = field(default_factory=list)  # the scenarios that disagree, and on what

    def add(self, name: str, c: dict | None) -> None:
        """Count one comparison (compare()'s result; None: the guest gave no result)."""
        if c is None:
            self.missing += 1
            return
        if c["skipped"]:
            self.skipped += 1
            return
        self.agree += c["agree"]
        self.disagree += not c["agree"]
        self.memory_agree += c["checks"]["memory"]
        self.entries_missing += (c["kernel"]["verdict"], c["model"]["memory"]) == ("entries-missing", "intact")
        self.splits += (c["kernel"]["verdict"], c["model"]["memory"]) == ("entries-missing", "entries-missing")
        self.decided += c["model"]["decided"]
        self.decisions_agree += c["model"]["decided"] and c["checks"].get("decision", False)
        self.realigned += c["began"] is not None and c["began"][0] != c["model"]["old_addr"]
        if not c["agree"]:
            self.wrong.append(f"{name} ({', '.join(k for k, ok in c['checks'].items() if not ok)})")

    def exit_code(self) -> int:
        return _exit_code(self.disagree, self.skipped, self.missing)

    def row(self) -> str:
        return (f"| {self.kernel} | {self.thp} | {self.scenarios} | {self.model} | {self.agree} | {self.disagree} | "
                f"{self.skipped} | {self.missing} | {self.memory_agree}"
                f"{f' ({self.splits} huge shmem pages split, as predicted)' if self.splits else ''}"
                f"{f' ({self.entries_missing} entries missing, data intact, where the model predicts none)' if self.entries_missing else ''} | "
                f"{self.decided} ({self.realigned} realigned) | "
                f"{self.decisions_agree} |")


def _total(count: str) -> property:
    """A KernelReport's total of one of its tallies' counts."""
    return property(lambda self: sum(getattr(t, count) for t in self.tallies))


@dataclass
class KernelReport:
    """What `modelcheck kernel report` found: one table row per (variant, counterexample, kernel)
    and one tally per kernel, THP mode and set of scenarios (the gallery's counterexamples, the
    random differential ones); how many disagree with the model, how many reproducers skipped (an
    address already taken: no answer, never agreement) and how many have no result (the guest
    returned fewer runs than it was given reproducers); and what the Markdown page says."""

    rows: list[str] = field(default_factory=list)
    tallies: list[Tally] = field(default_factory=list)
    seconds: float = 0.0
    version: str = "6.12"
    stock: str = ""
    command: str = "modelcheck kernel report --tree TREE --stock STOCK"
    i386: bool = False  # i386 PAE builds ran too (--tree32)

    def markdown(self, today: str) -> str:
        head = [
            "# Counterexamples on real kernels", "",
            f"Generated {today} by `{self.command}`",
            f"({self.seconds:.0f} s).  Stock kernels: {self.stock}.  Patched kernels: a",
            f"tinyconfig build of the {self.version} source in TREE whose mm/mremap.c runs the variant's C from",
            "properties/c/ (modelcheck/runs/kpatch.py).  Every reachable mremap counterexample of each variant",
            "in counterexamples/x86_64-4level runs as its reproducer (`.repro.c`) under qemu-system-x86_64,",
            "on the kernel patched with that variant (THP never; one boot per reproducer: WARN_ON_ONCE() fires",
            "once per boot) and on each stock kernel; the stock kernels also run the seeded random scenarios",
            "of `kernel run --random` (most at the predicate's edges) in each THP mode of the tally (MODE/SHMEM:",
            "shmem_enabled too; the reproducers' mappings are shmem where nothing must merge).",
            "\"What the kernel did\" is the reproducer's verdict on memory outside the request, the WARN/BUG",
            "lines of the kernel log, and its decision: logged by a patched kernel, read off the TLB ranges the",
            "call flushed on a stock one (a realigned move flushes from the realigned address, below old_addr).",
            "\"The model\" is the prediction for the variant the kernel runs (a stock kernel's from its version).",
            *(["With `--tree32`, each variant is also built for i386 with PAE (the same tree configured",
               "for i386) and runs, under qemu-system-i386, its reachable i386-pae counterexamples and two moves",
               "whose old_end + len passes 2^32 (`wrap-fresh`, `wrap-merged`: CVE-2024-53111's wrap of v6.7's",
               "tail guard, laid out below a 32-bit process's stack).  The arm64-64k-48 counterexamples need",
               "an arm64 kernel and are not run here."] if self.i386 else
              ["The arm64-64k-48 and i386-pae counterexamples need kernels of those geometries and are not run here."]),
            "", f"{self.summary()}.", "",
            "| kernel | THP | scenarios | model | agree | disagree | skipped | no result | memory as the model | "
            "decision observed | decision as the model |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *[x.row() for x in self.tallies], ""]
        wrong = [f"* {x.kernel}, THP {x.thp}, {x.scenarios}: {w}" for x in self.tallies for w in x.wrong]
        if wrong:
            head += ["Disagreements:", "", *wrong, ""]
        head += ["| variant | counterexample | kernel | what the kernel did | the model | agree |",
                 "|---|---|---|---|---|---|"]
        return "\n".join(head + self.rows) + "\n"

    def summary(self) -> str:
        return (f"{self.agree + self.disagree + self.skipped + self.missing} runs: {self.agree} agree, "
                f"{self.disagree} disagree, {self.skipped} skipped, {self.missing} without a result")

    def exit_code(self) -> int:
        return _exit_code(self.disagree, self.skipped, self.missing)

    # the totals are the tallies' sums: one count of each run
    agree = _total("agree")
    disagree = _total("disagree")
    skipped = _total("skipped")
    missing = _total("missing")


def _said(kr: KernelRun | None, c: dict | None, scenario: "Scenario") -> tuple[str, str, str]:
    """(what the kernel did, the model, agree) cells of a gallery row."""
    if c is None or kr is None:
        return "no result", "", "no result"
    m = c["model"]
    began = lambda old2: "" if old2 == scenario.move.old_addr else f", realigned to {old2:#x}"  # noqa: E731
    mine = [d for d in kr.decisions if (d[0], d[2], d[4]) == (scenario.move.old_addr, scenario.move.new_addr,
                                                            scenario.move.len)]
    did = ("mremap ENOMEM, " if kr.mremap_failed else "") + outcome(kr) + (began(mine[0][1]) if mine else "")
    if c["returned"] is not None and int(c["returned"], 16) != scenario.move.len:
        did += f", returned {c['returned']}"
    said = ("mremap ENOMEM, " if m["mremap"] != "moves" else "") + \
        {"intact": "nothing", "entries-missing": "entries missing, data intact"}.get(m["memory"], "data corrupted") + \
        (", WARN" if m["warn"] else "")
    if int(m["returned"], 16) != scenario.move.len:
        said += f", returns {m['returned']}"
    said += began(int(m["decision"][0], 16)) + f" ({m['variant']})"
    wrong = [k for k, ok in c["checks"].items() if not ok]
    return did, said, "yes" if c["agree"] else "skipped" if c["skipped"] else "NO: " + ", ".join(wrong)


def report(tree: Path, stocks: list[Path], variants: list[str], gallery: Path, timeout: float,
           tell: Callable[[str], None] = lambda _: None, stock_variant: str | None = None,
           n_random: int = 120, seed: int = 1, thp_modes: tuple[str, ...] = ("always", "never"),
           tree32: Path | None = None) -> KernelReport:
    """Build each of ``variants`` into ``tree`` (modelcheck.runs.kpatch) and run its reachable
    gallery counterexamples on that kernel; run them all, and ``n_random`` random scenarios
    under each of ``thp_modes`` (MODE, or MODE/SHMEM_MODE for shmem_enabled too), on each stock kernel; compare each run with the model's
    prediction for the variant the kernel runs (a stock kernel's from its version, or
    ``stock_variant``).  With ``tree32`` (a 6.12 tree configured for i386 with PAE), each variant
    is built there too and runs its reachable i386-pae counterexamples and the moves that wrap a
    32-bit word (``differential.wrap_scenarios``) under qemu-system-i386.  ``tell`` hears one line
    per boot."""
    import os
    import time

    from modelcheck.model.scenario import load_scenario
    from modelcheck.model.variants import get_variant
    from modelcheck.runs.differential import random_scenarios, wrap_scenarios
    from modelcheck.runs.kpatch import build
    out = KernelReport(stock=", ".join(f"`{s.name}`" for s in stocks), i386=tree32 is not None)
    t0 = time.perf_counter()
    per_variant = {vid: [(f, load_scenario(str(f))) for f in gallery_cases(gallery, vid)] for vid in variants}
    per_variant = {vid: cases for vid, cases in per_variant.items() if cases}

    def run(image: Path, label: str, cases: list, model_vid: str, each: bool, thp: str | None,
            what: str) -> tuple[Tally, list[tuple[KernelRun | None, dict | None]]]:
        anon, _, shmem = (thp or "").partition("/")  # "always/force": THP always, shmem THP forced
        runs, boot_s = run_cases(image, [(getattr(n, "name", n), s) for n, s in cases], timeout, each=each,
                                 thp=anon or None, shmem=shmem or None)
        tally = Tally(label, thp or "as booted", what, model_vid)
        results = []
        for i, (name, s) in enumerate(cases):
            kr = runs[i] if i < len(runs) else None  # the guest stopped early: no result is a failure
            c = compare(s, kr, get_variant(model_vid)) if kr is not None else None
            tally.add(getattr(name, "stem", name), c)
            results.append((kr, c))
        if runs and runs[0].thp:
            tally.thp = thp_mode(runs[0].thp) + (f", shmem {thp_mode(runs[0].shmem_thp)}" if shmem else "")
        tell(f"{label} (THP {tally.thp}): {what}: {len(cases)} scenarios, ran {boot_s:.0f} s")
        out.tallies.append(tally)
        return tally, results

    for vid, cases in per_variant.items():
        image, build_s = build(tree, vid, os.cpu_count() or 1)
        tell(f"{vid}: built {build_s:.0f} s")
        _, results = run(image, f"{vid} (patched)", cases, vid, True, "never", f"{vid}'s counterexamples")
        for (f, s), (kr, c) in zip(cases, results):
            out.rows.append(f"| {vid} | {f.stem} | patched | " + " | ".join(_said(kr, c, s)) + " |")
    if tree32 is not None:
        wraps = wrap_scenarios("i386-pae")
        for vid in variants:
            cases = [(f, load_scenario(str(f))) for f in gallery_cases(gallery, vid, "i386-pae")] + wraps
            image, build_s = build(tree32, vid, os.cpu_count() or 1)
            tell(f"{vid} (i386 PAE): built {build_s:.0f} s")
            _, results = run(image, f"{vid} (patched, i386 PAE)", cases, vid, True, "never",
                             f"{vid}'s i386-pae counterexamples and the 32-bit wraps")
            for (f, s), (kr, c) in zip(cases, results):
                out.rows.append(f"| {vid} | i386-pae {getattr(f, 'stem', f)} | patched, i386 PAE | "
                                + " | ".join(_said(kr, c, s)) + " |")
    for stock in stocks:
        release = image_release(stock) or stock.name
        model_vid = stock_variant or variant_for(release) or "v6.12"
        everything = [(f, s) for cases in per_variant.values() for f, s in cases]
        owner = [vid for vid, cases in per_variant.items() for _ in cases]
        if everything:
            _, results = run(stock, release, everything, model_vid, False, None, "the gallery")
            for vid, (f, s), (kr, c) in zip(owner, everything, results):
                out.rows.append(f"| {vid} | {f.stem} | {release} | " + " | ".join(_said(kr, c, s)) + " |")
        if n_random:
            drawn = random_scenarios(n_random, seed)
            for mode in thp_modes:
                run(stock, release, drawn, model_vid, False, mode, f"{n_random} random (seed {seed})")
    try:
        version = subprocess.run(["make", "-s", "kernelversion"], cwd=tree, capture_output=True, text=True).stdout
    except OSError:  # no make: the page says 6.12, the trees this command builds
        version = ""
    out.version = version.strip() or out.version
    out.seconds = time.perf_counter() - t0
    return out
