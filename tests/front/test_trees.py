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


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("version", SHIPS)
def test_a_debian_tree_is_the_builtin_it_ships(version):
    v, linkage = load_tree(str(tree(version)))
    assert v.id.startswith(f"linux-{version}.") and linkage.base == SHIPS[version]
    assert not linkage.from_base  # the whole realignment comes from the file
    for g in ("x86_64-4level", "i386-pae", "arm64-64k-48"):
        assert prove_same(v, get_variant(SHIPS[version]), get_geometry(g))[0] == "holds", g


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
