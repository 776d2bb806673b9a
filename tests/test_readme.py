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
