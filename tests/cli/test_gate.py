"""The reviewer's gate on a kernel tree and a patch (kernel-style fixtures, tests/c/kernel/):
a tree's verdicts are about the states user space can make unless --all-states is asked; a
decision the encoding cannot follow exactly is judged by the simulator; a counterexample saved
from a tree replays from the tree it names; SARIF paths are the tree's own, relative."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from modelcheck.cli import cli

K = Path(__file__).resolve().parents[1] / "c" / "kernel"


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "linux"
    (root / "mm").mkdir(parents=True)
    shutil.copyfile(K / "mremap-v6.7.c", root / "mm" / "mremap.c")
    (root / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 7\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = Fixture\n")
    return root


def _patch(tmp_path: Path, root: Path, old: str, new: str, name: str) -> Path:
    """A format-patch style patch of mm/mremap.c replacing ``old`` (a whole line) with ``new``."""
    lines = (root / "mm" / "mremap.c").read_text().splitlines()
    i = lines.index(old)
    body = [f"@@ -{i},3 +{i},{3 if new is not None else 2} @@", f" {lines[i - 1]}", f"-{old}",
            *([f"+{new}"] if new is not None else []), f" {lines[i + 1]}"]
    p = tmp_path / name
    p.write_text("From: R <r@example.org>\nSubject: [PATCH] mm/mremap: " + name + "\n\n---\n"
                 "--- a/mm/mremap.c\n+++ b/mm/mremap.c\n" + "\n".join(body) + "\n")
    return p


def _without_mutual_alignment(tmp_path: Path) -> tuple[Path, Path]:
    """The fixture tree and a patch that drops its mutual-alignment test."""
    root = _tree(tmp_path)
    return root, _patch(tmp_path, root, "\tif ((*old_addr & ~mask) != (*new_addr & ~mask))", "\tif (0)",
                        "0001-no-mutual-alignment.patch")


def test_a_tree_is_judged_on_the_states_user_space_can_make(tmp_path):
    root = _tree(tmp_path)
    r = run("check", "--tree", root, "--property", "no-warn")
    assert r.exit_code == 0 and "HOLDS" in r.output, r.output
    assert "states: those user space can bring the kernel to (--all-states: every state)" in r.output
    r = run("check", "--tree", root, "--property", "no-warn", "--all-states")  # v6.7's 1 GiB stack move
    assert r.exit_code == 1 and "VIOLATED" in r.output and "not reachable from user space" in r.output, r.output
    r = run("check", "--variant", "v6.7", "--property", "no-warn")  # a built-in: every state, as before
    assert r.exit_code == 1 and "states: those user space" not in r.output


def test_a_decision_that_changes_the_offset_is_judged_by_the_simulator(tmp_path):
    # without the mutual-alignment test the realignment moves the source's entries to other
    # offsets than the plain move: the encoding assumes the offset kept, the simulator judges
    root, patch = _without_mutual_alignment(tmp_path)
    r = run("check", "--tree", root, "--patch", patch, "--property", "equivalence", "--json")
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["verdict"] == "violated" and "the simulator confirms" in out["reason"]
    assert out["reachability"]["reachable"]


def test_a_tree_counterexample_replays_from_its_tree(tmp_path):
    root, patch = _without_mutual_alignment(tmp_path)
    r = run("check", "--tree", root, "--patch", patch, "--property", "equivalence", "--out", tmp_path / "out")
    assert r.exit_code == 1, r.output
    saved = next((tmp_path / "out").rglob("equivalence.json"))
    claim = json.loads(saved.read_text())["claim"]
    assert claim["source"] == {"tree": str(root.resolve()), "patches": [str(patch.resolve())]}
    r = run("replay", saved)
    assert r.exit_code == 1 and "still violates equivalence" in r.output, r.output
    r = run("show", saved, "--out", tmp_path / "pic")
    assert r.exit_code == 0 and (tmp_path / "pic.svg").is_file(), r.output
    shutil.rmtree(root)  # the tree is gone: one line naming the claim, exit 2
    r = run("replay", saved)
    assert r.exit_code == 2 and r.output.startswith(f"modelcheck: error: {saved}: claim.source: --tree") \
        and r.output.count("\n") == 1, r.output


def test_sarif_paths_are_the_trees_own(tmp_path):
    root, patch = _without_mutual_alignment(tmp_path)
    r = run("check", "--tree", root, "--patch", patch, "--property", "equivalence", "--sarif", tmp_path / "c.sarif")
    assert r.exit_code == 1, r.output
    log = json.loads((tmp_path / "c.sarif").read_text())["runs"][0]
    assert log["originalUriBaseIds"] == {"SRCROOT": {"uri": root.resolve().as_uri() + "/"}}
    assert log["properties"]["patches"] == ["0001-no-mutual-alignment.patch"]
    where = log["results"][0]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"] == {"uri": "mm/mremap.c", "uriBaseId": "SRCROOT"}


def test_review_of_a_patch_names_what_it_removes(tmp_path):
    # the patch deletes the vm_start test: review says so at the line where it was, with the
    # unpatched code's witness, in the text, the JSON and SARIF (rule removes-needed)
    root = _tree(tmp_path)
    patch = _patch(tmp_path, root, "\tif (!for_stack && vma->vm_start != addr_to_align)", "\tif (0)",
                   "0001-no-vm-start.patch")
    r = run("review", "--tree", root, "--patch", patch, "--no-fixes", "--json", "--sarif", tmp_path / "r.sarif")
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    removed = {x["text"]: x for x in out["patch"]["removes"]}
    whole = removed["(!for_stack) && (vma->vm_start != addr_to_align)"]
    assert whole["needed"] and whole["line_before"] == 52 and whole["line_after"] == 52
    assert whole["before"]["witness"] is not None and whole["before"]["property"]
    assert 52 in out["patch"]["changed_lines"]
    log = json.loads((tmp_path / "r.sarif").read_text())["runs"][0]
    mine = [x for x in log["results"] if x["ruleId"] == "removes-needed"]
    assert mine and mine[0]["level"] == "error" and mine[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 52
    r = run("review", "--tree", root, "--patch", patch, "--no-fixes")
    assert f"{root / 'mm' / 'mremap.c'}:52: the patch removes '(!for_stack) && (vma->vm_start != addr_to_align)'" \
        in r.output, r.output


def test_diff_shows_a_scenario_once_for_the_classes_it_is_the_least_of():
    toy = "custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x18,min=0x4"
    r = run("diff", "linus", "v6.15", "--geometry", toy, "--json")
    assert r.exit_code == 1, r.output
    cases = json.loads(r.stdout)["cases"]
    distinct = {json.dumps(c["scenario"], sort_keys=True) for c in cases}
    assert len(distinct) < len(cases)  # (this pair has classes with the same least scenario)
    r = run("diff", "linus", "v6.15", "--geometry", toy)
    assert r.output.count("\n* ") + r.output.startswith("* ") == len(cases)
    assert r.output.count("geometry custom") == len(distinct), r.output


def test_review_says_where_it_is(tmp_path):
    root, patch = _without_mutual_alignment(tmp_path)
    r = CliRunner().invoke(cli, ["review", "--tree", str(root), "--patch", str(patch), "--no-fixes", "--progress"])
    assert r.exit_code == 1, r.output
    lines = r.stderr.splitlines()
    assert all(x.startswith("modelcheck: [") for x in lines) and "modelcheck: [" not in r.stdout
    assert any("conditions to judge" in x for x in lines) and any("the tree before the patches" in x for x in lines)
    judged = [x for x in lines if "] [" in x]
    n = int(judged[0].split("] [")[1].split("/")[1].split("]")[0])
    assert len(judged) >= n and f"[{n}/{n}]" in judged[n - 1]
