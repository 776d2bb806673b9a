"""The ``modelcheck`` command.  Each command returns an exit code; only this module prints.

Exit codes: 0 as expected, 1 a property is violated, 2 usage or input error (one line
``modelcheck: error: WHERE: what``), 3 unknown verdict, a run that could not finish, or an
internal error (one line ``modelcheck: internal error: …``; the traceback with ``--debug`` or
MODELCHECK_DEBUG=1), 130 on SIGINT and 143 on SIGTERM (after every worker process is stopped).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from modelcheck.errors import InputError, InternalError, RunFailed
from modelcheck.files import output_dir, output_file, write_text
from modelcheck.model.geometry import LEVELS, PRESETS, get_geometry
from modelcheck.runs.kernel import PATCHABLE
from modelcheck.checks import CHECKS, REGISTRY
from modelcheck.settings import DEFAULT_GEOMETRIES, DEFAULT_RLIMIT, DEFAULT_VMAS
from modelcheck.model.variants import get_variant, variant_ids
from modelcheck.front.inputs import (c_source, c_variant_of, judge, kernel_tree, load_any, load_claimed,
                                     named_by, one_source, side)

if TYPE_CHECKING:
    from modelcheck.model.scenario import Scenario
    from modelcheck.solver.search import CheckResult

__all__ = ["main", "cli", "Terminated"]

#: set to 1 for the traceback of an internal error (as --debug does)
DEBUG_ENV = "MODELCHECK_DEBUG"


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is, so that every ``finally`` runs (workers are
    stopped, temporary files removed) before the exit with 143."""


def _on_sigterm(signum: int, frame: Any) -> None:
    # an object the exception interrupts in its constructor (a z3 Context) fails in its
    # finalizer later: that is not news after a SIGTERM, so such reports are dropped
    sys.unraisablehook = lambda _: None
    raise Terminated()


def _emit_json(obj: object) -> None:
    from modelcheck.output.formats.jsondoc import dumps
    click.echo(dumps(obj))


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _error(where: str, what: str) -> None:
    click.echo(f"modelcheck: error: {_one_line(where)}: {_one_line(what)}", err=True)


def _usage(e: click.UsageError) -> tuple[str, str]:
    """WHERE and what of one of click's usage errors, for the one-line form."""
    param = getattr(e, "param", None)
    if isinstance(e, click.NoSuchOption):
        what = "no such option"
        if e.possibilities:
            what += f" (did you mean {', '.join(sorted(e.possibilities))}?)"
        return e.option_name, what
    if isinstance(e, click.BadOptionUsage):
        return e.option_name, e.message
    if param is not None:
        where = param.opts[0] if isinstance(param, click.Option) and param.opts else param.human_readable_name
        if isinstance(e, click.MissingParameter):
            return where, "missing (required)"
        return where, e.message
    where = e.ctx.command_path if e.ctx is not None else "modelcheck"
    return where, e.format_message()


def _debug() -> bool:
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        return True
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


