"""Property verdicts of the reference semantics on hand-built scenarios, each explained."""

import json

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.model.geometry import PRESETS
from modelcheck.model.semantics import evaluate
from modelcheck.checks import PROPERTIES
from modelcheck.model.variants import VARIANTS, get_variant

from conftest import SCENARIOS, build, scenario_file


def violated(name_or_scenario, vid, level="pmd"):
    s = scenario_file(name_or_scenario) if isinstance(name_or_scenario, str) else name_or_scenario
    return set(evaluate(s, get_variant(vid), level).violated())


def test_issue_example_always_sweeps_the_guard():
    # S = [0x2800000, 0x2900000) holds the guard page's entry; after the PMD move that entry sits
    # at 0x2e00000 instead of staying at 0x2800000.
    assert violated("issue-example", "always") == {"no-source-collateral", "equivalence"}
    assert all(not violated("issue-example", v) for v in VARIANTS if v != "always")


def test_move_1mb_from_start():
    # v2/linus/v3 sweep [0x2e40000, 0x2f40000) of the source VMA itself: the selftest's "Data at
    # src ... got corrupted". The PMD move to the empty 0x3800000 is not refused, so no WARN.
    for vid in ("v2", "linus", "v3", "always"):
        assert violated("selftest-move-1mb-from-start", vid) == {"no-source-collateral", "equivalence"}
    for vid in ("rfc", "v4", "v5", "v6.7", "v6.12", "v6.15", "never"):
        assert not violated("selftest-move-1mb-from-start", vid)


def test_within_range_always():
    # |DDDDddddSSSSssss|: realigning moves SSSS (in S) and lands on dddd's PMD, which holds D's
    # entries [0x40400000, 0x40500000): move_normal_pmd() WARNs and move_ptes() overwrites them.
    assert violated("selftest-move-within-range", "always") == {
        "no-source-collateral", "no-dest-clobber", "equivalence", "no-warn"}


def test_self_merge_v2():
    # vma == new_vma spanning both ranges: S is the VMA's own [0x7f1f98600000, 0x7f1f987f7000),
    # D its own [0x7f1f98a00000, 0x7f1f98bf7000); the PMD at 0x7f1f98a00000 is populated.
    assert violated("self-merge", "v2") == {"no-source-collateral", "no-dest-clobber", "equivalence", "no-warn"}
    assert not violated("self-merge", "v6.7")


def test_stack_overlap_warns_unless_realigned():
    # Linus's example: without realignment the single page moved first leaves its PTE table at
    # 0x1e00000, and the PMD move onto it WARNs. v5's find_vma_intersection() finds the stack VMA
    # itself, so it does not realign: the WARN is back.
    for vid in ("never", "rfc", "v2", "v3", "v5"):
        assert violated("linus-stack-overlap", vid) == {"no-warn"}
    for vid in ("linus", "v4", "v6.7", "v6.12", "v6.15", "always"):
        assert not violated("linus-stack-overlap", vid)


def test_32bit_return_value_wrap():
    # i386: after success the cursor is 0xc0000000 and len + old_addr = 0x100000000 wraps to 0,
    # which is < old_end, so v2 .. v6.7 return 0 for a fully moved 1 GiB. a4a282daf1a1 fixed it.
    for vid in ("v2", "linus", "v3", "v4", "v5", "v6.7"):
        assert violated("i386-return-wrap", vid) == {"return-value"}
    for vid in ("rfc", "v6.12", "v6.15", "never", "always"):
        assert not violated("i386-return-wrap", vid)


def test_rfc_return_value_after_first_pmd_break():
    # Linus on the RFC: realigned to 0x2800000, a break on the first PMD returns
    # len + 0x2800000 - old_end = -0x100000, i.e. 0xfffffffffff00000 > len.
    s = scenario_file("selftest-13-5mb-1mb-aligned").with_move(stop_at=0x2800000)
    ev = evaluate(s, get_variant("rfc"))
    assert ev.broke and ev.returned == 0xFFFFFFFFFFF00000
    assert "return-value" in ev.violated()
    # v2's guard returns 0 for the same break
    ev2 = evaluate(s, get_variant("v2"))
    assert ev2.returned == 0 and not ev2.violated()


def test_return_value_counts_only_the_users_range():
    # A break one PMD after the realigned start: [0x2800000, 0x2a00000) was moved, of which the
    # user's range holds [0x2900000, 0x2a00000): 0x100000 bytes.
    s = scenario_file("selftest-13-5mb-1mb-aligned").with_move(stop_at=0x2A00000)
    for vid in ("v2", "v6.7", "v6.12", "v6.15"):
        ev = evaluate(s, get_variant(vid))
        assert (ev.broke, ev.returned) == (True, 0x100000)


def test_pud_level_realignment():
    # Realigning to the PUD boundary: 1 GiB-aligned layout, source half a GiB into its PUD; the
    # merged predicate checks [old & PUD_MASK, vm_start) as it would for a PMD.
    s = build("x86_64-4level", [(0x400000, 0x401000), (0x60000000, 0xC0000000), (0x120000000, 0x180000000, False)],
              1, 2, 0x60000000, 0x120000000, 0x60000000)
    ev = evaluate(s, get_variant("v6.7"), level="pud")
    assert ev.realigned and (ev.old_addr, ev.new_addr) == (0x40000000, 0x100000000)
    assert [m.level for m in ev.moves] == ["pud", "pud"] and not ev.violated()
    assert not evaluate(s, get_variant("v6.7"), level="pmd").realigned  # already PMD aligned


