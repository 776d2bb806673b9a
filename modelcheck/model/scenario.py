"""Scenarios: the address space and the move_page_tables() call, with JSON I/O and validation."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from modelcheck.errors import InputError
from modelcheck.model.geometry import Geometry, get_geometry, parse_int_text

__all__ = ["Vma", "Move", "Claim", "Scenario", "SCHEMA", "load_scenario", "loads_json", "read_json_file",
           "scenario_from_json", "parse_number"]

SCHEMA = 1


@dataclass(frozen=True)
class Vma:
    """A VMA [start, end); ``populated`` means it may hold page-table entries; ``uffd_wp`` that it
    is registered with userfaultfd in write-protect mode on a uffd without
    UFFD_FEATURE_EVENT_REMAP (what vma_has_uffd_without_event_remap() tests, include/linux/
    userfaultfd_k.h; since 0cef0bb836e3 such a VMA's page tables move only entry by entry)."""

    start: int
    end: int
    populated: bool = True
    name: str = ""
    uffd_wp: bool = False

    def to_json(self) -> dict:
        d: dict[str, Any] = {"start": hex(self.start), "end": hex(self.end), "populated": self.populated}
        if self.uffd_wp:
            d["uffd_wp"] = True
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
    #: where a variant from C came from, so that replay can read it again: {"tree": DIR,
    #: "patches": [FILE...]} or {"c_files": [FILE...], "base": ID, "function": NAME} (absolute paths)
    source: dict | None = None

    def to_json(self) -> dict:
        return {"variant": self.variant, "property": self.property, "level": self.level,
                **({"source": self.source} if self.source else {})}


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

    @cached_property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """The VMAs' (start, end), sorted and disjoint: what the kernel's lookups search."""
        return tuple((v.start, v.end) for v in self.vmas)

    @cached_property
    def uffd(self) -> tuple[bool, ...]:
        """Each VMA's uffd_wp, in order (empty when none is registered)."""
        flags = tuple(v.uffd_wp for v in self.vmas)
        return flags if any(flags) else ()

    @cached_property
    def ends(self) -> list[int]:
        """The VMAs' ends, sorted: what lookups bisect."""
        return [v.end for v in self.vmas]

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
    """A JSON integer, or a string "0x…" (hex) or of decimal digits (ASCII, nothing around)."""
    if isinstance(value, bool):
        raise InputError(where, "expected a number, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise InputError(where, "must not be negative")
        return value
    if isinstance(value, str):
        if _HEX.fullmatch(value):  # the common case, at once
            return int(value, 16)
        return parse_int_text(value, where)
    if isinstance(value, float):
        raise InputError(where, f"expected an integer, got {value!r}")
    raise InputError(where, f"expected a number, got {_json_type(value)}")


_HEX = re.compile(r"0x[0-9a-f]+")


def _json_type(value: Any) -> str:
    return {dict: "an object", _Object: "an object", list: "a list", str: "a string", type(None): "null",
            bool: "a boolean", float: f"{value!r}", int: f"{value!r}"}.get(type(value), type(value).__name__)


class _Object(dict):
    """A JSON object as read that gives a key twice: ``repeated`` is the first such key."""

    repeated: str | None = None


def _object(pairs: list[tuple[str, Any]]) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Object()
    for key, value in pairs:
        if key in marked and marked.repeated is None:
            marked.repeated = key
        marked[key] = value
    return marked


def _non_finite(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_tree(data: Any, where: str) -> None:
    """Refuse a key repeated in one object, naming its path (walked without recursion; the path
    is spelt out only for the error, and the walk made only when the parser saw a repeat)."""
    todo: list[tuple[Any, Any]] = [(data, None)]  # (node, (parent's trail, key))
    while todo:
        node, trail = todo.pop()
        if isinstance(node, dict):
            if isinstance(node, _Object):
                raise InputError(f"{where}: {_path((trail, node.repeated))}",
                                 "the key is given twice (JSON readers disagree on which wins)")
            todo += [(v, (trail, k)) for k, v in node.items() if isinstance(v, (dict, list))]
        elif isinstance(node, list):
            todo += [(v, (trail, i)) for i, v in enumerate(node) if isinstance(v, (dict, list))]


def _path(trail: Any) -> str:
    keys = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in reversed(keys)).lstrip(".")


def _deep_bracket(text: str, limit: int) -> tuple[int, int]:
    """The line and column of the first bracket nested deeper than ``limit`` (strings skipped)."""
    depth, in_string, escaped, line, col = 0, False, False, 1, 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return line, col
        elif ch in "]}":
            depth -= 1
    return 0, 0


#: where a refusal of JSON nested deeper than the parser goes points (a scenario nests three deep)
MAX_JSON_DEPTH = 64


def loads_json(text: str, where: str) -> Any:
    """Parse JSON strictly, as every input of the checker is read: a key given twice in one
    object (named by its path), NaN and Infinity, and nesting deeper than the parser goes (at
    the position where it passes MAX_JSON_DEPTH) are refused, each an InputError naming
    ``where``.  Nesting within that is left to the schema, which takes three levels."""
    repeats: list[_Object] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict:
        obj = _object(pairs)
        if type(obj) is _Object:
            repeats.append(obj)
        return obj
    try:
        data = json.loads(text, object_pairs_hook=hook, parse_constant=_non_finite)
    except RecursionError:  # deeper than the parser goes: say where it passes the cap
        line, col = _deep_bracket(text, MAX_JSON_DEPTH)
        raise InputError(f"{where}:{line}:{col}", f"nested more than {MAX_JSON_DEPTH} levels deep") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{where}:{e.lineno}:{e.colno}", f"malformed JSON: {e.msg}") from None
    except ValueError as e:  # NaN/Infinity, or an integer of more digits than Python converts
        raise InputError(where, f"malformed JSON: {e}") from None
    if repeats:
        _check_tree(data, where)
    return data


def _text(value: Any, where: str) -> str:
    """A string field that is printed: printable characters only (str.isprintable(): no control
    or format characters, lone surrogates, line separators or spaces other than ' '), so that a
    listing of VMAs stays one line per VMA, and every terminal shows what the file says."""
    if not isinstance(value, str):
        raise InputError(where, f"expected a string, got {_json_type(value)}")
    if not value.isprintable():
        i, ch = next((i, ch) for i, ch in enumerate(value) if not ch.isprintable())
        raise InputError(where, f"character {i} ({ascii(ch)}, {unicodedata.category(ch)}) is not printable text")
    return value


def _check_keys(obj: Any, where: str, required: set[str], optional: set[str]) -> dict:
    if not isinstance(obj, dict):
        raise InputError(where, f"expected an object, got {_json_type(obj)}")
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


_VMA_KEYS = frozenset({"start", "end", "populated", "name", "uffd_wp"})


def scenario_from_json(data: Any, geometry: Geometry | None = None) -> Scenario:
    """Build and validate a scenario from parsed JSON; ``geometry`` overrides the file's."""
    _check_keys(data, "", {"schema", "geometry", "vmas", "move"}, {"note", "claim"})
    if type(data["schema"]) is not int:
        raise InputError("schema", f"expected the integer {SCHEMA}, got {_json_type(data['schema'])}")
    if data["schema"] != SCHEMA:
        raise InputError("schema", f"unsupported schema {data['schema']!r} (this version reads {SCHEMA})")
    if geometry is None:
        geometry = get_geometry(_text(data["geometry"], "geometry"))
    if not isinstance(data["vmas"], list) or not data["vmas"]:
        raise InputError("vmas", "expected a non-empty list")
    vmas = []
    for i, v in enumerate(data["vmas"]):  # the common case checked inline: a process may have 65530
        if not isinstance(v, dict) or not _VMA_KEYS.issuperset(v) or "start" not in v or "end" not in v:
            _check_keys(v, f"vmas[{i}]", {"start", "end"}, {"populated", "name", "uffd_wp"})
        start, end, populated, name = v["start"], v["end"], v.get("populated", True), v.get("name", "")
        uffd = v.get("uffd_wp", False)
        vmas.append(Vma(start if type(start) is int and start >= 0 else parse_number(start, f"vmas[{i}].start"),
                        end if type(end) is int and end >= 0 else parse_number(end, f"vmas[{i}].end"),
                        populated if type(populated) is bool else _bool(populated, f"vmas[{i}].populated"),
                        name if type(name) is str and name.isprintable() else _text(name, f"vmas[{i}].name"),
                        uffd if type(uffd) is bool else _bool(uffd, f"vmas[{i}].uffd_wp")))
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
    note = _text(data.get("note", ""), "note")
    claim = None
    if "claim" in data:
        c = _check_keys(data["claim"], "claim", {"variant", "property"}, {"level", "source"})
        for key in ("variant", "property", "level"):
            _text(c.get(key, ""), f"claim.{key}")
        if c.get("level", "pmd") not in ("pmd", "pud"):
            raise InputError("claim.level", f"expected pmd or pud, got {c['level']!r}")
        source = c.get("source")
        if source is not None:
            _check_keys(source, "claim.source", set(), {"tree", "patches", "c_files", "base", "function"})
            for key, value in source.items():
                ok = all(isinstance(x, str) for x in value) if key in ("patches", "c_files") and \
                    isinstance(value, list) else isinstance(value, str) or (value is None and key in ("base", "function"))
                if not ok:
                    raise InputError(f"claim.source.{key}", "expected a path, a list of paths or an id")
            if ("tree" in source) == ("c_files" in source):
                raise InputError("claim.source", "expected a tree or C files")
        claim = Claim(c["variant"], c["property"], c.get("level", "pmd"), source)
    return Scenario(geometry, tuple(vmas), move, note, claim)


def read_json_file(path: str) -> Any:
    """A JSON file's content, read strictly (``loads_json``); an unreadable file, or one that is
    not UTF-8, is an InputError naming it."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(path, f"not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start})") from None
    return loads_json(text, path)


def load_scenario(path: str, geometry: Geometry | None = None) -> Scenario:
    """Read a scenario JSON file; any problem is an InputError naming the file and field."""
    data = read_json_file(path)
    try:
        return scenario_from_json(data, geometry)
    except InputError as e:
        raise InputError(f"{path}: {e.where}" if e.where else path, e.message) from None


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
    ov, nv = s.old_vma, s.new_vma
    # len 0: a zero-length mremap of a shared mapping, mremap(addr, 0, new_len, MREMAP_MAYMOVE)
    # (move_page_tables() is called with len 0); the addresses still lie inside their VMAs
    if mv.len == 0 and not (ov.start <= mv.old_addr < ov.end and nv.start <= mv.new_addr < nv.end):
        raise InputError("move.old_addr", "a zero-length move's addresses must lie inside their VMAs")
    if mv.len == 0 and mv.for_stack:
        raise InputError("move.len", "an exec stack move is never empty")
    if mv.len == 0 and mv.old_vma == mv.new_vma:
        raise InputError("move.new_vma", "a zero-length move (mremap(addr, 0, new_len) of a shared mapping) "
                                         "makes a new VMA of its own")
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
        if mv.stop_at % page or not 0 <= mv.stop_at < mv.old_end:
            raise InputError("move.stop_at", f"must be a page-aligned cursor below old_end {hex(mv.old_end)}")
