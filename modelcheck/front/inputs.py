"""What the user names on the command line, loaded and checked: scenario files (JSON or a
counterexample's GraphML, with the claim they carry), C variants from files or from a kernel
tree and its patches, a side of ``diff`` or a row of ``history`` (a variant id, FILE.c, DIR or
DIR+PATCH...).  Errors name the option or the file at fault (InputError, exit 2).

The C variants a command loads are registered under their ids for as long as the command runs
(``REGISTERED``; the command line releases them when it ends, ``release()``), so that the
engine finds them by id like the built-ins."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from modelcheck.checks import CHECKS
from modelcheck.errors import InputError
from modelcheck.model.geometry import LEVELS
from modelcheck.model.variants import get_variant, variant_ids

if TYPE_CHECKING:
    from modelcheck.model.scenario import Claim, Scenario

__all__ = ["REGISTERED", "release", "c_id", "c_variant_of", "side", "named_by", "kernel_tree", "one_source",
           "load_any", "judge", "load_claimed"]

#: the ids of the C variants the running command registered
REGISTERED: list[str] = []


def release() -> None:
    """Unregister the running command's C variants (tests run many commands in one process)."""
    from modelcheck.model.variants import unregister
    while REGISTERED:
        unregister(REGISTERED.pop())


def c_id(path: str) -> str:
    """A C file's variant id: its name without .c, or the path itself where that name is taken
    (a built-in id such as properties/c/v6.15.c, or another file of this command)."""
    stem = Path(path).stem
    return path if stem in variant_ids() else stem


