"""A holds covers every number of VMAs only when the checker shows, for that predicate and
property, how many VMAs a violation can need (encoding.Cutoff), and searched that deep.

The predicates here look further down than any built-in: the k-th VMA below the source (k calls
of find_vma_prev()).  Realigning whenever that VMA exists is unsafe, but a counterexample needs
k VMAs below the source: with k = 4, one more than the old default bound of 4 VMAs allowed.
"""

from __future__ import annotations

import pytest
import z3

from modelcheck.solver.encoding import SymbolicState
from modelcheck.model.geometry import get_geometry
from modelcheck.solver.search import check
from modelcheck.model.semantics import evaluate
from modelcheck.model.variants import Decision, Variant, get_variant, progress_pmc

X86 = get_geometry("x86_64-4level")


def deep(k_below: int) -> Variant:
    """Realign (as 'always' does) when the k-th VMA below the source exists."""
    def decide(k, c, level):
        mask, size = k.word(k.geometry.level_mask(level)), k.word(k.geometry.level_size(level))
        off = c.old_addr & ~mask
        below, ok = c.vma, []
        for _ in range(k_below):
            _, below = k.find_vma_prev(k.vm_start(below))
            ok.append(k.not_(k.is_null(below)))
        ok = k.and_(k.uge(c.len, size - off), k.ne(off, 0), k.eq(off, c.new_addr & ~mask), *ok)
        return Decision(ok, k.ite(ok, c.old_addr & mask, c.old_addr), k.ite(ok, c.new_addr & mask, c.new_addr))
    return Variant(f"deep{k_below}", f"realigns when the VMA {k_below} below the source exists", "test",
                   decide, progress_pmc)


def deep_last(k_below: int) -> Variant:
    """As ``deep`` but testing only the k-th VMA below: the ones between are reached only
    through the addresses the lookups are made at."""
    def decide(k, c, level):
        mask, size = k.word(k.geometry.level_mask(level)), k.word(k.geometry.level_size(level))
        off = c.old_addr & ~mask
        below = c.vma
        for _ in range(k_below):
            _, below = k.find_vma_prev(k.vm_start(below))
        ok = k.and_(k.uge(c.len, size - off), k.ne(off, 0), k.eq(off, c.new_addr & ~mask),
                    k.not_(k.is_null(below)))
        return Decision(ok, k.ite(ok, c.old_addr & mask, c.old_addr), k.ite(ok, c.new_addr & mask, c.new_addr))
    return Variant(f"deep-last{k_below}", f"realigns when the VMA {k_below} below the source exists "
                   "(not testing those between)", "test", decide, progress_pmc)


def test_a_lookup_at_an_address_read_off_another_counts_both():
    # the fourth VMA below is looked up at the third's start, that one at the second's, and so
    # on: deleting any of those between would change it, so all four count (counting the last
    # alone gave a cutoff of 3 VMAs and a holds for any number, where a violation needs 5)
    r = check(deep_last(4), "no-source-collateral", X86)
    assert r.cutoff.lookups == 4 and r.verdict == "violated", r.bound()
    assert len(r.counterexample.vmas) == 5


def test_a_bounded_search_would_have_said_holds():
    # searched up to 4 VMAs, as the checker did: no counterexample, and the result says it
    # covers only those, because a violation may need more
    r = check(deep(4), "no-source-collateral", X86, vmas=4, extend=False)
    assert r.verdict == "holds" and not r.unbounded
    assert r.cutoff.vmas > 4 and r.to_json()["vmas_bound"] == 4
    assert r.bound().startswith("up to 4 VMAs (a violation needs at most")


def test_the_checker_searches_as_deep_as_the_lookups_reach():
    r = check(deep(4), "no-source-collateral", X86)
    assert r.verdict == "violated", r.bound()
    s = r.counterexample
    assert len(s.vmas) == 5  # four below the source (which is its own destination), fewest first
    assert s.move.old_vma == s.move.new_vma == 4
    assert evaluate(s, deep(4)).properties["no-source-collateral"] == "violated"


@pytest.mark.parametrize("k_below", [1, 2, 3])
@pytest.mark.parametrize("pid", ["no-source-collateral", "no-dest-clobber", "equivalence", "no-warn"])
def test_unbounded_verdict_agrees_with_search_up_to_8(k_below, pid):
    extended = check(deep(k_below), pid, X86)
    bounded = check(deep(k_below), pid, X86, vmas=8, extend=False)
    assert extended.verdict == bounded.verdict
    if extended.verdict == "violated":
        assert len(extended.counterexample.vmas) == len(bounded.counterexample.vmas)
    else:
        assert extended.unbounded


def test_cutoff_counts_lookups_and_witnesses():
    st = SymbolicState(X86, 2)
    k = st.ops
    vma, prev = k.find_vma_prev(st.old_addr)
    hit = st.has_entries(st.old_addr, st.old_addr + 4096)
    c = st.cutoff([z3.And(prev != -1, hit)])
    assert (c.vmas, c.lookups, c.witnesses, c.raw) == (4, 1, 1, [])
    # an entry test that must be false needs no VMA of its own
    c = st.cutoff([z3.And(prev != -1, z3.Not(hit))])
    assert (c.vmas, c.witnesses) == (3, 0)
    # the worst alternative counts
    assert st.cutoff([z3.Not(hit), hit]).vmas == 3


