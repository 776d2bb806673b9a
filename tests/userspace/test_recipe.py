"""Recipes: system calls that bring the kernel to a scenario, confirmed by the system-call
simulator, and the --reachable restriction of the checker."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.model.geometry import get_geometry
from modelcheck.userspace.recipe import find_recipe, replay_steps
from modelcheck.model.scenario import load_scenario
from modelcheck.solver.search import check
from modelcheck.model.variants import get_variant

from conftest import build

GALLERY = Path(__file__).resolve().parents[2] / "counterexamples"


def _gallery():
    return [f for f in sorted(GALLERY.glob("*/*/*.json")) if not f.name.endswith(".graph.json")]


def test_every_gallery_counterexample_is_labelled():
    # every mremap counterexample has a recipe the simulator replays into exactly that state; every
    # stack one is a move exec cannot make (the minimal ones are huge stacks or shifts)
    for f in _gallery():
        s = load_scenario(str(f))
        r = find_recipe(s)
        if s.move.for_stack:
            assert not r.reachable and ("STACK_TOP_MAX" in r.reason or "at most" in r.reason), f
        else:
            assert r.reachable, f"{f}: {r.reason}"
            got = replay_steps(s, r.steps)
            assert [(v.start, v.end, v.populated) for v in got.vmas] == [(v.start, v.end, v.populated)
                                                                         for v in s.vmas], f
            assert (s.move.stop_at is not None) == ("allocation failure" in r.needs)


def test_self_merge_recipe_never_writes_the_source():
    # Joel's vma == new_vma needs an anonymous VMA without anon_vma: mapped private, only read
    s = build("x86_64-4level", [(0x10000, 0x400000)], 0, 0, 0x1FF000, 0x3FF000, 0x1000)
    r = find_recipe(s)
    assert [st.op for st in r.steps] == ["mmap", "touch", "mremap"]
    assert r.steps[1].args[2] is False and "MAP_PRIVATE" in r.steps[0].c()


def test_a_fresh_destination_uses_shared_memory():
    s = build("x86_64-4level", [(0x10000, 0x200000), (0x400000, 0x401000, False)], 0, 1, 0x100000, 0x400000, 0x1000)
    r = find_recipe(s)
    assert r.reachable and [st.op for st in r.steps] == ["mmap", "touch", "mremap"]
    assert "MAP_SHARED" in r.steps[0].c()


def test_stack_conditions():
    i386 = get_geometry("i386-pae")
    ok = build("i386-pae", [(0xBFBFF000, 0xC0000000)], 0, 0, 0xBFDFF000, 0xBFBFF000, 0x201000, for_stack=True)
    r = find_recipe(ok)
    assert r.reachable and r.steps[0].op == "exec" and "ulimit -s" in r.needs  # > 2 MiB of arguments
    two = build("i386-pae", [(0x10000, 0x11000), (0xBFBFF000, 0xC0000000)], 1, 1, 0xBFDFF000, 0xBFBFF000,
                0x201000, for_stack=True)
    assert "only the stack" in find_recipe(two).reason
    low = build("i386-pae", [(0x7FBFF000, 0x80000000)], 0, 0, 0x7FDFF000, 0x7FBFF000, 0x201000, for_stack=True)
    assert "STACK_TOP_MAX" in find_recipe(low).reason
    assert i386.task_size == 0xC0000000


@pytest.mark.parametrize("geometry", ["x86_64-4level", "i386-pae"])
def test_merged_code_warns_only_in_states_exec_cannot_make(geometry):
    # unrestricted, v6.15's no-warn counterexample is a gigabyte stack shifted by a gigabyte; among
    # reachable states there is none (up to 4 VMAs) -- while the pre-optimization kernel ('never')
    # WARNs on an overlapping stack move exec can make on i386 (Linus's case)
    g = get_geometry(geometry)
    free = check(get_variant("v6.15"), "no-warn", g)
    assert free.verdict == "violated" and not free.reachability.reachable
    assert check(get_variant("v6.15"), "no-warn", g, reachable=True).verdict == "holds"
    if geometry == "i386-pae":
        r = check(get_variant("never"), "no-warn", g, reachable=True)
        assert r.verdict == "violated" and r.reachability.reachable and r.reachability.steps[0].op == "exec"


def test_recipe_cli(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["recipe", str(GALLERY / "x86_64-4level" / "v3" / "no-source-collateral.json")])
    assert r.exit_code == 0 and "mremap(" in r.output
    r = runner.invoke(cli, ["recipe", str(GALLERY / "x86_64-4level" / "v6.15" / "no-warn.graphml"), "--json"])
    assert r.exit_code == 1 and json.loads(r.output)["reachable"] is False
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert runner.invoke(cli, ["recipe", str(bad)]).exit_code == 2


def test_the_search_finds_a_shorter_recipe_than_the_construction():
    # linus missed-optimization (x86-64): the construction maps the destination's two neighbours
    # apart (4 calls before the mremap); the search maps one VMA over the destination range,
    # which mremap's do_munmap() splits and copy_vma() merges back: 3 calls
    from modelcheck.userspace.recipe import shortest_recipe
    s = load_scenario(str(GALLERY / "x86_64-4level" / "linus" / "missed-optimization.json"))
    built = find_recipe(s)
    found, _ = shortest_recipe(s, len(built.steps) - 1)
    assert found.reachable and len(found.steps) == len(built.steps) - 1
    got = replay_steps(s, found.steps)
    assert [(v.start, v.end, v.populated) for v in got.vmas] == [(v.start, v.end, v.populated) for v in s.vmas]
    # and where the construction is already shortest, the search says so: nothing in fewer calls
    s = load_scenario(str(GALLERY / "x86_64-4level" / "v2" / "equivalence.json"))
    built = find_recipe(s)
    assert not shortest_recipe(s, len(built.steps) - 2)[0].reachable
    assert len(shortest_recipe(s, len(built.steps) - 1)[0].steps) == len(built.steps)
