"""The checker's commands: verdicts, exit codes, JSON, files, minimal counterexamples, user variants."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.model.geometry import get_geometry
from modelcheck.runs.matrix import run_matrix
from modelcheck.solver.search import CHECKS, TAME_PMDS, check, diff
from modelcheck.model.semantics import evaluate
from modelcheck.model.variants import Call, Decision, Variant, get_variant, progress_pmc, register, unregister

X86 = get_geometry("x86_64-4level")


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_check_holds_json():
    r = run("check", "--variant", "v6.7", "--property", "no-source-collateral", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {k: out[k] for k in ("variant", "property", "geometry", "verdict", "vacuous", "vmas_bound")} == {
        "variant": "v6.7", "property": "no-source-collateral", "geometry": "x86_64-4level",
        "verdict": "holds", "vacuous": False, "vmas_bound": "any"}
    # v6.7's two find_vma_intersection() calls and the entry test in S: searched up to 5 VMAs
    assert out["vmas_searched"] == out["cutoff"]["vmas"] == 5
    assert out["counterexample"] is None and isinstance(out["seconds"], float)


def test_check_violated_minimal_counterexample(tmp_path):
    # v3 sweeps its own VMA: the smallest such move is one page, from a VMA's last page just
    # below a PMD boundary, with a one-page VMA at mmap_min_addr as the "prev" v3 insists on.
    r = run("check", "--variant", "v3", "--property", "no-source-collateral", "--json", "--out", str(tmp_path))
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    cx = out["counterexample"]
    assert cx["move"]["len"] == "0x1000"
    assert [(v["start"], v["end"]) for v in cx["vmas"]][:2] == [("0x10000", "0x11000"), ("0x201000", "0x400000")]
    assert cx["move"]["old_addr"] == "0x3ff000"
    path = out["files"]["scenario"]
    assert path.endswith("x86_64-4level/v3/no-source-collateral.json")
    again = run("eval", path, "--variant", "v3", "--json")  # the saved file replays as is
    assert json.loads(again.output)["results"][0]["properties"]["no-source-collateral"] == "violated"


def test_check_unknown_is_never_holds():
    r = run("check", "--variant", "v6.7", "--property", "no-warn", "--rlimit", "1", "--json")
    assert r.exit_code == 3
    out = json.loads(r.stdout)
    assert out["verdict"] == "unknown" and "rlimit 1" in out["reason"]


def test_check_vacuous():
    r = run("check", "--variant", "never", "--property", "no-dest-clobber")
    assert r.exit_code == 0 and "vacuous" in r.output


def test_check_bad_input():
    assert run("check", "--variant", "v9", "--property", "no-warn").exit_code == 2
    assert run("check", "--variant", "v3", "--property", "nonsense").exit_code == 2
    assert run("check", "--variant", "v3", "--property", "no-warn", "--geometry", "vax").exit_code == 2


def test_matrix_parallel_equals_serial():
    args = (["v3", "v6.7", "never"], ["no-source-collateral", "return-value"], ["i386-pae"])
    serial = run_matrix(*args, jobs=1)
    parallel = run_matrix(*args, jobs=2)
    timing = {"seconds": 0, "solver_seconds": 0}
    assert [r.to_json() | timing for r in serial] == [r.to_json() | timing for r in parallel]


def test_matrix_cli(tmp_path):
    r = run("matrix", "--variants", "v2,v6.12", "--properties", "return-value", "--geometries", "i386-pae",
            "--jobs", "1", "--out", str(tmp_path), "--json")
    assert r.exit_code == 0, r.output  # v2's 32-bit return-value bug is expected
    results = json.loads(r.stdout)["results"]
    assert [(x["variant"], x["verdict"]) for x in results] == [("v2", "violated"), ("v6.12", "holds")]
    assert (tmp_path / "i386-pae" / "v2" / "return-value.json").exists()


def test_missed_optimization():
    assert check(get_variant("always"), "missed-optimization", X86).verdict == "holds"
    r = check(get_variant("never"), "missed-optimization", X86)
    assert r.verdict == "violated"
    assert evaluate(r.counterexample, get_variant("always")).realigned


def test_diff_linus_against_merged():
    cases, gave_up = diff(get_variant("linus"), get_variant("v6.7"), X86)
    assert not gave_up
    unsafe = {c.property for c in cases if c.kind == "unsafe" and c.realigns == "linus"}
    # Linus's predicate realigns from inside a VMA (no start-of-VMA rule) where v6.7 declines
    assert {"no-source-collateral", "equivalence"} <= unsafe
    for c in cases:
        assert evaluate(c.scenario, get_variant(c.realigns)).realigned
        assert not evaluate(c.scenario, get_variant(c.declines)).realigned


def test_user_variant():
    # A patch under review, as a user would write it: v6.7's decision, but never for the stack.
    merged = get_variant("v6.7")

    def decide(k, c: Call, level: str) -> Decision:
        d = merged.decide(k, c, level)
        realign = k.and_(d.realign, k.not_(c.for_stack))
        return Decision(realign, k.ite(realign, d.old_addr, c.old_addr), k.ite(realign, d.new_addr, c.new_addr))

    mine = register(Variant("no-stack", "v6.7 without the stack exception", "test", decide, progress_pmc))
    try:
        assert check(mine, "no-source-collateral", X86).verdict == "holds"
        r = check(mine, "no-warn", X86)  # without realignment the overlapping stack move WARNs again
        assert r.verdict == "violated" and r.counterexample.move.for_stack
        assert run_matrix(["no-stack"], ["no-dest-clobber"], ["i386-pae"])[0].verdict == "holds"
    finally:
        unregister("no-stack")


def test_check_does_not_depend_on_earlier_checks():
    # The matrix's workers take checks in any order; each check starts a fresh Z3 context, so the
    # counterexample it finds is the same whatever the process solved before.
    first = check(get_variant("always"), "equivalence", X86, minimal=False)
    for v in ("v2", "v6.7"):
        for p in ("no-warn", "no-dest-clobber"):
            check(get_variant(v), p, X86, minimal=False)
    again = check(get_variant("always"), "equivalence", X86, minimal=False)
    assert first.counterexample is not None
    assert again.counterexample.to_json() == first.counterexample.to_json()


def test_first_model_is_tamed():
    # v6.15 no-warn's first model on x86-64 moves terabytes; the replayed one moves at most TAME_PMDS PMDs
    r = check(get_variant("v6.15"), "no-warn", X86, minimal=False)
    assert r.verdict == "violated"
    assert r.counterexample.move.len <= TAME_PMDS * X86.pmd_size


def test_eval_refuses_a_move_too_long_to_simulate(tmp_path):
    s = {"schema": 1, "geometry": "x86_64-4level",
         "vmas": [{"start": "0x1000000000", "end": "0x400000000000", "populated": True},
                  {"start": "0x400000000000", "end": "0x7f0000000000"}],
         "move": {"old_vma": 0, "new_vma": 1, "old_addr": "0x1000000000", "new_addr": "0x400000000000",
                  "len": "0x3f0000000000"}}
    (tmp_path / "big.json").write_text(json.dumps(s))
    r = run("eval", str(tmp_path / "big.json"))
    assert r.exit_code == 2 and "move.len" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_check_out_writes_scenario_graph_and_picture(tmp_path):
    r = run("check", "--variant", "v3", "--property", "no-source-collateral", "--out", str(tmp_path), "--json")
    assert r.exit_code == 1, r.output
    files = json.loads(r.stdout)["files"]
    assert set(files) == {"scenario", "graphml", "graph.json", "dot", "svg", "png", "recipe.txt", "repro.c"}
    for path in files.values():
        assert Path(path).is_file() and Path(path).parent == tmp_path / "x86_64-4level" / "v3"
    assert not list(tmp_path.rglob(".tmp-*"))  # nothing half-written left behind
    text = run("check", "--variant", "v3", "--property", "no-source-collateral", "--out", str(tmp_path))
    assert f"svg: {files['svg']}" in text.output


@pytest.mark.parametrize("vid", ["v3", "v6.15", "never"])
def test_one_query_up_to_the_bound_answers_as_the_numbers_one_by_one(vid):
    # after Settings.exact_first VMAs, one query over any number up to the bound replaces one per number;
    # verdicts and least counterexamples are those of asking for each number in turn
    from modelcheck.settings import DEFAULT
    g = get_geometry("x86_64-4level")
    one_query = [check(get_variant(vid), pid, g, vmas=4) for pid in CHECKS]
    each = [check(get_variant(vid), pid, g, vmas=4, settings=DEFAULT.replace(exact_first=10**6)) for pid in CHECKS]
    for a, b in zip(one_query, each):
        assert (a.verdict, a.vacuous, a.counterexample) == (b.verdict, b.vacuous, b.counterexample), a.property


def test_matrix_leaves_no_worker_behind():
    # the pool's processes are joined when run_matrix returns (only Python's resource tracker,
    # which ends with the process, may be left)
    import multiprocessing
    import os
    import subprocess
    from modelcheck.runs.matrix import run_matrix
    results = run_matrix(["v6.15"], ["no-dest-clobber", "aligned-down"], ["x86_64-4level"], jobs=2)
    assert [r.verdict for r in results] == ["holds", "holds"]
    assert multiprocessing.active_children() == []
    # -ww: the whole command line (ps cuts it at 80 columns when not writing to a terminal, and
    # a long checkout path pushes "resource_tracker" past the cut)
    children = subprocess.run(["ps", "-ww", "-o", "stat=,args=", "--ppid", str(os.getpid())], capture_output=True,
                              text=True).stdout.splitlines()
    left = [c for c in children if "resource_tracker" not in c and not c.split(None, 1)[1].startswith("ps ")]
    assert left == [], left


def test_runs_make_their_terms_in_their_own_z3_context(monkeypatch, tmp_path):
    """check, diff, prove_same, a C variant's load and review (in this process: jobs 1) make every
    term and solver in the context of their run (encoding.new_context), none in z3's main one:
    z3's main context is made to fail for the duration."""
    import z3
    from modelcheck.front.cfront import load_c
    from modelcheck.checks import PROPERTIES
    from modelcheck.front.review import review
    from modelcheck.solver.search import prove_same

    def no_main_ctx():
        raise AssertionError("a term or solver made in z3's main context")
    monkeypatch.setattr(z3.z3, "main_ctx", no_main_ctx)
    toy = get_geometry("custom:word=8,int=4,page=2,pmd=3,pud=4,levels=4,task=0x18,min=0x4")
    for pid in CHECKS:
        assert check(get_variant("v6.15"), pid, X86).verdict in ("holds", "violated")
    assert check(get_variant("v3"), "no-source-collateral", X86).verdict == "violated"  # shrunk, decoded
    assert diff(get_variant("v6.12"), get_variant("v6.15"), X86) == ([], [])
    assert prove_same(get_variant("v6.12"), get_variant("v6.15"), X86)[0] == "holds"
    variant, linkage = load_c(["tests/c/review-dead.c"])
    findings, verdicts = review(linkage.unit, variant.id, toy, jobs=1)
    assert findings and set(verdicts) == set(PROPERTIES)
