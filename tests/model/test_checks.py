"""The property registry (modelcheck/checks/): one object per property, kept in step with
properties/properties.toml, and the worked example of README "Your own property"."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck import checks
from modelcheck.checks import CHECKS, MISSED, PROPERTIES, REGISTRY
from modelcheck.cli import cli
from modelcheck.errors import InternalError
from modelcheck.model.geometry import get_geometry
from modelcheck.model.scenario import Move, Scenario, Vma
from modelcheck.model.semantics import evaluate
from modelcheck.model.variants import get_variant

ROOT = Path(__file__).resolve().parents[2]


def test_registry_order_and_kinds():
    toml = re.findall(r'^id = "([^"]+)"', (ROOT / "properties" / "properties.toml").read_text(), re.M)
    assert CHECKS == toml  # the matrix's columns in the TOML's order
    assert MISSED == "missed-optimization" and list(PROPERTIES) == toml[:-1]
    assert all(p.statement and p.reference for p in REGISTRY.values())
    assert [p for p in PROPERTIES.values() if p.memory] == [REGISTRY["equivalence"]]


@pytest.mark.parametrize("drop", ["aligned-down", "missed-optimization"])
def test_a_toml_entry_without_its_module_or_a_module_without_its_entry(monkeypatch, drop):
    text = (ROOT / "properties" / "properties.toml").read_text()
    entry = re.search(rf'\n\[\[property\]\]\nid = "{drop}"\n.*?(?=\n\[\[|\Z)', text, re.S).group(0)
    monkeypatch.setattr(checks, "read_spec", lambda name: text.replace(entry, ""))
    with pytest.raises(InternalError, match=f"property '{drop}'.*no entry in properties.toml"):
        checks._load()
    monkeypatch.setattr(checks, "MODULES", tuple(m for m in checks.MODULES if m != drop.replace("-", "_")))
    monkeypatch.setattr(checks, "read_spec", lambda name: text)
    with pytest.raises(InternalError, match=f"properties.toml names \\['{drop}'\\], which no module"):
        checks._load()


def test_aligned_down_judged_on_cursors():
    g = get_geometry("x86_64-4level")
    # v6.15 realigns a mutually aligned move to both PMD boundaries: allowed
    s = Scenario(g, (Vma(0x2900000, 0x2e00000), Vma(0x3100000, 0x3600000, False)),
                 Move(0, 1, 0x2900000, 0x3100000, 0x500000))
    ev = evaluate(s, get_variant("v6.15"))
    assert ev.realigned and (ev.old_addr, ev.new_addr) == (0x2800000, 0x3000000)
    assert ev.properties["aligned-down"] == "holds"
    from modelcheck.checks.aligned_down import allowed
    assert allowed(0x2900000, 0x3100000, 0x200000) == [(0x2900000, 0x3100000), (0x2800000, 0x3000000)]
    assert allowed(0x2900000, 0x3180000, 0x200000) == [(0x2900000, 0x3180000)]


def test_worked_example_violated_from_the_shell_and_json():
    r = CliRunner().invoke(cli, ["check", "--c-file", str(ROOT / "tests" / "c" / "forgets-mutual-alignment.c"),
                                 "--base", "v6.15", "--property", "aligned-down", "--json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["verdict"] == "violated"
    # (check confirms every counterexample by replaying it, or exits 3): the least one has
    # old_addr and new_addr that are not mutually aligned
    mv = out["counterexample"]["move"]
    assert int(mv["old_addr"], 16) % 0x200000 != int(mv["new_addr"], 16) % 0x200000


def test_readme_shows_the_module():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Your own property"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert code in (ROOT / "modelcheck" / "checks" / "aligned_down.py").read_text()


def test_properties_command_lists_the_registry():
    r = CliRunner().invoke(cli, ["properties", "--json"])
    assert r.exit_code == 0
    assert [p["id"] for p in json.loads(r.stdout)] == CHECKS
    assert json.loads(r.stdout)[-1]["kind"] == "precision"
