"""SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/) for review's findings (one
result per verdict of a condition, at the condition's source region, with one rule per verdict)
and for check's violations of a C variant (at the C that decides them), so that a CI job or an
editor shows the findings on the lines."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from modelcheck.output.report import maps_lines, move_call

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

#: verdict -> (SARIF level, short description)
RULES = {
    "never-evaluated": ("warning", "The condition is never evaluated: no state reaches it."),
    "never-true": ("warning", "The condition is false wherever it is evaluated."),
    "never-false": ("warning", "The condition is true wherever it is evaluated."),
    "redundant": ("warning", "Dropping the condition changes no decision and no return value."),
    "needed": ("note", "Dropping the condition violates a property the check satisfies."),
    "harmful": ("error", "The check violates a property where this condition decides; without it the check "
                         "would decline."),
    "optimization-only": ("note", "Dropping the condition changes only which safe realignments are taken."),
}


def _version() -> str:
    try:
        return version("modelcheck")
    except PackageNotFoundError:
        return "0"


def witness_lines(s: Any) -> list[str]:
    """A witness in kernel terms: the call, then the VMAs as /proc/self/maps shows them."""
    return [move_call(s), *maps_lines(s)]


def review_sarif(findings: list, variant: str) -> str:
    results = []
    for f in findings:
        c = f.condition
        for verdict in f.verdicts:
            text = f"{verdict}: '{c.text}' ({c.role()} in {c.in_function}): {f.reasons[verdict]}"
            w = f.witnesses.get(verdict)
            if w is not None:
                text += "\n" + "\n".join(witness_lines(w))
            result: dict[str, Any] = {
                "ruleId": verdict, "level": RULES[verdict][0], "message": {"text": text},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": c.file},
                    "region": {"startLine": c.line, "startColumn": c.col, "snippet": {"text": c.text}}}}],
                "properties": {"variant": variant, "function": c.function, "context": c.context}}
            if f.properties.get(verdict):
                result["properties"]["property"] = f.properties[verdict]
            if w is not None:
                result["properties"]["witness"] = w.to_json()
            results.append(result)
    return sarif_log(results)


def check_sarif(r: Any, linkage: Any) -> str:
    """check's verdict on a C variant as SARIF: no result when it holds (or is unknown: the run's
    notification says so), one error when it is violated, located where the C decides it -- the
    warning or NULL dereference the replay ran into, the return value's function for
    return-value, the predicate (else its caller, else move_page_tables()) for the others -- with
    the replayed counterexample in the message and the properties."""
    from modelcheck.front.cfront import PREDICATES, RETURN, START
    from modelcheck.output.report import check_lines
    from modelcheck.checks import get_property
    unit = linkage.unit
    results: list[dict] = []
    notes: list[dict] = []
    if r.verdict == "violated":
        where: tuple[str, int, int] | None = None
        kind = get_property(r.property).fault  # a WARN or NULL dereference: located at its site
        sites = [w for k, w in (r.replay.faults if r.replay is not None else []) if k == kind]
        if sites:
            file, line, col = sites[0].rsplit(":", 2)
            where = (file, int(line), int(col))
        else:
            tails = [RETURN, "pmc_progress"] if r.property == "return-value" else \
                [*PREDICATES, "can_realign_addr", "try_realign_addr", "realign_addr", START]
            name = next((n for n in tails if n in unit.functions and n in unit.spans), None)
            if name is not None:
                where = (unit.files[name], unit.spans[name][0], 1)
                if r.property == "return-value":  # the tail's first guard or return, not its first line
                    from pycparser import c_ast
                    first = next((x for x in unit.functions[name].body.block_items or []
                                  if isinstance(x, (c_ast.If, c_ast.Return)) and x.coord is not None), None)
                    if first is not None:
                        where = (unit.files[name], first.coord.line, first.coord.column)
        text = "\n".join(check_lines(r))
        result: dict[str, Any] = {"ruleId": r.property, "level": "error", "message": {"text": text},
                                  "properties": {"variant": r.variant, "geometry": r.geometry,
                                                 "counterexample": r.counterexample.to_json()}}
        if where is not None:
            result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": where[0]},
                                                         "region": {"startLine": where[1], "startColumn": where[2]}}}]
        results.append(result)
    elif r.verdict == "unknown":
        notes.append({"level": "warning", "message": {"text": f"{r.property}: unknown ({r.reason})"}})
    rules = {r.property: ("error", get_property(r.property).statement)}  # missed-optimization's too
    return sarif_log(results, rules, notes)


def sarif_log(results: list[dict], rules: dict[str, tuple[str, str]] | None = None,
              notifications: list[dict] | None = None) -> str:
    run: dict[str, Any] = {"tool": {"driver": {
        "name": "modelcheck", "version": _version(),
        "rules": [{"id": rid, "shortDescription": {"text": desc}, "defaultConfiguration": {"level": level}}
                  for rid, (level, desc) in (rules or RULES).items()]}},
        "results": results}
    if notifications:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": notifications}]
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=1) + "\n"
