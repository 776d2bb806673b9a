"""SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/) for review's findings (one
result per verdict of a condition, at the condition's source region, with one rule per verdict)
and for check's violations of a C variant (at the C that decides them), so that a CI job or an
editor shows the findings on the lines."""

from __future__ import annotations

import json
from pathlib import Path
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
    "removes-needed": ("error", "The patch removes a condition the unpatched code needs: without it a property the "
                                "unpatched code satisfies is violated."),
    "fix": ("note", "One edit makes every property hold, proved, and keeps every safe realignment of the original."),
    "fix-declining": ("note", "One edit makes every property hold, proved, but declines some safe realignments "
                              "of the original."),
}


def _version() -> str:
    try:
        return version("modelcheck")
    except PackageNotFoundError:
        return "0"


def witness_lines(s: Any) -> list[str]:
    """A witness in kernel terms: the call, then the VMAs as /proc/self/maps shows them."""
    return [move_call(s), *maps_lines(s)]


def review_sarif(findings: list, variant: str, fixes: list = (), root: str | None = None,
                 patches: tuple[str, ...] = (), patch: Any = None) -> str:
    """review's findings, and its proved one-token fixes as results of rule ``fix`` (or
    ``fix-declining``) carrying a SARIF fix: the region the edit replaces and the new text, which
    an editor can apply.  ``root``, ``patches``: see ``sarif_log``."""
    results = []
    for rm in (patch.removed if patch is not None else []):  # front.review.PatchReview
        if not rm.needed:
            continue
        c, f = rm.finding.condition, rm.finding
        text = (f"removes-needed: the patch removes '{c.text}' ({c.role()} in {c.in_function}, line {c.line} before "
                f"it), which the unpatched code needs: {f.reasons['needed']}")
        w = f.witnesses.get("needed")
        if w is not None:
            text += "\n" + "\n".join(witness_lines(w))
        result = {"ruleId": "removes-needed", "level": RULES["removes-needed"][0], "message": {"text": text},
                  "locations": [{"physicalLocation": {"artifactLocation": {"uri": c.file},
                                                      "region": {"startLine": rm.line}}}],
                  "properties": {"variant": variant, "function": c.function, "line_before": c.line,
                                 **({"property": f.properties["needed"]} if f.properties.get("needed") else {}),
                                 **({"witness": w.to_json()} if w is not None else {})}}
        results.append(result)
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
    for fx in fixes:
        rule = "fix" if fx.loses is None else "fix-declining"
        text = f"{rule}: {fx.description} ({fx.kind} in {fx.function}): every property holds"
        if fx.loses is not None:
            text += ", but it declines where the original realigns safely:\n" + "\n".join(witness_lines(fx.loses))
        result = {"ruleId": rule, "level": RULES[rule][0], "message": {"text": text},
                  "locations": [{"physicalLocation": {"artifactLocation": {"uri": fx.file},
                                                      "region": {"startLine": fx.line, "startColumn": fx.col}}}],
                  "properties": {"variant": variant, "edit": fx.kind, "covers": dict(fx.covers)}}
        if fx.replacement is not None:
            (l1, c1, l2, c2), inserted = fx.replacement
            result["fixes"] = [{"description": {"text": fx.description}, "artifactChanges": [{
                "artifactLocation": {"uri": fx.file},
                "replacements": [{"deletedRegion": {"startLine": l1, "startColumn": c1, "endLine": l2,
                                                    "endColumn": c2},
                                  "insertedContent": {"text": inserted}}]}]}]
        results.append(result)
    return sarif_log(results, root=root, patches=patches)


def check_sarif(r: Any, where: tuple[str, int, int] | None, root: str | None = None,
                patches: tuple[str, ...] = ()) -> str:
    """check's verdict on a C variant as SARIF: no result when it holds (or is unknown: the run's
    notification says so), one error when it is violated, located at ``where`` (FILE, LINE, COL:
    where the C decides it, modelcheck.front.cfront.where_decided) with the replayed
    counterexample in the message and the properties."""
    from modelcheck.output.report import check_lines
    from modelcheck.checks import get_property
    results: list[dict] = []
    notes: list[dict] = []
    if r.verdict == "violated":
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
    return sarif_log(results, rules, notes, root=root, patches=patches)


def sarif_log(results: list[dict], rules: dict[str, tuple[str, str]] | None = None,
              notifications: list[dict] | None = None, root: str | None = None, patches: tuple[str, ...] = ()) -> str:
    """The log.  With ``root`` (a kernel tree), paths inside it are relative to the base id
    SRCROOT, which ``originalUriBaseIds`` ties to the tree, as a CI job's checkout expects them
    (mm/mremap.c); with ``patches``, the lines are those of the file after the patches, in
    order, and the run says so."""
    run: dict[str, Any] = {"tool": {"driver": {
        "name": "modelcheck", "version": _version(),
        "rules": [{"id": rid, "shortDescription": {"text": desc}, "defaultConfiguration": {"level": level}}
                  for rid, (level, desc) in (rules or RULES).items()]}},
        "results": results}
    if root is not None:
        base = Path(root).resolve()
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": base.as_uri() + "/"}}
        for loc in _locations(results):
            try:
                rel = Path(loc["uri"]).resolve().relative_to(base)
            except ValueError:
                continue
            loc["uri"], loc["uriBaseId"] = rel.as_posix(), "SRCROOT"
    if patches:
        run["properties"] = {"patches": [Path(p).name for p in patches],
                             "lines": "of each file as the patches, applied in order, leave it"}
    if notifications:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": notifications}]
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=1) + "\n"


def _locations(results: list[dict]) -> list[dict]:
    """Every artifactLocation in the results (their locations and their fixes')."""
    out = []
    for r in results:
        for loc in r.get("locations", []):
            out.append(loc["physicalLocation"]["artifactLocation"])
        for fix in r.get("fixes", []):
            out += [change["artifactLocation"] for change in fix.get("artifactChanges", [])]
    return out
