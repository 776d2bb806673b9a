"""The trees tier (``-m trees``): Debian's linux-source packages read as shipped.  Each tree's
whole mm/mremap.c is proved to make the decisions and return the values of the built-in it
ships, and the CVE-2024-53111 guard patched back into 6.12 is found on 32-bit.  Trees absent
here (tests/common/kernel_trees.py) are skipped with the reason."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from common.kernel_trees import tree
from modelcheck.front.cfront import load_tree
from modelcheck.cli import cli
from modelcheck.model.geometry import get_geometry
from modelcheck.solver.search import prove_same
from modelcheck.model.variants import get_variant

pytestmark = pytest.mark.trees

SHIPS = {"6.1": "never", "6.12": "v6.12", "7.2": "v6.15", "7.3": "v6.15"}
#: the kernel profile each tree is, its predicate with its loop's userfaultfd rule
PROFILE = {"6.1": "debian-6.1", "6.12": "debian-6.12", "7.2": "linux-6.17", "7.3": "linux-6.17"}


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("version", SHIPS)
def test_a_debian_tree_is_the_builtin_it_ships(version):
    v, linkage = load_tree(str(tree(version)))
    assert v.id.startswith(f"linux-{version}.") and linkage.base == SHIPS[version]
    assert not linkage.from_base  # the whole realignment comes from the file
    for g in ("x86_64-4level", "i386-pae", "arm64-64k-48"):
        assert prove_same(v, get_variant(PROFILE[version]), get_geometry(g))[0] == "holds", g
    # the predicate alone is not the tree: its loop tests userfaultfd
    assert prove_same(v, get_variant(SHIPS[version]), get_geometry("x86_64-4level"))[0] == "violated"


def test_history_of_the_trees(tmp_path):
    trees = [tree(v) for v in ("6.1", "6.12")]
    r = run("history", *trees, "--geometries", "x86_64-4level,i386-pae", "--properties",
            "no-source-collateral,return-value", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    assert all(v["verdict"] == "holds" for row in rows for v in row["verdicts"].values())
    assert rows[0]["verdicts"]["no-source-collateral"]["vacuous"]  # 6.1 never realigns


def test_the_cve_guard_patched_back_into_6_12(tmp_path):
    # the v2/v6.7 guard 'len + old_addr < old_end' instead of a4a282daf1a1's: a patch written at
    # test time against the real file (git diff), applied with --patch
    root = tree("6.12")
    src = (root / "mm" / "mremap.c").read_text()
    assert "\tif (old_addr < old_end - len)\n" in src
    for side, text in (("a", src), ("b", src.replace("\tif (old_addr < old_end - len)\n",
                                                     "\tif (len + old_addr < old_end)\n"))):
        (tmp_path / side / "mm").mkdir(parents=True)
        (tmp_path / side / "mm" / "mremap.c").write_text(text)
    diff = subprocess.run(["git", "diff", "--no-index", "a/mm/mremap.c", "b/mm/mremap.c"], cwd=tmp_path,
                          capture_output=True, text=True).stdout.replace(" a/a/", " a/").replace(" b/b/", " b/")
    patch = tmp_path / "0001-guard.patch"
    patch.write_text("Subject: [PATCH] mm/mremap: the v6.7 guard\n\n---\n" + diff)
    r = run("check", "--tree", root, "--patch", patch, "--property", "return-value", "--geometry", "i386-pae")
    assert r.exit_code == 1 and "VIOLATED" in r.output and "applied 0001-guard.patch: [PATCH]" in r.output
    assert run("check", "--tree", root, "--property", "return-value", "--geometry", "i386-pae").exit_code == 0
    r = run("diff", root, f"{root}+{patch}", "--geometry", "i386-pae", "--json")
    assert [c["kind"] for c in json.loads(r.stdout)["cases"]] == ["return"]


def _patch(tmp_path, root, edit, name: str, subject: str):
    """A patch of the tree's mm/mremap.c written at test time (git diff of the file and its edit)."""
    src = (root / "mm" / "mremap.c").read_text()
    for side, text in (("a", src), ("b", edit(src))):
        (tmp_path / side / "mm").mkdir(parents=True, exist_ok=True)
        (tmp_path / side / "mm" / "mremap.c").write_text(text)
    diff = subprocess.run(["git", "diff", "--no-index", "a/mm/mremap.c", "b/mm/mremap.c"], cwd=tmp_path,
                          capture_output=True, text=True).stdout.replace(" a/a/", " a/").replace(" b/b/", " b/")
    assert diff
    patch = tmp_path / name
    patch.write_text(f"Subject: [PATCH] {subject}\n\n---\n" + diff)
    return patch


def _revert_772e5b4a5e83(src: str) -> str:
    """7.x's move_normal_pmd()/move_normal_pud() as 0cef0bb836e3 had them: the uffd test on the
    source VMA only, after the WARN_ON_ONCE()."""
    out = src.replace("\tif (!uffd_supports_page_table_move(pmc))\n\t\treturn false;\n", "")
    for level in ("pmd", "pud"):
        warn = f"\tif (WARN_ON_ONCE(!{level}_none(*new_{level})))\n\t\treturn false;\n"
        assert warn in out
        out = out.replace(warn, warn + "\n\tif (vma_has_uffd_without_event_remap(vma))\n\t\treturn false;\n", 1)
    return out


