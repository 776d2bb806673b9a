"""Locate the specification files of ``properties/`` (installed as ``modelcheck.properties``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["read_spec"]


def read_spec(name: str) -> str:
    """The text of ``properties/NAME``: from the installed package, or beside a source checkout."""
    try:
        return resources.files("modelcheck.properties").joinpath(name).read_text(encoding="utf-8")
    except ModuleNotFoundError:  # running from a source tree that shadows the installed package
        return (Path(__file__).resolve().parent.parent / "properties" / name).read_text(encoding="utf-8")
