"""`--format sarif`: SARIF 2.1.0 for code-scanning services and review tools.

One rule per kind (and per gcassert directive); results carry the finding's range as 1-based
lines and UTF-16 columns (SARIF's default column unit) relative to `%SRCROOT%`, the compiler's
flow as related locations and a code flow, and a fingerprint that survives line moves.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from escape_lsp import __version__
from escape_lsp.analysis.baseline import fingerprints
from escape_lsp.analysis.check import CheckReport
from escape_lsp.analysis.explain import likely_fix
from escape_lsp.analysis.gcassert import KNOWN, Violation
from escape_lsp.findings.model import DERIVED_KINDS, HEAP_KINDS, Finding, Kind, Span
from escape_lsp.findings.positions import Encoding
from escape_lsp.report.flow import flow_sections

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
#: The key of `partialFingerprints`; the version changes if the fingerprint recipe does.
FINGERPRINT_KEY = "escapeLsp/v1"

#: Kind -> (short description, full description, help: the usual remedy).
RULES: dict[Kind, tuple[str, str, str]] = {
    Kind.MOVED_TO_HEAP: (
        "Variable moved to the heap",
        "The compiler allocates this variable on the heap: a reference to it outlives the "
        "function (its address is returned, stored, or captured by an escaping closure).",
        "Follow the flow (related locations) to where the reference outlives the call; return "
        "or store the value instead of a pointer, or let the caller own the variable.",
    ),
    Kind.ESCAPES_TO_HEAP: (
        "Value escapes to the heap",
        "The compiler heap-allocates this value (a literal, new, make, a closure or an "
        "interface conversion) because it flows somewhere that outlives the function.",
        "Follow the flow to the step that keeps it: avoid interface conversions (fmt, log "
        "arguments) on hot paths, return values instead of pointers, give make a constant "
        "size, and pass closures what they need as arguments.",
    ),
    Kind.LEAKING_PARAM: (
        "Parameter leaks",
        "A pointer passed in this parameter flows to the heap or to a result, so callers' "
        "arguments may have to live on the heap.",
        "Copy what you need instead of keeping the pointer; a leak to a result only costs "
        "callers that let the result escape.",
    ),
    Kind.LEAKING_PARAM_CONTENT: (
        "Parameter content leaks",
        "What this parameter points to flows to the heap, so callers' data must live there.",
        "Copy the pointed-to data instead of storing it.",
    ),
    Kind.DOES_NOT_ESCAPE: (
        "Does not escape",
        "The compiler proved this value stays on the stack.",
        "Nothing to do; this is the outcome allocation-sensitive code wants.",
    ),
    Kind.CAPTURE_BY_REF: (
        "Closure captures by reference",
        "A closure captures this variable by reference (it is reassigned, or too large).",
        "Capture a copy that is never reassigned, or pass the value as an argument.",
    ),
    Kind.CAPTURE_BY_VALUE: (
        "Closure captures by value",
        "A closure captures a copy of this variable.",
        "Nothing to do.",
    ),
    Kind.CAN_INLINE: (
        "Function can be inlined",
        "The compiler can inline this function (its cost is within the inlining budget).",
        "Nothing to do.",
    ),
    Kind.CANNOT_INLINE: (
        "Function cannot be inlined",
        "The compiler will not inline this function, for the reason it gives.",
        "Make the function smaller or remove what the reason names if calls to it are hot.",
    ),
    Kind.INLINED_CALL: (
        "Call inlined",
        "The compiler inlined this call.",
        "Nothing to do.",
    ),
    Kind.DEVIRTUALIZED: (
        "Interface call devirtualized",
        "The compiler turned this interface call into a direct call.",
        "Nothing to do.",
    ),
    Kind.BOUNDS_CHECK: (
        "Bounds check remains",
        "The compiler could not prove this index or slice in range, so a bounds check runs.",
        "Prove the range earlier so the check goes: e.g. `_ = s[n-1]` before a loop, or "
        "reslice to a known length.",
    ),
    Kind.NIL_CHECK: (
        "Nil check generated",
        "The compiler inserted a nil check before this dereference.",
        "Check for nil once outside the hot path, or use a value instead of a pointer.",
    ),
    Kind.NIL_CHECK_REMOVED: (
        "Nil check removed",
        "The compiler proved this dereference needs no nil check.",
        "Nothing to do.",
    ),
    Kind.INLINING_NOTE: (
        "Inlining note",
        "A note of the inliner: a function considered big (inlinees get a smaller budget), or "
        "inlining skipped inside a testing.B.Loop body.",
        "Informational; it explains other inlining decisions nearby.",
    ),
    Kind.SELF_ASSIGNMENT: (
        "Self-assignment ignored",
        "Escape analysis ignores this assignment of a value to a part of itself "
        "(x.f = x.f[1:]): it cannot make anything escape.",
        "Informational.",
    ),
    Kind.BOUNDS_CHECK_ELIDED: (
        "Bounds check elided",
        "A constant index the compiler proved in range: no bounds check at run time.",
        "Informational.",
    ),
    Kind.ZERO_COPY: (
        "Zero-copy conversion",
        "This string to []byte conversion shares the string's bytes instead of copying them.",
        "Informational: the bytes must not be modified.",
    ),
    Kind.KEPT_ALIVE: (
        "Kept alive in a benchmark loop",
        "Inside a testing.B.Loop body the compiler keeps this result alive so the benchmark "
        "measures the work instead of optimising it away.",
        "Informational.",
    ),
    Kind.DEBUG_NOTE: (
        "Compiler debug note",
        "A note printed only under a -d= compiler debug flag.",
        "Informational.",
    ),
    Kind.POOL_PUT_NON_POINTER: (
        "sync.Pool Put of a non-pointer",
        "Put takes an interface: a value that is not pointer-shaped (a slice, a struct) is "
        "boxed, one allocation per call (staticcheck SA6002); the compiler says it escapes here.",
        "Store pointers in the pool (e.g. *[]byte): New returns &v, Get asserts *T, Put the "
        "pointer.",
    ),
    Kind.POOL_NEW_NON_POINTER: (
        "sync.Pool New returns a non-pointer",
        "The pool's New returns a value that is not pointer-shaped, so every Put of it boxes.",
        "Return a pointer from New and keep pointers in the pool.",
    ),
    Kind.POOL_LOCAL: (
        "sync.Pool created per call",
        "The pool is created inside a function or loop and used only there: each call gets a "
        "new, empty pool, so nothing is reused.",
        "Declare the pool at package level (the hoist quick fix does it, proven by the compiler).",
    ),
    Kind.POOL_OBJECT_RETAINED: (
        "Pooled object retained",
        "The object taken from (or put into) the pool also flows somewhere longer-lived — a "
        "global, a field, a channel, a closure, a result — per the compiler's flow: the pool "
        "hands out memory still in use, and the object escapes anyway.",
        "Copy what must be kept before Put, or stop pooling this object.",
    ),
    Kind.POOL_GET_VALUE: (
        "sync.Pool Get of a struct value",
        "Get is asserted to a non-pointer struct or array type: each Get copies the value.",
        "Keep pointers in the pool and assert *T.",
    ),
    Kind.POOL_USE_AFTER_PUT: (
        "Use after sync.Pool Put",
        "The variable is used after it was put back: another goroutine may already have it.",
        "Put the object back only when you are done with it.",
    ),
    Kind.POOL_MISSING_PUT: (
        "sync.Pool Get without Put",
        "On some return path the object from Get is not put back, so the pool refills via New.",
        "Put the object back on every path (e.g. with defer) unless it is handed off.",
    ),
    Kind.OTHER: (
        "Other compiler report",
        "A compiler report of a shape this version of escape-lsp does not know yet.",
        "Read the compiler's message.",
    ),
}

GCASSERT_RULES: dict[str, tuple[str, str]] = {
    "inline": ("Call not inlined", "A `//gcassert:inline` directive: the call must be inlined."),
    "bce": (
        "Bounds check not eliminated",
        "A `//gcassert:bce` directive: no bounds check may remain in the statement.",
    ),
    "noescape": (
        "Allocation escapes",
        "A `//gcassert:noescape` directive: nothing in the statement may escape to the heap.",
    ),
    "unknown": ("Unknown directive", "A `//gcassert:` directive that gcassert does not define."),
}

Fingerprint = Callable[[Finding], str]


def _level(kind: Kind) -> str:
    if kind in HEAP_KINDS or kind in DERIVED_KINDS:
        return "warning"
    return "note"


def _rule(kind: Kind) -> dict[str, Any]:
    short, full, help_text = RULES.get(kind, RULES[Kind.OTHER])
    return {
        "id": kind.value,
        "name": "".join(part.capitalize() for part in kind.value.split("-")),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": _level(kind)},
        "properties": {"tags": ["performance", "go"]},
    }


def _gcassert_rule(name: str) -> dict[str, Any]:
    short, full = GCASSERT_RULES[name]
    return {
        "id": f"gcassert-{name}",
        "name": f"Gcassert{name.capitalize()}",
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {
            "text": "The directive asserts what the compiler must decide; the message gives the "
            "compiler's reason. Change the code until the assertion holds, or drop the "
            "directive if the assumption no longer matters."
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["performance", "go", "gcassert"]},
    }


class _Locations:
    """Absolute paths and byte spans to SARIF artifact locations and UTF-16 regions."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        self.root = report.cwd or os.getcwd()

    def artifact(self, file: str) -> dict[str, str]:
        rel = os.path.relpath(file, self.root)
        if rel.startswith(".."):
            return {"uri": Path(file).as_uri()}
        return {"uri": quote(rel.replace(os.sep, "/"), safe="/"), "uriBaseId": SRCROOT}

    def region(self, file: str, span: Span) -> dict[str, int]:
        src = self.report.sources.get(file)

        def column(line: int, col: int) -> int:
            return (src.lines.column(line, col, Encoding.UTF16) if src else col) + 1

        return {
            "startLine": span.start_line + 1,
            "startColumn": column(span.start_line, span.start_col),
            "endLine": span.end_line + 1,
            "endColumn": column(span.end_line, span.end_col),
        }

    def physical(self, file: str, span: Span) -> dict[str, Any]:
        return {"artifactLocation": self.artifact(file), "region": self.region(file, span)}


