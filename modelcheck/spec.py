"""The named properties (loaded from ``properties/properties.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from modelcheck._data import read_spec
from modelcheck.errors import InputError

__all__ = ["Property", "PROPERTIES", "get_property", "property_ids"]


@dataclass(frozen=True)
class Property:
    id: str
    statement: str
    reference: str


def _load() -> dict[str, Property]:
    text = read_spec("properties.toml")
    return {p["id"]: Property(p["id"], p["statement"], p["reference"]) for p in tomllib.loads(text)["property"]}


PROPERTIES: dict[str, Property] = _load()


def property_ids() -> list[str]:
    return list(PROPERTIES)


def get_property(pid: str) -> Property:
    try:
        return PROPERTIES[pid]
    except KeyError:
        raise InputError("property", f"unknown property {pid!r} (known: {', '.join(PROPERTIES)})") from None
