"""The README's examples run as written, and print what the README shows.

Every ``$ modelcheck …`` line of a README code block is run through the command line (in the
repository's root, as a user would paste it) and its output compared with the lines under it,
field by field: timings (``0.80s``) are not compared, a line ``...`` stands for any number of
lines, and a line ending in ``...`` for any line that starts with what comes before.  The main
job's table is compared with the default matrix the session computes once.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcheck.cli import cli
from modelcheck.model.variants import unregister

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
TIMING = re.compile(r"\b\d+\.\d+ ?s\b")


def transcripts() -> list[tuple[str, list[str]]]:
    """(command line, expected output lines) for every ``$ modelcheck`` line in a code block."""
    out: list[tuple[str, list[str]]] = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", README, re.S | re.M):
        current = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = (line[2:], [])
                if line.startswith("$ modelcheck "):
                    out.append(current)
            elif current is not None:
                current[1].append(line)
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """Do the actual lines fit the expected ones (with ``...`` wildcards, timings ignored)?"""
    expected = [TIMING.sub("<t>", x.rstrip()) for x in expected]
    actual = [TIMING.sub("<t>", x.rstrip()) for x in actual]
    memo: dict[tuple[int, int], bool] = {}

    def fit(i: int, j: int) -> bool:
        if (i, j) not in memo:
            if i == len(expected):
                ok = j == len(actual)
            elif expected[i].strip() == "...":
                ok = fit(i + 1, j) or (j < len(actual) and fit(i, j + 1))
            elif j == len(actual):
                ok = False
            elif expected[i].endswith("..."):
                ok = actual[j].startswith(expected[i][:-3]) and fit(i + 1, j + 1)
            else:
                ok = expected[i] == actual[j] and fit(i + 1, j + 1)
            memo[i, j] = ok
        return memo[i, j]
    return fit(0, 0)


def test_transcripts_found():
    commands = [c.split()[1] for c, _ in transcripts()]
    assert {"check", "eval", "replay", "show", "recipe", "matrix", "diff"} <= set(commands), commands


MATRIX = "modelcheck matrix --geometries x86_64-4level"
#: transcripts of a minute or so: the slow tier runs them
SLOW = [(c, e) for c, e in transcripts() if c.startswith("modelcheck review ")]
FAST = [(c, e) for c, e in transcripts() if c != MATRIX and (c, e) not in SLOW]


@pytest.mark.parametrize("command, expected", [*FAST, *[pytest.param(c, e, marks=pytest.mark.slow) for c, e in SLOW]],
                         ids=[c for c, _ in FAST + SLOW])
def test_readme_transcript(command, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    command = command.replace("/tmp/", f"{tmp_path}/")
    expected = [x.replace("/tmp/", f"{tmp_path}/") for x in expected]
    r = CliRunner().invoke(cli, shlex.split(command)[1:])
    assert r.exit_code in (0, 1), r.output
    assert r.stderr == ""
    assert matches(expected, r.stdout.splitlines()), f"$ {command}\n{r.stdout}"


def test_readme_matrix_table(default_matrix):
    # the main job's x86-64 table, as `modelcheck matrix` renders it from the same results
    from modelcheck.output.report import matrix_table
    from modelcheck.solver.search import CHECKS
    from modelcheck.model.variants import VARIANTS
    (command, expected), = [(c, e) for c, e in transcripts() if c == MATRIX]
    table = matrix_table([r for r in default_matrix if r.geometry == "x86_64-4level"], list(VARIANTS), CHECKS,
                         ["x86_64-4level"]).splitlines()
    assert matches(expected[:-2], table), "\n".join(table)  # the last two: where the files went


@pytest.mark.slow
def test_readme_matrix_command(tmp_path, monkeypatch):
    # the command itself, as the README's first line runs it
    monkeypatch.chdir(tmp_path)
    (command, expected), = [(c, e) for c, e in transcripts() if c == MATRIX]
    r = CliRunner().invoke(cli, shlex.split(command)[1:])
    assert r.exit_code == 0, r.output
    assert matches(expected, r.stdout.splitlines()), r.stdout


def test_matches():
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"]) and matches(["a", "..."], ["a"])
    assert matches(["x 0.80s"], ["x 12.34s"]) and matches(["ab..."], ["abc"])
    assert not matches(["a", "d"], ["a", "b", "d"]) and not matches(["ab..."], ["xbc"]) and not matches(["a"], [])


def test_user_variant_example():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        unregister("mine")
    # that predicate is v6.7's without the stack exception: it never sweeps the source side
    assert out.getvalue().strip() == "holds"
