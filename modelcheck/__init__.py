"""modelcheck: a model checker for the realignment of move_page_tables() in Linux mm/mremap.c.

Layers, in order (a module imports only modules listed before it, at load time or inside a
function; tests/cli/test_layout.py checks it; "(z3)" marks the modules that use the solver):

    base        errors, _data, settings, geometry, files
    model       scenario, ops, variants, checks, simulate, semantics
    report      report, graph, picture
    user space  syscalls, recipe, reproduce
    solver      encoding (z3), search (z3)
    C           ksource, cfront, review (z3), sarif
    runs        gallery, matrix, kpatch, kernel
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
* ``syscalls``   a system-call simulator; ``recipe`` the calls that reach a scenario;
  ``reproduce``  kselftest-style C reproducers;
* ``encoding``   the Z3 terms: symbolic layouts and moves, variants as terms;
* ``search``     check (prove/refute, shrink, replay), missed-optimization, diff;
* ``ksource``    kernel C as shipped: preprocessed (pcpp), functions found by name, trees, patches;
* ``cfront``     realignment C run exactly on either backend, move_page_tables() cut at its loop;
* ``review``     a predicate condition by condition; ``sarif`` findings for editors and CI;
* ``matrix``     many checks in parallel processes, counterexample files, the gallery;
* ``kernel``     real kernels under QEMU (``kpatch`` patches a tree with a predicate);
* ``cli``        the ``modelcheck`` command; ``bench`` the benchmark; ``enumeration`` every
  small state (the cross-check of the solver).
"""

__version__ = "0.1.0"
