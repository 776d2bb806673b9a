"""The README's user-variant example runs as written."""

import contextlib
import io
import re
from pathlib import Path

from modelcheck.variants import unregister


def test_user_variant_example():
    text = (Path(__file__).parent.parent / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        unregister("mine")
    # that predicate is v6.7's without the stack exception: it never sweeps the source side
    assert out.getvalue().strip() == "holds"


def test_recipe_example():
    # the README's `modelcheck recipe` transcript is what the command prints
    from click.testing import CliRunner

    from modelcheck.cli import cli
    text = (Path(__file__).parent.parent / "README.md").read_text()
    m = re.search(r"```\n\$ modelcheck recipe (\S+)\n(.*?)```", text, re.S)
    r = CliRunner().invoke(cli, ["recipe", str(Path(__file__).parent.parent / m.group(1))])
    assert r.exit_code == 0 and r.output == m.group(2)
