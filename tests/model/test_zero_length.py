"""Zero-length moves and early returns as states like any other.

mremap(addr, 0, new_len, MREMAP_MAYMOVE|MREMAP_FIXED, new) of a shared mapping duplicates it:
move_vma() calls move_page_tables() with len 0 (seen on Debian's 7.3.4: docs/kernels.md), which
every built-in's head ``if (!len) return 0;`` returns from at once.  A C head's returns before
the loop are exits the model runs (Decision.early): nothing moves and the value is returned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.errors import InputError
from modelcheck.model.geometry import get_geometry
from modelcheck.model.scenario import scenario_from_json
from modelcheck.model.semantics import evaluate
from modelcheck.model.variants import VARIANTS
from modelcheck.userspace.recipe import find_recipe
from modelcheck.userspace.syscalls import (MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, MREMAP_FIXED,
                                           MREMAP_MAYMOVE, AddressSpace, SyscallError)
from common.crossval import symbolic_verdicts

K = Path(__file__).resolve().parents[1] / "c" / "kernel"
X86 = get_geometry("x86_64-4level")

ZERO = {"schema": 1, "geometry": "x86_64-4level",
        "vmas": [{"start": "0x1ff000", "end": "0x400000"},
                 {"start": "0x5ff000", "end": "0x800000", "populated": False}],
        "move": {"old_vma": 0, "new_vma": 1, "old_addr": "0x1ff000", "new_addr": "0x5ff000", "len": "0x0"}}


def test_a_zero_length_move_is_a_scenario():
    s = scenario_from_json(ZERO)
    assert s.move.len == 0 and s.move.old_end == s.move.old_addr
    outside = json.loads(json.dumps(ZERO))
    outside["move"]["old_addr"] = "0x400000"  # the end of its VMA: no VMA holds the address
    with pytest.raises(InputError, match="inside their VMAs"):
        scenario_from_json(outside)
    same = json.loads(json.dumps(ZERO))
    same["move"].update(new_vma=0, new_addr="0x300000")  # the duplicate is a VMA of its own
    with pytest.raises(InputError, match="new VMA of its own"):
        scenario_from_json(same)


@pytest.mark.parametrize("vid", list(VARIANTS))
def test_every_built_in_returns_at_once(vid):
    # concretely: no move, returns 0, every property holds; the encoding, pinned to the state, agrees
    s = scenario_from_json(ZERO)
    ev = evaluate(s, VARIANTS[vid])
    assert ev.returned_early and not ev.moves and ev.returned == 0 and not ev.realigned and not ev.violated()
    verdicts = symbolic_verdicts(s, VARIANTS[vid], ["no-source-collateral", "no-dest-clobber", "return-value",
                                                    "no-warn", "no-predicate-warn", "equivalence"])
    assert all(inside and not exact and not over for inside, exact, over in verdicts.values()), verdicts


def test_the_zero_length_mremap_in_the_simulator_and_its_recipe():
    mm = AddressSpace(X86)
    shared = mm.mmap(0x200000, 0x200000, "rw", MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
    mm.touch(shared, 0x200000)
    s = mm.mremap(shared + 0x1000, 0, 0x3000, MREMAP_MAYMOVE | MREMAP_FIXED, 0x800000)
    assert s.move.len == 0 and (s.new_vma.start, s.new_vma.end) == (0x800000, 0x803000) and not s.new_vma.populated
    assert [(a.start, a.end) for a in mm.areas] == [(0x200000, 0x400000), (0x800000, 0x803000)]  # the source stays
    private = mm.mmap(0x1000000, 0x1000, "rw", MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
    with pytest.raises(SyscallError, match="EINVAL"):  # vma_to_resize()/check_prep_vma(): shared only
        mm.mremap(private, 0, 0x1000, MREMAP_MAYMOVE | MREMAP_FIXED, 0x2000000)
    r = find_recipe(scenario_from_json(ZERO))
    assert r.reachable and r.steps[-1].c() == "mremap(0x1ff000, 0x0, 0x201000, MREMAP_MAYMOVE|MREMAP_FIXED, 0x5ff000)"


def _tree(tmp_path: Path, edit) -> Path:
    root = tmp_path / "linux"
    (root / "mm").mkdir(parents=True)
    text = (K / "mremap-v6.7.c").read_text()
    new = edit(text)
    assert new != text
    (root / "mm" / "mremap.c").write_text(new)
    shutil.copyfile(K / "mremap-v6.7.c", tmp_path / "orig.c")
    (root / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 7\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = Fixture\n")
    return root


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_an_early_return_of_the_wrong_value_is_found_at_len_0(tmp_path):
    # a head that claims a page moved where nothing did: return-value, with a zero-length mremap
    root = _tree(tmp_path, lambda t: t.replace("\tif (!len)\n\t\treturn 0;\n", "\tif (!len)\n\t\treturn 4096;\n"))
    r = run("check", "--tree", root, "--property", "return-value", "--reachable", "--json")
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["verdict"] == "violated" and out["counterexample"]["move"]["len"] == "0x0"
    assert out["reachability"]["steps"][-1]["c"].startswith("mremap(") and ", 0x0, " in out["reachability"]["steps"][-1]["c"]
    r = run("check", "--tree", root, "--property", "no-source-collateral")  # nothing moves there: the rest holds
    assert r.exit_code == 0 and "HOLDS" in r.output, r.output


def test_the_len_guard_changes_nothing_the_model_has(tmp_path):
    # v6.7's realignment needs len >= PMD - offset, so without "if (!len) return 0;" a zero-length
    # call realigns nothing and moves nothing: the same, any number of VMAs; review says what is
    # left (the cache flush, the MMU notifier) and gives no verdict
    root = _tree(tmp_path, lambda t: t.replace("\tif (!len)\n\t\treturn 0;\n", ""))
    r = run("check", "--tree", root, "--property", "return-value")
    assert r.exit_code == 0 and "HOLDS" in r.output, r.output
    with_guard = tmp_path / "with"
    (with_guard / "mm").mkdir(parents=True)
    shutil.copyfile(K / "mremap-v6.7.c", with_guard / "mm" / "mremap.c")
    shutil.copyfile(root / "Makefile", with_guard / "Makefile")
    r = run("review", "--tree", with_guard, "--json", "--no-fixes")
    conds = {c["text"]: c for c in json.loads(r.stdout)["conditions"]}
    assert conds["!len"]["verdict"] == [] and "MMU-notifier" in conds["!len"]["outside"], conds["!len"]
