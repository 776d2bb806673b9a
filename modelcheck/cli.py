"""The ``modelcheck`` command.  Each command returns an exit code; only this module prints.

Exit codes: 0 as expected, 1 a property is violated, 2 usage or input error, 3 unknown or internal error.
"""

from __future__ import annotations

import json
import sys
from typing import Callable

import click

from modelcheck.errors import InputError, InternalError
from modelcheck.geometry import LEVELS, PRESETS, get_geometry
from modelcheck.report import eval_report
from modelcheck.scenario import load_scenario
from modelcheck.semantics import evaluate
from modelcheck.spec import PROPERTIES
from modelcheck.variants import get_variant, variant_ids

__all__ = ["main", "cli"]


def _emit_json(obj: object) -> None:
    click.echo(json.dumps(obj, indent=2))


def _run(fn: Callable[[], int]) -> None:
    """Turn our errors into one line on stderr and the documented exit code."""
    try:
        code = fn()
    except InputError as e:
        click.echo(f"modelcheck: error: {e}", err=True)
        sys.exit(2)
    except InternalError as e:
        click.echo(f"modelcheck: internal error: {e}", err=True)
        sys.exit(3)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modelcheck")
def cli() -> None:
    """Check the realignment of move_page_tables() (Linux mm/mremap.c) against named properties.

    Exit codes: 0 as expected, 1 a property is violated, 2 usage or input error,
    3 unknown verdict or internal error.
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def geometries(as_json: bool) -> None:
    """List the preset page-table geometries.

    A custom geometry is given anywhere a geometry is accepted as
    custom:word=64,page=12,pmd=21,pud=30,levels=4,task=0x7ffffffff000,min=0x10000
    """
    def run() -> int:
        if as_json:
            _emit_json([g.to_json() for g in PRESETS.values()])
            return 0
        click.echo(f"{'name':<15} {'word':>4} {'levels':>6} {'PAGE':>8} {'PMD_SIZE':>12} {'PUD_SIZE':>16} "
                   f"{'TASK_SIZE':>18}  moves")
        for g in PRESETS.values():
            moves = "+".join(x for x, ok in (("pmd", g.have_move_pmd), ("pud", g.have_move_pud)) if ok)
            click.echo(f"{g.name:<15} {g.word_bits:>4} {g.levels:>6} {hex(g.page_size):>8} {hex(g.pmd_size):>12} "
                       f"{hex(g.pud_size):>16} {hex(g.task_size):>18}  {moves}")
        return 0
    _run(run)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def variants(as_json: bool) -> None:
    """List the variants: id, summary and provenance (lore Message-ID or commit)."""
    def run() -> int:
        vs = [get_variant(v) for v in variant_ids()]
        if as_json:
            _emit_json([{"id": v.id, "summary": v.summary, "provenance": v.provenance} for v in vs])
            return 0
        for v in vs:
            click.echo(f"{v.id:<7} {v.summary}\n        {v.provenance}")
        return 0
    _run(run)


@cli.command("properties")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def properties_cmd(as_json: bool) -> None:
    """List the properties with their statement and kernel reference."""
    def run() -> int:
        if as_json:
            _emit_json([p.__dict__ for p in PROPERTIES.values()])
            return 0
        for p in PROPERTIES.values():
            click.echo(f"{p.id}\n    {p.statement}\n    ref: {p.reference}")
        return 0
    _run(run)


@cli.command("eval")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--variant", "variant_list", multiple=True, metavar="ID",
              help="Variant to run (repeatable); default: every variant.")
@click.option("--level", type=click.Choice(LEVELS), default="pmd", show_default=True,
              help="Realign to the PMD (the kernel) or the PUD boundary.")
@click.option("--geometry", default=None, metavar="NAME", help="Override the scenario's geometry.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def eval_cmd(scenario: str, variant_list: tuple[str, ...], level: str, geometry: str | None,
             as_json: bool) -> None:
    """Run variants on one concrete scenario (JSON) and judge every property.

    Exit 0 when every property holds for every variant run, 1 when one is violated.
    """
    def run() -> int:
        geo = get_geometry(geometry) if geometry else None
        s = load_scenario(scenario, geo)
        chosen = [get_variant(v) for v in (variant_list or variant_ids())]
        evs = [evaluate(s, v, level) for v in chosen]
        if as_json:
            _emit_json({"scenario": s.to_json(), "results": [e.to_json() for e in evs]})
        else:
            click.echo(eval_report(s, evs), nl=False)
        return 1 if any(e.violated() for e in evs) else 0
    _run(run)


def main() -> None:
    cli(prog_name="modelcheck")
