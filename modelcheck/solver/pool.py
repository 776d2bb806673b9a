"""Independent questions answered in worker processes.

Workers are spawned, not forked: Z3 does not survive a fork of a process that uses it.  A
question must not depend on which worker answers it or on what that worker answered before:
each starts its own Z3 context (``search.shared_states``), so that the answers, witnesses
included, are the same for every ``--jobs``.  A worker leaves SIGINT to the parent, which stops
the workers with SIGTERM.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator

__all__ = ["parallel_map", "workers", "Workers", "terminate", "worker_init"]


class Workers:
    """Up to ``jobs`` worker processes for several rounds of questions (started on the first
    round that has more than one question, so that each round does not pay for new ones);
    ``jobs`` 1 answers in this process."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any],
            each: Callable[[Any, int, int], None] | None = None) -> list:
        """``[fn(x) for x in items]``, in order.  ``fn`` and the items must pickle (a module-level
        function, plain data).  ``each(result, done, total)`` hears every result as it arrives,
        in order."""
        todo = list(items)
        results: list = []
        if self.jobs <= 1 or (len(todo) <= 1 and self.pool is None):
            for x in todo:
                results.append(fn(x))
                if each:
                    each(results[-1], len(results), len(todo))
            return results
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=worker_init)
        for r in self.pool.map(fn, todo):
            results.append(r)
            if each:
                each(r, len(results), len(todo))
        return results

    def submit(self, fn: Callable[[Any], Any], items: Iterable[Any],
               each: Callable[[Any, int, int], None] | None = None) -> Callable[[], list]:
        """Start ``[fn(x) for x in items]`` and return what waits for it: the next round can
        be submitted before this one ends, so that no worker idles between rounds (in this
        process, the round runs now).  ``each(result, done, total)`` hears every result, in
        order, as the wait collects it."""
        todo = list(items)

        def collect(results: Iterable[Any]) -> list:
            out = []
            for x in results:
                out.append(x)
                if each is not None:
                    each(x, len(out), len(todo))
            return out
        if self.jobs <= 1:
            done = [fn(x) for x in todo]
            return lambda: collect(done)
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=worker_init)
        futures = [self.pool.submit(fn, x) for x in todo]
        return lambda: collect(f.result() for f in futures)

    def close(self, now: bool = False) -> None:
        if self.pool is not None:
            if now:
                terminate(self.pool)
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


@contextlib.contextmanager
def workers(jobs: int) -> Iterator[Workers]:
    """Workers for the block; whatever ends it early (an error, Ctrl-C or SIGTERM in the parent)
    terminates them before it propagates."""
    w = Workers(jobs)
    try:
        yield w
    except BaseException:
        w.close(now=True)
        raise
    finally:
        w.close()


def parallel_map(fn: Callable[[Any], Any], items: Iterable[Any], jobs: int,
                 each: Callable[[Any, int, int], None] | None = None) -> list:
    """``[fn(x) for x in items]``, in order, on up to ``jobs`` workers started for it (in this
    process when one is enough): ``Workers.map`` for one round."""
    todo = list(items)
    with workers(min(jobs, len(todo))) as w:
        return w.map(fn, todo, each)


def terminate(pool: ProcessPoolExecutor) -> None:
    """Stop every worker now (a worker that died makes map() raise BrokenProcessPool instead)."""
    pool.shutdown(wait=False, cancel_futures=True)
    stop = getattr(pool, "terminate_workers", None)  # Python 3.14
    if stop is not None:
        stop()
        return
    for p in list((getattr(pool, "_processes", None) or {}).values()):
        p.terminate()


def worker_init() -> None:
    """A worker leaves SIGINT to the parent (a terminal's Ctrl-C reaches the whole process group),
    which then stops it with SIGTERM; SIGTERM ends the worker through SystemExit, so that the
    ``finally`` of a file being written removes its temporary name."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_143)


def _exit_143(signum: int, frame: object) -> None:
    sys.exit(143)
