"""Output files: a target is checked before the work, written under a temporary name and renamed.

Nothing half-written is left behind: a failure (or a signal) removes the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from modelcheck.errors import InputError

__all__ = ["output_dir", "output_file", "staged_file", "staged_dir", "write_text"]


def output_dir(path: str | Path, option: str) -> Path:
    """``path`` as a directory to write into, created if missing; a path under a file, or one
    that cannot be created, is bad input naming ``option``."""
    if not str(path).strip():
        raise InputError(option, "an empty path")
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(option, f"{path}: not a directory") from None
    except OSError as e:
        raise InputError(option, f"{path}: {e.strerror or e}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise InputError(option, f"{path}: not writable")
    return p


def output_file(path: str | Path, option: str) -> Path:
    """``path`` as a file to be written: its directory must exist and be writable, and it must
    not be a directory itself."""
    if not str(path).strip():
        raise InputError(option, "an empty path")
    p = Path(path)
    parent = p.parent
    if not parent.is_dir():
        raise InputError(option, f"{path}: no directory {parent}")
    if p.is_dir():
        raise InputError(option, f"{path}: is a directory")
    if p.exists() and not p.is_file():  # a device, a FIFO, a socket: writing would replace it
        raise InputError(option, f"{path}: not a regular file (it would be replaced)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(option, f"{path}: directory {parent} is not writable")
    return p


@contextlib.contextmanager
def staged_file(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; renamed to ``path`` when the block ends
    normally, removed when it does not."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # as open() would create it, not mkstemp()'s 0600
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` at once: readers see the old file or the whole new one."""
    with staged_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def staged_dir(parent: str | Path) -> Iterator[tuple[Path, Callable[[Path], Path]]]:
    """Write files into a temporary directory inside ``parent``; the block gets it and ``publish(path)``,
    which renames one finished file to its name in ``parent`` and returns that.  What is not
    published is removed with the directory, whatever happens."""
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=".tmp-"))

    def publish(path: Path) -> Path:
        final = Path(parent) / path.name
        os.replace(path, final)
        return final
    try:
        yield tmp, publish
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
