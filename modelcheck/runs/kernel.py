"""Run reproducers on a real Linux kernel under QEMU and read back what the kernel did.

``build_initramfs()`` compiles the reproducers (modelcheck.userspace.reproduce) and a small static
``/init`` and packs them into a gzip'd newc cpio archive, written here in Python, so that no
root and no cpio tool are needed.  ``/init`` mounts proc and tracefs, puts kprobe trace events on
move_page_tables() (its old_addr, new_addr and len arguments in the x86-64 calling convention,
and its return value), runs each reproducer, prints its TAP output and the trace, and reboots.
``boot()`` runs ``qemu-system-x86_64`` under software emulation with a timeout, and ``parse()``
turns the console into per-reproducer results.

Only x86-64 kernels are driven: the kprobe argument registers are x86-64's.
"""

from __future__ import annotations

import gzip
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING, Callable

from modelcheck.errors import InputError, RunFailed

if TYPE_CHECKING:
    from modelcheck.model.scenario import Scenario
    from modelcheck.model.variants import Variant

__all__ = ["ProbedCall", "KernelRun", "KernelFailed", "build_initramfs", "boot", "parse", "compare", "outcome", "gallery_cases",
           "run_cases", "PATCHABLE", "INIT_C", "newc"]

INIT_C = r"""#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
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

int main(void)
{
	char path[64];
	int i, status = 0;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("tracefs", "/tracing", "tracefs", 0, NULL);
	put("/tracing/kprobe_events", "p:mpt move_page_tables old_addr=%si:x64 new_addr=%cx:x64 len=%r8:x64\n",
	    O_APPEND);
	put("/tracing/kprobe_events", "r:mptr move_page_tables ret=$retval:x64\n", O_APPEND);
	put("/tracing/events/kprobes/enable", "1", O_TRUNC);
	printf("=== kernel up\n");
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


@dataclass(frozen=True)
class ProbedCall:
    """One move_page_tables() call the kernel made: its caller (move_vma for an mremap,
    relocate_vma_down/shift_arg_pages for exec), arguments and return value."""

    caller: str
    old_addr: int
    new_addr: int
    len: int
    ret: int | None

    def to_json(self) -> dict:
        return {"caller": self.caller, "old_addr": hex(self.old_addr), "new_addr": hex(self.new_addr),
                "len": hex(self.len), "returned": None if self.ret is None else hex(self.ret)}


@dataclass
class KernelRun:
    """What one reproducer did on the kernel."""

    index: int
    exit_code: int | None = None
    tap: list[str] = field(default_factory=list)
    calls: list[ProbedCall] = field(default_factory=list)
    kernel_log: list[str] = field(default_factory=list)  # decisions of a patched kernel, WARNINGs, BUGs

    @property
    def decisions(self) -> list[tuple[int, int, int, int, int, bool]]:
        """A patched kernel's realignment decisions: (old, old', new, new', len, for_stack)."""
        from modelcheck.runs.kpatch import DECISION
        out = []
        for line in self.kernel_log:
            if (m := DECISION.search(line)):
                old, old2, new, new2, length = (int(m.group(i), 16) for i in range(2, 7))
                out.append((old, old2, new, new2, length, m.group(7) == "1"))
        return out

    @property
    def warned(self) -> bool:
        return any("WARNING:" in line for line in self.kernel_log)

    @property
    def oopsed(self) -> bool:
        return any(re.search(r"BUG:|Oops|Kernel panic", line) for line in self.kernel_log)

    @property
    def verdict(self) -> str:
        """intact (ok 2), corrupted (not ok 2), skipped, or failed (no TAP result)."""
        if self.exit_code == 4 or any("# SKIP" in t for t in self.tap):
            return "skipped"
        if any(t.startswith("not ok 2") for t in self.tap):
            return "corrupted"
        if any(t.startswith("ok 2") for t in self.tap):
            return "intact"
        return "failed"

    def mremaps(self) -> list[ProbedCall]:
        return [c for c in self.calls if c.caller == "move_vma"]

    def to_json(self) -> dict:
        return {"index": self.index, "exit_code": self.exit_code, "verdict": self.verdict, "tap": self.tap,
                "calls": [c.to_json() for c in self.calls], "warned": self.warned, "oopsed": self.oopsed,
                "decisions": [[hex(x) if not isinstance(x, bool) else x for x in d] for d in self.decisions]}


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


