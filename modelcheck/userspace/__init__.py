"""From scenarios to user space: the system-call simulator, recipes that reach a scenario, kselftest-style reproducers."""
