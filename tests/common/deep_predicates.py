"""Random and mutated ``can_align_down()`` predicates in kernel C that look further than any
built-in: the VMA below the VMA below (``find_vma_prev()`` twice), the VMA above
(``find_vma(mm, vma->vm_end)``), lookups on computed addresses (the PMD below the realigned
start, the first VMA ending above it), the VMA iterator, and weakened comparisons.  Each is linked
over v6.15's C file, as a user's patch would be, for the cross-validation in tests/solver/test_deep.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

#: each local a predicate may read, and the statement that looks it up (in this order)
LOOKUPS = {
    "prev": "find_vma_prev(vma->vm_mm, vma->vm_start, &prev);",
    "pp": "pp = NULL;\n\tif (prev)\n\t\tfind_vma_prev(vma->vm_mm, prev->vm_start, &pp);",
    "above": "above = find_vma(vma->vm_mm, vma->vm_end);",
    "it": "it = vma_prev(&vmi);",
    "cov": "cov = find_vma_intersection(vma->vm_mm, down, vma->vm_start);",
    "pmd_below": "pmd_below = find_vma_intersection(vma->vm_mm, down - (~mask + 1), down);",
    "first": "first = find_vma(vma->vm_mm, down);",
}
NEEDS = {"pp": ("prev",)}

#: conditions on the lookups: (C expression, the locals it reads)
ATOMS = [
    ("!prev || prev->vm_end <= down", ("prev",)),
    ("!prev || prev->vm_end < down", ("prev",)),
    ("!prev || prev->vm_end <= addr", ("prev",)),
    ("!pp || pp->vm_end <= down", ("pp",)),
    ("!pp", ("pp",)),
    ("prev && !pp", ("pp",)),
    ("!pp || !prev || pp->vm_end <= prev->vm_start", ("pp",)),
    ("!above || above->vm_start > vma->vm_end", ("above",)),
    ("!above", ("above",)),
    ("!it || it->vm_end <= down", ("it",)),
    ("cov == NULL", ("cov",)),
    ("pmd_below == NULL", ("pmd_below",)),
    ("first == vma", ("first",)),
    ("!first || first->vm_start >= vma->vm_start", ("first",)),
]

GUARDS = ["\tif (!pmc->for_stack && vma->vm_start != addr)\n\t\treturn false;\n",
          "\tif (vma->vm_start != addr)\n\t\treturn false;\n",
          "\tif (!pmc->for_stack && vma->vm_start > addr)\n\t\treturn false;\n",
          ""]
STACK = ["\tif (pmc->for_stack && down >= vma->vm_start)\n\t\treturn true;\n", ""]


@dataclass(frozen=True)
class Predicate:
    name: str
    source: str
    reads: tuple[str, ...]

    def write(self, directory: Path) -> str:
        p = directory / f"{self.name}.c"
        p.write_text(self.source)
        return str(p)


def _closure(names: set[str]) -> list[str]:
    out = set(names)
    for n in names:
        out.update(NEEDS.get(n, ()))
    return [n for n in LOOKUPS if n in out]


def render(name: str, condition: str, reads: set[str], guard: str = GUARDS[0], stack: str = STACK[0],
           iterator_at: str = "vma->vm_start") -> Predicate:
    locals_ = _closure(reads)
    decl = "".join(f"\tstruct vm_area_struct *{n};\n" for n in locals_ if n != "prev")
    if "prev" in locals_:
        decl += "\tstruct vm_area_struct *prev;\n"
    if "it" in locals_:
        decl += f"\tVMA_ITERATOR(vmi, vma->vm_mm, {iterator_at});\n"
    body = "".join(f"\t{LOOKUPS[n]}\n" for n in locals_)
    src = (f"/* {name}: generated for modelcheck's cross-validation */\n"
           "static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,\n"
           "\t\t\t   unsigned long addr, unsigned long mask)\n{\n"
           f"\tunsigned long down = addr & mask;\n{decl}\n{guard}{stack}{body}"
           f"\treturn {condition};\n}}\n")
    return Predicate(name, src, tuple(locals_))


def random_predicate(seed: int) -> Predicate:
    """One predicate from the grammar: a guard, maybe the stack shortcut, and an and/or of one to
    three conditions over the lookups."""
    r = random.Random(seed)
    atoms = r.sample(ATOMS, r.randint(1, 3))
    reads: set[str] = set()
    parts = []
    for expr, names in atoms:
        reads.update(names)
        parts.append(f"!({expr})" if r.random() < 0.1 else f"({expr})")
    cond = parts[0]
    for p in parts[1:]:
        cond = f"{cond} {r.choice(['&&', '&&', '||'])} {p}"
    return render(f"random{seed}", cond, reads, r.choice(GUARDS), r.choice(STACK),
                  r.choice(["vma->vm_start", "addr"]))


def mutants() -> list[Predicate]:
    """v4's and v6.15's checks with one deeper or displaced lookup each."""
    return [
        # v4's check, one VMA too deep: the VMA below the VMA below
        render("v4-prev-of-prev", "!pp || pp->vm_end <= down", {"pp"}),
        # v4's and the deeper check together: safe, and needs three VMAs to see why
        render("v4-and-prev-of-prev", "(!prev || prev->vm_end <= down) && (!pp || pp->vm_end <= down)", {"pp"}),
        # the VMA above in place of the VMA below
        render("v4-above", "!above || above->vm_start >= vma->vm_end", {"above"}),
        # v6.15's range test on the PMD below instead of [down, vm_start)
        render("v6.15-pmd-below", "pmd_below == NULL", {"pmd_below"}),
        # v6.15's test as 'the first VMA ending above down is this one'
        render("v6.15-first", "first == vma", {"first"}),
        # the iterator started at addr rather than at vm_start
        render("v4-iterator-at-addr", "!it || it->vm_end <= down", {"it"}, iterator_at="addr"),
        # no shortcut for the stack, and only at most one VMA below
        render("one-below", "prev && !pp && prev->vm_end <= down", {"pp"}, stack=""),
    ]