@pytest.mark.parametrize("version", ["6.12", "7.3"])
def test_the_uffd_warn_is_absent_from_the_shipped_trees(version):
    r = run("check", "--tree", tree(version), "--property", "no-warn", "--reachable")
    assert r.exit_code == 0 and "HOLDS" in r.output and "any number of VMAs" in r.output, r.output


def test_the_2025_uffd_warn_found_from_source(tmp_path):
    """772e5b4a5e83 reverted on 7.3.4: the WARN of syzbot 4d9a13f0797c46a29e42, in the undo
    move, with the calls that reach it (the userfaultfd registration, the mremap, the failure)."""
    root = tree("7.3")
    patch = _patch(tmp_path, root, _revert_772e5b4a5e83, "0001-revert.patch",
                   'Revert "mm/mremap: fix WARN with uffd that has remap events disabled"')
    r = run("check", "--tree", root, "--patch", patch, "--property", "no-warn", "--reachable", "--json")
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["verdict"] == "violated"
    assert "in the undo move" in out["replay"]["details"]["no-warn"]
    steps = [s["op"] for s in out["reachability"]["steps"]]
    assert "uffd" in steps and steps[-1] == "mremap" and "allocation failure" in out["reachability"]["needs"]


def test_the_6_12_loop_form_needs_only_the_order(tmp_path):
    """6.12.y tests uffd_supports_move in the loop, before move_normal_pmd()'s WARN: testing the
    source VMA alone would do there (the new VMA carries the source's context during both moves),
    which the checker proves; review still calls the new_vma test needed where the states differ."""
    root = tree("6.12")
    patch = _patch(tmp_path, root, lambda s: s.replace(
        " &&\n\t\t\t     !vma_has_uffd_without_event_remap(new_vma);", ";"), "0001-source-only.patch",
        "mm/mremap: test only the source VMA's uffd")
    r = run("check", "--tree", root, "--patch", patch, "--property", "no-warn", "--reachable")
    assert r.exit_code == 0 and "HOLDS" in r.output, r.output
    r = run("review", "--tree", root, "--reachable", "--json", "--no-fixes")
    conds = {c["text"]: c for c in json.loads(r.stdout)["conditions"]}
    for text in ("!vma_has_uffd_without_event_remap(vma)", "!vma_has_uffd_without_event_remap(new_vma)"):
        assert conds[text]["verdict"] == ["needed"] and conds[text]["property"] == "no-warn", conds[text]
        assert "userfaultfd" in conds[text]["note"]
    assert conds["!len"]["verdict"] == [] and "before its loop" in conds["!len"]["outside"]


def test_debian_6_1_has_the_2025_uffd_warn():
    """Debian's 6.1.192 carries 0cef0bb836e3's backport (the uffd test after the WARN) but not
    772e5b4a5e83: syzbot 4d9a13f0797c46a29e42's own call warns there, in the undo move."""
    from modelcheck.model.scenario import scenario_from_json
    from modelcheck.model.semantics import evaluate
    from modelcheck.userspace.recipe import find_recipe
    v, _ = load_tree(str(tree("6.1")))
    s = scenario_from_json(SYZ)
    ev = evaluate(s, v)
    assert ev.properties["no-warn"] == "violated" and "in the undo move" in ev.details["no-warn"]
    r = find_recipe(s)
    assert r.reachable and [x.op for x in r.steps] == ["mmap", "touch", "uffd", "mremap"]


#: syzbot 4d9a13f0797c46a29e42's mremap(0x200000000000, 0xc00000 -> 0x400000, FIXED 0x200000c00000),
#: after the shrink: 4 MiB of a uffd-wp VMA moved, the second PMD's page-table allocation failing
SYZ = {"schema": 1, "geometry": "x86_64-4level",
       "vmas": [{"start": "0x200000000000", "end": "0x200000400000", "uffd_wp": True},
                {"start": "0x200000c00000", "end": "0x200001000000", "populated": False, "uffd_wp": True}],
       "move": {"old_vma": 0, "new_vma": 1, "old_addr": "0x200000000000", "new_addr": "0x200000c00000",
                "len": "0x400000", "stop_at": "0x200000200000"}}


def test_review_of_7_3_judges_the_uffd_checks():
    """7.3.4's uffd_supports_page_table_move(): each operand needed for no-warn, with a witness
    whose VMAs differ in their uffd state; the guard that calls it changes nothing a property
    sees (what it is for, the uffd-wp bits, is outside the model); ``!pmc->len_in`` outside the
    model.  None of them dead."""
    r = run("review", "--tree", tree("7.3"), "--reachable", "--json", "--no-fixes")
    assert r.exit_code == 0, r.output
    conds = {c["text"]: c for c in json.loads(r.stdout)["conditions"]}
    for side in ("old", "new"):
        c = conds[f"!vma_has_uffd_without_event_remap(pmc->{side})"]
        assert c["verdict"] == ["needed"] and c["property"] == "no-warn" and "userfaultfd" in c["note"], c
        vmas = c["witness"]["vmas"]
        assert len({bool(v.get("uffd_wp")) for v in vmas}) == 2
    guard = conds["!uffd_supports_page_table_move(pmc)"]
    assert guard["verdict"] == [] and guard["function"] == "move_normal_pmd"
    assert "outside the model" in guard["reasons"]["decides"]
    assert conds["!pmc->len_in"]["verdict"] == [] and "before its loop" in conds["!pmc->len_in"]["outside"]
    for c in conds.values():
        assert not {"never-true", "never-false", "never-evaluated"} & set(c["verdict"]) or "uffd" not in c["text"]
