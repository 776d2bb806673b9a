"""The C front-end runs every construct as C runs it or refuses it at FILE:LINE:COL.

Each refusal class is a way C that the model would otherwise mis-read slipped through before:
a write to what the loop or the tail reads of the call, a head local the tail reads after the
realignment changed it,
static locals, side effects inside the arguments of calls the model does not run.  The
kernel-style fixtures (tests/c/kernel/) are edited here into each class.  The common idioms
(vma_lookup(), vma_next(), a ?: with NULL, sizeof) are checked by proofs of equivalence with
v6.15: a condition they make that always holds (or never) must leave the predicate the same.
A return of move_page_tables() before its loop is run as C runs it (Decision.early): nothing
moves, and return-value judges what it returns.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.errors import InputError
from modelcheck.front.cfront import load_c_variant
from modelcheck.model.geometry import get_geometry
from modelcheck.model.variants import get_variant
from modelcheck.solver.search import prove_same

KERNEL = Path(__file__).resolve().parents[1] / "c" / "kernel"
PMC, V67 = (KERNEL / "mremap-pmc.c").read_text(), (KERNEL / "mremap-v6.7.c").read_text()
X86 = get_geometry("x86_64-4level")

REALIGN_PMC = "\ttry_realign_addr(pmc, PMD_MASK);\n"
FLUSH_V67 = "\tflush_cache_range(vma, old_addr, old_end);\n"
CAD_V67 = "\tunsigned long addr_masked = addr_to_align & mask;\n"

#: name: (the edited file, the text of the line refused, what the message says)
REFUSED = {
    "pmc-old-end": (PMC.replace(REALIGN_PMC, REALIGN_PMC + "\tpmc->old_end += PMD_SIZE;\n"),
                    "pmc->old_end += PMD_SIZE;", "writes to pmc->old_end are not supported"),
    "pmc-len-in": (PMC.replace(REALIGN_PMC, REALIGN_PMC + "\tpmc->len_in = 0;\n"),
                   "pmc->len_in = 0;", "writes to pmc->len_in are not supported"),
    "tail-reads-a-late-local": (
        V67.replace("\tunsigned long extent, old_end;\n", "\tunsigned long extent, old_end, start = 0;\n")
           .replace(FLUSH_V67, "\tstart = old_addr;\n" + FLUSH_V67)
           .replace("\treturn len + old_addr - old_end;\t/* how much done */", "\treturn old_addr - start;"),
        "return old_addr - start;", "'start' is not modelled here: move_page_tables() sets it at line"),
    "static-local": (V67.replace(CAD_V67, CAD_V67 + "\tstatic unsigned long calls = 0;\n\n\tcalls = calls + 1;\n"
                                                   "\tif (calls > 1)\n\t\treturn false;\n", 1),
                     "static unsigned long calls = 0;", "static locals are not supported"),
    "side-effect-in-a-no-op-call": (V67.replace(FLUSH_V67, "\tflush_cache_range(vma, old_addr &= PMD_MASK, old_end);\n"),
                                    "flush_cache_range(vma, old_addr &= PMD_MASK, old_end);",
                                    "an argument of flush_cache_range() has a side effect"),
    "side-effect-pmc": (PMC.replace("\tflush_cache_range(pmc->old, pmc->old_addr, pmc->old_end);\n",
                                    "\tflush_cache_range(pmc->old, pmc->old_addr = pmc->old_addr & PMD_MASK, "
                                    "pmc->old_end);\n"),
                        "pmc->old_addr = pmc->old_addr & PMD_MASK", "has a side effect"),
    "warn-inside-a-no-op-call": (V67.replace(FLUSH_V67, "\tflush_cache_range(vma, WARN_ON(old_addr), old_end);\n"),
                                 "WARN_ON(old_addr)", "has a side effect"),
    "a-loop-that-can-run-again": (V67.replace(CAD_V67, CAD_V67 + "\tstruct vm_area_struct *v;\n"
                                                                "\tVMA_ITERATOR(vmi, vma->vm_mm, 0);\n\n"
                                                                "\tfor_each_vma(vmi, v)\n"
                                                                "\t\tif (v->vm_end > addr_masked)\n"
                                                                "\t\t\treturn false;\n", 1),
                                  "for_each_vma(vmi, v)", "loops are supported only where the body returns on every path"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_mis_read_c_is_refused_at_its_line(name, tmp_path):
    text, line_text, why = REFUSED[name]
    assert line_text in text, "the edit did not apply"
    path = tmp_path / f"{name}.c"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        load_c_variant([str(path)], base=None)
    where, message = e.value.where, e.value.message
    file, line, col = where.rsplit(":", 2)
    assert file == str(path) and why in message, (where, message)
    assert line_text in text.splitlines()[int(line) - 1], (where, message)
    # and from the shell: one line, exit 2
    r = CliRunner().invoke(cli, ["check", "--c-file", str(path), "--property", "return-value"])
    assert r.exit_code == 2 and r.output.count("modelcheck: error:") == 1, r.output
    assert r.output.strip().splitlines()[-1].startswith(f"modelcheck: error: {where}:"), r.output


@pytest.mark.parametrize("fixture", ["mremap-pmc.c", "mremap-v6.7.c", "mremap-6.1.c", "mremap-rfc.c"])
def test_returns_no_call_reaches_are_accepted(fixture):
    # 'if (!len) return 0;' (len is never 0 in the model) and the hugetlb returns (no VMA is one),
    # before or after the realignment (the RFC's is after it)
    load_c_variant([str(KERNEL / fixture)], base=None)


CAD615 = "\tunsigned long down = addr & mask;\n"
SAME = {  # a condition at the top of v6.15's can_align_down() that never changes its answer
    "vma_lookup-own-start": "\tif (vma_lookup(vma->vm_mm, vma->vm_start) != vma)\n\t\treturn true;\n",
    "vma_lookup-last-byte": "\tif (vma_lookup(vma->vm_mm, vma->vm_end - 1) != vma)\n\t\treturn true;\n",
    "vma_lookup-end": "\tif (vma_lookup(vma->vm_mm, vma->vm_end) == vma)\n\t\treturn true;\n",
    "vma_next": "\tVMA_ITERATOR(vmi, vma->vm_mm, vma->vm_start);\n\tif (vma_next(&vmi) != vma)\n\t\treturn true;\n",
    "ternary-null": "\tstruct vm_area_struct *x = pmc->for_stack ? NULL : find_vma(vma->vm_mm, addr);\n"
                    "\tif (x && x != vma)\n\t\treturn true;\n",
    "ternary-null-reversed": "\tstruct vm_area_struct *y = !pmc->for_stack ? NULL : find_vma(vma->vm_mm, vma->vm_start);\n"
                             "\tif (y && y != vma)\n\t\treturn true;\n",
    "sizeof": "\tif (sizeof(unsigned long) != 8 || sizeof(int) != 4 || sizeof(struct vm_area_struct *) != 8)\n"
              "\t\treturn true;\n",
    "for_each_vma_range-empty": "\tstruct vm_area_struct *v;\n\tVMA_ITERATOR(vmi, vma->vm_mm, vma->vm_end);\n\n"
                                "\tfor_each_vma_range(vmi, v, vma->vm_end)\n\t\treturn true;\n",
}


def test_for_each_vma_range_is_find_vma_intersection(tmp_path):
    # v6.15's last test written as a loop over the VMAs in [down, vm_start): the same predicate
    from modelcheck.front.cfront import builtin_c
    text = builtin_c("v6.15")
    last = "\treturn find_vma_intersection(vma->vm_mm, down, vma->vm_start) == NULL;\n"
    assert last in text
    loop = ("\t{\n\t\tstruct vm_area_struct *v;\n\t\tVMA_ITERATOR(vmi, vma->vm_mm, down);\n\n"
            "\t\tfor_each_vma_range(vmi, v, vma->vm_start)\n\t\t\treturn false;\n\t\treturn true;\n\t}\n")
    path = tmp_path / "loop.c"
    path.write_text(text.replace(last, loop, 1))
    v = load_c_variant([str(path)], base="v6.15")
    verdict, witness = prove_same(v, get_variant("v6.15"), X86)
    assert verdict == "holds", witness.dumps() if witness else verdict


def _edited_v615(tmp_path: Path, name: str, line: str) -> str:
    from modelcheck.front.cfront import builtin_c
    text = builtin_c("v6.15")
    assert CAD615 in text
    path = tmp_path / f"{name}.c"
    path.write_text(text.replace(CAD615, CAD615 + line, 1))
    return str(path)


@pytest.mark.parametrize("name", list(SAME))
def test_idioms_run_as_the_kernel_defines_them(name, tmp_path):
    v = load_c_variant([_edited_v615(tmp_path, name, SAME[name])], base="v6.15")
    verdict, witness = prove_same(v, get_variant("v6.15"), X86)
    assert verdict == "holds", witness.dumps() if witness else verdict


def test_an_idiom_that_does_change_the_answer_is_seen(tmp_path):
    # the proofs above have teeth: vma_lookup() of the VMA's end is the VMA above, not the VMA
    v = load_c_variant([_edited_v615(tmp_path, "above", "\tif (vma_lookup(vma->vm_mm, vma->vm_end) != NULL)\n"
                                                        "\t\treturn false;\n")], base="v6.15")
    assert prove_same(v, get_variant("v6.15"), X86)[0] == "violated"
    i386 = get_geometry("i386-pae")
    v = load_c_variant([_edited_v615(tmp_path, "sizeof", SAME["sizeof"])], base="v6.15")
    assert prove_same(v, get_variant("v6.15"), i386)[0] == "violated"  # 32-bit: sizeof(long) is 4


#: name: (the edited file, the returned text, what return-value's counterexample says it returns)
EARLY = {
    # returns len having moved nothing: move_vma() then unmaps the source, whose pages never moved
    "return-after-realign": (PMC.replace(REALIGN_PMC, REALIGN_PMC + "\tif (pmc->old_addr & ~PMD_MASK)\n"
                                                                    "\t\treturn pmc->len_in;\n"),
                             "return pmc->len_in;"),
    # returns 0 at len > 0 with no allocation failed: the mremap fails with -ENOMEM for nothing
    "return-before-realign": (V67.replace("\t/* Realign to the PMD boundary when the move reaches it. */\n",
                                          "\tif (old_addr & ~PMD_MASK)\n\t\treturn 0;\n"),
                              "return 0;"),
}


@pytest.mark.parametrize("name", list(EARLY))
def test_an_early_return_is_run_and_judged(name, tmp_path):
    text, line_text = EARLY[name]
    assert line_text in text, "the edit did not apply"
    path = tmp_path / f"{name}.c"
    path.write_text(text)
    r = CliRunner().invoke(cli, ["check", "--c-file", str(path), "--property", "return-value", "--json"])
    assert r.exit_code == 1, r.output
    import json
    out = json.loads(r.stdout)
    details = json.dumps(out)
    m = re.search(re.escape(str(path)) + r":(\d+):\d+\), having moved nothing", details)
    assert m and line_text in text.splitlines()[int(m.group(1)) - 1], details[:3000]
    # nothing moves there: the properties of the move hold on those calls
    r = CliRunner().invoke(cli, ["check", "--c-file", str(path), "--property", "no-source-collateral"])
    assert r.exit_code in (0, 1) and "internal error" not in r.output, r.output
