"""The server's settings (section `escapeLsp`), with defaults; one source for all clients.

The same names, defaults and descriptions are mirrored in the VS Code extension's
`contributes.configuration` and the Neovim plugin's docs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types as lsp

from escape_lsp.analysis.settings import DEFAULT_DEBOUNCE_MS, AnalysisSettings, with_tags
from escape_lsp.findings.model import DEFAULT_KINDS, HEAP_KINDS, Kind, parse_kinds
from escape_lsp.lsp.evidence_config import evidence_settings

SECTION = "escapeLsp"

_SEVERITIES = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "information": lsp.DiagnosticSeverity.Information,
    "info": lsp.DiagnosticSeverity.Information,
    "hint": lsp.DiagnosticSeverity.Hint,
}

DEFAULT_SEVERITIES: dict[Kind, lsp.DiagnosticSeverity] = {
    Kind.MOVED_TO_HEAP: lsp.DiagnosticSeverity.Warning,
    Kind.ESCAPES_TO_HEAP: lsp.DiagnosticSeverity.Warning,
}


@dataclass(frozen=True)
class ServerSettings:
    go: str | None = None
    kinds: frozenset[Kind] = DEFAULT_KINDS
    severities: dict[Kind, lsp.DiagnosticSeverity] = field(default_factory=dict)
    inlay_hints: frozenset[Kind] = HEAP_KINDS
    code_lens: bool = True
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    include_tests: bool = False
    build_flags: tuple[str, ...] = ()
    build_tags: str = ""
    gcflags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    exclude: tuple[str, ...] = ()
    scope: str = "open"
    #: Evidence settings (see `lsp/evidence_config.py`): hot/cold severities, a profile file,
    #: extra `go test` flags for the benchmark lens.
    severity_by_weight: float = 0.0
    profile: str | None = None
    bench_flags: tuple[str, ...] = ()

    def severity(self, kind: Kind) -> lsp.DiagnosticSeverity:
        return self.severities.get(
            kind, DEFAULT_SEVERITIES.get(kind, lsp.DiagnosticSeverity.Information)
        )

    def analysis(self) -> AnalysisSettings:
        return AnalysisSettings(
            tests=self.include_tests,
            gcflags=self.gcflags,
            build_flags=with_tags(self.build_flags, self.build_tags),
            env=self.env,
            excluded=self.exclude,
        )


def _words(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(shlex.split(value))
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _kinds(value: Any, default: frozenset[Kind], problems: list[str]) -> frozenset[Kind]:
    if value is None:
        return default
    try:
        if isinstance(value, dict):  # {"heap": true, "leaks": false}
            on = [k for k, v in value.items() if v]
            return parse_kinds(on)
        return parse_kinds(value)
    except ValueError as exc:
        problems.append(str(exc))
        return default


def parse_settings(raw: Any) -> tuple[ServerSettings, list[str]]:
    """Settings from a JSON object (either the `escapeLsp` section or a wrapper holding it).

    Unknown or malformed values fall back to defaults and are reported, never fatal.
    """
    problems: list[str] = []
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if isinstance(data.get(SECTION), dict):
        data = data[SECTION]
    severities: dict[Kind, lsp.DiagnosticSeverity] = {}
    for name, level in (data.get("severity") or {}).items():
        sev = _SEVERITIES.get(str(level).lower())
        try:
            kinds = parse_kinds(str(name))
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if sev is None:
            problems.append(f"unknown severity {level!r} for {name}")
            continue
        for kind in kinds:
            severities[kind] = sev
    scope = str(data.get("scope", "open"))
    if scope not in ("open", "workspace"):
        problems.append(f"scope must be 'open' or 'workspace', not {scope!r}")
        scope = "open"
    env = data.get("env") or {}
    settings = ServerSettings(
        go=str(data["go"]) if data.get("go") else None,
        kinds=_kinds(data.get("kinds"), DEFAULT_KINDS, problems),
        severities=severities,
        inlay_hints=_kinds(data.get("inlayHints"), HEAP_KINDS, problems),
        code_lens=bool(data.get("codeLens", True)),
        debounce_ms=max(0, int(data.get("debounceMs", DEFAULT_DEBOUNCE_MS))),
        include_tests=bool(data.get("includeTests", False)),
        build_flags=_words(data.get("buildFlags")),
        build_tags=str(data.get("buildTags", "")),
        gcflags=_words(data.get("gcflags")),
        env=tuple(sorted((str(k), str(v)) for k, v in env.items()))
        if isinstance(env, dict)
        else (),
        exclude=_words(data.get("exclude")),
        scope=scope,
        **evidence_settings(data, problems),
    )
    return settings, problems
