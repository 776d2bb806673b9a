"""Scenarios: the address space and the move_page_tables() call, with JSON I/O and validation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from modelcheck.errors import InputError
from modelcheck.geometry import Geometry, get_geometry

__all__ = ["Vma", "Move", "Claim", "Scenario", "SCHEMA", "load_scenario", "scenario_from_json", "parse_number"]

SCHEMA = 1


@dataclass(frozen=True)
class Vma:
    """A VMA [start, end); ``populated`` means it may hold page-table entries."""

    start: int
    end: int
    populated: bool = True
    name: str = ""

    def to_json(self) -> dict:
        d: dict[str, Any] = {"start": hex(self.start), "end": hex(self.end), "populated": self.populated}
        if self.name:
            d["name"] = self.name
        return d


@dataclass(frozen=True)
class Move:
    """The arguments of move_page_tables(): ``old_vma``/``new_vma`` index the scenario's VMAs.

    ``stop_at`` is the old-side loop cursor at which a page-table allocation fails and the loop
    breaks (None: the loop runs to the end).
    """

    old_vma: int
    new_vma: int
    old_addr: int
    new_addr: int
    len: int
    for_stack: bool = False
    stop_at: int | None = None

    @property
    def old_end(self) -> int:
        return self.old_addr + self.len

    @property
    def new_end(self) -> int:
        return self.new_addr + self.len

    def to_json(self) -> dict:
        return {"old_vma": self.old_vma, "new_vma": self.new_vma, "old_addr": hex(self.old_addr),
                "new_addr": hex(self.new_addr), "len": hex(self.len), "for_stack": self.for_stack,
                "stop_at": None if self.stop_at is None else hex(self.stop_at)}


@dataclass(frozen=True)
class Claim:
    """What a saved counterexample demonstrates: ``variant`` violates ``property`` (realigning to
    ``level``).  Optional in a scenario file; ``modelcheck replay`` re-checks it."""

    variant: str
    property: str
    level: str = "pmd"

    def to_json(self) -> dict:
        return {"variant": self.variant, "property": self.property, "level": self.level}


@dataclass(frozen=True)
class Scenario:
    """The kernel state at the call of move_page_tables(): VMAs sorted by address, and the move."""

    geometry: Geometry
    vmas: tuple[Vma, ...]
    move: Move
    note: str = field(default="", compare=False)
    claim: Claim | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def old_vma(self) -> Vma:
        return self.vmas[self.move.old_vma]

    @property
    def new_vma(self) -> Vma:
        return self.vmas[self.move.new_vma]

    def role(self, i: int) -> str:
        """vmas[i]'s part in the move: source, destination, source+destination (a self-merged
        VMA), stack (the exec stack move's one VMA) or other."""
        mv = self.move
        if mv.for_stack and i == mv.old_vma:
            return "stack"
        if i == mv.old_vma == mv.new_vma:
            return "source+destination"
        return {mv.old_vma: "source", mv.new_vma: "destination"}.get(i, "other")

    def with_move(self, **changes: Any) -> "Scenario":
        return replace(self, move=replace(self.move, **changes))

    def to_json(self) -> dict:
        d: dict[str, Any] = {"schema": SCHEMA, "geometry": self.geometry.name,
                             "vmas": [v.to_json() for v in self.vmas], "move": self.move.to_json()}
        if self.note:
            d["note"] = self.note
        if self.claim:
            d["claim"] = self.claim.to_json()
        return d

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"


def parse_number(value: Any, where: str) -> int:
    """An int, or a string "0x…" (hex) / decimal digits."""
    if isinstance(value, bool):
        raise InputError(where, "expected a number, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise InputError(where, "must not be negative")
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.lower().startswith("0x"):
                return int(text, 16)
            if text.isdigit():
                return int(text, 10)
        except ValueError:
            pass
        raise InputError(where, f"expected a number or a \"0x…\" string, got {value!r}")
    raise InputError(where, f"expected a number, got {type(value).__name__}")


def _check_keys(obj: Any, where: str, required: set[str], optional: set[str]) -> dict:
    if not isinstance(obj, dict):
        raise InputError(where, "expected an object")
    for key in obj:
        if key not in required | optional:
            raise InputError(f"{where}.{key}" if where else key, "unknown field")
    for key in sorted(required):
        if key not in obj:
            raise InputError(f"{where}.{key}" if where else key, "missing")
    return obj


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(where, "expected true or false")
    return value


def scenario_from_json(data: Any, geometry: Geometry | None = None) -> Scenario:
    """Build and validate a scenario from parsed JSON; ``geometry`` overrides the file's."""
    _check_keys(data, "", {"schema", "geometry", "vmas", "move"}, {"note", "claim"})
    if data["schema"] != SCHEMA:
        raise InputError("schema", f"unsupported schema {data['schema']!r} (this version reads {SCHEMA})")
    if geometry is None:
        if not isinstance(data["geometry"], str):
            raise InputError("geometry", "expected a geometry name")
        geometry = get_geometry(data["geometry"])
    if not isinstance(data["vmas"], list) or not data["vmas"]:
        raise InputError("vmas", "expected a non-empty list")
    vmas = []
    for i, v in enumerate(data["vmas"]):
        where = f"vmas[{i}]"
        _check_keys(v, where, {"start", "end"}, {"populated", "name"})
        name = v.get("name", "")
        if not isinstance(name, str):
            raise InputError(f"{where}.name", "expected a string")
        vmas.append(Vma(parse_number(v["start"], f"{where}.start"), parse_number(v["end"], f"{where}.end"),
                        _bool(v.get("populated", True), f"{where}.populated"), name))
    m = _check_keys(data["move"], "move", {"old_vma", "new_vma", "old_addr", "new_addr", "len"},
                    {"for_stack", "stop_at"})
    for key in ("old_vma", "new_vma"):
        if isinstance(m[key], bool) or not isinstance(m[key], int):
            raise InputError(f"move.{key}", "expected a VMA index")
    stop_at = m.get("stop_at")
    move = Move(m["old_vma"], m["new_vma"], parse_number(m["old_addr"], "move.old_addr"),
                parse_number(m["new_addr"], "move.new_addr"), parse_number(m["len"], "move.len"),
                _bool(m.get("for_stack", False), "move.for_stack"),
                None if stop_at is None else parse_number(stop_at, "move.stop_at"))
    note = data.get("note", "")
    if not isinstance(note, str):
        raise InputError("note", "expected a string")
    claim = None
    if "claim" in data:
        c = _check_keys(data["claim"], "claim", {"variant", "property"}, {"level"})
        for key in ("variant", "property", "level"):
            if not isinstance(c.get(key, ""), str):
                raise InputError(f"claim.{key}", "expected a string")
        if c.get("level", "pmd") not in ("pmd", "pud"):
            raise InputError("claim.level", f"expected pmd or pud, got {c['level']!r}")
        claim = Claim(c["variant"], c["property"], c.get("level", "pmd"))
    return Scenario(geometry, tuple(vmas), move, note, claim)


def load_scenario(path: str, geometry: Geometry | None = None) -> Scenario:
    """Read a scenario JSON file; any problem is an InputError naming the file and field."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}:{e.colno}", f"malformed JSON: {e.msg}") from None
    try:
        return scenario_from_json(data, geometry)
    except InputError as e:
        raise InputError(f"{path}: {e.where}", e.message) from None


def _validate(s: Scenario) -> None:
    g, mv = s.geometry, s.move
    page = g.page_size
    prev_end = None
    for i, v in enumerate(s.vmas):
        where = f"vmas[{i}]"
        for key in ("start", "end"):
            if getattr(v, key) % page:
                raise InputError(f"{where}.{key}", f"{hex(getattr(v, key))} is not page aligned ({hex(page)})")
        if v.start >= v.end:
            raise InputError(f"{where}.end", "must be above start")
        if v.start < g.mmap_min_addr:
            raise InputError(f"{where}.start", f"{hex(v.start)} is below mmap_min_addr {hex(g.mmap_min_addr)}")
        if v.end > g.task_size:
            raise InputError(f"{where}.end", f"{hex(v.end)} is above TASK_SIZE {hex(g.task_size)}")
        if prev_end is not None and v.start < prev_end:
            raise InputError(f"{where}.start", f"{hex(v.start)} overlaps or precedes vmas[{i - 1}] "
                             "(VMAs must be sorted and disjoint)")
        prev_end = v.end
    n = len(s.vmas)
    for key in ("old_vma", "new_vma"):
        if not 0 <= getattr(mv, key) < n:
            raise InputError(f"move.{key}", f"no VMA with index {getattr(mv, key)}")
    for key in ("old_addr", "new_addr", "len"):
        if getattr(mv, key) % page:
            raise InputError(f"move.{key}", f"{hex(getattr(mv, key))} is not page aligned")
    if mv.len == 0:
        raise InputError("move.len", "must be non-zero (move_page_tables() returns at once)")
    ov, nv = s.old_vma, s.new_vma
    if not (ov.start <= mv.old_addr and mv.old_end <= ov.end):
        raise InputError("move.old_addr", f"[{hex(mv.old_addr)}, {hex(mv.old_end)}) is not inside "
                         f"vmas[{mv.old_vma}] [{hex(ov.start)}, {hex(ov.end)})")
    if not (nv.start <= mv.new_addr and mv.new_end <= nv.end):
        raise InputError("move.new_addr", f"[{hex(mv.new_addr)}, {hex(mv.new_end)}) is not inside "
                         f"vmas[{mv.new_vma}] [{hex(nv.start)}, {hex(nv.end)})")
    if mv.for_stack:
        # shift_arg_pages()/relocate_vma_down(): one VMA expanded to [new_start, old_end), moving down.
        if mv.old_vma != mv.new_vma:
            raise InputError("move.new_vma", "a stack move has old_vma == new_vma (the expanded stack VMA)")
        if mv.new_addr != ov.start:
            raise InputError("move.new_addr", "a stack move starts at the expanded VMA's start")
        if mv.old_end != ov.end:
            raise InputError("move.len", "a stack move ends at the stack VMA's end")
        if mv.new_addr >= mv.old_addr:
            raise InputError("move.new_addr", "a stack move goes down: new_addr < old_addr")
    elif mv.old_addr < mv.new_end and mv.new_addr < mv.old_end:
        raise InputError("move.new_addr", "source and destination overlap (mremap() refuses with EINVAL)")
    if mv.stop_at is not None:
        low = mv.old_addr & g.pud_mask
        if mv.stop_at % page or not low <= mv.stop_at < mv.old_end:
            raise InputError("move.stop_at", f"must be a page-aligned cursor in [{hex(low)}, {hex(mv.old_end)})")
