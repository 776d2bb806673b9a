"""review's suggested fixes (modelcheck.front.fixes), each checked by other means than the one that
produced it:

* every edit is written back into the source, and the edited file, loaded as C, decides and
  returns as the edited variant does on every toy state with up to 2 VMAs (the hunk is the edit);
* a fix found for a one-token mistake is the reverse of the mistake, every property holds for it,
  and the states where an edit 'declines safe realignments' replay as such in the simulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.enumeration import scenarios
from modelcheck.front import fixes
from modelcheck.front.cfront import builtin_c, builtin_unit, c_variant, load_c
from modelcheck.model.geometry import get_geometry
from modelcheck.model.semantics import evaluate
from modelcheck.model.variants import get_variant

TOY_NAME = "custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x18,min=0x4"
TOY = get_geometry(TOY_NAME)
GT = "tests/c/vm_start-gt.c"


@pytest.mark.parametrize("vid", ["rfc", "v2", "v6.12", "v6.15"])
def test_every_edit_of_the_builtins_is_placed_in_its_file(vid):
    unit = builtin_unit(vid)
    parents = fixes._parents(unit)
    unplaced = []
    for e in fixes.edits(unit):
        path = fixes._where(e.node).rsplit(":", 2)[0]
        text = builtin_c(Path(path).stem)
        new = fixes._rewrite(text, e, parents)
        if new is None or new == text:
            unplaced.append((e.kind, e.description))
    # only dropping the condition of a ?: (v6.15's pmc_progress()) has no one-token text
    assert unplaced == ([("drop", "drop 'pmc->old_addr < start'")] if vid == "v6.15" else [])


def test_the_hunk_is_the_edit(tmp_path):
    # every edit of the file's own function (the rest come from its base, v6.15): the file
    # rewritten with it, loaded as C, runs as the edited variant
    _, linkage = load_c([GT])
    unit = linkage.unit
    parents = fixes._parents(unit)
    text = Path(GT).read_text()
    states = list(scenarios(TOY, 2))
    checked = 0
    mine = [e for e in fixes.edits(unit) if fixes._where(e.node).startswith(GT + ":")]
    for n, e in enumerate(mine):
        new = fixes._rewrite(text, e, parents)
        assert new is not None and new != text, e.description
        edited = tmp_path / f"edit{n}.c"
        edited.write_text(new)
        from_text = load_c([str(edited)], vid=f"edit{n}")[0]
        replaced = c_variant(unit, f"replaced{n}", "", "", replaced={id(e.node): e.replacement})
        for s in states[::15]:
            a, b = evaluate(s, from_text), evaluate(s, replaced)
            assert (a.old_addr, a.new_addr, a.returned) == (b.old_addr, b.new_addr, b.returned), (e.description, s.dumps())
        checked += 1
    assert checked == len(mine) >= 20


def test_the_reverse_of_a_one_token_mistake_is_found_and_proved(monkeypatch):
    # vm_start-gt.c: v6.15 with "vma->vm_start > addr_to_align" for "!=".  Only the edits of
    # that comparison are tried here (the whole search is the slow tier's review run)
    v, linkage = load_c([GT])
    unit = linkage.unit
    mine = [e for e in fixes.edits(unit) if fixes._where(e.node).endswith(":7:25")]
    assert {e.kind for e in mine} == {"drop", "negate", "flip"}
    monkeypatch.setattr(fixes, "edits", lambda u: mine if u is unit else [])
    from modelcheck.checks import PROPERTIES
    from modelcheck.solver.search import check
    verdicts = {p: check(v, p, TOY, reachable=True, minimal=False).verdict for p in PROPERTIES}
    assert verdicts["no-source-collateral"] == "violated"
    tried: list = []
    found = fixes.suggest(unit, v.id, verdicts, TOY, "pmd", 4, 50_000_000, True, lambda f: Path(f).read_text(), tried,
                          fixes.Original("v6.15"))
    assert len(tried) == len(mine)
    whole = [f for f in found if f.loses is None]
    assert [(f.kind, f.description) for f in whole] == [("flip", "'>' -> '<' in 'vma->vm_start > addr_to_align'")]
    assert set(whole[0].covers) == set(PROPERTIES) and all(b.startswith("any number of VMAs") for b in whole[0].covers.values())
    assert "-\tif (!pmc->for_stack && vma->vm_start > addr_to_align)\n" \
           "+\tif (!pmc->for_stack && vma->vm_start < addr_to_align)\n" in whole[0].hunk
    assert whole[0].hunk.startswith(f"--- a/{GT}\n+++ b/{GT}\n@@ -4,7 +4,7 @@\n")
    # the same edit as a SARIF fix: one character of line 7 replaced, which gives the hunk's file
    (l1, c1, l2, c2), inserted = whole[0].replacement
    assert (l1, l2, c2 - c1, inserted) == (7, 7, 1, "<")
    lines = Path(GT).read_text().split("\n")
    assert lines[6][c1 - 1] == ">" and "vma->vm_start < addr_to_align" in lines[6][:c1 - 1] + "<" + lines[6][c2 - 1:]
    from modelcheck.output.formats.sarif import review_sarif
    log = json.loads(review_sarif([], "vm_start-gt", found))
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["fix"] + ["fix-declining"] * (len(found) - 1)
    change = results[0]["fixes"][0]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == GT and change["replacements"] == [
        {"deletedRegion": {"startLine": 7, "startColumn": c1, "endLine": 7, "endColumn": c2},
         "insertedContent": {"text": "<"}}]
    assert {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]} >= {"fix", "fix-declining"}
    # the others make every property hold by declining: where v6.15 realigns safely, they do not
    declining = [f for f in found if f.loses is not None]
    assert declining
    for f in declining:
        e = next(e for e in mine if e.description == f.description)
        edited = c_variant(unit, "edited", "", "", replaced={id(e.node): e.replacement})
        assert evaluate(f.loses, get_variant("v6.15")).realigned and not evaluate(f.loses, edited).realigned
        assert not evaluate(f.loses, get_variant("v6.15")).violated()


def test_no_fix_is_searched_when_every_property_holds():
    unit = builtin_unit("v6.12")
    v = get_variant("v6.12")
    tried: list = []
    assert fixes.suggest(unit, v.id, {"no-warn": "holds"}, TOY, "pmd", 4, 50_000_000, False, lambda f: None, tried) == []
    assert tried == []


@pytest.mark.slow
def test_review_shows_the_fix_as_a_patch(tmp_path):
    r = CliRunner().invoke(cli, ["review", "--c-file", GT, "--reachable", "--geometry", TOY_NAME, "--json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["edits_tried"] == 63
    whole = [f for f in out["fixes"] if f["loses"] is None]
    assert [(f["line"], f["col"], f["kind"]) for f in whole] == [(7, 25, "flip")]
    assert "+\tif (!pmc->for_stack && vma->vm_start < addr_to_align)" in whole[0]["patch"]
    r = CliRunner().invoke(cli, ["review", "--c-file", GT, "--reachable", "--geometry", TOY_NAME])
    assert f"{GT}:7:25: fix: '>' -> '<' in 'vma->vm_start > addr_to_align' (flip in can_align_down()): every " \
           "property holds (any number of VMAs), and no realignment v6.15 takes safely is lost" in r.stdout
    assert r.stdout.rstrip().endswith("63 one-token edits tried: 1 fix, 3 declining safe realignments")
    # the patch applies to the file and gives the kernel's behaviour back
    patch = tmp_path / "fix.patch"
    patch.write_text(whole[0]["patch"])
    work = tmp_path / "tests" / "c"
    work.mkdir(parents=True)
    (work / "vm_start-gt.c").write_text(Path(GT).read_text())
    import subprocess
    if subprocess.run(["patch", "--version"], capture_output=True).returncode == 0:
        done = subprocess.run(["patch", "-p1", "-i", str(patch)], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "vma->vm_start < addr_to_align" in (work / "vm_start-gt.c").read_text()