def _result(
    f: Finding, rule_index: int, fingerprint: str, at: _Locations, baseline: bool
) -> dict[str, Any]:
    text = f.message + (f" (in {f.function})" if f.function else "")
    fix = likely_fix(f)
    if fix:
        text += f". Likely fix: {fix}"
    location: dict[str, Any] = {"physicalLocation": at.physical(f.file, f.span)}
    if f.function:
        location["logicalLocations"] = [{"name": f.function, "kind": "function"}]
    result: dict[str, Any] = {
        "ruleId": f.kind.value,
        "ruleIndex": rule_index,
        "level": _level(f.kind),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }
    if baseline:
        result["baselineState"] = "new"
    related: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for section in flow_sections(f):
        for row in section.rows:
            said = f"{row.number}. {row.subject} — {row.reason} ({section.edge})"
            physical = at.physical(row.file, row.span)
            related.append(
                {"id": row.number, "physicalLocation": physical, "message": {"text": said}}
            )
            steps.append({"location": {"physicalLocation": physical, "message": {"text": said}}})
    if related:
        result["relatedLocations"] = related
        result["codeFlows"] = [{"threadFlows": [{"locations": steps}]}]
    return result


def _directive(v: Violation) -> str:
    return v.directive if v.directive in KNOWN else "unknown"


