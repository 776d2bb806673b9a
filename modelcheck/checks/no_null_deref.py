"""no-null-deref: the decision never dereferences a NULL VMA pointer."""

from modelcheck.checks.faults import fault_property

PROPERTY = fault_property("no-null-deref", "oops", "a NULL VMA pointer is dereferenced", "NULL dereference")