def test_cutoff_refuses_a_formula_that_reads_the_layout_directly():
    st = SymbolicState(X86, 2)
    c = st.cutoff([st.starts[1] > st.old_addr])
    assert c.raw and "reads VMAs other than through lookups" in c.why()


def test_every_builtin_holds_for_any_number_of_vmas(default_matrix):
    # the main job's holds, on its three geometries: each with the cutoff it was searched to
    holds = [r for r in default_matrix if r.verdict == "holds"]
    assert holds and all(r.unbounded for r in holds), [(r.variant, r.property, r.bound()) for r in holds
                                                         if not r.unbounded]
    # v6.15: two find_vma_intersection() calls; one entry test for the properties that have one
    # (return-value has none: its tail is right at every cursor, so only where the decision
    # starts matters)
    assert {r.cutoff.vmas for r in holds if r.variant == "v6.15"} == {4, 5}
    assert {r.cutoff.vmas for r in holds if r.variant == "v6.15" and r.property == "return-value"} == {4}


@pytest.mark.slow
@pytest.mark.parametrize("geometry", ["x86_64-5level", "arm64-4k-39", "arm64-16k-47", "arm64-64k-42",
                                      "i386-2level", "toy-16", "toy-8"])
@pytest.mark.parametrize("level", ["pmd", "pud"])
def test_every_builtin_holds_unbounded_on_every_preset(geometry, level):
    from modelcheck.runs.matrix import run_matrix
    from modelcheck.solver.search import CHECKS
    from modelcheck.model.variants import VARIANTS
    results = run_matrix(list(VARIANTS), CHECKS, [geometry], level, jobs=2)
    assert all(r.unbounded for r in results if r.verdict == "holds")


def test_builtin_variant_lookups():
    # v4 and Linus's check call find_vma_prev() for each side; v6.7 on find_vma_intersection()
    from modelcheck.solver.encoding import decision_of
    for vid, lookups in (("v4", 4), ("v6.15", 2), ("always", 0)):
        st = SymbolicState(X86, 2)
        assert st.cutoff([decision_of(st, get_variant(vid), "pmd").realign]).lookups == lookups, vid


def test_c_equivalence_proofs_cover_any_number_of_vmas():
    # the built-in C files against the built-ins: searched up to the lookups' cutoff
    from modelcheck.front.cfront import builtin_unit, c_variant
    from modelcheck.solver.search import prove_same
    for vid, lookups in (("v4", 4), ("v6.15", 2)):
        cuts: list = []
        v = c_variant(builtin_unit(vid), f"{vid}-c", "", "")
        assert prove_same(v, get_variant(vid), X86, cutoffs=cuts)[0] == "holds"
        (cut, depth), = cuts
        assert not cut.raw and cut.lookups == lookups and cut.vmas <= depth


