"""A command's result as the JSON document ``--json`` prints: the result objects' ``to_json()``
data, indented, keys in the order the results give them."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps"]


def dumps(doc: Any) -> str:
    """The document as text, without a trailing newline."""
    return json.dumps(doc, indent=2)
