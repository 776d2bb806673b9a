"""From a scenario (the state at move_page_tables()) back to system calls a program can make.

``find_recipe()`` builds a sequence of calls from an address space that holds nothing at the
addresses involved, replays it through the system-call simulator (``modelcheck.userspace.syscalls``) and
accepts it only if the simulator arrives at exactly the scenario.  The construction follows the
three ways the kernel gets to the call (mremap's move_vma() after copy_vma(), and exec's
stack move in relocate_vma_down()/shift_arg_pages(); mm/mremap.c, mm/vma.c, fs/exec.c):

* an mremap into a fresh VMA: every VMA is shared anonymous memory (a shmem object of its own,
  so nothing merges), populated VMAs are written, then ``mremap(MREMAP_MAYMOVE|MREMAP_FIXED)``;
* an mremap whose new VMA merged with its neighbours (``new_vma`` larger than the destination):
  the source and the destination's neighbours are private anonymous and never written (read
  faults populate them with zero-page entries and leave anon_vma NULL), so copy_vma() resets the
  page offset and vma_merge_new_range() joins them; when the merged VMA holds the source too,
  this is Joel's ``vma == new_vma``;
* exec's stack relocation: a fresh mm whose only VMA is the stack, ending at STACK_TOP_MAX, at
  most MAX_ARG_BYTES long, shifted down by at most the stack randomization.

The recipe is short (one mmap per VMA, one fault per populated VMA, the mremap) but not searched
for, so "no recipe" names the rule the construction could not satisfy; for the stack it is an
exact condition of the kernel.  An allocation failure (``stop_at``) is reachable only with fault
injection (CONFIG_FAIL_PAGE_ALLOC), which the recipe says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modelcheck.errors import InputError
from modelcheck.model.scenario import Scenario, Vma
from modelcheck.userspace.syscalls import (MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, MAX_ARG_BYTES,
                                 MREMAP_FIXED, MREMAP_MAYMOVE, AddressSpace, SyscallError, Unrepresentable,
                                 exec_stack, stack_len_max, stack_shift_max)

__all__ = ["Step", "Reachability", "find_recipe", "replay_steps", "shortest_recipe", "load_calls", "run_calls", "is_program", "dump_calls",
           "CallResult"]

if TYPE_CHECKING:
    from modelcheck.model.geometry import Geometry

#: the argument bytes exec takes under the default 8 MiB stack rlimit (a quarter of it)
DEFAULT_ARG_BYTES = 2 << 20


@dataclass(frozen=True)
class Step:
    """One call: ``op`` is mmap, touch, mremap or exec; ``args`` its arguments as in syscalls."""

    op: str
    args: tuple

    def c(self) -> str:
        a = self.args
        if self.op == "mmap":
            addr, length, prot, flags = a
            kind = "MAP_SHARED" if flags & MAP_SHARED else "MAP_PRIVATE"
            return (f"mmap({hex(addr)}, {hex(length)}, PROT_READ|PROT_WRITE, "
                    f"{kind}|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)")
        if self.op == "touch":
            addr, length, write = a
            if write:
                return f"memset((void *){hex(addr)}, 0x5a, {hex(length)})"
            return f"read one byte of every page in [{hex(addr)}, {hex(addr + length)})"
        if self.op == "mremap":  # (old, len, new), or (old, 0, new, new_len): a zero-length duplicate
            old, length, new = a[:3]
            new_len = a[3] if len(a) > 3 else length
            return f"mremap({hex(old)}, {hex(length)}, {hex(new_len)}, MREMAP_MAYMOVE|MREMAP_FIXED, {hex(new)})"
        if self.op == "uffd":
            addr, length = a
            return (f"userfaultfd(): UFFDIO_API without UFFD_FEATURE_EVENT_REMAP, UFFDIO_REGISTER "
                    f"[{hex(addr)}, {hex(addr + length)}) with UFFDIO_REGISTER_MODE_WP")
        arg_bytes, shift = a
        return f"execve() with {hex(arg_bytes)} bytes of arguments, the stack top randomized {hex(shift)} down"

    def to_json(self) -> dict:
        return {"op": self.op, "args": [hex(x) if isinstance(x, int) and not isinstance(x, bool) else x
                                        for x in self.args], "c": self.c()}


@dataclass
class Reachability:
    """Whether a program can bring the kernel to the scenario, and how (``steps``), or why not."""

    reachable: bool
    steps: list[Step] = field(default_factory=list)
    reason: str = ""
    needs: str = ""  # what the program cannot do by itself (an allocation failure)

    def to_json(self) -> dict:
        return {"reachable": self.reachable, "steps": [s.to_json() for s in self.steps], "reason": self.reason,
                "needs": self.needs}

    def lines(self) -> list[str]:
        if not self.reachable:
            return [f"no recipe: {self.reason}"]
        out = [f"{i}. {s.c()}" for i, s in enumerate(self.steps, 1)]
        if self.needs:
            out.append(f"and {self.needs}")
        return out


def replay_steps(s: Scenario, steps: list[Step]) -> Scenario:
    """Run the steps in the simulator; the last one (mremap or exec) gives the call."""
    mm = AddressSpace(s.geometry)
    call = None
    for st in steps:
        if st.op == "mmap":
            mm.mmap(*st.args)
        elif st.op == "touch":
            mm.touch(*st.args)
        elif st.op == "uffd":
            mm.uffd_register_wp(*st.args)
        elif st.op == "mremap":
            old, length, new = st.args[:3]
            call = mm.mremap(old, length, st.args[3] if len(st.args) > 3 else length, MREMAP_MAYMOVE | MREMAP_FIXED,
                             new)
        elif st.op == "exec":
            _, call = exec_stack(s.geometry, *st.args)
        else:
            raise InputError("recipe", f"unknown step {st.op!r}")
    if call is None:
        raise InputError("recipe", "the steps make no move_page_tables() call")
    return call


def _same(a: Scenario, b: Scenario) -> bool:
    strip = lambda vs: tuple(Vma(v.start, v.end, v.populated, uffd_wp=v.uffd_wp) for v in vs)  # noqa: E731
    mv_a, mv_b = a.move, b.move
    return strip(a.vmas) == strip(b.vmas) and (mv_a.old_vma, mv_a.new_vma, mv_a.old_addr, mv_a.new_addr, mv_a.len,
                                               mv_a.for_stack) == (mv_b.old_vma, mv_b.new_vma, mv_b.old_addr,
                                                                   mv_b.new_addr, mv_b.len, mv_b.for_stack)


def _stack(s: Scenario) -> Reachability:
    g, mv = s.geometry, s.move
    v = s.vmas[mv.old_vma]
    most_shift = stack_shift_max(g)
    shift = mv.old_addr - mv.new_addr
    why = []
    if len(s.vmas) > 1:
        why.append(f"exec moves the stack in a new mm that holds only the stack, not {len(s.vmas)} VMAs")
    if v.end != g.task_size:
        why.append(f"the stack ends at STACK_TOP_MAX {hex(g.task_size)}, not {hex(v.end)}")
    if mv.len > stack_len_max(g):
        why.append(f"exec copies at most {hex(MAX_ARG_BYTES)} bytes of arguments, the stack holds {hex(mv.len)}")
    if shift > most_shift:
        why.append(f"randomize_stack_top() moves the stack down by at most {hex(most_shift)}, not {hex(shift)}")
    if not v.populated:
        why.append("the arguments are written to every page of the stack, which is unpopulated here")
    if v.uffd_wp:
        why.append("exec's new stack is registered with no userfaultfd")
    if why:
        return Reachability(False, reason="; ".join(why))
    needs = ""
    if mv.len > DEFAULT_ARG_BYTES:  # bprm_stack_limits(): a quarter of the stack rlimit
        needs = f"a stack rlimit of at least {hex(4 * mv.len)} (ulimit -s) for {hex(mv.len)} bytes of arguments"
    return Reachability(True, [Step("exec", (mv.len, shift))], needs=needs)


def _mmap(v: Vma, shared: bool) -> list[Step]:
    flags = (MAP_SHARED if shared else MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE
    steps = [Step("mmap", (v.start, v.end - v.start, "rw", flags))]
    if v.populated:  # private memory is only read, so that it keeps anon_vma NULL
        steps.append(Step("touch", (v.start, v.end - v.start, shared)))
    return steps


def _mremap(s: Scenario) -> Reachability:
    mv = s.move
    new_end = mv.new_addr + mv.len
    dst = s.vmas[mv.new_vma]
    steps: list[Step] = []
    # (a zero-length move's new VMA is as long as mremap()'s new_len: any that starts at new_addr)
    if mv.old_vma != mv.new_vma and dst.start == mv.new_addr and (dst.end == new_end or mv.len == 0):
        # a fresh VMA: nothing merges, every VMA is shmem of its own
        for i, v in enumerate(s.vmas):
            if i != mv.new_vma:
                steps += _mmap(v, shared=True)
    else:
        # the new VMA merged: the source and the destination's neighbours are private anonymous
        # and unwritten; in the target they are the merged VMA (and the source, if apart)
        private = {mv.new_vma, mv.old_vma}
        for i, v in enumerate(s.vmas):
            if i == mv.new_vma and i != mv.old_vma:
                pieces = [Vma(v.start, mv.new_addr, v.populated), Vma(new_end, v.end, v.populated)]
                for p in pieces:
                    if p.start < p.end:
                        steps += _mmap(p, shared=False)
            else:
                steps += _mmap(v, shared=i not in private)
    # userfaultfd-wp registrations, after the writes (a write-protected page would fault), of
    # every registered VMA but the new one, which the mremap makes as a copy of the source
    steps += [Step("uffd", (v.start, v.end - v.start)) for i, v in enumerate(s.vmas)
              if v.uffd_wp and (i != mv.new_vma or i == mv.old_vma)]
    if mv.len == 0:  # mremap(old, 0, new_len): the new VMA is the destination's whole size
        steps.append(Step("mremap", (mv.old_addr, 0, mv.new_addr, dst.end - dst.start)))
    else:
        steps.append(Step("mremap", (mv.old_addr, mv.len, mv.new_addr)))
    return Reachability(True, steps)


def find_recipe(s: Scenario, any_uffd: bool = False) -> Reachability:
    """A recipe the simulator confirms, or why none was found (see the module's description).
    With ``any_uffd`` an mremap's new VMA may have another userfaultfd state than its source:
    the recipe is the one for the source's, and says that the state asked for is not the one it
    makes (search.UFFD_FREE)."""
    mv = s.move
    if any_uffd and not mv.for_stack and mv.old_vma != mv.new_vma and s.old_vma.uffd_wp != s.new_vma.uffd_wp:
        import dataclasses
        vmas = list(s.vmas)
        vmas[mv.new_vma] = dataclasses.replace(s.new_vma, uffd_wp=s.old_vma.uffd_wp)
        r = find_recipe(dataclasses.replace(s, vmas=tuple(vmas)))
        if r.reachable:
            r.needs = ((f"{r.needs}; " if r.needs else "") +
                       f"the new VMA {'with' if s.new_vma.uffd_wp else 'without'} a userfaultfd context during the "
                       f"moves, unlike its source, which these kernels do not make (vm_area_dup() copies it; "
                       f"mremap_userfaultfd_prep() clears it after the moves)")
        return r
    r = _stack(s) if s.move.for_stack else _mremap(s)
    if not r.reachable:
        return r
    try:
        got = replay_steps(s, r.steps)
    except SyscallError as e:
        return Reachability(False, reason=f"the constructed calls fail: {e}")
    except Unrepresentable as e:  # mappings merged where the scenario has apart ones
        return Reachability(False, reason=f"the constructed calls lead elsewhere: at the mremap {e.message}")
    if not _same(got, s):
        return Reachability(False, reason="the constructed calls lead elsewhere (VMAs the kernel would merge, or "
                                          f"split differently):\n{got.dumps()}")
    if s.move.stop_at is not None:
        r.needs = (f"{r.needs}; " if r.needs else "") + (f"an allocation failure at {hex(s.move.stop_at)} (the first page-table allocation there; "
                   "fault injection, e.g. CONFIG_FAIL_PAGE_ALLOC)")
    return r


def _key(mm: AddressSpace) -> tuple:
    """What decides the future of an address space for the search (shmem objects by kind only:
    two of them never merge, whichever they are)."""
    return (tuple((a.start, a.end, a.shared, a.file is None, a.anon_vma is None, a.pgoff if a.file is None else 0)
                  for a in mm.areas),
            tuple((x.lower, x.upper) for x in mm.entries if not x.empty))


def shortest_recipe(s: Scenario, max_calls: int, budget: int = 20000) -> tuple[Reachability, int]:
    """Breadth-first search for a shortest recipe of at most ``max_calls`` calls before the mremap:
    mmap of shared or private anonymous memory over any range between the scenario's boundary
    points (its VMAs' bounds, the source and destination ranges), and read or write faults of
    any mapped such range that must end up populated.  Every state is the system-call
    simulator's; the first one from which the mremap reaches exactly ``s`` ends the search.
    Returns (the result, states expanded); none within the bound, or past ``budget`` expanded
    states, is reported as such."""
    import copy
    from collections import deque

    import portion as P

    mv = s.move
    if mv.for_stack:
        return _stack(s), 0
    points = sorted({v.start for v in s.vmas} | {v.end for v in s.vmas}
                    | {mv.old_addr, mv.old_addr + mv.len, mv.new_addr, mv.new_addr + mv.len})
    spans = [(a, b) for i, a in enumerate(points) for b in points[i + 1:]]
    unpopulated = P.empty()  # entries there could not be removed again by these calls
    for v in s.vmas:
        if not v.populated:
            unpopulated |= P.closedopen(v.start, v.end)
    unpopulated -= P.closedopen(mv.new_addr, mv.new_addr + mv.len)
    start = AddressSpace(s.geometry)
    seen, queue, expanded = {_key(start)}, deque([(start, [])]), 0
    while queue:
        mm, steps = queue.popleft()
        trial = copy.deepcopy(mm)
        try:
            if _same(trial.mremap(mv.old_addr, mv.len, mv.len, MREMAP_MAYMOVE | MREMAP_FIXED, mv.new_addr), s):
                return Reachability(True, [*steps, Step("mremap", (mv.old_addr, mv.len, mv.new_addr))]), expanded
        except (SyscallError, InputError):
            pass
        if len(steps) >= max_calls:
            continue
        expanded += 1
        if expanded > budget:
            return Reachability(False, reason=f"the search stopped after {budget} states"), expanded
        for a, b in spans:
            moves = [Step("mmap", (a, b - a, "rw", kind | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE))
                     for kind in (MAP_SHARED, MAP_PRIVATE)]
            if (P.closedopen(a, b) & unpopulated).empty:
                moves += [Step("touch", (a, b - a, write)) for write in (True, False)]
            for st in moves:
                nxt = copy.deepcopy(mm)
                try:
                    (nxt.mmap if st.op == "mmap" else nxt.touch)(*st.args)
                except SyscallError:
                    continue
                k = _key(nxt)
                if k not in seen:
                    seen.add(k)
                    queue.append((nxt, [*steps, st]))
    return Reachability(False, reason=f"no sequence of at most {max_calls} mmap and fault calls at the "
                                      "scenario's boundary addresses reaches it"), expanded


# --- a program of calls, run through the simulator ---------------------------------------------

#: each call's fields in the order they are shown: (numbers, flags)
_CALL_KEYS = {"mmap": (("addr", "len"), ("shared",)), "write": (("addr", "len"), ()),
              "read": (("addr", "len"), ()), "uffd_wp": (("addr", "len"), ()),
              "mremap": (("old", "len", "new"), ("dontunmap",))}


def load_calls(path: str) -> tuple["Geometry", list[dict]]:
    """A JSON program: ``{"schema": 1, "geometry": NAME, "calls": [...]}``, each call one of
    ``{"op": "mmap", "addr", "len", "shared"}`` (anonymous memory, MAP_FIXED_NOREPLACE),
    ``{"op": "write"|"read", "addr", "len"}`` (faults), ``{"op": "uffd_wp", "addr", "len"}``
    (userfaultfd-wp without EVENT_REMAP) and ``{"op": "mremap", "old", "len", "new",
    "dontunmap"}`` (MREMAP_MAYMOVE|MREMAP_FIXED, old_len == new_len).  Any problem is an
    InputError naming the file and the field."""
    from modelcheck.model.geometry import get_geometry
    from modelcheck.model.scenario import _bool, _check_keys, _text, parse_number, read_json_file
    data = read_json_file(path)
    try:
        _check_keys(data, "", {"schema", "geometry", "calls"}, set())
        if data["schema"] != 1 or type(data["schema"]) is not int:
            raise InputError("schema", "expected the integer 1")
        g = get_geometry(_text(data["geometry"], "geometry"))
        if not isinstance(data["calls"], list) or not data["calls"]:
            raise InputError("calls", "expected a non-empty list")
        calls = []
        for i, c in enumerate(data["calls"]):
            where = f"calls[{i}]"
            if not isinstance(c, dict) or c.get("op") not in _CALL_KEYS:
                raise InputError(f"{where}.op", f"expected one of {', '.join(_CALL_KEYS)}")
            need, optional = _CALL_KEYS[c["op"]]
            _check_keys(c, where, {"op", *need}, set(optional))
            call = {"op": c["op"]}
            for key in need:
                call[key] = parse_number(c[key], f"{where}.{key}")
            for key in optional:
                call[key] = _bool(c.get(key, False), f"{where}.{key}")
            calls.append(call)
    except InputError as e:
        raise InputError(f"{path}: {e.where}" if e.where else path, e.message) from None
    return g, calls


def is_program(path: str) -> bool:
    """Whether the JSON file at ``path`` is a program of calls (it has "calls") rather than a
    scenario; a file that is not JSON is neither, which the scenario reader then says."""
    from modelcheck.model.scenario import read_json_file
    try:
        data = read_json_file(path)
    except InputError:
        return False
    return isinstance(data, dict) and "calls" in data


def dump_calls(g: "Geometry", calls: list[dict]) -> str:
    """A program as load_calls reads it back: addresses and lengths in hex."""
    import json
    rows = [json.dumps({k: hex(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in c.items()})
            for c in calls]
    return ('{"schema": 1, "geometry": "' + g.name + '",\n "calls": [' + ",\n           ".join(rows) + "]}\n")


@dataclass
class CallResult:
    """One call of a program: what it did (``error``: the errno and why, as the kernel refuses it)
    and, for an mremap, each piece's move_page_tables() call."""

    index: int
    call: dict
    error: str = ""
    pieces: list = field(default_factory=list)


def run_calls(g: "Geometry", calls: list[dict], multi: bool = True) -> list[CallResult]:
    """Run the program through the system-call simulator; ``multi``: mremap as 6.17 and later
    make it (remap_move(): a piece per VMA), else one VMA per mremap (6.12)."""
    from modelcheck.userspace.syscalls import MREMAP_DONTUNMAP
    mm = AddressSpace(g)
    out = []
    for i, c in enumerate(calls):
        r = CallResult(i, c)
        try:
            if c["op"] == "mmap":
                kind = MAP_SHARED if c["shared"] else MAP_PRIVATE
                mm.mmap(c["addr"], c["len"], "rw", kind | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
            elif c["op"] in ("write", "read"):
                mm.touch(c["addr"], c["len"], c["op"] == "write")
            elif c["op"] == "uffd_wp":
                mm.uffd_register_wp(c["addr"], c["len"])
            else:
                flags = MREMAP_MAYMOVE | MREMAP_FIXED | (MREMAP_DONTUNMAP if c["dontunmap"] else 0)
                if multi:
                    moved = mm.remap_move(c["old"], c["len"], flags, c["new"])
                    r.pieces = moved.pieces
                    if moved.error is not None:
                        r.error = str(moved.error)
                else:
                    r.pieces = [mm.mremap(c["old"], c["len"], c["len"], flags, c["new"])]
        except SyscallError as e:
            r.error = str(e)
        except Unrepresentable as e:  # (a VMA only partly populated at a move_page_tables() call)
            r.error = f"the state at move_page_tables() is not a scenario: {e.message}"
        out.append(r)
    return out
