"""Whole kernel files as input: the preprocessor, the function scanner, move_page_tables() cut at
its loop, base detection, --tree and --patch, diff of trees, history -- on kernel-style fixtures
written for these tests (tests/c/kernel/); the real trees are tests/front/test_trees.py's tier."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.front.cfront import load_c, load_tree, parse_c
from modelcheck.cli import cli
from modelcheck.errors import InputError
from modelcheck.model.geometry import get_geometry
from modelcheck.front.ksource import functions, preprocess, split_series, version_of_tree
from modelcheck.solver.search import check, prove_same
from modelcheck.model.variants import get_variant

K = Path(__file__).resolve().parents[1] / "c" / "kernel"
PATCH = K / "0001-mm-mremap-tail-guard.patch"
X86, I386 = get_geometry("x86_64-4level"), get_geometry("i386-pae")
#: five user pages: the smallest geometry with room for the layouts the checks need
TOY = "custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x18,min=0x4"


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def tree(tmp_path: Path, fixture: str, version: tuple[int, int, int] = (6, 7, 0)) -> Path:
    """A kernel tree holding a fixture as its mm/mremap.c, its Makefile naming ``version``."""
    root = tmp_path / "linux"
    (root / "mm").mkdir(parents=True)
    shutil.copyfile(K / fixture, root / "mm" / "mremap.c")
    (root / "Makefile").write_text("# SPDX-License-Identifier: GPL-2.0\nVERSION = {}\nPATCHLEVEL = {}\n"
                                   "SUBLEVEL = {}\nEXTRAVERSION =\nNAME = Fixture\n".format(*version))
    return root


def test_the_scanner_finds_functions_at_their_original_lines():
    text = (K / "mremap-v6.7.c").read_text()
    fs = functions(preprocess(text, "f.c"), "f.c")
    lines = text.split("\n")
    for name, chunk in fs.items():
        assert name in lines[chunk.line - 1] or name in lines[chunk.line], name  # the head's first line
        assert lines[chunk.end_line - 1].startswith("}")
    # the #else branch of CONFIG_HAVE_MOVE_PMD is dropped: move_normal_pmd() is the first one
    assert fs["move_normal_pmd"].line == text.split("\n").index("static bool move_normal_pmd(struct vm_area_struct "
                                                                "*vma, unsigned long old_addr,") + 1
    assert {"can_align_down", "try_realign_addr", "move_page_tables", "SYSCALL_DEFINE5"} <= set(fs)
    assert "mc_names" not in fs  # an initializer, not a function


def test_preprocessor_directives_are_run_and_positions_kept(tmp_path):
    f = tmp_path / "pp.c"
    f.write_text("#include <linux/mm.h>\n/* a comment\n   over lines */\n#define MASK_OF(m) (m)\n"
                 "#ifdef CONFIG_NOT_SET\nstatic bool can_align_down(int x) { return x; }\n#else\n"
                 "static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,\n"
                 "\t\t\t   unsigned long addr, unsigned long mask)\n{\n"
                 "\tif (IS_ENABLED(CONFIG_HAVE_MOVE_PMD) && !pmc->for_stack && likely(vma->vm_start != addr))\n"
                 "\t\treturn false;\n\tif (pmc->for_stack && (addr & MASK_OF(mask)) >= vma->vm_start)\n\t\treturn true;\n"
                 "\treturn find_vma_intersection(vma->vm_mm, addr & MASK_OF(mask), vma->vm_start) == NULL;\n"
                 "}\n#endif\n")
    unit = parse_c(f.read_text(), str(f))
    assert unit.spans["can_align_down"] == (8, 16)
    v, _ = load_c([str(f)], base=None)
    assert prove_same(v, get_variant("v6.15"), X86)[0] == "holds"
    f.write_text(f.read_text().replace("#endif\n", ""))
    with pytest.raises(InputError, match=r"pp.c:\d+: preprocessor: .*#endif|pp.c:\d+: preprocessor"):
        load_c([str(f)], base=None)


@pytest.mark.parametrize("fixture, builtin, base", [
    ("mremap-v6.7.c", "v6.7", "v6.12"),  # v6.7's file has the v6.7-v6.14 signatures: the latest such base
    ("mremap-pmc.c", "v6.15", "v6.15"),
    ("mremap-6.1.c", "never", "never"),
    ("mremap-rfc.c", "rfc", "v2"),
])
def test_whole_files_are_the_builtin_they_restate(fixture, builtin, base):
    # the fixture restates the built-in in kernel form (the pmc one with shifts, | ^ * ?:, ALIGN_DOWN,
    # IS_ALIGNED, round_down): the proof says the decisions and return values are the same
    v, linkage = load_c([str(K / fixture)], base=None)
    assert linkage.base == base and linkage.detected.startswith(f"base {base} (detected")
    for g in (X86, I386, get_geometry("toy-8")):
        assert prove_same(v, get_variant(builtin), g)[0] == "holds", g.name
    used = {n for n, _, _ in linkage.used[str(K / fixture)]}
    assert {"move_page_tables_start", "move_page_tables_return"} <= used and not linkage.from_base
    lines = linkage.lines()
    assert "move_page_tables() before its loop (lines " in lines[1]
    assert ("not read" in lines[1]) == (fixture != "mremap-rfc.c")  # the rfc fixture has nothing else


def test_a_file_without_realignment_holds_vacuously():
    v, _ = load_c([str(K / "mremap-6.1.c")], base=None)
    r = check(v, "no-source-collateral", X86)
    assert r.verdict == "holds" and r.vacuous and r.unbounded


def test_tree_and_patch_settle_the_tail_guard(tmp_path):
    # v6.7's guard 'len + old_addr < old_end' wraps on 32-bit (CVE-2024-53111): the model's
    # counterexample moves 1 GiB from 0x80000000 down to 0x10000 and the guard returns 0
    root = tree(tmp_path, "mremap-v6.7.c")
    before = (root / "mm" / "mremap.c").read_text()
    r = run("check", "--tree", root, "--property", "return-value", "--geometry", "i386-pae")
    assert r.exit_code == 1 and "linux-6.7.0 return-value on i386-pae (PMD realignment): VIOLATED" in r.output
    r = run("check", "--tree", root, "--patch", PATCH, "--property", "return-value", "--geometry", "i386-pae",
            "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["variant"] == "linux-6.7.0+0001-mm-mremap-tail-guard" and out["vmas_bound"] == "any"
    assert out["linked"]["patches"] == ["0001-mm-mremap-tail-guard.patch: [PATCH 1/1] mm/mremap: compare against "
                                        "the original start without a sum that wraps"]
    assert (root / "mm" / "mremap.c").read_text() == before  # the tree is never touched


def test_diff_of_a_tree_and_its_patch_finds_the_return_value(tmp_path):
    root = tree(tmp_path, "mremap-v6.7.c")
    r = run("diff", root, f"{root}+{PATCH}", "--geometry", "i386-pae", "--json")
    assert r.exit_code == 1, r.output
    cases = json.loads(r.stdout)["cases"]
    assert [(c["kind"], c["realigns"], c["property"]) for c in cases] == [("return", "linux-6.7.0", "return-value")]


@pytest.mark.slow
def test_diff_of_a_tree_and_its_patch_on_64_bit_and_against_the_builtin(tmp_path):
    root = tree(tmp_path, "mremap-v6.7.c")
    # on 64-bit the sum cannot wrap: the two versions decide and return alike
    r = run("diff", root, f"{root}+{PATCH}")
    assert r.exit_code == 0 and "decide alike on every layout of any number of VMAs" in r.output
    # a tree against a built-in: the fixture is v6.7
    assert run("diff", root, "v6.7", "--geometry", "i386-pae").exit_code == 0


def test_history_is_one_table(tmp_path):
    a = tree(tmp_path / "a", "mremap-6.1.c", (6, 1, 0))
    b = tree(tmp_path / "b", "mremap-v6.7.c", (6, 7, 0))
    r = run("history", a, b, f"{b}+{PATCH}", K / "mremap-pmc.c", "--geometries", "i386-pae",
            "--properties", "no-source-collateral,return-value", "--json")
    assert r.exit_code == 1
    rows = json.loads(r.stdout)["rows"]
    got = {(x["version"], p): x["verdicts"][p]["verdict"] for x in rows for p in x["verdicts"]}
    assert got == {("linux-6.1.0", "no-source-collateral"): "holds", ("linux-6.1.0", "return-value"): "holds",
                   ("linux-6.7.0", "no-source-collateral"): "holds", ("linux-6.7.0", "return-value"): "violated",
                   ("linux-6.7.0+0001-mm-mremap-tail-guard", "no-source-collateral"): "holds",
                   ("linux-6.7.0+0001-mm-mremap-tail-guard", "return-value"): "holds",
                   ("mremap-pmc", "no-source-collateral"): "holds", ("mremap-pmc", "return-value"): "holds"}
    text = run("history", a, b, "--geometries", "i386-pae", "--properties", "return-value").output
    assert text.splitlines()[0] == "on i386-pae:" and "linux-6.1.0" in text and "VIOLATED" in text


def test_an_explicit_base_that_does_not_fit_names_the_one_that_does(tmp_path):
    r = run("check", "--c-file", K / "mremap-v6.7.c", "--base", "v6.15", "--property", "no-warn")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert r.output.startswith(f"modelcheck: error: {K / 'mremap-v6.7.c'}:47:13: can_align_down(struct "
                               "vm_area_struct *, unsigned long, unsigned long, bool) does not fit --base v6.15")
    assert "v6.12 fits (or leave --base out)" in r.output
    # the v6.7-v6.14 predicate alone, as a reviewer cuts it out of a patch, gets that signature's base
    f = tmp_path / "pred.c"
    text = (K / "mremap-v6.7.c").read_text()
    f.write_text(text[text.index("static bool can_align_down"):text.index("static void try_realign_addr")])
    r = run("check", "--c-file", f, "--property", "no-source-collateral")
    assert r.exit_code == 0 and "base v6.12 (detected from can_align_down(struct vm_area_struct *" in r.output


def _bad(tmp_path: Path, old: str, new: str, fixture: str = "mremap-v6.7.c") -> str:
    f = tmp_path / "mremap.c"
    text = (K / fixture).read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))
    r = run("check", "--c-file", f, "--property", "no-warn")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    return r.output.strip().removeprefix(f"modelcheck: error: {f}:")


@pytest.mark.parametrize("old, new, message", [
    ("\tfor (; old_addr < old_end; old_addr += extent, new_addr += extent) {",
     "\tfor (; old_addr < old_end; old_addr += extent) {", "107:2: move_page_tables()'s loop must read"),
    ("\tfor (; old_addr < old_end; old_addr += extent, new_addr += extent) {",
     "\twhile (old_addr < old_end) {", "107:2: move_page_tables()'s loop must be a for loop"),
    ("\t\tcond_resched();\n", "\t\tcond_resched();\n\t\told_addr = old_end;\n",
     "109:3: move_page_tables()'s loop body changes old_addr"),
    ("\told_end = old_addr + len;\n", "\told_end = old_addr + len + PAGE_SIZE;\n",
     "107:2: move_page_tables()'s loop runs to 'old_end', which must be set once to 'old_addr + len'"),
    ("\tflush_cache_range(vma, old_addr, old_end);\n", "\tfrobnicate(vma);\n",
     "102:2: call to unknown function frobnicate()"),
    ("\tif (len + old_addr < old_end)\n", "\tif (len + new_addr < old_end)\n",
     "129:12: 'new_addr' is not modelled here"),
    ("\tunsigned long addr_masked = addr_to_align & mask;\n",
     "\tunsigned long addr_masked = addr_to_align / mask;\n", "50:30: operator '/' is not supported"),
    ("\tif ((*old_addr & ~mask) == 0)\n\t\treturn;\n\n", "\tif ((*old_addr & ~mask) == 0)\n\t\treturn;\n}\n",
     "77:1: '}' closes no '{'"),  # the extra brace ends try_realign_addr() early
])
def test_what_the_model_does_not_have_is_refused_at_its_line(tmp_path, old, new, message):
    assert _bad(tmp_path, old, new).startswith(message)


def test_a_function_defined_twice_is_refused(tmp_path):
    text = (K / "mremap-v6.7.c").read_text()
    pred = text[text.index("static bool can_align_down"):text.index("static void try_realign_addr")]
    out = _bad(tmp_path, "SYSCALL_DEFINE5(mremap", pred + "SYSCALL_DEFINE5(mremap")
    assert out.startswith("135:1: can_align_down() is defined twice (first at line 47)"), out


def test_the_pmc_loop_helpers_must_be_6_15s(tmp_path):
    out = _bad(tmp_path, "\tpmc->new_addr += extent;\n", "\tpmc->new_addr += extent + 1;\n", "mremap-pmc.c")
    assert out.startswith("91:13: pmc_next() must be 'pmc->old_addr += extent; pmc->new_addr += extent;'")


def test_a_patch_that_does_not_apply_names_the_file_and_hunk(tmp_path):
    root = tree(tmp_path, "mremap-pmc.c")
    r = run("check", "--tree", root, "--patch", PATCH, "--property", "no-warn")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert r.output.startswith(f"modelcheck: error: {PATCH}: '[PATCH 1/1] mm/mremap: compare against the original "
                               f"start without a sum that wraps' does not apply to {root}: patch failed: "
                               "mm/mremap.c:126")
    for args, msg in [(("--patch", PATCH), "--patch: needs --tree DIR"),
                      (("--tree", tmp_path / "nope"), "--tree"),
                      (("--tree", root, "--patch", tmp_path / "none.patch"), "none.patch"),
                      (("--tree", root, "--c-file", K / "mremap-pmc.c"), "--tree: give --c-file or --tree")]:
        r = run("check", *args, "--property", "no-warn")
        assert r.exit_code == 2 and msg in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_a_series_is_applied_patch_by_patch(tmp_path):
    root = tree(tmp_path, "mremap-v6.7.c")
    first = PATCH.read_text()
    # the second patch of the series changes the line the first one wrote
    second = first.replace("[PATCH 1/1]", "[PATCH 2/2]").replace(
        "-\tif (len + old_addr < old_end)\n+\tif (old_addr < old_end - len)\n",
        "-\tif (old_addr < old_end - len)\n+\tif (len + old_addr < old_end)\n")
    mbox = tmp_path / "series.mbox"
    mbox.write_text(first.replace("[PATCH 1/1]", "[PATCH 1/2]") + second)
    assert len(split_series(mbox.read_text())) == 2
    r = run("check", "--tree", root, "--patch", mbox, "--property", "return-value", "--geometry", "i386-pae")
    assert r.exit_code == 1 and "applied series.mbox: [PATCH 2/2]" in r.output  # back to v6.7's guard


def test_a_patched_tree_is_read_at_the_patched_lines(tmp_path):
    root = tree(tmp_path, "mremap-v6.7.c")
    v, linkage = load_tree(str(root), [str(PATCH)])
    src = str(root / "mm" / "mremap.c")
    assert linkage.sources[src].split("\n")[128] == "\tif (old_addr < old_end - len)"
    guard = linkage.unit.functions["move_page_tables_return"].body.block_items[1]
    assert guard.cond.coord.file == src and guard.cond.coord.line == 129
    assert "if (len + old_addr" in (root / "mm" / "mremap.c").read_text()  # the tree itself is unchanged


@pytest.mark.slow
def test_review_of_a_tree_reads_the_patched_lines(tmp_path):
    root = tree(tmp_path, "mremap-v6.7.c")
    r = run("review", "--tree", root, "--patch", PATCH, "--geometry", TOY, "--json")
    out = json.loads(r.stdout)
    assert r.exit_code == (1 if "violated" in out["properties"].values() else 0), r.output
    guard = [c for c in out["conditions"] if c["text"] == "old_addr < (old_end - len)"]
    assert guard and guard[0]["line"] == 129 and guard[0]["function"] == "move_page_tables"
    assert "needed" in guard[0]["verdict"]
    # no verdict on what the model fixes (no hugetlb VMA)
    assert not [c for c in out["conditions"] if "hugetlb" in c["text"]]


def test_version_of_a_makefile():
    assert version_of_tree("VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\nEXTRAVERSION =\n") == "7.3.4"
    assert version_of_tree("VERSION = 7\n") is None


def test_load_tree_names_the_version(tmp_path):
    v, linkage = load_tree(str(tree(tmp_path, "mremap-pmc.c", (7, 3, 4))))
    assert v.id == "linux-7.3.4" and linkage.base == "v6.15"


OPERATORS = '''static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,
			   unsigned long addr, unsigned long mask)
{
	unsigned long down = (addr >> PMD_SHIFT) << PMD_SHIFT;
	long below = (long)(vma->vm_start ^ ~0UL) * 2 >> 1;

	if (!pmc->for_stack && (addr | PAGE_SIZE) != (vma->vm_start | PAGE_SIZE))
		return false;
	if (pmc->for_stack && ~below >= down)
		return true;
	return find_vma_intersection(vma->vm_mm, round_down(down, PMD_SIZE), vma->vm_start) == NULL;
}
'''


@pytest.mark.parametrize("geometry", ["custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x18,min=0x4"])
def test_shifts_and_bitwise_operators_agree_with_the_simulator(tmp_path, geometry):
    # '(addr | PAGE_SIZE) != (vm_start | PAGE_SIZE)' ignores one address bit: a start-of-VMA test
    # that a move one page into the VMA passes.  Every state of up to 3 VMAs, run concretely,
    # against the symbolic verdicts of the same C (shifts, '|', '^', '*', a signed '>>', casts).
    from common.crossval import enumerated_agrees
    f = tmp_path / "ops.c"
    f.write_text(OPERATORS)
    v, _ = load_c([str(f)], base=None)
    verdicts = enumerated_agrees(v, get_geometry(geometry), 3, deeper=False,
                                 pids=("no-source-collateral", "equivalence", "no-dest-clobber"))
    assert verdicts["no-source-collateral"] == "violated"


def test_check_writes_sarif_at_the_c_that_decides(tmp_path):
    root = tree(tmp_path, "mremap-v6.7.c")
    out = tmp_path / "check.sarif"
    r = run("check", "--tree", root, "--property", "return-value", "--geometry", "i386-pae", "--sarif", out)
    assert r.exit_code == 1
    log = json.loads(out.read_text())
    assert log["version"] == "2.1.0" and [x["id"] for x in log["runs"][0]["tool"]["driver"]["rules"]] == ["return-value"]
    (result,) = log["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert result["ruleId"] == "return-value" and result["level"] == "error"
    assert (region["startLine"], region["startColumn"]) == (129, 2)  # the tail guard 'if (len + old_addr < old_end)'
    assert result["properties"]["counterexample"]["move"]["old_addr"] == "0x80000000"
    # a warning the replay runs into is located at the WARN itself
    warn = Path(__file__).resolve().parents[1] / "c" / "warn-start.c"
    r = run("check", "--c-file", warn, "--property", "no-predicate-warn", "--sarif", out)
    assert r.exit_code == 1
    loc = json.loads(out.read_text())["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == str(warn) and loc["region"]["startLine"] == 8
    # a holds is a log without results; a built-in has no C to point at
    r = run("check", "--tree", root, "--patch", PATCH, "--property", "return-value", "--geometry", "i386-pae",
            "--sarif", out)
    assert r.exit_code == 0 and json.loads(out.read_text())["runs"][0]["results"] == []
    r = run("check", "--variant", "v6.7", "--property", "return-value", "--sarif", out)
    assert r.exit_code == 2 and "--sarif: needs --c-file or --tree" in r.output
