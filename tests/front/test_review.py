"""modelcheck review, run as a user runs it (the CLI, --json and --sarif), and each verdict checked
by other means than the one that produced it:

* never-true / never-evaluated: every state of the toy geometry with up to 3 VMAs, run
  concretely with the conditions' evaluations recorded;
* redundant: the same states decide alike with the condition dropped, and return alike;
* needed / harmful / optimization-only: the witness, replayed by the simulator with and without the
  condition.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from modelcheck.front.cfront import load_c
from modelcheck.cli import cli
from modelcheck.enumeration import scenarios
from modelcheck.model.geometry import get_geometry
from modelcheck.model.ops import ConcreteOps
from modelcheck.front.review import conditions
from modelcheck.model.scenario import scenario_from_json
from modelcheck.model.semantics import decide, evaluate
from modelcheck.front.cfront import c_variant

TOY_NAME = "custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x18,min=0x4"
TOY = get_geometry(TOY_NAME)
DEAD = "tests/c/review-dead.c"


@pytest.fixture(scope="module")
def dead(tmp_path_factory):
    sarif = tmp_path_factory.mktemp("review") / "review.sarif"
    r = CliRunner().invoke(cli, ["review", "--c-file", DEAD, "--geometry", TOY_NAME, "--json", "--sarif", str(sarif)])
    assert r.exit_code == 0, r.output
    unit = load_c([DEAD])[1].unit
    return json.loads(r.stdout), json.loads(sarif.read_text()), unit


def _at(out: dict, file: str, line: int, col: int) -> dict:
    return next(c for c in out["conditions"] if (c["file"], c["line"], c["col"]) == (file, line, col))


def _node(unit, c: dict):
    return next(x for x in conditions(unit) if (x.file, x.line, x.col, x.text) == (c["file"], c["line"], c["col"], c["text"]))


def _states(bound: int = 3):
    return scenarios(TOY, bound)


def test_dead_code_is_found(dead):
    out, _, unit = dead
    assert _at(out, DEAD, 7, 6)["verdict"] == ["never-true", "redundant"]
    assert _at(out, DEAD, 8, 7)["verdict"] == ["never-evaluated"]
    # what the enumeration sees: 'down > addr' evaluated and never true; the test inside never reached
    never_true, never_seen = _node(unit, _at(out, DEAD, 7, 6)), _node(unit, _at(out, DEAD, 8, 7))
    seen: list = []
    v = c_variant(unit, "seen", "", "", seen=seen)
    for s in _states():
        decide(s, v)
    values = [val for node, g, val in seen if node == never_true.node_id and g]
    assert values and not any(values)
    assert not [1 for node, g, _ in seen if node == never_seen.node_id and g]


def test_redundant_conditions_change_nothing_on_every_enumerated_state(dead):
    out, _, unit = dead
    redundant = [c for c in out["conditions"] if "redundant" in c["verdict"]]
    assert len(redundant) >= 4  # the dead test, the stack shortcut and its first operand, old_offset == 0
    base = c_variant(unit, "base", "", "")
    for c in redundant:
        node = _node(unit, c)
        dropped = c_variant(unit, "dropped", "", "", forced={node.node_id: node.neutral})
        for s in _states(2):
            assert decide(s, base)[:3] == decide(s, dropped)[:3], (c, s.dumps())
            k = ConcreteOps(TOY, s.spans)
            for cursor in (s.move.old_addr, s.move.old_end, s.move.old_addr & ~(TOY.pmd_size - 1)):
                args = (k, k.word(cursor), k.word(s.move.old_end), k.word(s.move.len))
                assert int(base.progress(*args)) == int(dropped.progress(*args))


def test_needed_witnesses_replay(dead):
    out, _, unit = dead
    needed = [c for c in out["conditions"] if "needed" in c["verdict"]]
    assert {c["properties"]["needed"] for c in needed} >= {"no-source-collateral", "no-dest-clobber", "return-value"}
    base = c_variant(unit, "base", "", "")
    for c in needed:
        node = _node(unit, c)
        dropped = c_variant(unit, "dropped", "", "", forced={node.node_id: node.neutral})
        s = scenario_from_json(c["witnesses"]["needed"])
        pid = c["properties"]["needed"]
        assert evaluate(s, dropped).properties[pid] == "violated", c
        assert evaluate(s, base).properties[pid] == "holds", c


def test_optimization_only_witnesses_replay(dead):
    out, _, unit = dead
    opt = [c for c in out["conditions"] if "optimization-only" in c["verdict"]]
    assert opt
    base = c_variant(unit, "base", "", "")
    for c in opt:
        node = _node(unit, c)
        dropped = c_variant(unit, "dropped", "", "", forced={node.node_id: node.neutral})
        s = scenario_from_json(c["witnesses"]["optimization-only"])
        a, b = evaluate(s, base), evaluate(s, dropped)
        assert a.realigned != b.realigned and not a.violated() and not b.violated()


def test_sarif_has_a_result_per_verdict_at_its_line(dead):
    out, sarif, _ = dead
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "modelcheck"
    results = sarif["runs"][0]["results"]
    assert len(results) == sum(len(c["verdict"]) for c in out["conditions"])
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    for r in results:
        assert r["ruleId"] in rules
        loc = r["locations"][0]["physicalLocation"]
        assert loc["region"]["startLine"] >= 1 and loc["artifactLocation"]["uri"].endswith(".c")
    dead_line = [r for r in results if r["ruleId"] == "never-evaluated"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in dead_line] == [8]


@pytest.mark.slow
def test_text_output_is_file_line_col(tmp_path):
    r = CliRunner().invoke(cli, ["review", "--c-file", DEAD, "--geometry", TOY_NAME])
    assert r.exit_code == 0
    assert f"{DEAD}:8:7: never-evaluated: 'vma->vm_start == addr'" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("16 conditions: 1 never-evaluated, 1 never-true")


@pytest.mark.parametrize("args, where", [
    (["review"], "--variant"),
    (["review", "--variant", "v6.15", "--c-file", DEAD], "--variant"),
    (["review", "--variant", "nope"], "--variant: unknown variant 'nope'"),
    (["review", "--c-file", "/nonexistent.c"], "/nonexistent.c"),
    (["review", "--variant", "v6.15", "--sarif", "/nonexistent/x.sarif"], "--sarif"),
])
def test_bad_input(args, where):
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith(f"modelcheck: error: {where}") and r.stderr.count("\n") == 1, r.stderr


@pytest.mark.slow
def test_v6_15_on_x86_64_harmful_where_it_violates():
    # v6.15 violates no-warn (a stack move onto a populated PMD); the for_stack exemption is
    # where it decides so, and the witness shows it
    r = CliRunner().invoke(cli, ["review", "--variant", "v6.15", "--json"])
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    harmful = [c for c in out["conditions"] if "harmful" in c["verdict"]]
    assert harmful and all(c["property"] == "no-warn" for c in harmful)
    s = scenario_from_json(harmful[0]["witnesses"]["harmful"])
    from modelcheck.model.variants import get_variant
    assert evaluate(s, get_variant("v6.15")).properties["no-warn"] == "violated"


NEVER_FALSE = """
static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,
			   unsigned long addr, unsigned long mask)
{
	unsigned long down = addr & mask;

	if (down <= addr && !pmc->for_stack && vma->vm_start != addr)
		return false;
	return find_vma_intersection(vma->vm_mm, down, vma->vm_start) == NULL;
}
"""


def test_never_false_is_a_proof_the_enumeration_agrees_with(tmp_path):
    from modelcheck.front.review import _facts
    p = tmp_path / "never-false.c"
    p.write_text(NEVER_FALSE)
    unit = load_c([str(p)])[1].unit
    conds = conditions(unit)
    (c,) = [x for x in conds if x.text == "down <= addr"]
    facts = _facts(unit, conds, TOY, "pmd", 4, 50_000_000, False)[c.node_id]
    assert facts["evaluated"][0] is True and facts["true"][0] is True
    assert facts["false"] == (False, "any number of VMAs")
    # its neighbour in the same && is sometimes false: not every condition is called never-false
    (other,) = [x for x in conds if x.text == "vma->vm_start != addr"]
    assert _facts(unit, conds, TOY, "pmd", 4, 50_000_000, False)[other.node_id]["false"][0] is True
    seen: list = []
    v = c_variant(unit, "seen", "", "", seen=seen)
    for s in _states():
        decide(s, v)
    values = [val for node, g, val in seen if node == c.node_id and g]
    assert values and all(values)
