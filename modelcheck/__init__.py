"""modelcheck: a model checker for the realignment of move_page_tables() in Linux mm/mremap.c.

Modules in data-flow order (imports flow one way, left to right):

    errors → geometry → scenario → ops → variants → spec → simulate → semantics → report → cli

* ``geometry``   page-table shapes of real configurations (and toy scale models);
* ``scenario``   the kernel state at the call: VMAs and the move, JSON in and out;
* ``ops``        the kernel operations variants are written against, on plain ints;
* ``variants``   every historic version of the decision, written once;
* ``spec``       the named properties (data in ``properties/``);
* ``simulate``   a sparse page-table model of the move loop, independent of the variants;
* ``semantics``  one variant on one scenario: decision, move, property verdicts;
* ``report``     text views in kernel terms (/proc/self/maps-like);
* ``cli``        the ``modelcheck`` command.
"""

__version__ = "0.1.0"
