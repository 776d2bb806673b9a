"""no-predicate-warn: no WARN_ON_ONCE() on the decision's path fires."""

from modelcheck.checks.faults import fault_property

PROPERTY = fault_property("no-predicate-warn", "warn", "WARN_ON_ONCE() fires", "WARN_ON_ONCE() fires")
