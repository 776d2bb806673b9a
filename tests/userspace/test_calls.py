"""`modelcheck calls`: a program of system calls through the simulator, every move_page_tables()
call of its mremaps judged on the layout the calls before it left (6.17's remap_move() by
default, one VMA per mremap with --one-vma)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from modelcheck.cli import cli

PROGRAMS = Path(__file__).resolve().parents[1] / "programs"


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_two_vmas_are_two_moves_on_6_17_and_efault_before():
    r = run("calls", PROGRAMS / "two-vmas-one-mremap.json", "--json")
    assert r.exit_code == 0, r.output
    move = json.loads(r.stdout)["calls"][-1]
    assert move["error"] is None
    assert [(p["scenario"]["move"]["old_addr"], p["scenario"]["move"]["new_addr"]) for p in move["pieces"]] == \
        [("0x40000000", "0x80000000"), ("0x40300000", "0x80300000")]  # the 1 MiB gap kept
    # the second piece sees the first one moved: the 6.17 decision realigns it to the PMD below
    assert move["pieces"][1]["results"][0]["realigned"] is True
    r = run("calls", PROGRAMS / "two-vmas-one-mremap.json", "--one-vma", "--json")
    move = json.loads(r.stdout)["calls"][-1]
    assert move["pieces"] == [] and move["error"].startswith("EFAULT")


def test_a_uffd_armed_vma_moves_alone_and_bad_programs_are_refused(tmp_path):
    prog = json.loads((PROGRAMS / "two-vmas-one-mremap.json").read_text())
    prog["calls"].insert(4, {"op": "uffd_wp", "addr": "0x40300000", "len": "0x100000"})
    p = tmp_path / "p.json"
    p.write_text(json.dumps(prog))
    r = run("calls", p)
    assert r.exit_code == 0 and "1 move_page_tables() call; fails: EFAULT: a VMA armed with userfaultfd" in r.output
    prog["calls"][-1]["len"] = "0x200000"  # A alone: armed or not, it moves
    p.write_text(json.dumps(prog))
    assert "1 move_page_tables() call\n" in run("calls", p).output
    prog["calls"][-1] = {"op": "mremap", "old": "0x40000000", "len": "0x1000"}
    p.write_text(json.dumps(prog))
    r = run("calls", p)
    assert r.exit_code == 2 and r.output.strip().endswith("calls[5].new: missing") and r.output.count("\n") == 1