class _Cli(click.Group):
    """The command group; its ``main`` turns every outcome into the documented exit code, for
    the console script and for click's test runner alike."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        code = self._main(args, prog_name, complete_var, **extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _main(self, args: Any, prog_name: str | None, complete_var: str | None, **extra: Any) -> int:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except SystemExit as e:  # a command's own exit code
            return e.code if isinstance(e.code, int) else (0 if e.code is None else 3)
        except click.UsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # a bare "modelcheck": the help, asked for
                click.echo(e.ctx.get_help() if e.ctx else "")
                return 0
            _error(*_usage(e))
            return 2
        except click.ClickException as e:  # e.g. a file option click itself could not open
            _error("modelcheck", e.format_message())
            return 2
        except (click.Abort, KeyboardInterrupt):
            sys.unraisablehook = lambda _: None  # (as after a SIGTERM: _on_sigterm)
            click.echo("modelcheck: interrupted", err=True)
            return 130
        except Terminated:
            click.echo("modelcheck: terminated", err=True)
            return 143
        except Exception as e:  # raised outside a command's _run (in click, or in an option's callback)
            return _crash(e)
        return rv if isinstance(rv, int) else 0


@dataclass
class Shown:
    """What a command shows: its result as JSON, as text (made only when it is shown), and its
    exit code.  Commands return one and ``_run`` is the one place that renders it: JSON through
    output/formats/jsondoc.py (the results' ``to_json()``), text from output/report.py; files
    through output/formats/ (sarif, and a graph's graphml, nodelink and dot)."""

    code: int
    json: Any
    text: Callable[[], str]


def _run(fn: Callable[[], "int | Shown"], as_json: bool = False) -> None:
    """Run one command: our errors become one line on stderr and the documented exit code; an
    uncaught exception is an internal error (3), never a finding.  A Shown result is rendered
    here, as JSON with --json, else as text."""
    try:
        code = fn()
        if isinstance(code, Shown):
            if as_json:
                _emit_json(code.json)
            else:
                click.echo(code.text(), nl=False)
            code = code.code
    except InputError as e:
        _error(e.where, e.message)
        code = 2
    except RunFailed as e:
        click.echo(f"modelcheck: cannot run: {_one_line(e.where)}: {_one_line(e.message)}", err=True)
        code = 3
    except InternalError as e:
        click.echo(f"modelcheck: internal error: {e}", err=True)
        code = 3
    except OSError as e:
        if e.filename is None:
            code = _crash(e)
        else:  # a path the user gave (an input, an output place) the system refused
            _error(str(e.filename), e.strerror or str(e))
            code = 2
    except Exception as e:
        code = _crash(e)
    finally:  # a command's C variants live as long as the command (tests run many in one process)
        from modelcheck.front.inputs import release
        release()
    sys.exit(code)


def _crash(e: BaseException) -> int:
    """An exception nothing expected: one line (the traceback too with --debug), exit 3."""
    debug = _debug()
    if debug:
        traceback.print_exception(e)
    hint = "" if debug else f" (--debug or {DEBUG_ENV}=1 shows the traceback)"
    click.echo(f"modelcheck: internal error: {type(e).__name__}: {_one_line(e)}{hint}", err=True)
    return 3


def _c_options(f: Callable) -> Callable:
    f = click.option("--patch", "patches", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
                     help="With --tree: a git format-patch file or mbox applied to a copy of the tree "
                          "(repeatable, in order).")(f)
    f = click.option("--tree", default=None, type=click.Path(file_okay=False), metavar="DIR",
                     help="A kernel source tree: its mm/mremap.c, named by its Makefile's version.")(f)
    f = click.option("--function", default=None, metavar="NAME",
                     help="The predicate's name in the C file, if not can_align_down/check_addr_in_prev.")(f)
    f = click.option("--base", default=None, metavar="ID",
                     help="Built-in variant whose C supplies what the C files leave out (default: the one "
                          "whose signatures the files' functions have).")(f)
    f = click.option("--c-file", "c_files", multiple=True, type=click.Path(dir_okay=False), metavar="FILE.c",
                     help="Realignment logic in C (repeatable): a hand-cut function or a whole mm/mremap.c, "
                          "linked over --base's C, function by name.")(f)
    return f


def _linked(linkage: Any) -> list[str]:
    """The text lines saying which C functions a check ran (none without C files)."""
    return [f"linked: {line}" for line in linkage.lines()] if linkage is not None else []


@click.group("modelcheck", cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modelcheck")
@click.option("--debug", is_flag=True, help=f"Show the traceback of an internal error (or set {DEBUG_ENV}=1).")
def cli(debug: bool) -> None:
    """Check the realignment of move_page_tables() (Linux mm/mremap.c) against named properties.

    Exit codes: 0 as expected, 1 a property is violated, 2 usage or input error (one line
    "modelcheck: error: WHERE: what"), 3 unknown verdict, a run that could not finish or an
    internal error, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def geometries(as_json: bool) -> None:
    """List the preset page-table geometries.

    A custom geometry is given anywhere a geometry is accepted as
    custom:word=64,page=12,pmd=21,pud=30,levels=4,task=0x7ffffffff000,min=0x10000
    """
    def text() -> str:
        lines = [f"{'name':<15} {'word':>4} {'levels':>6} {'PAGE':>8} {'PMD_SIZE':>12} {'PUD_SIZE':>16} "
                 f"{'TASK_SIZE':>18}  moves"]
        for g in PRESETS.values():
            moves = "+".join(x for x, ok in (("pmd", g.have_move_pmd), ("pud", g.have_move_pud)) if ok)
            lines.append(f"{g.name:<15} {g.word_bits:>4} {g.levels:>6} {hex(g.page_size):>8} {hex(g.pmd_size):>12} "
                         f"{hex(g.pud_size):>16} {hex(g.task_size):>18}  {moves}")
        return "".join(line + "\n" for line in lines)
    _run(lambda: Shown(0, [g.to_json() for g in PRESETS.values()], text), as_json)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def variants(as_json: bool) -> None:
    """List the variants: id, summary and provenance (lore Message-ID or commit)."""
    def run() -> Shown:
        vs = [get_variant(v) for v in variant_ids()]
        return Shown(0, [{"id": v.id, "summary": v.summary, "provenance": v.provenance} for v in vs],
                     lambda: "".join(f"{v.id:<7} {v.summary}\n        {v.provenance}\n" for v in vs))
    _run(run, as_json)


@cli.command("profiles")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def profiles_cmd(as_json: bool) -> None:
    """List the kernel profiles: a predicate, the loop's userfaultfd rule (with its commit) and the
    undo move; each is also a --variant.  A tree or a whole mm/mremap.c gets the rule its own
    move_normal_pmd()/move_normal_pud() and loop say."""
    from modelcheck.model.variants import PROFILES, UFFD_RULES

    def text() -> str:
        out = []
        for p in PROFILES.values():
            out.append(f"{p.id:<12} {p.kernels}: predicate {p.predicate}, uffd {p.uffd}, the undo move\n"
                       f"             {p.summary}\n")
        out.append("uffd rules:\n" + "".join(f"  {k:<18} {v}\n" for k, v in UFFD_RULES.items()))
        return "".join(out)
    _run(lambda: Shown(0, [p.to_json() for p in PROFILES.values()], text), as_json)


@cli.command("calls")
@click.argument("program", type=click.Path(dir_okay=False))
@click.option("--variant", "variant_list", multiple=True, metavar="ID",
              help="Variant or kernel profile to judge each move with (repeatable); default: linux-6.17.")
@click.option("--one-vma", is_flag=True,
              help="mremap as before 6.17: one VMA per call (a range over several is -EFAULT); default: "
                   "6.17's remap_move(), a move_page_tables() call per VMA.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def calls_cmd(program: str, variant_list: tuple[str, ...], one_vma: bool, as_json: bool) -> None:
    """Run a program of system calls (JSON: mmap, write, read, uffd_wp, mremap) through the
    system-call simulator and judge every move_page_tables() call its mremaps make, each on the
    layout the calls before it left.

    Exit 0 when every property holds for every call, 1 when one is violated, 2 bad input.
    """
    from modelcheck.output.report import eval_report
    from modelcheck.model.semantics import evaluate
    from modelcheck.userspace.recipe import load_calls, run_calls

    def run() -> Shown:
        g, calls = load_calls(program)
        chosen = [get_variant(v) for v in _unique(variant_list or ("linux-6.17",))]
        results = run_calls(g, calls, multi=not one_vma)
        evaluated = [(r, [(p, [evaluate(p, v) for v in chosen]) for p in r.pieces]) for r in results]
        bad = any(e.violated() for _, pieces in evaluated for _, evs in pieces for e in evs)

        def text() -> str:
            out = []
            for r, pieces in evaluated:
                c = r.call
                if c["op"] != "mremap" and not r.error:
                    continue
                args = ", ".join(f"{k}={hex(v) if isinstance(v, int) and not isinstance(v, bool) else v}"
                                 for k, v in c.items() if k != "op")
                out.append(f"calls[{r.index}] {c['op']}({args}): "
                           + (f"{len(pieces)} move_page_tables() call{'s' if len(pieces) != 1 else ''}"
                              if c["op"] == "mremap" else "")
                           + (f"{'; ' if c['op'] == 'mremap' else ''}fails: {r.error}" if r.error else ""))
                for k, (p, evs) in enumerate(pieces, 1):
                    out.append(f"  piece {k}:")
                    out += ["    " + x for x in eval_report(p, evs).rstrip("\n").split("\n")]
            return "\n".join(out) + "\n"
        return Shown(1 if bad else 0,
                     {"geometry": g.name, "one_vma": one_vma, "calls": [
                         {"index": r.index, "call": {k: hex(v) if isinstance(v, int) and not isinstance(v, bool) else v
                                                     for k, v in r.call.items()},
                          "error": r.error or None,
                          "pieces": [{"scenario": p.to_json(), "results": [e.to_json() for e in evs]}
                                     for p, evs in pieces]} for r, pieces in evaluated]},
                     text)
    _run(run, as_json)


@cli.command("properties")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def properties_cmd(as_json: bool) -> None:
    """List the properties with their statement and kernel reference."""
    _run(lambda: Shown(0, [p.to_json() for p in REGISTRY.values()],
                       lambda: "".join(f"{p.id}\n    {p.statement}\n    ref: {p.reference}\n" for p in REGISTRY.values())),
         as_json)


@cli.command("eval")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--variant", "variant_list", multiple=True, metavar="ID",
              help="Variant to run (repeatable); default: every variant.")
@click.option("--level", type=click.Choice(LEVELS), default="pmd", show_default=True,
              help="Realign to the PMD (the kernel) or the PUD boundary.")
@click.option("--geometry", default=None, metavar="NAME", help="Override the scenario's geometry.")
@_c_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def eval_cmd(scenario: str, variant_list: tuple[str, ...], level: str, geometry: str | None,
             c_files: tuple[str, ...], base: str | None, function: str | None, tree: str | None, patches: tuple[str, ...], as_json: bool) -> None:
    """Run variants on one concrete scenario (JSON) and judge every property.

    Exit 0 when every property holds for every variant run, 1 when one is violated.
    """
    from modelcheck.output.report import eval_report
    from modelcheck.model.scenario import load_scenario
    from modelcheck.model.semantics import evaluate
    def run() -> Shown:
        geo = get_geometry(geometry) if geometry else None
        s = load_scenario(scenario, geo)
        mine, linkage = c_variant_of(c_files, base, function, tree, patches)
        chosen = [get_variant(v) for v in _unique(variant_list)] if variant_list or mine else \
            [get_variant(v) for v in variant_ids()]
        if mine is not None and mine not in chosen:
            chosen.append(mine)
        with named_by(scenario):
            evs = [evaluate(s, v, level) for v in chosen]
        return Shown(1 if any(e.violated() for e in evs) else 0,
                     {"scenario": s.to_json(), "results": [e.to_json() for e in evs],
                      **({"linked": linkage.to_json()} if linkage else {})},
                     lambda: "".join(line + "\n" for line in _linked(linkage)) + eval_report(s, evs))
    _run(run, as_json)


def _reachable(reachable: bool | None, *trees: Any) -> bool:
    """--reachable/--all-states as given, else reachable for kernel code from a tree: a verdict
    about a kernel is about the states a program can bring it to."""
    if reachable is not None:
        return reachable
    return any(t and Path(str(t).split("+")[0]).is_dir() for t in trees)


def _unique(values: Any) -> list[str]:
    """``values`` in order, each once (a repeated id is computed once)."""
    return list(dict.fromkeys(values))


def _bound_options(f: Callable) -> Callable:
    f = click.option("--reachable/--all-states", "reachable", default=None,
                     help="Count only states user space can bring the kernel to (exec's stack move as exec "
                          "makes it; an mremap counterexample needs a recipe of system calls), or every state "
                          "the scenario schema allows.  Default: --reachable for a kernel tree (--tree, DIR, "
                          "DIR+PATCH), whose verdicts are about that kernel; --all-states otherwise.")(f)
    f = click.option("--rlimit", type=click.IntRange(1), default=DEFAULT_RLIMIT, show_default=True,
                     help="Z3 resource limit per query (deterministic); reaching it makes the verdict unknown.")(f)
    f = click.option("--no-cutoff", "no_cutoff", is_flag=True,
                     help="Search every number of VMAs up to --vmas even past the cutoff (the plain bounded "
                          "search, for comparisons); the answer still says what it covers.")(f)
    f = click.option("--vmas", type=click.IntRange(1), default=None, metavar="N",
                     help=f"Claim layouts of up to N VMAs only (default: any number: {DEFAULT_VMAS}, then as many "
                          "as the predicate's and the property's lookups can need).  No search goes past the "
                          "cutoff, so a large N costs no more than the cutoff.")(f)
    f = click.option("--level", type=click.Choice(LEVELS), default="pmd", show_default=True,
                     help="Realign to the PMD (the kernel) or the PUD boundary.")(f)
    return f


def _progress_option(f: Callable) -> Callable:
    return click.option("--progress/--no-progress", "progress", default=None,
                        help="Say on stderr what the search is at (default: when stderr is a terminal).")(f)


class _Progress:
    """Where a long search is, on stderr: a line per step, or on a terminal one line rewritten
    in place and cleared before the answer is printed."""

    def __init__(self, enabled: bool | None) -> None:
        self.tty = sys.stderr.isatty()
        self.on = self.tty if enabled is None else enabled
        self.t0 = time.monotonic()
        self.shown = False

    def __call__(self, text: str) -> None:
        if not self.on:
            return
        line = f"modelcheck: [{time.monotonic() - self.t0:.1f} s] {text}"
        if self.tty:
            sys.stderr.write("\r\033[K" + line)
            self.shown = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *_: Any) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _split(values: tuple[str, ...], default: list[str], option: str) -> list[str]:
    """A comma-separated option's items, each once, in order; ``default`` when the option is not
    given.  An empty item or an empty list is bad input: it is not "all"."""
    if not values:
        return list(default)
    out = [x.strip() for v in values for x in v.split(",")]
    if not any(out):
        raise InputError(option, "an empty list (leave the option out for the default)")
    if "" in out:
        raise InputError(option, f"an empty item in {','.join(values)!r}")
    return _unique(out)


def _checks(values: tuple[str, ...]) -> list[str]:
    """--properties: comma-separated property ids (default all, and missed-optimization)."""
    ps = _split(values, CHECKS, "--properties")
    for p in ps:
        if p not in CHECKS:
            raise InputError("--properties", f"unknown property {p!r} (known: {', '.join(CHECKS)})")
    return ps


def _geometries(values: tuple[str, ...], default: list[str]) -> list[str]:
    """--geometries: comma-separated geometry names, each one that get_geometry() reads."""
    gs = _split(values, default, "--geometries")
    for name in gs:
        try:
            get_geometry(name)
        except InputError as e:
            raise InputError("--geometries", e.message) from None
    return gs


def _code(results: list[CheckResult]) -> int:
    if any(r.verdict == "unknown" for r in results):
        return 3
    return 1 if any(r.verdict == "violated" for r in results) else 0


@cli.command("check")
@click.option("--variant", "vid", default=None, metavar="ID",
              help="Variant id (see 'modelcheck variants'); with --c-file, the C files' variant.")
@click.option("--property", "pid", required=True, type=click.Choice(CHECKS), help="Property (or missed-optimization).")
@click.option("--geometry", default="x86_64-4level", show_default=True, metavar="NAME", help="Geometry preset or custom:…")
@_bound_options
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Also save the counterexample (scenario, graph, picture) under DIR.")
@_c_options
@_progress_option
@click.option("--sarif", "sarif_out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="With C input: also write the verdict as SARIF 2.1.0 to FILE, a violation at the C that decides it.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check_cmd(vid: str | None, pid: str, geometry: str, level: str, vmas: int, no_cutoff: bool, rlimit: int,
              reachable: bool | None, out: str | None, c_files: tuple[str, ...], base: str | None, function: str | None, tree: str | None, patches: tuple[str, ...], progress: bool | None,
              sarif_out: str | None, as_json: bool) -> None:
    """Prove or refute one property of one variant: holds, violated (with a minimal counterexample
    the simulator has replayed) or unknown.

    Exit 0 holds, 1 violated, 2 bad input, 3 unknown or internal error.
    """
    from modelcheck.output.report import check_lines
    from modelcheck.solver.search import check
    reachable = _reachable(reachable, tree)
    def run() -> Shown:
        one_source(vid, c_files, tree, patches, " (--base names the variant the C files are linked over)")
        if sarif_out and not (c_files or tree):
            raise InputError("--sarif", "needs --c-file or --tree (the findings are located in the C)")
        g = get_geometry(geometry)
        where = output_dir(out, "--out") if out is not None else None
        target = output_file(sarif_out, "--sarif") if sarif_out is not None else None
        variant, linkage = c_variant_of(c_files, base, function, tree, patches)
        variant = variant or get_variant(vid)
        with _Progress(progress) as tell:
            r = check(variant, pid, g, level, vmas or DEFAULT_VMAS, rlimit, reachable=reachable,
                      extend=vmas is None and not no_cutoff, progress=tell, cap=not no_cutoff)
        if linkage is not None:  # the compiler's second opinion on the C the checker ran
            from modelcheck.front.compiled import second_opinion
            r.crosscheck = second_opinion(variant, g, level, [r.counterexample] if r.counterexample else [])
        if where is not None and r.counterexample is not None:
            from modelcheck.runs.gallery import write_entry  # networkx: only where a counterexample is written
            r.source = c_source(c_files, base, function, tree, patches)
            write_entry(where, r)
        if target is not None:
            from modelcheck.front.cfront import where_decided
            from modelcheck.output.formats.sarif import check_sarif
            where = where_decided(linkage.unit, r.property, r.replay.faults if r.replay is not None else []) \
                if r.verdict == "violated" else None
            write_text(target, check_sarif(r, where, tree, patches))
        return Shown(_code([r]), {**r.to_json(), **({"linked": linkage.to_json()} if linkage else {})},
                     lambda: "\n".join(_linked(linkage) + check_lines(r)) + "\n")
    _run(run, as_json)


def _crosschecks(variants: list, results: list, geometries: list[str], level: str) -> dict[str, str]:
    """The compiler's second opinion on each variant from C (Variant.source), per geometry, on its
    counterexamples among ``results`` and random states: "VARIANT on GEOMETRY" -> one line."""
    from modelcheck.front.compiled import second_opinion
    out: dict[str, str] = {}
    for v in variants:
        for name in geometries if v.source is not None else []:
            g = get_geometry(name)
            seen = [r.counterexample for r in results
                    if r.variant == v.id and r.geometry == name and r.counterexample is not None]
            out[f"{v.id} on {name}"] = second_opinion(v, g, level, seen)
    return out


@cli.command("matrix")
@click.option("--variants", multiple=True, metavar="IDS",
              help="Comma-separated variant ids (default: all; with --c-file or --tree, the C's row alone).")
@click.option("--properties", multiple=True, metavar="IDS", help="Comma-separated properties (default: all, "
              "plus missed-optimization).")
@click.option("--geometries", multiple=True, metavar="NAMES",
              help=f"Comma-separated geometries (default: {','.join(DEFAULT_GEOMETRIES)}).")
@_bound_options
@click.option("--jobs", type=click.IntRange(1), default=None, help="Parallel processes (default: number of cores).")
@click.option("--out", type=click.Path(file_okay=False), default="modelcheck-out", show_default=True,
              help="Directory for the counterexamples: scenario, graph (GraphML, JSON, DOT), picture (SVG, PNG).")
@click.option("--pictures/--no-pictures", default=True, show_default=True, help="Draw each counterexample.")
@_c_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def matrix_cmd(variants: tuple[str, ...], properties: tuple[str, ...], geometries: tuple[str, ...], level: str,
               vmas: int, no_cutoff: bool, rlimit: int, reachable: bool | None, jobs: int | None, out: str, pictures: bool,
               c_files: tuple[str, ...], base: str | None, function: str | None, tree: str | None, patches: tuple[str, ...], as_json: bool) -> None:
    """Every variant × property on each geometry: one table per geometry, counterexamples saved.

    With no arguments this is the main job: the built-in variants, all properties and the
    missed-optimization analysis, on the default geometries.  Exit 0 when every verdict is
    decided and holds or is expected (a built-in variant's known bug), 1 on an unexpected
    violation, 3 on an unknown verdict.
    """
    from modelcheck.runs.matrix import run_matrix
    from modelcheck.output.report import expected_verdict, matrix_table
    from modelcheck.solver.search import CheckResult
    reachable = _reachable(reachable, tree)
    def run() -> Shown:
        mine, linkage = c_variant_of(c_files, base, function, tree, patches)
        # with C input, its row alone unless --variants names others to compare it with
        vs = _split(variants, [] if mine is not None else variant_ids(), "--variants")
        for v in vs:
            try:
                get_variant(v)
            except InputError as e:
                raise InputError("--variants", e.message) from None
        if mine is not None and mine.id not in vs:
            vs.append(mine.id)
        ps = _checks(properties)
        gs = _geometries(geometries, DEFAULT_GEOMETRIES)
        where = output_dir(out, "--out")
        for line in _linked(linkage):
            click.echo(line, err=True)

        def progress(r: CheckResult, done: int, total: int) -> None:
            click.echo(f"[{done}/{total}] {r.geometry} {r.variant} {r.property}: {r.verdict} "
                       f"({r.seconds:.2f}s)", err=True)
        results = run_matrix(vs, ps, gs, level, vmas or DEFAULT_VMAS, rlimit, jobs or os.cpu_count() or 1, progress,
                             extend=vmas is None and not no_cutoff, cap=not no_cutoff,
                             out=where, pictures=pictures, reachable=reachable)
        unexpected = [r for r in results if r.verdict == "violated" and expected_verdict(r) != "violated"]
        files = (f"\ncounterexamples: {out}/GEOMETRY/VARIANT/PROPERTY.{{json,graphml,graph.json,dot,svg,png}}\n"
                 if any(r.files for r in results) else "")
        checked = _crosschecks([mine] if mine is not None else [], results, gs, level)
        notes = "".join(f"C {row}: {line}\n" for row, line in checked.items())
        return Shown(3 if any(r.verdict == "unknown" for r in results) else 1 if unexpected else 0,
                     {"results": [r.to_json() for r in results], **({"crosscheck": checked} if checked else {})},
                     lambda: matrix_table(results, vs, ps, gs) + "\n" + notes + files)
    _run(run, as_json)


@cli.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--geometry", default="x86_64-4level", show_default=True, metavar="NAME")
@_bound_options
@_c_options
@_progress_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff_cmd(a: str, b: str, geometry: str, level: str, vmas: int, no_cutoff: bool, rlimit: int, reachable: bool | None,
             c_files: tuple[str, ...], base: str | None, function: str | None, tree: str | None, patches: tuple[str, ...], progress: bool | None,
             as_json: bool) -> None:
    """Scenarios on which variants A and B decide differently, one minimal scenario per class:
    which side is unsafe under which property, or which side merely misses the optimization.
    A and B are variant ids, C files (each linked over --base on its own), or kernel trees,
    each with optional patches as DIR+PATCH[+PATCH...]: two versions of a patch
    (linux+v1.mbox linux+v2.mbox), a patch against mainline (linux linux+v2.mbox), a tree
    against a built-in (linux v6.15).

    Exit 0 when they never differ, 1 when they do, 3 when a search gave up.
    """
    from modelcheck.output.report import eval_report
    from modelcheck.solver.search import diff
    from modelcheck.model.semantics import evaluate
    reachable = _reachable(reachable, a, b, tree)
    def run() -> Shown:
        g = get_geometry(geometry)
        c_variant_of(c_files, base, function, tree, patches)  # A or B may name it (the first C file's name)

        va, vb = side(a, "A", base, function), side(b, "B", base, function)
        cuts: list = []
        with _Progress(progress) as tell:
            cases, gave_up = diff(va, vb, g, level, vmas or DEFAULT_VMAS, rlimit, reachable,
                                  extend=vmas is None and not no_cutoff, cutoffs=cuts, progress=tell,
                                  cap=not no_cutoff)
        unbounded = all(c.covers(depth) for c, depth in cuts)
        bound: Any = "any" if unbounded else min(depth for _, depth in cuts)
        checked: dict[str, str] = {}
        for v in (va, vb):  # the compiler's second opinion on a side from C
            if v.source is not None and v.id not in checked:
                from modelcheck.front.compiled import second_opinion
                checked[v.id] = second_opinion(v, g, level, [c.scenario for c in cases])

        def text() -> str:
            out = []
            if not cases:
                if unbounded:
                    how = f"of any number of VMAs (searched up to {max(d for _, d in cuts)})"
                else:
                    worst = next((c for c, _ in cuts if c.raw), None) or max((c for c, _ in cuts), key=lambda c: c.vmas)
                    how = f"with up to {bound} VMAs ({worst.why()})"
                out.append(f"{va.id} and {vb.id} decide alike on every layout {how} on {g.name}\n")
            # classes with the same minimal scenario are listed together, the scenario shown once
            shown: dict[Any, list] = {}
            for c in cases:
                shown.setdefault(c.scenario, []).append(c)
            for scenario, same in shown.items():
                out += [f"* {c.summary()}\n" for c in same]
                first = same[0]
                out.append(eval_report(scenario, [evaluate(scenario, get_variant(first.realigns), level),
                                                  evaluate(scenario, get_variant(first.declines), level)]) + "\n")
            out += [f"C {vid}: {line}\n" for vid, line in checked.items()]
            for x in gave_up:
                click.echo(f"gave up: {x}", err=True)
            return "".join(out)
        return Shown(3 if gave_up else 1 if cases else 0,
                     {"a": va.id, "b": vb.id, "geometry": g.name, "level": level, "vmas_bound": bound,
                      "reachable_only": reachable, "cases": [c.to_json() for c in cases], "gave_up": gave_up,
                      **({"crosscheck": checked} if checked else {})},
                     text)
    _run(run, as_json)


@cli.command("history")
@click.argument("sources", nargs=-1, required=True, metavar="TREE_OR_FILE...")
@click.option("--geometries", multiple=True, metavar="NAMES",
              help="Comma-separated geometries (default: x86_64-4level).")
@click.option("--properties", multiple=True, metavar="IDS", help="Comma-separated properties (default: all, "
              "plus missed-optimization).")
@_bound_options
@click.option("--base", default=None, metavar="ID",
              help="Built-in variant whose C supplies what a C file leaves out (default: detected).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def history_cmd(sources: tuple[str, ...], geometries: tuple[str, ...], properties: tuple[str, ...], level: str,
                vmas: int | None, no_cutoff: bool, rlimit: int, reachable: bool | None, base: str | None,
                as_json: bool) -> None:
    """Since which version is it safe, and on which architectures: one table, a row per kernel
    tree or C file (DIR, DIR+PATCH..., FILE.c, or a built-in id) and geometry, a column per property.

    Exit 0 when every property holds, 1 when one is violated, 3 when a verdict is unknown.
    """
    from modelcheck.runs.matrix import run_matrix
    from modelcheck.output.report import history_table
    reachable = _reachable(reachable, *sources)
    def run() -> Shown:
        gs = _geometries(geometries, ["x86_64-4level"])
        ps = _checks(properties)
        ids = _unique(side(x, "TREE_OR_FILE", base, None).id for x in sources)
        results = run_matrix(ids, ps, gs, level, vmas or DEFAULT_VMAS, rlimit, 1, None,
                             extend=vmas is None and not no_cutoff, cap=not no_cutoff, reachable=reachable)
        rows = [(v, g) for v in ids for g in gs]
        checked = _crosschecks([get_variant(v) for v in ids], results, gs, level)
        return Shown(3 if any(r.verdict == "unknown" for r in results) else
                     1 if any(r.verdict == "violated" for r in results) else 0,
                     {"rows": [{"version": v, "geometry": g,
                                "verdicts": {r.property: r.to_json() for r in results
                                             if r.variant == v and r.geometry == g}} for v, g in rows],
                      **({"crosscheck": checked} if checked else {})},
                     lambda: history_table(results, rows, ps) + "\n" +
                     "".join(f"C {row}: {line}\n" for row, line in checked.items()))
    _run(run, as_json)


@cli.command("review")
@click.option("--variant", "vid", default=None, metavar="ID", help="A built-in variant with a C file.")
@click.option("--geometry", default="x86_64-4level", show_default=True, metavar="NAME", help="Geometry preset or custom:…")
@_bound_options
@_c_options
@click.option("--sarif", "sarif_out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also write the findings as SARIF 2.1.0 to FILE.")
@click.option("--fixes/--no-fixes", default=True, show_default=True,
              help="When the variant violates a property, try every edit of the documented set (drop, negate, "
                   "flip a comparison, && <-> ||, a guard's return value, a same-typed variable) for a proved fix.")
@click.option("--jobs", type=click.IntRange(1), default=None,
              help="Worker processes for the conditions and the edits (default: number of cores); the findings "
                   "are the same for every value.")
@_progress_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def review_cmd(vid: str | None, geometry: str, level: str, vmas: int | None, no_cutoff: bool, rlimit: int,
               reachable: bool | None, c_files: tuple[str, ...], base: str | None, function: str | None, tree: str | None, patches: tuple[str, ...],
               sarif_out: str | None, fixes: bool, jobs: int | None, progress: bool | None, as_json: bool) -> None:
    """What each condition of a C variant does: never-evaluated, never-true, never-false,
    redundant, needed, harmful, optimization-only, each with its proof's bound or a minimal
    replayed witness, as FILE:LINE:COL lines; and, when the variant violates a property, the
    one-token edits that make every property hold without losing a safe realignment, proved,
    as patch hunks.

    Exit 0 when the review is complete and the variant violates no property, 1 when it
    violates one (its harmful conditions are shown), 3 when a search gave up.
    """
    reachable = _reachable(reachable, tree)
    def run() -> Shown:
        from modelcheck.front.cfront import builtin_c, builtin_unit
        from modelcheck.front.review import VERDICTS, review
        from modelcheck.output.formats.sarif import review_sarif, witness_lines
        one_source(vid, c_files, tree, patches)
        if no_cutoff:
            raise InputError("--no-cutoff", "review always searches on to the cutoff (--vmas N is the least)")
        g = get_geometry(geometry)
        target = output_file(sarif_out, "--sarif") if sarif_out is not None else None
        if vid:
            try:
                get_variant(vid)
            except InputError as e:
                raise InputError("--variant", e.message) from None
            unit, name, linkage = builtin_unit(vid), vid, None
        else:
            v, linkage = c_variant_of(c_files, base, function, tree, patches)
            unit, name = linkage.unit, v.id
        from modelcheck.solver.pool import workers
        texts: dict[str, list[str]] = {}

        def source_lines(path: str) -> list[str]:
            """A C file's lines as read (a built-in's from the package), read once; [] if unreadable."""
            if path not in texts and linkage is not None and path in linkage.sources:
                texts[path] = linkage.sources[path].split("\n")
            if path not in texts:
                try:
                    texts[path] = (builtin_c(Path(path).stem) if path.startswith("properties/c/")
                                   else Path(path).read_text(encoding="utf-8")).split("\n")
                except (OSError, InputError, UnicodeDecodeError):
                    texts[path] = []
            return texts[path]

        def source_line(path: str, line: int) -> str:
            lines = source_lines(path)
            return lines[line - 1] if 0 < line <= len(lines) else ""

        def whole(path: str) -> str | None:
            return "\n".join(source_lines(path)) or None

        tried: list = []
        original = name
        reference = None  # a built-in is its own original; a file's is its base, a patch's the tree before it
        before_linkage = None
        if tree and patches:  # the tree before the patches: what the patch takes away is judged there
            from modelcheck.front.cfront import load_tree
            before, before_linkage = load_tree(tree, (), base, function, vid=f"{name}-unpatched")
        if fixes:
            from modelcheck.front.fixes import Original
            if before_linkage is not None:
                reference = Original(before.id, before_linkage.unit)
            elif linkage is not None and not tree:
                reference = Original(linkage.base)
            original = reference.vid if reference is not None else name
        refuters: dict = {}  # the variant's counterexamples: most edits still fail on one of them
        later: list = []
        with workers(jobs or os.cpu_count() or 1) as pool:  # the review's and the fix search's

            def queue_fixes(verdicts: dict[str, str]) -> None:  # behind the conditions, on the same workers
                from modelcheck.front.fixes import start_suggest
                later.append(start_suggest(unit, name, verdicts, g, level, vmas or DEFAULT_VMAS, rlimit, reachable,
                                           whole, pool, tried, reference, refuters))
            with _Progress(progress) as tell:
                findings, verdicts = review(unit, name, g, level, vmas or DEFAULT_VMAS, rlimit, reachable, pool=pool,
                                            witnesses=refuters, then=queue_fixes if fixes else None, progress=tell)
                if later:
                    tell("the one-token fix search")
                found = later[0]() if later else []
                patch = None
                if before_linkage is not None:
                    from modelcheck.front.review import patch_review
                    tell("the tree before the patches")
                    before_findings, _ = review(before_linkage.unit, f"{name}-unpatched", g, level,
                                                vmas or DEFAULT_VMAS, rlimit, reachable, pool=pool, progress=tell)
                    path = next(iter(linkage.sources))
                    patch = patch_review(before_findings, findings, before_linkage.sources[path],
                                         linkage.sources[path])
        gave_up = [f.reasons["unknown"] for f in findings if "unknown" in f.reasons]
        # the compiler's second opinion on the C reviewed: on the witnesses and random states
        from modelcheck.front.cfront import c_variant
        from modelcheck.front.compiled import second_opinion
        from modelcheck.model.scenario import Scenario
        seen = [w for f in findings for w in f.witnesses.values()] + \
            [w for w in refuters.values() if isinstance(w, Scenario)]
        checked = second_opinion(c_variant(unit, name, "", ""), g, level, seen)
        if target is not None:
            write_text(target, review_sarif(findings, name, found, tree, patches, patch))

        def text() -> str:
            out = _linked(linkage)
            out.append(f"{name} on {g.name} ({level.upper()} realignment): " + ", ".join(
                f"{p} {verdicts[p]}" for p in verdicts))
            for rm in (patch.removed if patch else []):
                c, f = rm.finding.condition, rm.finding
                said = (f"which the unpatched code needs: {f.reasons['needed']}" if rm.needed else
                        "of which review of the unpatched code says " +
                        ("; ".join(f"{v}: {f.reasons[v]}" for v in f.verdicts) or f.outside or
                         "no verdict: it matters, but only together with others"))
                out.append(f"{c.file}:{rm.line}: the patch removes '{c.text}' ({c.role()} in {c.in_function}, "
                           f"line {c.line} before it), {said}")
                if rm.needed and "needed" in f.witnesses:
                    out += ["    " + x for x in witness_lines(f.witnesses["needed"])]
            for f in findings:
                c = f.condition
                if f.outside:
                    out.append(f"{c.where}: outside the model: '{c.text}' ({c.role()} in {c.in_function}): {f.outside}")
                    continue
                for verdict in f.verdicts or ["decides"]:
                    reason = f.reasons.get(verdict, "no verdict: it matters, but only together with others")
                    if f.note:
                        reason += f" [{f.note}]"
                    if patch is not None and c.line in patch.changed:
                        reason += " [on a line the patch writes]"
                    out.append(f"{c.where}: {verdict}: '{c.text}' ({c.role()} in {c.in_function}): {reason}")
                    src = source_line(c.file, c.line)
                    if src:
                        out.append(" " + src.replace("\t", " "))
                        out.append(" " + " " * (c.col - 1) + "^")
                    if verdict in f.witnesses:
                        out += ["    " + x for x in witness_lines(f.witnesses[verdict])]
            counts = {v: sum(v in f.verdicts for f in findings) for v in VERDICTS}
            outside = sum(bool(f.outside) for f in findings)
            out.append(f"{len(findings)} conditions: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
                       + (f"; {outside} outside the model" if outside else ""))
            for fx in found:
                short = [b.split(" (")[0] for b in fx.covers.values()]
                bounds = sorted(set(short), key=short.index)
                holds = f"every property holds ({', '.join(bounds)})"
                if fx.loses is None:
                    out.append(f"{fx.where}: fix: {fx.description} ({fx.kind} in {fx.function}): {holds}, "
                               f"and no realignment {original} takes safely is lost")
                else:
                    out.append(f"{fx.where}: fix, declining safe realignments: {fx.description} ({fx.kind} in "
                               f"{fx.function}): {holds}, but it declines where {original} realigns safely:")
                    out += ["    " + x for x in witness_lines(fx.loses)]
                out += [fx.hunk.rstrip("\n")] if fx.hunk else ["  (the edit could not be placed in the source text)"]
            out.append(f"C: {checked}")
            if tried:
                whole_fixes = sum(fx.loses is None for fx in found)
                out.append(f"{len(tried)} one-token edits tried: {whole_fixes} fix{'es' if whole_fixes != 1 else ''}, "
                           f"{len(found) - whole_fixes} declining safe realignments")
            for x in gave_up:
                click.echo(f"gave up: {x}", err=True)
            return "\n".join(out) + "\n"
        return Shown(3 if gave_up else 1 if any(x == "violated" for x in verdicts.values()) else 0,
                     {"variant": name, "geometry": g.name, "level": level, "properties": verdicts,
                      "conditions": [f.to_json() for f in findings], "gave_up": gave_up,
                      "fixes": [fx.to_json() for fx in found], "edits_tried": len(tried), "crosscheck": checked,
                      **({"patch": patch.to_json()} if patch is not None else {}),
                      **({"linked": linkage.to_json()} if linkage else {})},
                     text)
    _run(run, as_json)


def _owned_gallery(d: Path) -> bool:
    """May ``gallery --out`` replace ``d``: it does not exist, is empty, or is a gallery (its
    README.md is the one the gallery writes, and it holds nothing but geometries' directories
    and the files the gallery keeps)."""
    from modelcheck.runs.gallery import KEEP
    if not d.exists() or not any(d.iterdir()):
        return True
    readme = d / "README.md"
    try:
        ours = readme.is_file() and readme.read_text(encoding="utf-8").startswith("# Counterexamples\n") \
            and "`modelcheck gallery` regenerates this directory" in readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    from modelcheck.model.geometry import PRESETS
    return ours and all(x.name in ("README.md", *KEEP) or (x.is_dir() and x.name in PRESETS) for x in d.iterdir())


@cli.command("gallery")
@click.option("--out", type=click.Path(file_okay=False), default="counterexamples", show_default=True,
              help="The gallery directory (replaced as a whole once the new one is complete).")
@click.option("--jobs", type=click.IntRange(1), default=None, help="Parallel processes (default: number of cores).")
def gallery_cmd(out: str, jobs: int | None) -> None:
    """Rebuild the committed gallery: every violated check of the built-in variants on the default
    geometries, as scenario, graph and picture, with a README table.

    Exit 0 when rebuilt, 3 when a verdict is unknown (the old gallery is kept).
    """
    from modelcheck.solver.search import CheckResult
    def run() -> int:
        def progress(r: CheckResult, done: int, total: int) -> None:
            click.echo(f"[{done}/{total}] {r.geometry} {r.variant} {r.property}: {r.verdict}", err=True)
        output_dir(Path(out).parent, "--out")
        if Path(out).exists() and not Path(out).is_dir():
            raise InputError("--out", f"{out}: not a directory")
        if not _owned_gallery(Path(out)):  # the gallery replaces its directory as a whole
            raise InputError("--out", f"{out}: a directory with other files, not a gallery (the gallery replaces its "
                                      "directory as a whole: give a new or empty directory, or an earlier gallery)")
        from modelcheck.runs.matrix import build_gallery  # networkx and matplotlib: only for the gallery
        results = build_gallery(Path(out), jobs or os.cpu_count() or 1, progress)
        unknown = [r for r in results if r.verdict == "unknown"]
        for r in unknown:
            click.echo(f"unknown: {r.geometry} {r.variant} {r.property}: {r.reason}", err=True)
        if unknown:
            return 3
        n = sum(1 for r in results if r.counterexample is not None)
        click.echo(f"{out}: {n} counterexamples, {out}/README.md")
        return 0
    _run(run)


_CLAIM_OPTIONS = [
    click.option("--variant", "vid", default=None, metavar="ID", help="Variant to check (default: the file's claim)."),
    click.option("--property", "pid", default=None, type=click.Choice(CHECKS), help="Default: the file's claim."),
    click.option("--level", type=click.Choice(LEVELS), default=None, help="Default: the file's claim, else pmd."),
]


def _claim_options(f: Callable) -> Callable:
    for option in reversed(_CLAIM_OPTIONS):
        f = option(f)
    return f


@cli.command("recipe")
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--shortest", is_flag=True, help="Search breadth-first for a shortest recipe (at most as many calls "
              "as the constructed one, or --max-calls); slower.")
@click.option("--max-calls", type=click.IntRange(1, 12), default=None, help="Bound for --shortest.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def recipe_cmd(scenario_file: str, shortest: bool, max_calls: int | None, as_json: bool) -> None:
    """The system calls that bring the kernel to SCENARIO_FILE's move_page_tables() call (JSON or
    GraphML), confirmed by the system-call simulator, or why none was found.

    Exit 0 with a recipe, 1 without, 2 bad input.
    """
    from modelcheck.userspace.recipe import find_recipe
    def run() -> Shown:
        s = load_any(scenario_file)
        r = find_recipe(s)
        if shortest:
            from modelcheck.userspace.recipe import shortest_recipe
            bound = max_calls or (len(r.steps) - 1 if r.reachable else 6)
            found, _ = shortest_recipe(s, bound)
            r = found if found.reachable or not r.reachable or max_calls else r
        return Shown(0 if r.reachable else 1, r.to_json(), lambda: "\n".join(r.lines()) + "\n")
    _run(run, as_json)


@cli.command("reproduce")
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the C program here (default: standard output).")
def reproduce_cmd(scenario_file: str, output: str | None) -> None:
    """A standalone C program (kselftest style, TAP output, libc only) that performs the recipe
    of SCENARIO_FILE at its fixed addresses, does the mremap and checks every page: the pages
    outside the moved range unchanged, the moved range intact.  It compiles with
    gcc -static -Wall -Werror.

    Exit 0 written, 1 no recipe reaches the scenario, 2 bad input.
    """
    from modelcheck.userspace.recipe import find_recipe
    def run() -> int:
        from modelcheck.userspace.reproduce import reproducer_for
        target = output_file(output, "--output") if output is not None else None
        s = load_any(scenario_file)
        r = find_recipe(s)
        if not r.reachable:
            click.echo(f"modelcheck: no recipe reaches {scenario_file}: {r.reason}", err=True)
            return 1
        text = reproducer_for(s, Path(scenario_file).name)
        if target is None:
            click.echo(text, nl=False)
        else:
            write_text(target, text)
            click.echo(f"wrote {output}")
        return 0
    _run(run)


@cli.command("kselftest")
@click.argument("scenario_files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="The directory to write (a tools/testing/selftests/NAME/ of its own).")
@click.option("--gallery", default=None, type=click.Path(file_okay=False),
              help="Take every reachable mremap counterexample of this gallery, every geometry "
                   "(default, when no SCENARIO_FILES and no --random: counterexamples).")
@click.option("--random", "n_random", type=click.IntRange(1, 2000), default=None,
              help="Add N seeded random reachable scenarios, most at the predicate's edges.")
@click.option("--seed", type=int, default=1, show_default=True, help="The seed of --random.")
@click.option("--name", default="modelcheck", show_default=True, help="The target's name in the TAP lines.")
def kselftest_cmd(scenario_files: tuple[str, ...], out_dir: str, gallery: str | None, n_random: int | None,
                  seed: int, name: str) -> None:
    """Write the reproducers of SCENARIO_FILES (or of a gallery, or random scenarios) as a
    kselftest target: Makefile with TEST_GEN_PROGS, the programs' C, settings, config.
    `make -C OUT run_tests` builds and runs them and prints TAP (in a kernel tree's
    tools/testing/selftests/ the Makefile uses kselftest's lib.mk).  A program passes when memory
    outside the request is unchanged: on a correct kernel every one passes or skips.

    Exit 0 written, 2 bad input (a scenario no mremap recipe reaches).
    """
    def run() -> int:
        import re

        from modelcheck.userspace.kselftest import NAME, write_target
        from modelcheck.userspace.recipe import find_recipe
        if not NAME.fullmatch(name):
            raise InputError("--name", f"{name!r} is not a target name (letters, digits, '.', '_', '-')")
        cases: list[tuple[str, Scenario]] = []
        for f in scenario_files:
            s = load_any(f)
            if s.move.for_stack or not find_recipe(s).reachable:
                raise InputError(f, "no mremap recipe reaches this scenario, so it has no reproducer")
            cases.append((re.sub(r"[^A-Za-z0-9._-]", "_", Path(f).stem), s))
        if gallery is not None or (not scenario_files and not n_random):
            from modelcheck.model.scenario import load_scenario
            from modelcheck.runs.kernel import gallery_cases
            root = Path(gallery or "counterexamples")
            if not root.is_dir():
                raise InputError("--gallery", f"{root}: no such directory (the gallery is counterexamples/ of the "
                                              "checkout: run there, or give --gallery DIR or scenario files)")
            geometries = sorted(d.name for d in root.iterdir() if d.is_dir())
            # a missed optimization is no bug: its program passes on every kernel, and is left out
            files = [(g, f) for g in geometries for f in gallery_cases(root, geometry=g)
                     if not f.stem.startswith("missed-optimization")]
            if not files:
                raise InputError("--gallery", f"{root}: no reachable mremap counterexample in it")
            cases += [(f"{g}-{f.parent.name}-{f.stem}", load_scenario(str(f))) for g, f in files]
        if n_random:
            from modelcheck.runs.differential import random_scenarios
            cases += random_scenarios(n_random, seed)
        names = [n for n, _ in cases]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise InputError("SCENARIO_FILES", f"two programs would be named {twice[0]}")
        target = output_dir(out_dir, "--out")
        progs = write_target(cases, target, name)
        click.echo(f"wrote {out_dir}: {len(progs)} programs; run them with: make -C {out_dir} run_tests")
        return 0
    _run(run)


@cli.group("kernel")
def kernel_group() -> None:
    """Run reproducers on a real kernel under QEMU (x86-64, software emulation)."""


@kernel_group.command("run")
@click.argument("scenario_files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--random", "n_random", type=click.IntRange(1, 2000), default=None,
              help="Also run N seeded random reachable scenarios, most at the predicate's edges (the differential tier).")
@click.option("--random-programs", "n_programs", type=click.IntRange(1, 2000), default=None,
              help="Also run N seeded random programs, each an mremap of a range over one to four VMAs "
                   "(6.17's multi-VMA move; -EFAULT before 6.17).")
@click.option("--seed", type=int, default=1, show_default=True, help="The seed of --random and --random-programs.")
@click.option("--save", "save_dir", type=click.Path(file_okay=False), default=None,
              help="Write the --random scenarios and programs there as NAME.json, to replay or run again.")
@click.option("--kernel", "kernel_image", required=True, type=click.Path(dir_okay=False),
              help="The kernel image (bzImage/vmlinuz) to boot.")
@click.option("--variant", "vid", default=None,
              help="The built-in variant the kernel runs: the model's prediction to compare with "
                   "(default: from the image's version, v6.15 for 6.15 and later, v6.12 for 6.12-6.14).")
@click.option("--tree", default=None, type=click.Path(file_okay=False), metavar="DIR",
              help="Take the model from this kernel source tree's mm/mremap.c (as check --tree reads it), e.g. "
                   "the tree the kernel was built from, instead of --variant.")
@click.option("--patch", "patches", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="With --tree: a patch applied to a copy of the tree's mm/mremap.c for the model (repeatable).")
@click.option("--thp", type=click.Choice(["never", "madvise", "always"]), default=None,
              help="The guest's transparent_hugepage mode (default: the kernel's own; Debian's is always).")
@click.option("--thp-shmem", "shmem", type=click.Choice(["never", "always", "within_size", "advise", "deny", "force"]),
              default=None, help="The guest's transparent_hugepage/shmem_enabled (default: the kernel's own, never): "
                                 "the reproducers' shared mappings are shmem.")
@click.option("--timeout", type=click.FloatRange(1), default=300, show_default=True,
              help="Seconds the boot and every run may take together.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def kernel_run_cmd(scenario_files: tuple[str, ...], n_random: int | None, n_programs: int | None, seed: int,
                   save_dir: str | None, kernel_image: str, vid: str | None, tree: str | None,
                   patches: tuple[str, ...], thp: str | None, shmem: str | None, timeout: float, as_json: bool) -> None:
    """Boot KERNEL with the reproducers of SCENARIO_FILES and compare, scenario by scenario, what
    the kernel did with what the model predicts for VARIANT: the move_page_tables() call an
    mremap makes (old_addr, new_addr, len), its return value, and whether memory outside the
    request was disturbed, and the decision: where the kernel began the move, read off the TLB
    ranges the call flushed (a realigned move flushes from the realigned address, below old_addr).

    A file of SCENARIO_FILES may also be a program of calls (as `modelcheck calls` reads): then
    every move_page_tables() call its mremaps make is compared, in order, with the system-call
    simulator's (6.17 and later: a piece per VMA) and the model's decision for each piece.

    Exit 0 when every scenario ran and agrees, 1 on a disagreement, 2 bad input, 3 when the kernel
    could not be run (or its probe read implausible values) or a scenario has no answer (its reproducer skipped, or the guest returned no
    result for it: counted apart, never as agreement).
    """
    from modelcheck.userspace.recipe import find_recipe
    def run() -> int | Shown:
        from modelcheck.runs.kernel import (MREMAP_CALLERS, KernelFailed, Tally, compare, compare_program,
                                            image_release, multi_vma, program_lines, programs_exit_code, run_cases,
                                            run_programs, thp_mode, variant_for)
        from modelcheck.userspace.recipe import dump_calls, is_program, load_calls

        def outcome_of(k: dict) -> str:
            return f"memory {k['verdict']}" + (", WARN" if k["warned"] else "") + (", BUG" if k["oopsed"] else "")
        if not Path(kernel_image).is_file():
            raise InputError("--kernel", f"{kernel_image}: no such kernel image")
        release = image_release(Path(kernel_image))
        if tree or patches:
            one_source(vid, (), tree, patches)
            variant = c_variant_of((), None, None, tree, patches)[0]
            model_vid = variant.id
        else:
            model_vid = vid or variant_for(release)
            if model_vid is None:
                raise InputError("--kernel", f"{kernel_image}: the image names no kernel version; give --variant")
            variant = get_variant(model_vid)
        if not scenario_files and not n_random and not n_programs:
            raise InputError("SCENARIO_FILES", "give scenario or program files, --random N or --random-programs N")
        if save_dir and not n_random and not n_programs:
            raise InputError("--save", "only --random scenarios and --random-programs programs are saved")
        cases, programs = [], []
        for f in scenario_files:
            if is_program(f):
                programs.append((f, *load_calls(f)))
                continue
            s = load_any(f)
            if not find_recipe(s).reachable or s.move.for_stack:
                raise InputError(f, "no mremap recipe reaches this scenario, so it has no reproducer")
            cases.append((f, s))
        def kept(name: str, text: str) -> str:
            """A drawn case's label: with --save, the file it is written to."""
            if not save_dir:
                return name
            target = output_file(str(output_dir(save_dir, "--save") / f"{name}.json"), "--save")
            write_text(target, text)
            return str(target)
        if n_random:
            from modelcheck.runs.differential import random_scenarios
            cases += [(kept(name, s.dumps()), s) for name, s in random_scenarios(n_random, seed)]
        if n_programs:
            from modelcheck.runs.differential import random_programs
            programs += [(kept(name, dump_calls(g, calls)), g, calls)
                         for name, g, calls in random_programs(n_programs, seed)]
        try:
            runs = run_cases(Path(kernel_image), [(Path(f).name, s) for f, s in cases], timeout, thp=thp,
                             shmem=shmem)[0] if cases else []
            prog_runs = run_programs(Path(kernel_image), [(Path(f).name, g, c) for f, g, c in programs], timeout,
                                     thp=thp, shmem=shmem) if programs else []
        except KernelFailed as e:
            click.echo(f"modelcheck: {e}", err=True)
            return 3
        multi = multi_vma(prog_runs[0].release if prog_runs else release)
        prog_rows = [{"program": f, **compare_program(g, c, kr, variant, multi)}
                     for (f, g, c), kr in zip(programs, prog_runs)]
        prog_missing = [f for f, _, _ in programs[len(prog_runs):]]
        rows = [{"scenario": f, **compare(s, kr, variant)} for (f, s), kr in zip(cases, runs)]
        missing = [f for f, _ in cases[len(runs):]]  # the guest stopped early: a failure, not agreement
        ran = [r for r in rows if not r["skipped"]]
        tally = Tally(release, thp or "as booted", "scenarios", model_vid)
        for r in rows:
            tally.add(r["scenario"], r)
        for f in missing:
            tally.add(f, None)
        counts = {"agree": tally.agree, "disagree": tally.disagree, "skipped": tally.skipped, "missing": tally.missing,
                  "decisions": tally.decided, "decisions_agree": tally.decisions_agree, "realigned": tally.realigned,
                  "memory_agree": tally.memory_agree, "entries_missing": tally.entries_missing, "splits": tally.splits}
        def began(old: str, decision: list[str]) -> str:
            return "not realigned" if decision[0] == old else f"realigned to {decision[0]} -> {decision[1]}"

        def text() -> str:
            first = (runs or prog_runs)[0] if runs or prog_runs else None
            out = [f"kernel {first.release or release or kernel_image}, THP {thp_mode(first.thp)}"
                   + (f", shmem THP {thp_mode(first.shmem_thp)}" if first.shmem_thp else "") + f"; model {model_vid}"
                   if first else f"kernel {release or kernel_image}; model {model_vid}"]
            for r in rows:
                if r["skipped"]:
                    out.append(f"SKIPPED (no answer): {r['scenario']}\n  kernel: " + "; ".join(r["kernel"]["tap"]))
                    continue
                k, m = r["kernel"], r["model"]
                got = ", ".join(f"{c['caller']}({c['old_addr']} -> {c['new_addr']}, {c['len']}) = {c['returned']}, "
                                f"{began(c['old_addr'], c['began'])}"
                                for c in k["calls"] if c["caller"] in MREMAP_CALLERS)
                if not got and r["began"]:  # a patched kernel without kprobes logs its decision and return
                    got = (f"logged: {m['call']} = {r['returned'] or '?'}, "
                           f"{began(m['old_addr'], r['began'])}")
                got = got or ("move_page_tables() not observed (this kernel has neither kprobes nor a decision log)"
                              if r["unobserved"] else "no mremap call")
                mremap = "mremap failed" if k["mremap_failed"] else "mremap moved"
                wrong = [c for c, ok in r["checks"].items() if not ok]
                out.append(f"{'agrees' if r['agree'] else 'DISAGREES (' + ', '.join(wrong) + ')'}: {r['scenario']}\n"
                           f"  kernel: {mremap}, {outcome_of(k)}; {got}\n"
                           f"  model: mremap {m['mremap']}, memory {m['memory']}{', WARN' if m['warn'] else ''}; "
                           f"returns {m['returned']}; {m['call']}, {began(m['old_addr'], m['decision'])}")
            out += [f"NO RESULT: {f} (the guest returned {len(runs)} of {len(cases)} results)" for f in missing]
            out += program_lines(prog_rows, prog_missing, multi) if programs else []
            if not cases:
                return "\n".join(out) + "\n"
            out.append(f"{len(cases)} scenarios: {counts['agree']} agree, {counts['disagree']} disagree, "
                       f"{counts['skipped']} skipped, {counts['missing']} without a result")
            out.append(f"of the {len(ran)} that ran: memory as the model says in {counts['memory_agree']}"
                       + (f" ({counts['splits']} of them huge shmem pages split, entries missing as predicted)"
                          if counts["splits"] else "")
                       + (f" ({counts['entries_missing']} with entries missing and every byte intact where the model "
                          "predicts none)" if counts["entries_missing"] else "") + "; decision "
                       f"observed in {counts['decisions']} (the kernel realigned in {counts['realigned']}), "
                       f"the model's in {counts['decisions_agree']}")
            return "\n".join(out) + "\n"
        code = max(tally.exit_code() if cases else 0, programs_exit_code(prog_rows, prog_missing),
                   key=[0, 3, 1].index)  # a disagreement (1) outweighs a missing answer (3)
        booted = (runs or prog_runs)[0] if runs or prog_runs else None
        return Shown(code,
                     {"kernel": kernel_image, "release": booted.release if booted else release, "variant": model_vid,
                      "thp": thp_mode(booted.thp) if booted else None, "results": rows, "missing": missing,
                      "counts": counts, "programs": prog_rows, "programs_missing": prog_missing,
                      "multi_vma": multi}, text)
    _run(run, as_json)


def _tree_for(tree: str, arch: str | None, where: str) -> None:
    """Check that ``tree`` is a kernel source tree, configure it for ``arch`` if it has no
    .config, and refuse one configured for another."""
    from modelcheck.runs.kpatch import configure, tree_arch
    kernel_tree(tree)
    if not (Path(tree) / ".config").is_file():
        configure(Path(tree), arch or "x86_64")
    elif arch is not None and tree_arch(Path(tree)) != arch:
        raise InputError(where, f"{tree} is configured for {tree_arch(Path(tree))}, not {arch}")


@kernel_group.command("build")
@click.option("--tree", required=True, type=click.Path(file_okay=False), help="A 6.12 kernel source tree.")
@click.option("--variant", "vid", default=None,
              help="The built-in variant whose realignment the kernel gets (its C in mm/mremap.c, with a log line "
                   "per decision); without it the tree's own mm/mremap.c is built, as it ships or as --patch makes it.")
@click.option("--patch", "patches", multiple=True, type=click.Path(dir_okay=False),
              help="A patch to apply to the tree first, as patch -p1 (repeatable, in order; one already applied is "
                   "left as it is; one that does not apply changes nothing).")
@click.option("--jobs", type=click.IntRange(1), default=None, help="make -j (default: number of cores).")
@click.option("--arch", type=click.Choice(["x86_64", "i386"]), default=None,
              help="What an unconfigured tree is configured for: x86_64 (default) or i386 with PAE (the i386-pae "
                   "geometry; run under qemu-system-i386).  A configured tree keeps its own.")
def kernel_build_cmd(tree: str, vid: str | None, patches: tuple[str, ...], jobs: int | None, arch: str | None) -> None:
    """Build TREE's bzImage: with --variant, its mm/mremap.c made to run VARIANT's C (with a log
    line per decision and per return value); without, the tree's own code, after the --patch
    files (a reverted fix, the patch under review).  An unconfigured tree first gets a tinyconfig
    with what QEMU and the reproducers need, userfaultfd and fault injection included (about 3-4
    minutes on 2 cores).  Switching variants rewrites one header: a rebuild of one object."""
    def run() -> int:
        from modelcheck.runs.kpatch import apply_patches, build, restore_original
        if vid is not None:
            get_variant(vid)
        for p in patches:
            if not Path(p).is_file():
                raise InputError("--patch", f"{p}: no such file (or not a regular file)")
        kernel_tree(tree)
        if patches:  # the patches are of the tree's own file, not of a variant's rewrite of it
            restore_original(Path(tree))
        said = apply_patches(Path(tree), [Path(p) for p in patches])
        _tree_for(tree, arch, "--tree")
        for line in said:
            click.echo(line)
        image, secs = build(Path(tree), vid, jobs or os.cpu_count() or 1)
        click.echo(f"{image} ({secs:.0f} s)")
        return 0
    _run(run)


@kernel_group.command("report")
@click.option("--tree", required=True, type=click.Path(file_okay=False), help="A configured 6.12 kernel source tree.")
@click.option("--stock", "stock_images", required=True, multiple=True, type=click.Path(dir_okay=False),
              help="An unpatched kernel image (e.g. Debian's 6.12 and 7.3 vmlinuz); repeatable.")
@click.option("--stock-variant", default=None,
              help="The variant the stock kernels run (default: from each image's version).")
@click.option("--variants", default=",".join(PATCHABLE),
              show_default=True, help="Comma-separated historic variants to build and run.")
@click.option("--random", "n_random", type=click.IntRange(0, 2000), default=120, show_default=True,
              help="Random scenarios each stock kernel runs in each THP mode (0: none).")
@click.option("--seed", type=int, default=1, show_default=True, help="The seed of --random.")
@click.option("--thp", "thp_modes", default="always,never", show_default=True,
              help="Comma-separated THP modes the stock kernels run the random scenarios in; MODE/SHMEM also "
                   "sets shmem_enabled (always/force: the reproducers' shared mappings get huge pages too).")
@click.option("--tree32", default=None, type=click.Path(file_okay=False),
              help="A 6.12 kernel source tree for i386 PAE builds (configured for it if it has no .config): "
                   "each variant also runs its i386-pae counterexamples and the 32-bit wraps there.")
@click.option("--out", default="counterexamples/KERNEL.md", show_default=True, type=click.Path(dir_okay=False))
@click.option("--timeout", type=click.FloatRange(1), default=600, show_default=True)
def kernel_report_cmd(tree: str, stock_images: tuple[str, ...], stock_variant: str | None, variants: str,
                      n_random: int, seed: int, thp_modes: str, tree32: str | None, out: str, timeout: float) -> None:
    """Run every reachable x86-64 gallery counterexample of each historic variant on a kernel
    patched with that variant and on each stock kernel, and seeded random scenarios on the stock
    kernels under each THP mode; write the tables of what the real kernels did (memory, WARN and
    the realignment decision), each beside the model's prediction.  Exit 1 if any disagrees, 3 if
    a reproducer skipped or has no result (counted apart, never as agreement), else 0."""
    def run() -> int:
        import datetime

        from modelcheck.runs.kernel import report
        target = output_file(out, "--out")
        kernel_tree(tree)
        for image in stock_images:
            if not Path(image).is_file():
                raise InputError("--stock", f"{image}: no such kernel image")
        if stock_variant is not None:
            get_variant(stock_variant)
        modes = tuple(_split((thp_modes,), [], "--thp"))
        for mode in modes:
            anon, slash, shmem = mode.partition("/")
            if anon not in ("never", "madvise", "always") or (slash and shmem not in (
                    "never", "always", "within_size", "advise", "deny", "force")):
                raise InputError("--thp", f"{mode!r} is not a THP mode (never, madvise, always; /SHMEM for "
                                          "shmem_enabled: never, always, within_size, advise, deny, force)")
        if tree32 is not None:
            _tree_for(tree32, "i386", "--tree32")
        r = report(Path(tree), [Path(x) for x in stock_images], _split((variants,), [], "--variants"),
                   Path(out).parent, timeout, lambda line: click.echo(line, err=True), stock_variant=stock_variant,
                   n_random=n_random, seed=seed, thp_modes=modes, tree32=Path(tree32) if tree32 else None)
        r.command = ("modelcheck kernel report --tree TREE " + " ".join(f"--stock {Path(x).name}" for x in stock_images)
                     + (f" --random {n_random}" if n_random != 120 else "") + (f" --seed {seed}" if seed != 1 else "")
                     + (f" --thp {','.join(modes)}" if modes != ("always", "never") else "")
                     + (" --tree32 TREE32" if tree32 else ""))
        write_text(target, r.markdown(str(datetime.date.today())))
        click.echo(f"wrote {out}; {r.summary()}")
        return r.exit_code()
    _run(run)


@cli.command("replay")
@click.argument("file", type=click.Path(dir_okay=False))
@_claim_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def replay_cmd(file: str, vid: str | None, pid: str | None, level: str | None, as_json: bool) -> None:
    """Re-check a saved counterexample (scenario JSON or GraphML) with the current simulator and
    variant: does it still violate the property?

    Exit 1 when the property is violated on it (the counterexample still stands), 0 when it holds.
    """
    from modelcheck.output.report import eval_report
    def run() -> Shown:
        s, claim = load_claimed(file, vid, pid, level)
        violated, ev, alt = judge(file, s, claim)
        if s.claim == claim:  # re-checking what the file claims
            state = "still violates" if violated else "no longer violates"
        else:
            state = "violates" if violated else "does not violate"
        return Shown(1 if violated else 0,
                     {"file": file, **claim.to_json(), "violated": violated,
                      "details": ev.details.get(claim.property, ""), "evaluation": ev.to_json()},
                     lambda: f"{claim.variant} {state} {claim.property} on this layout ({claim.level.upper()} "
                             f"realignment)\n"
                             + eval_report(s, [ev] + ([alt] if alt is not None and alt.variant != ev.variant else [])))
    _run(run, as_json)


@cli.command("show")
@click.argument("file", type=click.Path(dir_okay=False))
@_claim_options
@click.option("--out", type=click.Path(dir_okay=False), default=None, metavar="STEM",
              help="Write STEM.svg and STEM.png (default: beside FILE).")
def show_cmd(file: str, vid: str | None, pid: str | None, level: str | None, out: str | None) -> None:
    """Print the /proc/self/maps-style view of a counterexample and write its picture (SVG and PNG)."""
    from modelcheck.output.report import eval_report
    def run() -> int:
        from modelcheck.files import staged_dir
        from modelcheck.output.graph import counterexample_graph
        from modelcheck.output.picture import draw
        base = file[: -len(".graphml")] if file.endswith(".graphml") else file.removesuffix(".json")
        stem = output_file(out or base, "--out" if out else file)
        s, claim = load_claimed(file, vid, pid, level)
        violated, ev, alt = judge(file, s, claim)
        with staged_dir(stem.parent) as (tmp, publish):
            pictures = [publish(p) for p in draw(counterexample_graph(s, ev, claim.property, alt), tmp / stem.name)]
        click.echo(eval_report(s, [ev]), nl=False)
        for p in pictures:
            click.echo(f"picture: {p}")
        return 0
    _run(run)


def main() -> None:
    """The console script: SIGTERM stops the command as an exception would (workers stopped,
    temporary files removed), then exits 143."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    cli.main(prog_name="modelcheck")
