"""modelcheck: a model checker for the realignment of move_page_tables() in Linux mm/mremap.c.

Layers, in order (a module imports only modules listed before it, at load time or inside a
function; tests/cli/test_layout.py checks it; "(z3)" marks the modules that use the solver):

    base        errors, _data, settings, files
    model       model.geometry, model.scenario, model.ops, model.variants, checks, model.simulate,
                model.semantics
    output      output.report, output.formats.jsondoc, output.formats.sarif, output.formats.graphml,
                output.formats.nodelink, output.formats.dot, output.graph, output.picture
    user space  userspace.syscalls, userspace.recipe, userspace.reproduce, userspace.program,
                userspace.kselftest
    solver      solver.encoding (z3), solver.search (z3), solver.pool
    C           front.ksource, front.cparse, front.cinterp, front.cfront, front.compiled,
                front.inputs, front.review (z3), front.fixes
    runs        runs.gallery, runs.matrix, runs.kpatch, runs.differential, runs.kernel
    tools       enumeration, bench (z3), cli, __main__

One exception: a property of ``checks/`` states its negation for the solver in its
``violation()``, which imports the solver layer when the solver calls it, so that a property is
one module (README, "Your own property").

* ``settings``   how the checker solves: one immutable value passed down (no module state);
* ``geometry``   page-table shapes of real configurations (and toy scale models);
* ``scenario``   the kernel state at the call: VMAs and the move, JSON in and out;
* ``ops``        the kernel operations variants are written against, on plain ints;
* ``variants``   every historic version of the decision, written once;
* ``checks``     the properties, one module each (statement, judgement, negation, drawing);
* ``simulate``   a sparse page-table model of the move loop, independent of the variants;
* ``semantics``  one variant on one scenario: decision, move, property verdicts;
* ``report``     text views in kernel terms (/proc/self/maps-like); ``graph``, ``picture``;
* ``formats``    one module per file format: ``jsondoc`` (--json), ``sarif`` (findings for editors
  and CI), a graph's ``graphml``, ``nodelink`` and ``dot``;
* ``syscalls``   a system-call simulator; ``recipe`` the calls that reach a scenario;
  ``reproduce``  kselftest-style C reproducers; ``program`` a program of calls as C;
  ``kselftest`` the reproducers as a kselftest target;
* ``encoding``   the Z3 terms: symbolic layouts and moves, variants as terms;
* ``search``     check (prove/refute, shrink, replay), missed-optimization, diff;
* ``pool``       independent questions on spawned worker processes (the matrix, review);
* ``ksource``    kernel C as shipped: preprocessed (pcpp), functions found by name, trees, patches;
* ``cparse``     kernel C parsed at its positions, move_page_tables() cut at its loop;
* ``cinterp``    that C run exactly on either backend, or refused at FILE:LINE:COL;
* ``cfront``     variants from C: linked over a base, smoke-run, early returns as exits;
* ``compiled``   the same C compiled with kernel stubs and run on random states: the interpreter's
  second opinion;
* ``inputs``     what the command line names, loaded: scenario files, C files, trees and patches;
* ``review``     a predicate condition by condition; ``fixes`` one-token edits that fix it, proved;
* ``matrix``     many checks on the workers, counterexample files, the gallery;
* ``kernel``     real kernels under QEMU (``kpatch`` patches a tree with a predicate;
  ``differential`` draws seeded random scenarios at the predicate's edges to run there);
* ``cli``        the ``modelcheck`` command; ``bench`` the benchmark; ``enumeration`` every
  small state (the cross-check of the solver).

Each layer but base and tools is a subpackage (``modelcheck/model/``, ``modelcheck/solver/``, …);
the names of the flat layout before it (``modelcheck.search``, ``modelcheck.variants``, …) still
import, as the same module objects (``_Aliases``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

#: the modules' names before the subpackages, for code written against them
_MOVED = {
    "geometry": "model", "scenario": "model", "ops": "model", "variants": "model", "simulate": "model",
    "semantics": "model", "report": "output", "graph": "output", "picture": "output",
    "syscalls": "userspace", "recipe": "userspace", "reproduce": "userspace", "encoding": "solver",
    "search": "solver", "ksource": "front", "cfront": "front", "review": "front", "sarif": "output.formats",
    "gallery": "runs", "matrix": "runs", "kpatch": "runs", "kernel": "runs",
}


#: modules that moved between subpackages
_RENAMED = {"front.sarif": "output.formats.sarif"}


class _Aliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import modelcheck.search`` gives ``modelcheck.solver.search`` itself (one module, not a
    copy), imported only when asked for."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        head, _, tail = name.partition(".")
        if head != __name__ or (tail not in _MOVED and tail not in _RENAMED):
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> object:
        tail = spec.name.split(".", 1)[1]
        if tail in _RENAMED:
            return importlib.import_module(f"{__name__}.{_RENAMED[tail]}")
        return importlib.import_module(f"{__name__}.{_MOVED[tail]}.{tail}")

    def exec_module(self, module: object) -> None:
        pass


sys.meta_path.insert(0, _Aliases())  # before any finder that knows the old files (an editable install)