def build_initramfs(reproducers: list[str], out: Path) -> Path:
    """Compile the reproducers' C texts and /init, and write the gzip'd initramfs to ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _gcc(INIT_C, d / "init", "gcc -static -O2 -Wall -Werror")
        files = [(x, stat.S_IFDIR | 0o755, b"", (0, 0)) for x in ("dev", "proc", "tracing", "repro")]
        files.append(("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)))
        files.append(("init", stat.S_IFREG | 0o755, (d / "init").read_bytes(), (0, 0)))
        for i, text in enumerate(reproducers, 1):
            m = re.search(r"Build: (gcc .*) -o repro repro\.c", text)
            _gcc(text, d / f"r{i}", m.group(1) if m else "gcc -static -O2 -Wall -Werror")
            files.append((f"repro/{i}", stat.S_IFREG | 0o755, (d / f"r{i}").read_bytes(), (0, 0)))
        tmp_out = out.with_name(out.name + ".tmp")
        tmp_out.write_bytes(gzip.compress(newc(files), mtime=0))
        tmp_out.replace(out)
    return out


def boot(kernel: Path, initrd: Path, timeout: float = 300, memory: int = 512,
         append: str = "console=ttyS0 panic=-1 loglevel=5") -> str:
    """Boot ``kernel`` with ``initrd`` under qemu-system-x86_64 (software emulation) and return the
    console output; a boot that does not finish in ``timeout`` seconds is a KernelFailed."""
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise KernelFailed("qemu", "qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86)")
    if not Path(kernel).is_file():
        raise InputError("--kernel", f"{kernel}: no such kernel image")
    # loglevel=5: WARNINGs (KERN_WARNING) and a patched kernel's decisions (KERN_ERR) reach the console
    cmd = [qemu, "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
           "-nographic", "-no-reboot", "-m", str(memory), "-smp", "1"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        raise KernelFailed("--timeout", f"the kernel did not finish in {timeout:.0f} s; last output: "
                                      f"{out.strip().splitlines()[-1] if out.strip() else '(none)'}") from None
    return done.stdout.decode(errors="replace")


_CALL = re.compile(r"mpt: \(move_page_tables\+\S+\) old_addr=(0x[0-9a-f]+) new_addr=(0x[0-9a-f]+) len=(0x[0-9a-f]+)")
_RET = re.compile(r"mptr: \((\w+)\+\S+ <- move_page_tables\) ret=(0x[0-9a-f]+)")


def parse(console: str) -> list[KernelRun]:
    """The per-reproducer results in a console log written by INIT_C."""
    if "=== done" not in console:
        tail = console.strip().splitlines()[-3:] if console.strip() else ["(no output)"]
        raise KernelFailed("kernel", "the guest did not finish its run: " + " | ".join(tail))
    runs: dict[int, KernelRun] = {}
    current, section = None, None
    pending: list[tuple[int, int, int]] = []
    for line in console.splitlines():
        line = line.strip("\r")
        m = re.match(r"=== (begin|trace|end) (\d+)(?: (\d+))?", line)
        if m:
            current = runs.setdefault(int(m.group(2)), KernelRun(int(m.group(2))))
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
                pending.append((int(c.group(1), 16), int(c.group(2), 16), int(c.group(3), 16)))
            elif (r := _RET.search(line)) and pending:
                old, new, length = pending.pop(0)
                current.calls.append(ProbedCall(r.group(1), old, new, length, int(r.group(2), 16)))
    return [runs[i] for i in sorted(runs)]


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
    model = {"variant": variant.id, "memory": "corrupted" if memory & set(ev.violated()) else "intact",
             "warn": "no-warn" in ev.violated(), "returned": hex(ev.returned), "call": move_call(s),
             "decision": [hex(ev.old_addr), hex(ev.new_addr)]}
    calls = kr.mremaps()
    mine = [d for d in kr.decisions if (d[0], d[2], d[4]) == (mv.old_addr, mv.new_addr, mv.len)]
    # a kernel without kprobes (a tinyconfig build) shows the call only through its logged decision
    checks = {
        "memory": kr.verdict == model["memory"],
        "call": ([(c.old_addr, c.new_addr, c.len) for c in calls] == [(mv.old_addr, mv.new_addr, mv.len)]
                 if kr.calls else len(mine) == 1),
        # an allocation failure the kernel was not given changes the return value
        "returned": mv.stop_at is not None or not kr.calls or [c.ret for c in calls] == [ev.returned],
        "warn": mv.stop_at is not None or kr.warned == model["warn"],
        "decision": not mine or [(d[1], d[3]) for d in mine] == [(ev.old_addr, ev.new_addr)],
    }
    skipped = kr.verdict == "skipped"
    return {"kernel": kr.to_json(), "model": model, "checks": checks,
            "agree": not skipped and all(checks.values()), "skipped": skipped}


def outcome(kr: KernelRun) -> str:
    """What the kernel did, in a word or two: data corrupted, WARN, BUG, nothing."""
    if kr.verdict == "skipped":
        return "skipped"
    words = {"corrupted": "data corrupted", "intact": "nothing", "failed": "no result"}[kr.verdict]
    if kr.warned:
        words += ", WARN"
    if kr.oopsed:
        words += ", BUG"
    return words


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
              each: bool = False) -> tuple[list[KernelRun], float]:
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
            initrd = build_initramfs(group, Path(tmp) / "initrd.gz")
            t = time.perf_counter()
            runs += parse(boot(image, initrd, timeout))
            seconds += time.perf_counter() - t
    return runs, seconds


@dataclass
class KernelReport:
    """What `modelcheck kernel report` found: one table row per (variant, counterexample, kernel);
    how many disagree with the model, how many reproducers skipped (an address already taken:
    no answer, never agreement) and how many have no result (the guest returned fewer runs than
    it was given reproducers); and what the Markdown page says about the run."""

    rows: list[str] = field(default_factory=list)
    agree: int = 0
    disagree: int = 0
    skipped: int = 0
    missing: int = 0
    seconds: float = 0.0
    version: str = "6.12"
    stock: str = ""

    def markdown(self, today: str) -> str:
        head = [
            "# Counterexamples on real kernels", "",
            f"Generated {today} by `modelcheck kernel report --tree TREE --stock STOCK`",
            f"({self.seconds:.0f} s).  Stock kernel: `{self.stock}`.  Patched kernels: a",
            f"tinyconfig build of the {self.version} source in TREE whose mm/mremap.c runs the variant's C from",
            "properties/c/ (modelcheck/runs/kpatch.py).  Every reachable mremap counterexample of each variant",
            "in counterexamples/x86_64-4level runs as its reproducer (`.repro.c`) under qemu-system-x86_64.",
            "\"What the kernel did\" is the reproducer's verdict on memory outside the request and the",
            "WARN/BUG lines of the kernel log (one boot per reproducer on a patched kernel: WARN_ON_ONCE() fires",
            "once per boot); \"the model\" is the prediction for the variant the kernel runs.  The",
            "arm64-64k-48 and i386-pae counterexamples need kernels of those geometries (arm64 with 64 KiB",
            "pages, 32-bit PAE) and are not run here; an x86-64 kernel runs an i386 program as a 64-bit kernel.",
            "", f"{self.summary()}.", "",
            "| variant | counterexample | kernel | what the kernel did | the model | agree |",
            "|---|---|---|---|---|---|"]
        return "\n".join(head + self.rows) + "\n"

    def summary(self) -> str:
        return (f"{len(self.rows)} runs: {self.agree} agree, {self.disagree} disagree, {self.skipped} skipped, "
                f"{self.missing} without a result")

    def exit_code(self) -> int:
        """0 when every run ran and agreed, 1 on a disagreement, 3 when some gave no answer."""
        return 1 if self.disagree else 3 if self.skipped or self.missing else 0


def report(tree: Path, stock_image: Path, stock_variant: str, variants: list[str], gallery: Path, timeout: float,
           tell: Callable[[str], None] = lambda _: None) -> KernelReport:
    """Build each of ``variants`` into ``tree`` (modelcheck.runs.kpatch), run its reachable
    gallery counterexamples on that kernel and on ``stock_image``, and compare each run with the
    model's prediction for the variant the kernel runs.  ``tell`` hears one line per kernel."""
    import os
    import time

    from modelcheck.model.scenario import load_scenario
    from modelcheck.model.variants import get_variant
    from modelcheck.runs.kpatch import build
    out = KernelReport(stock=stock_image.name)
    t0 = time.perf_counter()
    for vid in variants:
        files = gallery_cases(gallery, vid)
        if not files:
            continue
        scenarios = [(f, load_scenario(str(f))) for f in files]
        image, build_s = build(tree, vid, os.cpu_count() or 1)
        for label, img, model_vid in (("patched", image, vid), ("stock", stock_image, stock_variant)):
            runs, boot_s = run_cases(img, [(f.name, s) for f, s in scenarios], timeout, each=label == "patched")
            tell(f"{vid} on the {label} kernel: {len(scenarios)} scenarios, built {build_s:.0f} s, ran {boot_s:.0f} s")
            for i, (f, s) in enumerate(scenarios):
                if i >= len(runs):  # the guest stopped early: no result is a failure, never agreement
                    out.missing += 1
                    out.rows.append(f"| {vid} | {f.stem} | {label} | no result (the guest returned "
                                    f"{len(runs)} of {len(scenarios)}) | | no result |")
                    continue
                kr = runs[i]
                c = compare(s, kr, get_variant(model_vid))
                out.agree += c["agree"]
                out.skipped += c["skipped"]
                out.disagree += not c["agree"] and not c["skipped"]
                wrong = [k for k, ok in c["checks"].items() if not ok]
                m = c["model"]
                said = "nothing" if m["memory"] == "intact" else "data corrupted"
                said += ", WARN" if m["warn"] else ""
                out.rows.append(f"| {vid} | {f.stem} | {label} | {outcome(kr)} | {said} ({model_vid}) | "
                                f"{'yes' if c['agree'] else 'skipped' if c['skipped'] else 'NO: ' + ', '.join(wrong)} |")
    try:
        version = subprocess.run(["make", "-s", "kernelversion"], cwd=tree, capture_output=True, text=True).stdout
    except OSError:  # no make: the page says 6.12, the trees this command builds
        version = ""
    out.version = version.strip() or out.version
    out.seconds = time.perf_counter() - t0
    return out
