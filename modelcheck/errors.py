"""Errors the command line turns into exit codes: bad input (2), and a run that could not finish
or an internal contradiction (3)."""

from __future__ import annotations

__all__ = ["InputError", "InternalError", "RunFailed"]


class InputError(Exception):
    """Bad user input; ``where`` names the field, variant or line at fault (exit code 2)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class InternalError(Exception):
    """The checker contradicted itself, e.g. a counterexample the simulator does not confirm (exit code 3)."""


class RunFailed(Exception):
    """Something the checker drives (QEMU, a kernel, a build) could not be run to its end, so
    there is no answer; ``where`` names what failed (exit code 3, not bad input)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