def test_every_property_is_judged():
    ev = evaluate(scenario_file("issue-example"), get_variant("v6.15"))
    assert list(ev.properties) == list(PROPERTIES)


@pytest.mark.parametrize("geometry", list(PRESETS))
def test_cli_eval_json_on_every_geometry(geometry, tmp_path):
    g = PRESETS[geometry]
    pmd, page = g.pmd_size, g.page_size
    low = -(-g.mmap_min_addr // page) * page
    src = -(-(low + page) // pmd) * pmd + pmd + pmd // 2
    dst = src + 4 * pmd
    if dst + 2 * pmd > g.task_size:
        pytest.skip("geometry too small")
    data = {"schema": 1, "geometry": geometry,
            "vmas": [{"start": hex(low), "end": hex(low + page)},
                     {"start": hex(src), "end": hex(src + 2 * pmd)},
                     {"start": hex(dst), "end": hex(dst + 2 * pmd), "populated": False}],
            "move": {"old_vma": 1, "new_vma": 2, "old_addr": hex(src), "new_addr": hex(dst), "len": hex(2 * pmd)}}
    f = tmp_path / "s.json"
    f.write_text(json.dumps(data))
    r = CliRunner().invoke(cli, ["eval", str(f), "--json"])
    assert r.exit_code in (0, 1), r.output
    out = json.loads(r.output)
    assert out["scenario"]["move"]["len"] == hex(2 * pmd)
    assert [x["variant"] for x in out["results"]] == list(VARIANTS)
    for x in out["results"]:
        assert set(x["properties"]) == set(PROPERTIES)
        assert set(x["properties"].values()) <= {"holds", "violated"}
        assert all(set(m) == {"level", "old", "new", "size"} for m in x["moves"])
        assert x["returned"] == hex(2 * pmd)  # every variant moves the whole range
    v67 = next(x for x in out["results"] if x["variant"] == "v6.7")
    assert v67["realigned"] and v67["old_addr"] == hex(src - pmd // 2)
    assert all(v == "holds" for v in v67["properties"].values())


def test_cli_text_report():
    r = CliRunner().invoke(cli, ["eval", str(SCENARIOS / "issue-example.json"), "--variant", "always",
                                 "--variant", "v6.7"])
    assert r.exit_code == 1  # "always" violates
    assert "000002800000-000002801000 populated" in r.output
    assert "move_page_tables(old_addr=0x2900000, new_addr=0x2f00000, len=0x500000, for_stack=false)" in r.output
    assert "sweeps entries of vmas[0] guard [0x2800000, 0x2801000)" in r.output
    r = CliRunner().invoke(cli, ["eval", str(SCENARIOS / "issue-example.json"), "--variant", "v6.7"])
    assert r.exit_code == 0


def _whole(s, variant, level):
    """evaluate() with the page tables of the whole address space (no move window)."""
    import modelcheck.model.semantics as semantics
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(semantics, "move_window", lambda s, starts: None)
        return semantics.evaluate(s, variant, level)


def _same(a, b) -> bool:
    return (a.to_json(), a.differences, a.refused, a.source_hits, a.dest_hits) == \
        (b.to_json(), b.differences, b.refused, b.source_hits, b.dest_hits)


@pytest.mark.parametrize("geometry", ["toy-16", "toy-16-2level", "toy-8"])
def test_move_window_changes_nothing(geometry):
    # the simulator keeps only the entries a move can see; on random states of the toy
    # geometries (where VMAs in the same PMD and PUD slots are the rule) every verdict, hit,
    # difference and refused move is the one the whole address space gives
    from hypothesis import given, settings, strategies as st
    from common.strategies import scenarios

    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(scenarios(geometry), st.sampled_from(list(VARIANTS)), st.sampled_from(["pmd", "pud"]))
    def prop(s, vid, level):
        v = get_variant(vid)
        assert _same(evaluate(s, v, level), _whole(s, v, level)), s.dumps()
    prop()


def test_move_window_on_many_vmas():
    # 3000 one-page VMAs around a realigned move, many in the move's PMD and PUD slots: the
    # windowed evaluation is the whole one
    vmas = [(0x40000000 + i * 0x2000, 0x40000000 + i * 0x2000 + 0x1000) for i in range(1500)]
    vmas += [(0x7f0000201000, 0x7f0000400000), (0x7f0000401000, 0x7f0000600000, False)]
    vmas += [(0x7f0000600000 + i * 0x2000, 0x7f0000601000 + i * 0x2000) for i in range(1500)]
    s = build("x86_64-4level", vmas, 1500, 1501, 0x7f0000201000, 0x7f0000401000, 0x1ff000)
    for vid in VARIANTS:
        ev = evaluate(s, get_variant(vid))
        assert _same(ev, _whole(s, get_variant(vid), "pmd")), vid
