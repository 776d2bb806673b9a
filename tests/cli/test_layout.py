"""The module map (modelcheck/__init__.py's docstring, copied in README "Layout") against the
imports: every module is in it once, a module imports only modules listed before it (no cycles,
lazy imports included), z3 only where the map says."""

import ast
import re
from pathlib import Path

import modelcheck

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "modelcheck"
LAYER = re.compile(r"^    (\w[\w ]*?)\s{2,}(.+)$")


def stated_layers(text: str) -> list[tuple[str, list[str]]]:
    """(layer, modules) from the map's lines after "Layers, in order": ``    NAME   a, b (z3), c``."""
    out: list[tuple[str, list[str]]] = []
    for line in text[text.index("Layers, in order"):].splitlines()[1:]:
        m = LAYER.match(line)
        if m:
            out.append((m.group(1), [x.strip() for x in m.group(2).split(",") if x.strip()]))
        elif out and line.startswith(" " * 16) and line.strip():  # a layer's list goes on
            out[-1][1].extend(x.strip() for x in line.split(",") if x.strip())
        elif out:
            break
    return out


def stated_order() -> tuple[list[str], set[str]]:
    order, z3_users = [], set()
    for _, mods in stated_layers(modelcheck.__doc__):
        for entry in mods:
            name = entry.replace("(z3)", "").strip()
            order.append(name)
            if "(z3)" in entry:
                z3_users.add(name)
    return order, z3_users


def module_of(path: Path) -> str:
    """``solver.search`` for modelcheck/solver/search.py; a property module is ``checks``."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return "checks" if parts[0] == "checks" else ".".join(parts)


def mapped(dotted: str) -> str | None:
    """The map's name of an imported module (``modelcheck.solver.search`` -> ``solver.search``),
    None for a subpackage itself."""
    name = dotted.removeprefix("modelcheck.")
    if name.split(".")[0] == "checks":
        return "checks"
    return None if (PACKAGE / name.replace(".", "/")).is_dir() else name


class Imports(ast.NodeVisitor):
    """Every import a module executes (at load or in a function), not those under TYPE_CHECKING,
    as (imported top-level module, enclosing function name or None)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str | None]] = []
        self.function: list[str] = []

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for x in node.orelse:
                self.visit(x)
            return
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.function.append(node.name)
        self.generic_visit(node)
        self.function.pop()

    def _add(self, name: str) -> None:
        where = self.function[0] if self.function else None
        if name == "z3" or name.startswith("z3."):
            self.found.append(("z3", where))
        elif name.startswith("modelcheck."):
            target = mapped(name)
            if target is not None:
                self.found.append((target, where))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.module.startswith("modelcheck") and mapped(node.module) is None:
            for a in node.names:  # from modelcheck(.sub) import module
                self._add(f"{node.module}.{a.name}")
        elif node.module:
            self._add(node.module)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._add(a.name)


def imports() -> dict[str, list[tuple[str, str | None, Path]]]:
    out: dict[str, list] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py" and path.parent != PACKAGE / "checks":
            continue  # the package's and the layers' docstrings (and the old names' aliases)
        v = Imports()
        v.visit(ast.parse(path.read_text()))
        out.setdefault(module_of(path), []).extend((m, f, path) for m, f in v.found)
    return out


def test_every_module_is_in_the_map_once():
    order, _ = stated_order()
    assert len(order) == len(set(order)), order
    on_disk = {module_of(p) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent.name == "checks"}
    assert set(order) == on_disk, (set(order) ^ on_disk)


def test_imports_flow_down_the_map():
    order, z3_users = stated_order()
    pos = {m: i for i, m in enumerate(order)}
    wrong = []
    for mod, found in imports().items():
        for target, function, path in found:
            if target == mod:
                continue
            # a property's symbolic half: checks/*.py's violation() builds its formula with the
            # solver layer, imported when the solver asks for it (missed-optimization's is its goal)
            symbolic = ("violation", "fault_property", "safe_realignment", "declined_but_safe", "right_everywhere")
            if mod == "checks" and function in symbolic and target in ("solver.encoding", "z3"):
                continue
            if target == "z3":
                if mod not in z3_users:
                    wrong.append(f"{path.relative_to(ROOT)}: imports z3, which the map does not say")
            elif pos[target] >= pos[mod]:
                wrong.append(f"{path.relative_to(ROOT)}: {mod} imports {target}, listed after it")
    assert not wrong, "\n".join(wrong)


def test_z3_users_use_z3():
    _, z3_users = stated_order()
    found = {mod for mod, f in imports().items() if any(t == "z3" for t, _, _ in f)}
    assert z3_users <= found, z3_users - found


def test_readme_copies_the_map():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    assert stated_layers(layout) == stated_layers(modelcheck.__doc__)


def test_every_subpackage_is_installed():
    # pyproject.toml lists the packages explicitly: a subpackage missing there is absent from
    # `pip install .`, and the installed command fails on import (the tests, run from the
    # source tree, would not notice)
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert on_disk <= listed, on_disk - listed


def test_the_flat_names_still_import_as_the_same_modules():
    # code written against modelcheck.search, modelcheck.variants, … before the subpackages
    import importlib
    for old, layer in modelcheck._MOVED.items():
        assert importlib.import_module(f"modelcheck.{old}") is importlib.import_module(f"modelcheck.{layer}.{old}")
    from modelcheck.search import check
    assert check.__module__ == "modelcheck.solver.search"
