"""The properties, one module each: the registry every layer loops over.

A property is one :class:`Property` object, made by its module from four parts, and the
statement and references ``properties/properties.toml`` gives under its id:

* ``judge(ev, run)``: the concrete judgement on one simulated move (``semantics.evaluate``),
  None when the property holds there, else the reason in one line;
* ``violation(st, variant, d, level)``: its exact negation on a symbolic state
  (``encoding.Violation``), for the decision ``d``; imports the solver layer when called;
* ``annotate(draw, ev, s)``: the violation edges of a counterexample's graph (``graph``);
* traits: ``memory`` (what a reproducer sees in memory, compared with a kernel's),
  ``cheap`` (asked first when searching for a missed optimization), ``of_the_call`` (about the
  call as a whole: its graph edges go to the source VMA), ``fault`` (the decision's WARN or NULL
  dereference sites it is about, where SARIF locates a violation), ``warns`` (a violation is a
  WARNING in the kernel log), ``of_the_return`` (about the return value: located at the tail).

``missed-optimization`` is the one property of kind ``precision``: it judges a decision against
the 'always' baseline instead of the simulated move alone.  Adding a property is one new module
named in ``MODULES``, its TOML entry and its expected verdicts (README, "Your own property").
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from modelcheck._data import read_spec
from modelcheck.errors import InputError, InternalError

if TYPE_CHECKING:
    from modelcheck.model.semantics import Evaluation, Run

__all__ = ["Property", "REGISTRY", "PROPERTIES", "MISSED", "CHECKS", "get_property", "property_ids"]

#: the modules of the properties, in the order the matrix shows them
MODULES = ("no_source_collateral", "no_dest_clobber", "equivalence", "return_value", "no_warn",
           "no_predicate_warn", "no_null_deref", "aligned_down", "missed_optimization")

SAFETY, PRECISION = "safety", "precision"


@dataclass(frozen=True)
class Property:
    id: str
    judge: Callable[["Evaluation", "Run"], str | None] | None = None
    violation: Callable[..., Any] | None = None
    annotate: Callable[..., None] | None = None
    kind: str = SAFETY
    memory: bool = False
    cheap: bool = False
    of_the_call: bool = False
    statement: str = ""
    reference: str = ""
    #: the kind of decision site its violation is ("warn", "oops"): SARIF locates it there
    fault: str | None = None
    #: a violation shows in the kernel log as a WARNING (a kernel run compares it with the log)
    warns: bool = False
    #: about the value move_page_tables() returns: located at the tail after its loop
    of_the_return: bool = False

    def to_json(self) -> dict:
        return {"id": self.id, "statement": self.statement, "reference": self.reference, "kind": self.kind}


def _load() -> dict[str, Property]:
    spec = {p["id"]: p for p in tomllib.loads(read_spec("properties.toml"))["property"]}
    out: dict[str, Property] = {}
    for name in MODULES:
        p: Property = importlib.import_module(f"modelcheck.checks.{name}").PROPERTY
        if p.id not in spec:
            raise InternalError(f"property {p.id!r} (modelcheck/checks/{name}.py) has no entry in properties.toml")
        if p.kind == SAFETY and not (p.judge and p.violation):
            raise InternalError(f"property {p.id!r} lacks a concrete judgement or a symbolic violation")
        out[p.id] = Property(**{**p.__dict__, "statement": spec[p.id]["statement"],
                                "reference": spec[p.id]["reference"]})
    unknown = set(spec) - set(out)
    if unknown:
        raise InternalError(f"properties.toml names {sorted(unknown)}, which no module in modelcheck/checks defines")
    return out


#: every property, missed-optimization last
REGISTRY: dict[str, Property] = _load()
#: the properties a variant satisfies or violates on one move (all but missed-optimization)
PROPERTIES: dict[str, Property] = {k: p for k, p in REGISTRY.items() if p.kind == SAFETY}
MISSED = next(k for k, p in REGISTRY.items() if p.kind == PRECISION)
#: what `check` and the matrix accept as --property
CHECKS = list(REGISTRY)


def property_ids() -> list[str]:
    return list(PROPERTIES)


def get_property(pid: str) -> Property:
    try:
        return REGISTRY[pid]
    except KeyError:
        raise InputError("property", f"unknown property {pid!r} (known: {', '.join(REGISTRY)})") from None