def _violation_result(
    v: Violation, rule_index: int, at: _Locations, occurrence: int
) -> dict[str, Any]:
    name = _directive(v)
    src = at.report.sources.get(v.file)
    text = ""
    if src is not None:
        start = src.lines.offset(v.span.start_line, v.span.start_col)
        end = src.lines.offset(v.span.end_line, v.span.end_col)
        text = "".join(src.data[start:end].decode("utf-8", "replace").split())
    key = "\0".join([name, v.message, text, str(occurrence)])
    return {
        "ruleId": f"gcassert-{name}",
        "ruleIndex": rule_index,
        "level": "error",
        "message": {"text": v.message},
        "locations": [{"physicalLocation": at.physical(v.file, v.span)}],
        "partialFingerprints": {
            FINGERPRINT_KEY: hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        },
    }


def report_sarif(
    report: CheckReport,
    kinds: frozenset[Kind],
    fingerprint: Fingerprint | None = None,
    baseline: bool = False,
) -> dict[str, Any]:
    """The SARIF log of one run. `fingerprint` maps findings to their baseline fingerprints
    (computed here when not given); `baseline` marks results as new against a baseline."""
    at = _Locations(report)
    shown = [f for f in report.findings if f.kind in kinds]
    if fingerprint is None:
        table = {id(f): p for f, p in zip(shown, fingerprints(shown, report.sources), strict=True)}
        fingerprint = lambda f: table[id(f)]  # noqa: E731
    rule_kinds = sorted(kinds | {f.kind for f in shown}, key=lambda k: list(Kind).index(k))
    directives = sorted({_directive(v) for v in report.violations})
    rules = [_rule(k) for k in rule_kinds] + [_gcassert_rule(d) for d in directives]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [_result(f, index[f.kind.value], fingerprint(f), at, baseline) for f in shown]
    seen: dict[tuple[str, str], int] = {}
    for v in report.violations:
        n = seen.get((v.file, v.message), 0)
        seen[(v.file, v.message)] = n + 1
        results.append(_violation_result(v, index[f"gcassert-{_directive(v)}"], at, n))
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{b.package}: escape analysis blocked: {b.summary}"},
        }
        for b in report.blocked
    ]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    root_uri = Path(at.root).as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "escape-lsp",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": root_uri}},
                "columnKind": "utf16CodeUnits",
                "invocations": [invocation],
                "results": results,
            }
        ],
    }
