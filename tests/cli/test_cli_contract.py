"""The exit-code contract, command by command, on the inputs a careless user gives.

0 as expected, 1 violated (or the variants differ), 2 bad input with exactly one line
``modelcheck: error: WHERE: what`` on stderr and nothing on stdout, 3 unknown or internal error
(one ``modelcheck: internal error:`` line), 130/143 on SIGINT/SIGTERM with no worker left.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"
GALLERY = ROOT / "counterexamples" / "x86_64-4level" / "v3"


def run(*args, env=None):
    return CliRunner(env=env).invoke(cli, [str(a) for a in args])


def bad_input(*args) -> str:
    """Run a command that must refuse its input: exit 2, one error line, nothing else."""
    r = run(*args)
    assert r.exit_code == 2, (args, r.output)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelcheck: error: "), r.stderr
    assert r.stdout == "" and "Traceback" not in r.output
    return lines[0][len("modelcheck: error: "):]


# --- diff ran into a TypeError on every call --------------------------------------------------

@pytest.mark.slow  # the default tier runs the same command as a README transcript (tests/cli/test_readme.py)
def test_diff_readme_example_runs():
    r = run("diff", "linus", "v6.7")
    assert r.exit_code == 1, r.output  # they differ
    assert "* linus realigns and violates no-source-collateral; v6.7 declines" in r.stdout
    assert "* v6.7 realigns safely; linus misses the optimization" in r.stdout


def test_diff_reachable_and_json():
    r = run("diff", "v6.12", "v6.15", "--reachable", "--json")
    assert r.exit_code == 0, r.output  # the refactor changed nothing
    out = json.loads(r.stdout)
    assert out["cases"] == [] and out["gave_up"] == [] and out["reachable_only"] is True


def test_diff_two_c_files(tmp_path):
    # two versions of a patch, each its own variant over --base
    one, two = tmp_path / "a" / "patch.c", tmp_path / "b" / "patch.c"
    one.parent.mkdir(), two.parent.mkdir()
    shutil.copy(ROOT / "tests" / "c" / "vm_start-lt.c", one)
    shutil.copy(ROOT / "tests" / "c" / "vm_start-gt.c", two)
    r = run("diff", one, two, "--json")
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["a"] == "patch" and out["b"] == str(two)  # the second 'patch' is named by its path
    assert any(c["kind"] == "unsafe" and c["realigns"] == str(two) for c in out["cases"])


# --- a crash never reads as a finding ---------------------------------------------------------

def test_internal_error_is_one_line_and_exit_3(monkeypatch):
    import modelcheck.model.semantics

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")
    monkeypatch.setattr(modelcheck.model.semantics, "evaluate", boom)  # the eval command imports it when run
    r = run("eval", SCENARIOS / "self-merge.json", "--variant", "v3")
    assert r.exit_code == 3
    assert r.stderr.splitlines() == ["modelcheck: internal error: ZeroDivisionError: simulated bug "
                                     "(--debug or MODELCHECK_DEBUG=1 shows the traceback)"]
    r = run("--debug", "eval", SCENARIOS / "self-merge.json", "--variant", "v3")
    assert r.exit_code == 3 and "Traceback" in r.stderr and "ZeroDivisionError" in r.stderr
    r = run("eval", SCENARIOS / "self-merge.json", "--variant", "v3", env={"MODELCHECK_DEBUG": "1"})
    assert r.exit_code == 3 and "Traceback" in r.stderr


def test_console_script_exit_codes():
    # through the installed entry point, as CI runs it
    exe = [sys.executable, "-m", "modelcheck"]
    p = subprocess.run(exe + ["check", "--variant", "v3"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr == "modelcheck: error: --property: missing (required)\n"
    p = subprocess.run(exe + ["eval", str(SCENARIOS / "self-merge.json"), "--variant", "v2"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr == ""
    p = subprocess.run(exe, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("Usage: modelcheck")


@pytest.mark.parametrize("args, where", [
    (["check", "--variant", "v3"], "--property"),
    (["check", "--variant", "v3", "--property", "nope"], "--property"),
    (["check", "--variant", "v3", "--property", "no-warn", "--vmas", "0"], "--vmas"),
    (["check", "--variannt", "v3"], "--variannt"),
    (["chek"], "modelcheck"),
    (["eval"], "SCENARIO"),
    (["eval", "a.json", "b.json"], "modelcheck eval"),
    (["check", "--variant", "nope", "--property", "no-warn"], "variant"),
    (["diff", "v3", "nope"], "B"),
    (["check", "--variant", "v3", "--property", "no-warn", "--geometry", "custom:word=64,page=012"],
     "geometry page"),
])
def test_usage_errors_are_one_line(args, where):
    assert bad_input(*args).startswith(where + ": ")


def test_variant_and_c_file_together_is_refused():
    msg = bad_input("check", "--variant", "v3", "--c-file", ROOT / "tests" / "c" / "int-masked.c",
                    "--property", "no-warn")
    assert msg.startswith("--variant: give a variant id, --c-file or --tree, not two")


@pytest.mark.parametrize("value, message", [
    ("", "--variants: an empty list"), (",", "--variants: an empty list"),
    ("v3,,v4", "--variants: an empty item"), ("v3,nope", "--variants: unknown variant 'nope'")])
def test_matrix_variant_lists(value, message, tmp_path):
    assert bad_input("matrix", "--variants", value, "--out", tmp_path).startswith(message)


def test_matrix_repeated_variant_is_computed_once(tmp_path):
    r = run("matrix", "--variants", "v6.15,v6.15", "--properties", "return-value,return-value",
            "--geometries", "i386-pae", "--jobs", "1", "--out", tmp_path, "--json")
    assert r.exit_code == 0, r.output
    assert [(x["variant"], x["property"]) for x in json.loads(r.stdout)["results"]] == [("v6.15", "return-value")]


# --- C files that contribute nothing ----------------------------------------------------------

@pytest.mark.parametrize("text, defines", [
    ("static bool can_align_dwn(struct pagetable_move_control *pmc, struct vm_area_struct *vma,\n"
     "\t\t\t  unsigned long addr, unsigned long mask)\n{\n\treturn false;\n}\n", "can_align_dwn()"),
    ("", "no function"),
    ("int main(void)\n{\n\twhile (1)\n\t\tprintf(\"x\\n\");\n\treturn 0;\n}\n", "main()"),
])
@pytest.mark.parametrize("base", ["v6.15", "v3"])
def test_c_file_defining_nothing_linked_is_refused(tmp_path, text, defines, base):
    f = tmp_path / "patch.c"
    f.write_text(text)
    msg = bad_input("check", "--c-file", f, "--base", base, "--property", "no-source-collateral")
    assert msg.startswith(f"{f}: defines none of the functions the checker links over --base {base}")
    assert "can_align_down()" in msg and f"the file defines {defines}" in msg


def test_c_caller_of_another_base_names_that_base(tmp_path):
    f = tmp_path / "caller.c"
    f.write_text("static void realign_addr(unsigned long *old_addr, struct vm_area_struct *old_vma,\n"
                 "\t\t\t unsigned long *new_addr, struct vm_area_struct *new_vma,\n"
                 "\t\t\t unsigned long mask, bool for_stack)\n{\n}\n")
    msg = bad_input("check", "--c-file", f, "--property", "no-warn", "--base", "v6.15")
    assert msg.endswith("realign_addr(unsigned long *, struct vm_area_struct *, unsigned long *, struct "
                        "vm_area_struct *, unsigned long, bool) has no counterpart in --base v6.15; v4 fits (or "
                        "leave --base out)"), msg
    # without --base, the base whose realign_addr() has that signature is taken, and said
    r = run("check", "--c-file", f, "--property", "no-source-collateral")
    assert r.exit_code == 0 and r.stdout.startswith("linked: base v4 (detected from realign_addr(")


def test_c_file_says_what_it_used(tmp_path):
    f = tmp_path / "mine.c"
    f.write_text((ROOT / "tests" / "c" / "int-masked.c").read_text() + "\nint unused_helper(int x)\n{\n\treturn x;\n}\n")
    r = run("check", "--c-file", f, "--property", "no-source-collateral", "--geometry", "i386-pae")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[:3] == [
        "linked: base v6.15 (detected from can_align_down(struct pagetable_move_control *, struct vm_area_struct *, "
        "unsigned long, unsigned long))",
        f"linked: {f}: uses can_align_down() (lines 2-12); never called: unused_helper()",
        "linked: --base v6.15: supplies can_realign_addr(), move_page_tables_start(), pmc_progress(), "
        "try_realign_addr()"]
    out = json.loads(run("check", "--c-file", f, "--property", "no-source-collateral", "--geometry",
                         "i386-pae", "--json").stdout)
    assert out["linked"]["files"] == [{"file": str(f), "used": [{"function": "can_align_down", "label": "can_align_down()",
                                                                 "lines": [2, 12]}],
                                       "unused": ["unused_helper"], "others": 0}]
    assert out["linked"]["base"] == "v6.15" and out["linked"]["detected"].startswith("base v6.15 (detected")


def test_function_option_must_reach_the_base(tmp_path):
    f = tmp_path / "p.c"
    f.write_text("static bool my_check(struct vm_area_struct *vma, unsigned long addr)\n{\n\treturn false;\n}\n")
    assert bad_input("check", "--c-file", f, "--function", "nope", "--property", "no-warn").startswith(
        f"--function: {f} defines no function nope()")


def test_c_file_named_like_a_builtin(tmp_path):
    # properties/c/v6.15.c checked as a user's file: named after its path, and it holds as v6.15 does
    r = run("check", "--c-file", ROOT / "properties" / "c" / "v6.15.c", "--property", "no-dest-clobber", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["variant"] == str(ROOT / "properties" / "c" / "v6.15.c")


# --- strict scenario input --------------------------------------------------------------------

def _scenario(**changes) -> dict:
    d = json.loads((SCENARIOS / "self-merge.json").read_text())
    d.update(changes)
    return d


@pytest.mark.parametrize("text, message", [
    (b'{"schema": 1, "schema": 1}', ": schema: the key is given twice"),
    (json.dumps(_scenario(schema=True)).encode(), ": schema: expected the integer 1, got a boolean"),
    (json.dumps(_scenario(schema=1.0)).encode(), ": schema: expected the integer 1, got 1.0"),
    (b'{"schema": NaN}', ": malformed JSON: NaN is not a JSON number"),
    (b'{"schema": 1, "note": "\xe9"}', ": not UTF-8 text (byte 0xe9 at offset 23)"),
    (b"[" * 2000 + b"]" * 2000, ":1:65: nested more than 64 levels deep"),
    (b'{"schema": 1, "geometry": "x86_64-4level", "vmas": [], "move": {}, "note": ' + b"[" * 100 + b"]" * 100 + b"}",
     ": vmas: expected a non-empty list"),
    (b'{"schema": ' + b"9" * 5000 + b"}", ": malformed JSON: Exceeds the limit"),
    (b"[]", ": expected an object, got a list"),
])
def test_scenario_json_refusals(tmp_path, text, message):
    f = tmp_path / "s.json"
    f.write_bytes(text)
    assert bad_input("eval", f).startswith(f"{f}{message}")


@pytest.mark.parametrize("field, value, message", [
    ("start", "\uff10x7f1f985f7000", "expected a number (0x… hex or decimal digits)"),
    ("start", " 0x7f1f985f7000 ", "expected a number"),
    ("start", "0x7f1f_985f_7000", "expected a number"),
    ("start", "0139637002989568", "'0139637002989568' has a leading 0: write 0x… or a decimal without it"),
    ("start", -4096, "must not be negative"),
    ("start", 4096.0, "expected an integer, got 4096.0"),
    ("name", "\ud800", "character 0 ('\\ud800', Cs) is not printable text"),
    ("name", "a\nb", "character 1 ('\\n', Cc) is not printable text"),
    ("populated", "yes", "expected true or false"),
])
def test_vma_field_refusals(tmp_path, field, value, message):
    d = _scenario()
    d["vmas"][0][field] = value
    f = tmp_path / "s.json"
    f.write_text(json.dumps(d))
    assert bad_input("eval", f).startswith(f"{f}: vmas[0].{field}: {message}")


def test_repeated_key_deep_in_a_file_is_named(tmp_path):
    text = (SCENARIOS / "self-merge.json").read_text().replace('"start"', '"start": "0x1000", "start"', 1)
    f = tmp_path / "s.json"
    f.write_text(text)
    assert bad_input("eval", f) == f"{f}: vmas[0].start: the key is given twice (JSON readers disagree on which wins)"


def test_too_long_move_names_the_file(tmp_path):
    d = _scenario()
    d["vmas"] = [{"start": "0x10000000000", "end": "0x30000000000"}, {"start": "0x40000000000", "end": "0x60000000000", "populated": False}]
    d["move"] = {"old_vma": 0, "new_vma": 1, "old_addr": "0x10000000000", "new_addr": "0x40000000000",
                 "len": "0x20000000000"}
    f = tmp_path / "s.json"
    f.write_text(json.dumps(d))
    assert bad_input("eval", f, "--variant", "v6.15").startswith(f"{f}: move.len: 0x20000000000 bytes are")


@pytest.mark.parametrize("text, message", [
    ("<graphml/>", "not a GraphML file of a counterexample (NetworkXError"),
    ("garbage", "not a GraphML file of a counterexample (ParseError"),
    ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed"/></graphml>',
     "scenario: the graph carries no scenario attribute"),
])
def test_graphml_refusals(tmp_path, text, message):
    f = tmp_path / "x.graphml"
    f.write_text(text)
    assert bad_input("replay", f).startswith(f"{f}: {message}")


def test_graphml_scenario_is_read_strictly(tmp_path):
    text = (GALLERY / "no-source-collateral.graphml").read_text()
    f = tmp_path / "x.graphml"
    assert '{"schema":1,' in text
    f.write_text(text.replace('{"schema":1,', '{"schema":1,"schema":1,', 1))
    assert bad_input("replay", f) == f"{f}: scenario: schema: the key is given twice (JSON readers disagree on which wins)"


# --- output places --------------------------------------------------------------------------

def test_output_paths_are_checked_before_the_work(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    cx = GALLERY / "no-source-collateral.json"
    assert bad_input("check", "--variant", "v3", "--property", "no-source-collateral",
                     "--out", afile / "x") == f"--out: {afile / 'x'}: Not a directory"
    assert bad_input("matrix", "--variants", "v3", "--out", afile / "x").startswith("--out: ")
    assert bad_input("reproduce", cx, "-o", tmp_path / "none" / "x.c") == \
        f"--output: {tmp_path / 'none' / 'x.c'}: no directory {tmp_path / 'none'}"
    assert bad_input("show", cx, "--out", afile / "x").startswith("--out: ")
    assert bad_input("kernel", "build", "--tree", tmp_path / "nonexistent", "--variant", "v3") == \
        f"--tree: {tmp_path / 'nonexistent'}: not a kernel source tree (no mm/mremap.c)"
    assert list(tmp_path.iterdir()) == [afile]


def test_check_out_creates_its_directory(tmp_path):
    r = run("check", "--variant", "v3", "--property", "no-source-collateral", "--out", tmp_path / "new" / "dir")
    assert r.exit_code == 1, r.output
    assert (tmp_path / "new" / "dir" / "x86_64-4level" / "v3" / "no-source-collateral.json").is_file()


def test_nothing_half_written_when_a_writer_fails(tmp_path, monkeypatch):
    import modelcheck.output.picture as picture

    def broken(G, stem):
        stem.with_name(stem.name + ".svg").write_text("<svg")  # a half-written picture
        raise OSError(28, "No space left on device")  # no filename: not a user's path
    monkeypatch.setattr(picture, "draw", broken)
    r = run("check", "--variant", "v3", "--property", "no-source-collateral", "--out", tmp_path)
    assert r.exit_code == 3 and "internal error: OSError" in r.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    r = run("show", GALLERY / "no-source-collateral.json", "--out", tmp_path / "pic")
    assert r.exit_code == 3 and list(tmp_path.rglob("*.svg")) == [] and list(tmp_path.glob(".tmp*")) == []


# --- signals --------------------------------------------------------------------------------

def _group_alive(pgid: int) -> list[str]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(stat.parent.name)
    return alive


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signals_stop_the_matrix_and_its_workers(tmp_path, sig, code):
    p = subprocess.Popen([sys.executable, "-m", "modelcheck", "matrix", "--jobs", "2", "--out", str(tmp_path)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = p.stderr.readline()  # a worker has finished a check
    assert first.startswith("[1/"), first
    os.killpg(p.pid, sig) if sig == signal.SIGINT else p.send_signal(sig)  # Ctrl-C reaches the whole group
    rest = p.stderr.read()
    assert p.wait(timeout=60) == code, rest
    assert rest.splitlines()[-1] == ("modelcheck: terminated" if sig == signal.SIGTERM else "modelcheck: interrupted")
    deadline = time.monotonic() + 10
    while _group_alive(p.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _group_alive(p.pid) == []
    assert [x for x in tmp_path.rglob("*") if x.name.startswith(".")] == []