def c_variant_of(c_files: tuple[str, ...], base: str | None, function: str | None, tree: str | None = None,
               patches: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """The variant of the C files or of the tree (with its patches), registered under the first
    file's name or the tree's version, and where its functions came from ((None, None) without
    either)."""
    if patches and not tree:
        raise InputError("--patch", "needs --tree DIR (the patch is applied to a copy of DIR's mm/mremap.c)")
    if tree and c_files:
        raise InputError("--tree", "give --c-file or --tree, not both")
    if not c_files and not tree:
        return None, None
    from modelcheck.front.cfront import load_c, load_tree
    from modelcheck.model.variants import register
    if tree:
        v, linkage = load_tree(tree, patches, base, function)
    else:
        v, linkage = load_c(list(c_files), base, function, vid=c_id(c_files[0]))
    if v.id in variant_ids() and v.id not in REGISTERED:
        raise InputError("--tree" if tree else "--c-file", f"{v.id} is a built-in variant's id; rename the file")
    REGISTERED.append(v.id)
    return register(v), linkage


def side(x: str, name: str, base: str | None, function: str | None) -> Any:
    """A side of diff or a row of history: a kernel tree (DIR, or DIR+PATCH with patches applied
    in order) or a C file, as a registered variant, or a variant id."""
    if not x.strip():
        raise InputError(name, "an empty name (a variant id, FILE.c, DIR or DIR+PATCH[+PATCH...])")
    if x in variant_ids() and x not in REGISTERED:
        return get_variant(x)
    parts = x.split("+")
    for i in range(len(parts), 0, -1):  # the longest prefix that is a directory (a path may hold '+')
        head = "+".join(parts[:i])
        if Path(head).is_dir():
            patches = tuple(parts[i:])
            for p in patches:
                if not Path(p).is_file():
                    raise InputError(name, f"{p}: no such patch file (a side is DIR or DIR+PATCH[+PATCH...])")
            v, _ = c_variant_of((), base, function, head, patches)
            return v
    if x.endswith(".c") or Path(x).is_file():
        v, _ = c_variant_of((x,), base, function)
        return v
    if "/" in x:
        raise InputError(name, f"{x}: no such directory or file (a variant id, FILE.c, DIR or "
                               "DIR+PATCH[+PATCH...])")
    try:
        return get_variant(x)
    except InputError as e:
        raise InputError(name, e.message) from None


@contextlib.contextmanager
def named_by(path: str) -> Iterator[None]:
    """A move too long for the simulator, named by the file the scenario came from."""
    from modelcheck.model.simulate import TooLong
    try:
        yield
    except TooLong as e:
        raise InputError(f"{path}: {e.where}", e.message) from None


def kernel_tree(tree: str) -> Path:
    """--tree as a kernel source tree (it has mm/mremap.c)."""
    if not (Path(tree) / "mm" / "mremap.c").is_file():
        raise InputError("--tree", f"{tree}: not a kernel source tree (no mm/mremap.c)")
    return Path(tree)


def one_source(vid: str | None, c_files: tuple[str, ...], tree: str | None, patches: tuple[str, ...],
                hint: str = "") -> None:
    """Exactly one of a variant id, C files and a tree (--patch only with --tree)."""
    if patches and not tree:
        raise InputError("--patch", "needs --tree DIR (the patch is applied to a copy of DIR's mm/mremap.c)")
    if vid and (c_files or tree):
        raise InputError("--variant", f"give a variant id, --c-file or --tree, not two{hint}")
    if not vid and not c_files and not tree:
        raise InputError("--variant", "give a variant id, --c-file or --tree")


def load_any(path: str) -> Scenario:
    """A scenario from a JSON scenario file or a counterexample's GraphML (its claim, if any, kept)."""
    from modelcheck.model.scenario import Claim, load_scenario
    if path.endswith(".graphml"):
        from modelcheck.output.graph import read_graph_scenario
        s, attrs = read_graph_scenario(path)
        if "variant" in attrs and "property" in attrs:
            from dataclasses import replace
            if attrs.get("level", "pmd") not in LEVELS:
                raise InputError(f"{path}: level", f"expected pmd or pud, got {attrs['level']!r}")
            s = replace(s, claim=Claim(attrs["variant"], attrs["property"], attrs.get("level", "pmd")))
        return s
    return load_scenario(path)


def judge(path: str, s: Scenario, claim: Claim) -> Any:
    """semantics.judge() on a file's scenario, a move too long to simulate named by the file."""
    from modelcheck.model.semantics import judge
    with named_by(path):
        return judge(s, get_variant(claim.variant), claim.property, claim.level)


def c_source(c_files: tuple[str, ...], base: str | None, function: str | None, tree: str | None,
             patches: tuple[str, ...]) -> dict | None:
    """Where a variant from C comes from, as a saved counterexample records it (Claim.source)."""
    if tree:
        return {"tree": str(Path(tree).resolve()), "patches": [str(Path(p).resolve()) for p in patches]}
    if c_files:
        return {"c_files": [str(Path(p).resolve()) for p in c_files], "base": base, "function": function}
    return None


def load_claimed(path: str, vid: str | None, pid: str | None, level: str | None) -> tuple[Scenario, Claim]:
    """A scenario file (JSON or GraphML) and what to check on it: the options, else the file's
    claim.  A claim about a variant from C is read from where the claim says it came from
    (Claim.source: the tree and its patches, or the C files), which must still be there."""
    from modelcheck.model.scenario import Claim
    s = load_any(path)
    recorded = s.claim
    if recorded is None and not (vid and pid):
        raise InputError(f"{path}: claim", "the file names no variant and property; give --variant and --property")
    claim = Claim(vid or recorded.variant, pid or recorded.property,  # type: ignore[union-attr]
                  level or (recorded.level if recorded else "pmd"))
    if recorded is not None and recorded.source and claim.variant == recorded.variant \
            and claim.variant not in variant_ids():
        src = recorded.source
        try:
            v, _ = c_variant_of(tuple(src.get("c_files", ())), src.get("base"), src.get("function"), src.get("tree"),
                                tuple(src.get("patches", ())))
        except InputError as e:
            raise InputError(f"{path}: claim.source", f"{e.where}: {e.message}") from None
        if v.id != claim.variant:
            raise InputError(f"{path}: claim.source", f"it now reads as {v.id}, not {claim.variant}")
        claim = dataclasses.replace(claim, source=src)
    get_variant(claim.variant)
    if claim.property not in CHECKS:
        raise InputError(f"{path}: claim.property", f"unknown property {claim.property!r}")
    return s, claim
