"""The committed gallery (counterexamples/) against what the checker produces now, the graph files'
round trip through networkx, replay of every entry, and the replay/show commands."""

import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.runs.gallery import ENTRY_SUFFIXES, entry_graph, entry_stem, gallery_readme, with_claim
from modelcheck.output.graph import read_graph_scenario
from modelcheck.runs.matrix import DEFAULT_GEOMETRIES
from modelcheck.model.scenario import load_scenario
from modelcheck.model.semantics import judge
from modelcheck.model.variants import get_variant

GALLERY = Path(__file__).resolve().parents[2] / "counterexamples"
ENTRIES = sorted(p.with_suffix("") for p in GALLERY.glob("*/*/*.json") if not p.name.endswith(".graph.json"))
KINDS = {"vma", "requested", "swept", "boundary", "refused-move", "return", "difference", "missed"}
REGENERATE = "out of date: run `modelcheck gallery` and commit counterexamples/"


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_gallery_matches_the_checker(default_matrix):
    violated = [r for r in default_matrix if r.counterexample is not None]
    assert {entry_stem(GALLERY, r) for r in violated} == set(ENTRIES), REGENERATE
    for r in violated:
        stem = entry_stem(GALLERY, r)
        for suffix in ENTRY_SUFFIXES:
            assert stem.with_name(stem.name + suffix).exists(), f"{stem}{suffix} missing: {REGENERATE}"
        s = with_claim(r)
        assert json.loads(stem.with_suffix(".json").read_text()) == s.to_json(), f"{stem}.json {REGENERATE}"
        graph = nx.node_link_data(entry_graph(r), edges="edges")
        committed = json.loads(stem.with_name(stem.name + ".graph.json").read_text())
        assert committed == json.loads(json.dumps(graph)), f"{stem}.graph.json {REGENERATE}"
    assert (GALLERY / "README.md").read_text() == gallery_readme(default_matrix, DEFAULT_GEOMETRIES), REGENERATE


@pytest.mark.parametrize("stem", ENTRIES, ids=lambda p: str(p.relative_to(GALLERY)))
def test_entry(stem):
    s = load_scenario(str(stem.with_suffix(".json")))
    assert s.claim is not None and s.claim.property == stem.name.split(".")[0]
    # replay: the current simulator and variant still violate the claimed property
    violated, ev, _ = judge(s, get_variant(s.claim.variant), s.claim.property, s.claim.level)
    assert violated, f"{stem}: {s.claim} no longer violated"

    # GraphML round trip: the attributes the graph promises, and the exact scenario back
    G = nx.read_graphml(stem.with_name(stem.name + ".graphml"))
    assert G.graph["variant"] == s.claim.variant and G.graph["property"] == s.claim.property
    assert G.graph["verdict"] == "violated"
    for n, d in G.nodes(data=True):
        assert d["kind"] in KINDS, n
        if d["kind"] == "vma":
            assert {"start", "end", "populated", "role"} <= set(d) and isinstance(d["populated"], bool)
            assert d["role"] in ("source", "destination", "source+destination", "stack", "other")
    hits = [e for _, _, e in G.edges(data=True) if e.get("violation")]
    assert any(e["property"] == s.claim.property for e in hits)
    for e in hits:
        assert e["violation"] is True and int(e["start"], 16) < int(e["end"], 16)
    back, _ = read_graph_scenario(str(stem.with_name(stem.name + ".graphml")))
    assert back == s and back.move == s.move
    assert set(G.nodes) == {n["id"] for n in json.loads(stem.with_name(stem.name + ".graph.json").read_text())["nodes"]}
    assert "digraph" in stem.with_name(stem.name + ".dot").read_text()

    # the picture names the bug and the call
    svg = stem.with_name(stem.name + ".svg").read_text()
    assert f"{s.claim.variant} violates {s.claim.property}" in svg
    assert hex(s.move.old_addr) in svg
    assert stem.with_name(stem.name + ".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # reachability: a recipe and a reproducer, or the reason there is none
    recipe = stem.with_name(stem.name + ".recipe.txt").read_text()
    repro = stem.with_name(stem.name + ".repro.c")
    assert G.graph["reachable"] == (not recipe.startswith("no recipe:"))
    assert repro.exists() == (G.graph["reachable"] and not s.move.for_stack)
    if repro.exists():
        assert "mremap(" in recipe and "int main(void)" in repro.read_text()


def test_replay_and_show_commands(tmp_path):
    stem = GALLERY / "x86_64-4level" / "v3" / "no-source-collateral"
    r = run("replay", str(stem) + ".json")
    assert r.exit_code == 1 and r.output.startswith("v3 still violates no-source-collateral"), r.output
    r = run("replay", str(stem) + ".graphml", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["violated"] is True
    r = run("replay", str(stem) + ".json", "--variant", "v6.7")  # the merged code on v3's counterexample
    assert r.exit_code == 0 and r.output.startswith("v6.7 does not violate"), r.output
    r = run("show", str(stem) + ".json", "--out", str(tmp_path / "pic"))
    assert r.exit_code == 0, r.output
    assert "move_page_tables(" in r.output and (tmp_path / "pic.svg").exists() and (tmp_path / "pic.png").exists()


def test_replay_bad_input(tmp_path):
    plain = tmp_path / "plain.json"
    data = json.loads((GALLERY / "x86_64-4level" / "v3" / "no-source-collateral.json").read_text())
    del data["claim"]
    plain.write_text(json.dumps(data))
    r = run("replay", str(plain))
    assert r.exit_code == 2 and "claim" in r.output and len(r.output.strip().splitlines()) == 1
    assert run("replay", str(plain), "--variant", "v3", "--property", "no-source-collateral").exit_code == 1
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><oops")
    r = run("replay", str(bad))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    data["claim"] = {"variant": "v3", "property": "no-such"}
    plain.write_text(json.dumps(data))
    r = run("replay", str(plain))
    assert r.exit_code == 2 and "claim.property" in r.output


def test_gallery_replaces_only_a_gallery(tmp_path):
    # it replaces its directory as a whole: a directory holding anything else is refused, untouched
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    from click.testing import CliRunner as Runner
    from modelcheck.cli import cli as main
    r = Runner().invoke(main, ["gallery", "--out", str(tmp_path / "mine")])
    assert r.exit_code == 2 and "not a gallery" in r.output and r.output.count("\n") == 1, r.output
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    from modelcheck.cli import _owned_gallery
    assert _owned_gallery(Path(__file__).resolve().parents[2] / "counterexamples")  # the committed one
    assert _owned_gallery(tmp_path / "new") and not _owned_gallery(tmp_path / "mine")
