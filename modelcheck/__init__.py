"""modelcheck: a model checker for the realignment of move_page_tables() in Linux mm/mremap.c.

Modules in data-flow order (imports flow one way, left to right):

    errors → geometry → scenario → ops → variants → spec → simulate → semantics
    → encoding (z3) → search → matrix → report → cli

* ``geometry``   page-table shapes of real configurations (and toy scale models);
* ``scenario``   the kernel state at the call: VMAs and the move, JSON in and out;
* ``ops``        the kernel operations variants are written against, on plain ints;
* ``variants``   every historic version of the decision, written once;
* ``spec``       the named properties (data in ``properties/``);
* ``simulate``   a sparse page-table model of the move loop, independent of the variants;
* ``semantics``  one variant on one scenario: decision, move, property verdicts;
* ``encoding``   the Z3 terms: symbolic layouts and moves, variants, property negations;
* ``search``     check (prove/refute, shrink, replay), missed-optimization, diff;
* ``matrix``     many checks in parallel processes, counterexample files;
* ``report``     text views in kernel terms (/proc/self/maps-like);
* ``ksource``    kernel C as shipped: preprocessed (pcpp), functions found by name, trees, patches;
* ``cfront``     realignment C run exactly on either backend, move_page_tables() cut at its loop;
* ``cli``        the ``modelcheck`` command.
"""

__version__ = "0.1.0"
