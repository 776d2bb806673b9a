import json

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.errors import InputError
from modelcheck.model.scenario import scenario_from_json

from conftest import SCENARIOS


def base() -> dict:
    return json.loads((SCENARIOS / "issue-example.json").read_text())


def test_round_trip():
    data = base()
    s = scenario_from_json(data)
    out = s.to_json()
    assert out["vmas"][0] == {"start": "0x2800000", "end": "0x2801000", "populated": True, "name": "guard"}
    assert out["move"]["len"] == "0x500000" and out["move"]["stop_at"] is None
    assert scenario_from_json(out) == s


def test_numbers_as_ints_or_hex_strings():
    data = base()
    data["move"]["len"] = 0x500000
    data["vmas"][2]["populated"] = False
    assert scenario_from_json(data).move.len == 0x500000


def _set(data: dict, path: str, value):
    obj = data
    keys = path.split(".")
    for k in keys[:-1]:
        obj = obj[int(k)] if isinstance(obj, list) else obj[k]
    last = keys[-1]
    if value is KeyError:
        del obj[last]
    else:
        obj[int(last) if isinstance(obj, list) else last] = value


@pytest.mark.parametrize("path, value, where", [
    ("schema", 2, "schema"),
    ("geometry", "vax", "geometry"),
    ("vmas.0.start", "0x2800800", "vmas[0].start"),            # not page aligned
    ("vmas.1.start", "0x2800000", "vmas[1].start"),            # overlaps vmas[0]
    ("vmas.0.end", "0x2800000", "vmas[0].end"),                # empty VMA
    ("vmas.0.start", "0x1000", "vmas[0].start"),               # below mmap_min_addr
    ("vmas.2.end", "0x800000000000", "vmas[2].end"),           # above TASK_SIZE
    ("vmas.0.populated", "yes", "vmas[0].populated"),
    ("vmas.0.colour", "red", "vmas[0].colour"),                # unknown field
    ("move.len", "0x600000", "move.old_addr"),                 # source range leaves its VMA
    ("move.old_vma", 7, "move.old_vma"),
    ("move.new_addr", "0x2f00800", "move.new_addr"),
    ("move.len", "-5", "move.len"),
    ("move.len", True, "move.len"),
    ("move.stop_at", "0x2e00000", "move.stop_at"),             # at or past old_end
    ("move.old_addr", KeyError, "move.old_addr"),
])
def test_rejects(path, value, where):
    data = base()
    _set(data, path, value)
    with pytest.raises(InputError) as e:
        scenario_from_json(data)
    assert e.value.where == where


def test_rejects_overlapping_mremap():
    # mremap() refuses overlapping source and destination (vrm_overlaps()).
    data = {"schema": 1, "geometry": "x86_64-4level",
            "vmas": [{"start": "0x200000", "end": "0x800000"}],
            "move": {"old_vma": 0, "new_vma": 0, "old_addr": "0x200000", "new_addr": "0x300000", "len": "0x200000"}}
    with pytest.raises(InputError, match="overlap") as e:
        scenario_from_json(data)
    assert e.value.where == "move.new_addr"


@pytest.mark.parametrize("change, where", [
    ({"new_vma": 1, "new_addr": "0x3000000"}, "move.new_vma"),  # a stack move has one VMA
    ({"new_addr": "0x1e00000"}, "move.new_addr"),  # must start at the expanded VMA's start
    ({"len": "0x200000"}, "move.len"),           # must end at the VMA's end
])
def test_rejects_malformed_stack_move(change, where):
    data = json.loads((SCENARIOS / "linus-stack-overlap.json").read_text())
    data["vmas"].append({"start": "0x3000000", "end": "0x3400000"})
    data["move"].update(change)
    with pytest.raises(InputError) as e:
        scenario_from_json(data)
    assert e.value.where == where


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    data = base()
    data["vmas"][1]["start"] = "0x2800000"
    bad.write_text(json.dumps(data))
    r = CliRunner().invoke(cli, ["eval", str(bad)])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "vmas[1].start" in r.output


def test_cli_malformed_json_names_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 1,\n "vmas": [}\n')
    r = CliRunner().invoke(cli, ["eval", str(bad)])
    assert r.exit_code == 2 and f"{bad}:2:" in r.output


def test_cli_unknown_variant(load):
    r = CliRunner().invoke(cli, ["eval", str(SCENARIOS / "issue-example.json"), "--variant", "v9"])
    assert r.exit_code == 2 and "unknown variant 'v9'" in r.output
