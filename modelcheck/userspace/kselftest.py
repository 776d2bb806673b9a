"""The reproducers as a kselftest target: a directory in the form of
tools/testing/selftests/NAME/ (a Makefile listing TEST_GEN_PROGS, the programs' C, a ``settings``
file with the per-test timeout, a ``config`` fragment and a .gitignore), so that labs that run
kselftests across architectures and boards take them as they take any other target.

The Makefile works in both places: copied into a kernel tree's tools/testing/selftests/ it
includes ``../lib.mk`` and runs under kselftest's own runner (``make -C
tools/testing/selftests TARGETS=modelcheck run_tests``); anywhere else ``make -C DIR run_tests``
builds the programs with its own rule and prints the same TAP: a plan, one ``ok``/``not ok``
line per program (exit 4, KSFT_SKIP, is ``ok ... # SKIP``), each program's own TAP indented as a
comment, and a non-zero exit when a program failed.

A reproducer keeps its build line (modelcheck.userspace.reproduce.build_command): static, and
linked above the scenario where it must be, as a per-program flag.  Programs for 32-bit
geometries get ``-m32`` where the compiler makes 64-bit code by default; on other machines they
build natively, and a program for another page or word size than the running kernel's skips.
"""

from __future__ import annotations

import re
from pathlib import Path

from modelcheck.files import write_text
from modelcheck.model.scenario import Scenario
from modelcheck.userspace.reproduce import build_command, reproducer_for

__all__ = ["write_target", "TIMEOUT", "NAME"]

#: what a program or target name may be: a file name of letters, digits, '.', '_', '-'
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

#: seconds kselftest's runner gives each program (the largest scenarios check 64 MiB page by page)
TIMEOUT = 120

_MAKEFILE = """\
# SPDX-License-Identifier: GPL-2.0
# mremap() reproducers written by modelcheck: each checks that a move_page_tables() call
# leaves every page outside the request unchanged and the moved range intact.
# In a kernel tree (tools/testing/selftests/{name}/) this is a kselftest target; elsewhere
# `make run_tests` builds and runs the programs and prints TAP.

CFLAGS += -O2 -Wall -static
# 32-bit programs: -m32 where the compiler makes 64-bit code
M32 := $(if $(filter x86_64,$(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))),-m32)

TEST_GEN_PROGS := {progs}

ifneq ($(wildcard ../lib.mk),)
include ../lib.mk
else
OUTPUT ?= $(CURDIR)
TIMEOUT ?= {timeout}

all: $(addprefix $(OUTPUT)/,$(TEST_GEN_PROGS))

$(OUTPUT)/%: %.c
\t$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# each program is built as it runs: one that cannot be built here (a 32-bit one without
# gcc-multilib) is a skip, not the end of the run
run_tests:
\t@echo "TAP version 13"; echo "1..$(words $(TEST_GEN_PROGS))"; n=0; failed=0; \\
\tfor t in $(TEST_GEN_PROGS); do \\
\t\tn=$$((n + 1)); echo "# selftests: {name}: $$t"; \\
\t\tif ! $(MAKE) -s --no-print-directory $(OUTPUT)/$$t > $(OUTPUT)/.$$t.build 2>&1; then \\
\t\t\tsed 's/^/# /' $(OUTPUT)/.$$t.build | tail -n 3; rm -f $(OUTPUT)/.$$t.build; \\
\t\t\techo "ok $$n selftests: {name}: $$t # SKIP cannot be built here (the compiler said why, above; a 32-bit program needs gcc-multilib)"; \\
\t\t\tcontinue; \\
\t\tfi; rm -f $(OUTPUT)/.$$t.build; \\
\t\ttimeout $(TIMEOUT) $(OUTPUT)/$$t > $(OUTPUT)/.$$t.out 2>&1; rc=$$?; \\
\t\tsed 's/^/# /' $(OUTPUT)/.$$t.out; rm -f $(OUTPUT)/.$$t.out; \\
\t\tif [ $$rc -eq 0 ]; then echo "ok $$n selftests: {name}: $$t"; \\
\t\telif [ $$rc -eq 4 ]; then echo "ok $$n selftests: {name}: $$t # SKIP"; \\
\t\telse echo "not ok $$n selftests: {name}: $$t # exit=$$rc"; failed=1; fi; \\
\tdone; exit $$failed

clean:
\trm -f $(addprefix $(OUTPUT)/,$(TEST_GEN_PROGS))

.PHONY: all run_tests clean
endif

{flags}
"""


def _flags(s: Scenario) -> str:
    """The per-program flags of the reproducer's build line beyond CFLAGS (its link address)."""
    extra = [x for x in build_command(s).split() if x.startswith("-Wl,")]
    if s.geometry.word_bits == 32:
        extra.insert(0, "$(M32)")
    return " ".join(extra)


def write_target(cases: list[tuple[str, Scenario]], out: Path, name: str = "modelcheck") -> list[str]:
    """Write the kselftest directory for the (program name, scenario) ``cases`` into ``out``;
    the program names, in order.  A name must be a file name of letters, digits, '.', '_', '-'."""
    for prog, _ in cases:
        if not NAME.fullmatch(prog):
            raise ValueError(f"{prog!r} is not a program name")
    out.mkdir(parents=True, exist_ok=True)
    progs = [prog for prog, _ in cases]
    flags = []
    for prog, s in cases:
        write_text(out / f"{prog}.c", reproducer_for(s, prog))
        if (f := _flags(s)):  # CFLAGS: both lib.mk's rule and ours compile and link in one step
            flags.append(f"$(OUTPUT)/{prog}: CFLAGS += {f}")
    write_text(out / "Makefile", _MAKEFILE.format(name=name, timeout=TIMEOUT, progs=" \\\n\t".join(progs),
                                                  flags="\n".join(flags)))
    write_text(out / "settings", f"timeout={TIMEOUT}\n")
    # /proc/self/pagemap: the programs compare present bits of mappings that only hold the zero page
    write_text(out / "config", "CONFIG_PROC_PAGE_MONITOR=y\n")
    write_text(out / ".gitignore", "".join(f"{p}\n" for p in progs))
    return progs
