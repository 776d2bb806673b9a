"""Fuzzing the inputs the checker parses: scenario JSON, counterexample GraphML, the C front-end.

Whatever the input, a command ends with exit 0, 1 or 2 (never an internal error or a traceback),
and a refusal is exactly one ``modelcheck: error:`` line.  Inputs are generated (JSON values of
any shape) and mutated from the project's own valid files (bytes flipped, cut, repeated; C
tokens dropped, duplicated, swapped or replaced).  The default tier runs a few hundred cases;
``-m slow`` runs thousands.  Regression inputs found so far are kept as ``@example``s.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings, strategies as st

from modelcheck.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_FILES = sorted((ROOT / "tests" / "scenarios").glob("*.json"))
GRAPHML = ROOT / "counterexamples" / "x86_64-4level" / "v3" / "no-source-collateral.graphml"
C_FILES = sorted((ROOT / "tests" / "c").glob("*.c")) + [ROOT / "properties" / "c" / "v6.15.c"]
SCENARIO = ROOT / "tests" / "scenarios" / "self-merge.json"

FEW = settings(max_examples=120, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])
MANY = settings(FEW, max_examples=2000)


def assert_contract(args: list[str]) -> None:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in r.output, r.output
    assert r.exit_code in (0, 1, 2), (r.exit_code, r.output)
    if r.exit_code == 2:
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("modelcheck: error: "), r.stderr


# --- inputs -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=20)

scenario_keys = ["schema", "geometry", "vmas", "move", "note", "claim", "start", "end", "populated", "name",
                 "old_vma", "new_vma", "old_addr", "new_addr", "len", "for_stack", "stop_at"]


@st.composite
def mutated_bytes(draw, files: list[Path]) -> bytes:
    """A valid file with a few byte-level edits: flip, delete, duplicate, insert."""
    data = bytearray(draw(st.sampled_from(files)).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "delete", "duplicate", "insert"]))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 16))]
        elif op == "duplicate":
            j = min(len(data), i + draw(st.integers(1, 32)))
            data[i:i] = data[i:j]
        else:
            data[i:i] = draw(st.sampled_from([b"0", b"-", b"x", b"\"", b"{", b"[", b"]", b"}", b",", b"\\u",
                                              b"\xff", b"\x00", b"1e309", b"NaN", b"0x", b" ", b"\xef\xbb\xbf"]))
    return bytes(data)


@st.composite
def mutated_json(draw) -> bytes:
    """A valid scenario with one field replaced by a generated JSON value."""
    d = json.loads(draw(st.sampled_from(SCENARIO_FILES)).read_text())
    target = draw(st.sampled_from(["top", "vma", "move"]))
    obj = d if target == "top" else d["move"] if target == "move" else d["vmas"][draw(
        st.integers(0, len(d["vmas"]) - 1))]
    key = draw(st.sampled_from(scenario_keys))
    if draw(st.booleans()):
        obj[key] = draw(json_values | st.sampled_from(["0x1000", "0x7fffffffffff", "0xffffffffffffffff", "4096",
                                                       "０", "0x1_000", "0755", "x86_64-4level", "custom:word=8"]))
    else:
        obj.pop(key, None)
    return json.dumps(d).encode()


C_TOKEN = re.compile(r"[A-Za-z_]\w*|0[xX][0-9a-fA-F]+|\d+\w*|->|<<|>>|[<>=!]=|&&|\|\||\S")
C_SNIPPETS = ["&&", "||", "!", "~", "-", "+", "*", "/", "%", "|", "^", "<<", ">>", "<", "<=", "==", "(", ")", "{",
              "}", ";", "?", ":", "0", "1", "0xffffffffffffffff", "-1", "NULL", "prev", "vma", "addr", "mask",
              "return", "if", "else", "while", "int", "unsigned", "long", "bool", "#define X 1\n", "/*", "*/",
              "WARN_ON_ONCE", "find_vma_prev", "vma_prev", "VMA_ITERATOR", "can_align_down", "pmc", "->",
              "vm_start", "vm_end", "&", "\"", "'"]


@st.composite
def mutated_c(draw) -> str:
    """A C file of the subset with a few token edits."""
    text = draw(st.sampled_from(C_FILES)).read_text()
    toks = [(m.start(), m.end()) for m in C_TOKEN.finditer(text)]
    out = text
    for _ in range(draw(st.integers(1, 3))):
        toks = [(m.start(), m.end()) for m in C_TOKEN.finditer(out)]
        a, b = toks[draw(st.integers(0, len(toks) - 1))]
        op = draw(st.sampled_from(["drop", "duplicate", "replace", "swap"]))
        if op == "drop":
            out = out[:a] + out[b:]
        elif op == "duplicate":
            out = out[:b] + " " + out[a:b] + out[b:]
        elif op == "replace":
            out = out[:a] + draw(st.sampled_from(C_SNIPPETS)) + out[b:]
        else:
            c, d = toks[draw(st.integers(0, len(toks) - 1))]
            if c > b:
                out = out[:a] + out[c:d] + out[b:c] + out[a:b] + out[d:]
    return out


# --- the properties ---------------------------------------------------------------------------

def _scenario_case(tmp_path: Path, data: bytes) -> None:
    f = tmp_path / "s.json"
    f.write_bytes(data)
    assert_contract(["eval", f, "--variant", "v3", "--variant", "v6.15"])


def _graphml_case(tmp_path: Path, data: bytes) -> None:
    f = tmp_path / "s.graphml"
    f.write_bytes(data)
    assert_contract(["replay", f])


def _c_case(tmp_path: Path, text: str) -> None:
    f = tmp_path / "p.c"
    f.write_text(text)
    assert_contract(["eval", SCENARIO, "--c-file", f])


@FEW
@given(data=mutated_bytes(SCENARIO_FILES) | mutated_json() | json_values.map(lambda v: json.dumps(v).encode()))
@example(data=b'{"schema": 1, "schema": 1}')
@example(data=b"[" * 3000 + b"]" * 3000)
@example(data=b'{"schema": 1, "geometry": "custom:word=64,page=09,pmd=21,pud=30,task=0x7ffffffff000,min=0x10000"}')
def test_fuzz_scenario_loader(tmp_path, data):
    _scenario_case(tmp_path, data)


@FEW
@given(data=mutated_bytes([GRAPHML]))
@example(data=b"<graphml/>")
@example(data=GRAPHML.read_bytes().replace(b"encoding='utf-8'", b"encoding='ttf-8'", 1))  # LookupError
def test_fuzz_graphml_reader(tmp_path, data):
    _graphml_case(tmp_path, data)


@FEW
@given(text=mutated_c())
@example(text="static bool can_align_down(struct pagetable_move_control *pmc, struct vm_area_struct *vma,\n"
              "unsigned long addr, unsigned long mask)\n{\n\treturn " + " && ".join(["addr != 0"] * 1000) + ";\n}\n")
@example(text="int f(int x) {\n" + "if (x) {" * 2000 + "return 1;" + "}" * 2000 + "\nreturn 0; }\n")
def test_fuzz_c_front_end(tmp_path, text):
    _c_case(tmp_path, text)


@pytest.mark.slow
@MANY
@given(data=mutated_bytes(SCENARIO_FILES) | mutated_json() | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_scenario_loader_many(tmp_path, data):
    _scenario_case(tmp_path, data)


@pytest.mark.slow
@MANY
@given(data=mutated_bytes([GRAPHML]))
def test_fuzz_graphml_reader_many(tmp_path, data):
    _graphml_case(tmp_path, data)


@pytest.mark.slow
@MANY
@given(text=mutated_c())
def test_fuzz_c_front_end_many(tmp_path, text):
    _c_case(tmp_path, text)
