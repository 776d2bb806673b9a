"""Generated C for the front-end's fuzz tier: v6.15's C (the 6.15 pmc shape) and a whole kernel-style
move_page_tables() (tests/c/kernel/mremap-v6.7.c), each with random edits of two kinds.

* Accepted: conditions at the top of can_align_down() built from the idioms the subset runs
  (vma_lookup(), vma_next(), find_vma(), ?: with NULL, sizeof, likely(), the alignment macros),
  each returning true or false, and sometimes a for_each_vma_range() whose body returns.  Their verdicts are cross-checked with the compiled C and the
  simulator (tests/front/test_front_fuzz.py).
* Refused: a construct the model cannot run exactly (a static local, a write to pmc->old_end, a
  side effect inside a call the model does not run, the tail reading a local set after the
  realignment).  Each must be refused at its own line.  A return before the loop, which the
  refusing kinds also draw, is accepted: the model runs it (Decision.early).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from modelcheck.front.cfront import builtin_c

KERNEL = Path(__file__).resolve().parents[1] / "c" / "kernel"
CAD615 = "\tunsigned long down = addr & mask;\n"
CAD67 = "\tunsigned long addr_masked = addr_to_align & mask;\n"

ATOMS = [
    "vma_lookup(vma->vm_mm, {a}) == NULL", "vma_lookup(vma->vm_mm, {a}) == vma", "vma_lookup(vma->vm_mm, {a}) != NULL",
    "find_vma(vma->vm_mm, {a}) == vma", "find_vma(vma->vm_mm, {a}) == NULL",
    "({c} ? find_vma(vma->vm_mm, {a}) : NULL) != NULL", "({c} ? NULL : vma_lookup(vma->vm_mm, {a})) == vma",
    "sizeof(unsigned long) * 8 - 64 + {a} > vma->vm_start", "likely({a} & ~mask) == 1",
    "unlikely({a} > vma->vm_end)", "IS_ALIGNED({a}, PMD_SIZE)", "round_down({a}, PMD_SIZE) < vma->vm_start",
    "ALIGN({a}, PMD_SIZE) >= vma->vm_end", "ALIGN_DOWN({a}, PMD_SIZE) == {b}",
]
ADDRS = ["{p}", "{d}", "vma->vm_start", "vma->vm_end", "vma->vm_end - 1", "{d} - 1", "{p} + PMD_SIZE",
         "{d} - PMD_SIZE"]
CONDS = ["{s}", "!{s}", "{p} == vma->vm_start", "{d} < vma->vm_start"]


@dataclass(frozen=True)
class Program:
    name: str
    text: str
    # the texts one of which the line a refusal names must hold, or () when it is accepted
    refused: tuple[str, ...] = ()


def _atom(rng: random.Random, down: str, stack: str, param: str) -> str:
    def addr() -> str:
        return rng.choice(ADDRS).format(d=down, p=param)
    cond = rng.choice(CONDS).format(s=stack, d=down, p=param)
    return "(" + rng.choice(ATOMS).format(a=addr(), b=addr(), c=cond) + ")"


def accepted(rng: random.Random, name: str) -> Program:
    """Conditions from the idioms at the top of a can_align_down(), 6.15's or 6.7's."""
    if rng.random() < 0.5:
        text, anchor, down, stack, param = builtin_c("v6.15"), CAD615, "down", "pmc->for_stack", "addr"
    else:
        text, anchor, down, stack, param = ((KERNEL / "mremap-v6.7.c").read_text(), CAD67, "addr_masked",
                                            "for_stack", "addr_to_align")
    lines = ""
    for _ in range(rng.randint(1, 3)):
        cond = _atom(rng, down, stack, param)
        if rng.random() < 0.4:
            cond += rng.choice([" && ", " || "]) + _atom(rng, down, stack, param)
        lines += f"\tif ({cond})\n\t\treturn {rng.choice(['true', 'false'])};\n"
    if rng.random() < 0.4:  # a loop over the VMAs whose body returns on every path: one lookup
        start, end = (rng.choice(ADDRS).format(d=down, p=param) for _ in range(2))
        lines = (f"\tstruct vm_area_struct *each;\n\tVMA_ITERATOR(vmi, vma->vm_mm, {start});\n\n"
                 f"\tfor_each_vma_range(vmi, each, {end})\n\t\treturn each {rng.choice(['==', '!='])} vma;\n") + lines
    return Program(name, text.replace(anchor, anchor + lines, 1))


def refused(rng: random.Random, name: str) -> Program:
    """One construct the model cannot run exactly, somewhere it would matter."""
    pmc, v67 = (KERNEL / "mremap-pmc.c").read_text(), (KERNEL / "mremap-v6.7.c").read_text()
    realign = "\ttry_realign_addr(pmc, PMD_MASK);\n"
    flush = "\tflush_cache_range(vma, old_addr, old_end);\n"
    kind = rng.randrange(6)
    if kind == 0:
        field = rng.choice(["old_end", "len_in"])
        line = f"\tpmc->{field} {rng.choice(['+=', '-=', '='])} PMD_SIZE;"
        return Program(name, pmc.replace(realign, rng.choice([realign + line + "\n", line + "\n" + realign])),
                       (line.strip(),))
    if kind == 1:
        line = f"\tstatic unsigned long seen{rng.randrange(9)} = {rng.randrange(3)};"
        var = line.split()[3]
        return Program(name, v67.replace(CAD67, CAD67 + f"{line}\n\n\t{var}++;\n\tif ({var} > 1)\n\t\treturn false;\n",
                                         1), (line.strip(),))
    if kind == 2:
        arg = rng.choice(["old_addr &= PMD_MASK", "old_addr++", "new_addr = old_addr", "WARN_ON_ONCE(len)"])
        line = f"\tflush_cache_range(vma, {arg}, old_end);"
        return Program(name, v67.replace(flush, line + "\n"), (arg,))
    if kind == 3:
        cond = rng.choice(["old_addr & ~PMD_MASK", "len < PMD_SIZE", "new_addr > old_addr", "for_stack"])
        where = rng.choice(["\t/* Realign to the PMD boundary when the move reaches it. */\n", flush])
        line = f"\t\treturn {rng.choice(['0', 'len'])};"
        # (a return before the loop is run as C runs it: accepted, and judged like the rest)
        return Program(name, v67.replace(where, f"\tif ({cond})\n{line}\n" + where))
    if kind == 4:
        text = v67.replace("\tunsigned long extent, old_end;\n", "\tunsigned long extent, old_end, mark = 0;\n")
        text = text.replace(flush, "\tmark = old_addr;\n" + flush)
        line = "\treturn len + old_addr - old_end + mark - mark;"
        return Program(name, text.replace("\treturn len + old_addr - old_end;\t/* how much done */", line), (line.strip(),))
    line = "\tfor_each_vma(vmi, v)"  # a body that can fall through: the loop could run again
    text = builtin_c("v6.15").replace(CAD615, CAD615 + "\tstruct vm_area_struct *v;\n\tVMA_ITERATOR(vmi, vma->vm_mm, down);\n\n"
                                      f"{line}\n\t\tif (v != vma)\n\t\t\treturn false;\n", 1)
    return Program(name, text, (line.strip(),))


def programs(count: int, seed: int) -> list[Program]:
    rng = random.Random(seed)
    return [(accepted if i % 2 == 0 else refused)(rng, f"fuzz-{seed}-{i}") for i in range(count)]