def test_diff_decide_alike_for_any_number_of_vmas():
    from click.testing import CliRunner
    from modelcheck.cli import cli
    import json
    r = CliRunner().invoke(cli, ["diff", "v6.12", "v6.15", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["vmas_bound"] == "any"
    r = CliRunner().invoke(cli, ["diff", "v6.12", "v6.15", "--vmas", "3"])
    assert r.exit_code == 0 and "with up to 3 VMAs (a violation needs at most" in r.stdout



@pytest.mark.slow
def test_diff_searches_as_deep_as_the_lookups_reach():
    # the deep predicate realigns only with four VMAs below the source: a 4-VMA search finds
    # no difference from 'never', the extended one does (about 35 s)
    from modelcheck.solver.search import diff
    assert diff(deep(4), get_variant("never"), X86, vmas=4, extend=False) == ([], [])
    cases, gave_up = diff(deep(4), get_variant("never"), X86)
    assert not gave_up and cases and all(c.realigns == "deep4" and len(c.scenario.vmas) == 5 for c in cases)


def test_cli_vmas_beyond_the_cutoff_stops_at_it():
    # --vmas 64 claims 64 VMAs; the cutoff (5) covers them, so the search stops there
    from click.testing import CliRunner
    from modelcheck.cli import cli
    import json
    r = CliRunner().invoke(cli, ["check", "--variant", "v6.15", "--property", "no-source-collateral",
                                 "--vmas", "64", "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and out["vmas_bound"] == "any" and out["vmas_searched"] == out["cutoff"]["vmas"] == 5
    # --no-cutoff: the plain bounded search, every number up to N (here past the cutoff)
    r = CliRunner().invoke(cli, ["check", "--variant", "v6.15", "--property", "no-source-collateral",
                                 "--vmas", "6", "--no-cutoff", "--json", "--progress"])
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and out["vmas_searched"] == 6 and out["vmas_bound"] == "any"
    # and it did search 6: no alternative stopped at its own cutoff (5)
    assert "exact: 2 to 6 VMAs in one query" in r.stderr, r.stderr
    r = CliRunner().invoke(cli, ["check", "--variant", "v6.15", "--property", "no-source-collateral",
                                 "--vmas", "3", "--no-cutoff"])
    assert r.exit_code == 0 and "bound: up to 3 VMAs (a violation needs at most 5" in r.stdout


def test_cli_progress_on_stderr():
    from click.testing import CliRunner
    from modelcheck.cli import cli
    args = ["check", "--variant", "v4", "--property", "equivalence"]
    r = CliRunner().invoke(cli, [*args, "--progress"])
    lines = r.stderr.splitlines()
    assert r.exit_code == 0 and lines[0].endswith("cutoff: 7 VMAs; searching 7")
    assert any(x.endswith("exact: 2 to 7 VMAs in one query") for x in lines)
    assert all(x.startswith("modelcheck: [") for x in lines)
    assert "HOLDS" in r.stdout and "modelcheck: [" not in r.stdout
    r = CliRunner().invoke(cli, args)  # not a terminal: quiet unless asked
    assert r.exit_code == 0 and r.stderr == ""
    r = CliRunner().invoke(cli, ["diff", "v6.12", "v6.15", "--progress"])
    # each direction first asks whether one realigns where the other declines at all
    assert r.exit_code == 0 and "v6.12 realigns, v6.15 declines: 1 of 4 VMAs" in r.stderr


# --- the search's two proof steps: each alternative to its own cutoff, and free decisions --------

def _plain(monkeypatch):
    """Search without either step: every alternative to the goal's whole cutoff, no free decisions."""
    from modelcheck.solver import search
    monkeypatch.setattr(search, "_limits", lambda goal, states: [float("inf")] * len(goal(states.get_state(2))[0]))
    monkeypatch.setattr(search, "_refuted_abstractly", lambda *a: False)


def test_each_alternative_is_searched_to_its_own_cutoff():
    # return-value of rfc (a tail wrong below old_addr): every alternative reads the decision (the
    # assumption that its cursors start at or below old_addr), so the call's two VMAs and the four
    # its two find_vma_prev() return; a break, at the first cursor or a later one, tests one
    # PUD slot's entries more; the over-approximate part two (the slot, and the destination of
    # a PUD move that may have jumped it)
    from modelcheck.solver import search
    goals = search._goals(get_variant("rfc"), "return-value", "pmd")
    # (the last: a return before the loop, rfc's head "if (!len) return 0;", with the decision's)
    assert search._limits(goals["exact"], search._States(X86)) == [6, 7, 7, 6]
    assert search._limits(goals["over"], search._States(X86)) == [8]
    # v6.15's tail is right at every cursor: only a decision above old_addr could make it wrong
    goals = search._goals(get_variant("v6.15"), "return-value", "pmd")
    assert search._limits(goals["exact"], search._States(X86)) == [4, 4, 2]  # and the head's return: the call's two
    assert search._limits(goals["over"], search._States(X86)) == []


def test_a_free_decision_refutes_only_what_holds_for_every_decision():
    from modelcheck.solver import search
    states = search._States(X86)
    rlimit = search.DEFAULT_RLIMIT
    # v6.6's unguarded tail (the 'never' baseline keeps it) is right at old_end: the loop's success
    # is refuted whatever the predicate does
    success, first = 0, 1  # search._goals' return-value cases are [success, first, later breaks]
    assert search._refuted_abstractly(search._goals(get_variant("never"), "return-value", "pmd")["exact"],
                                      success, states, rlimit)
    # v6.6's unguarded tail (the 'never' baseline keeps it) would be wrong from a cursor below
    # old_addr, which a free decision may start at: not refuted, though never itself holds
    assert not search._refuted_abstractly(search._goals(get_variant("never"), "return-value", "pmd")["exact"],
                                          first, states, rlimit)
    # no-source-collateral hinges on where the decision starts: a free one sweeps anything
    assert not search._refuted_abstractly(search._goals(get_variant("v6.15"), "no-source-collateral", "pmd")["exact"],
                                          0, states, rlimit)


@pytest.mark.parametrize("vid,pid,geometry", [
    ("v6.15", "return-value", "x86_64-4level"), ("v4", "return-value", "x86_64-4level"),
    ("v2", "return-value", "i386-pae"), ("v6.7", "return-value", "i386-pae"),
    ("v6.12", "equivalence", "x86_64-4level"), ("deep-last2", "no-source-collateral", "x86_64-4level"),
    ("v6.7", "no-warn", "x86_64-4level"), ("linus", "missed-optimization", "x86_64-4level")])
def test_the_steps_change_no_answer(monkeypatch, vid, pid, geometry):
    # the same verdict, bound and least counterexample as the search without them
    g = get_geometry(geometry)
    variant = deep_last(2) if vid == "deep-last2" else get_variant(vid)
    fast = check(variant, pid, g)
    _plain(monkeypatch)
    plain = check(variant, pid, g)
    assert (fast.verdict, fast.unbounded, fast.vmas_bound) == (plain.verdict, plain.unbounded, plain.vmas_bound)
    assert fast.counterexample == plain.counterexample, (fast.counterexample, plain.counterexample)
