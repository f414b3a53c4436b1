"""The server's settings (section `escapeLsp`), with defaults; one source for all clients.

The same names, defaults and descriptions are mirrored in the VS Code extension's
`contributes.configuration` and the Neovim plugin's docs.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from escape_lsp.analysis.compiler_flags import flags_for_kinds, merge_flags
from escape_lsp.analysis.settings import DEFAULT_DEBOUNCE_MS, AnalysisSettings, with_tags
from escape_lsp.findings.model import DEFAULT_KINDS, HEAP_KINDS, POOL_KINDS, Kind, parse_kinds
from escape_lsp.lsp.evidence_config import EVIDENCE_SETTINGS, evidence_settings
from escape_lsp.lsp.wire import Severity

SECTION = "escapeLsp"
MAX_DEBOUNCE_MS = 60_000

_SEVERITIES = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "information": Severity.INFORMATION,
    "info": Severity.INFORMATION,
    "hint": Severity.HINT,
}

DEFAULT_SEVERITIES: dict[Kind, Severity] = {
    Kind.MOVED_TO_HEAP: Severity.WARNING,
    Kind.ESCAPES_TO_HEAP: Severity.WARNING,
    **{k: Severity.WARNING for k in POOL_KINDS},
}


@dataclass(frozen=True)
class ServerSettings:
    go: str | None = None
    kinds: frozenset[Kind] = DEFAULT_KINDS
    severities: dict[Kind, Severity] = field(default_factory=dict)
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

    def severity(self, kind: Kind) -> Severity:
        return self.severities.get(kind, DEFAULT_SEVERITIES.get(kind, Severity.INFORMATION))

    def analysis(self) -> AnalysisSettings:
        return AnalysisSettings(
            tests=self.include_tests,
            # Opt-in kinds (bounds, nil) need compiler reports that only flags turn on.
            gcflags=merge_flags(self.gcflags, flags_for_kinds(self.kinds | self.inlay_hints)),
            build_flags=with_tags(self.build_flags, self.build_tags),
            env=self.env,
            excluded=self.exclude,
        )


class BadSetting(ValueError):
    """One setting's value cannot be used; the message says what it must be."""


def _show(value: Any) -> str:
    text = json.dumps(value) if value is None or isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise BadSetting(f"must be a string, not {_show(value)}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadSetting(f"must be true or false, not {_show(value)}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    """A list of strings, or one string split like a shell would (no shell is run)."""
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:  # e.g. an unbalanced quote
            raise BadSetting(f"cannot split {_show(value)} into words ({exc})") from None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise BadSetting(f"must be a list of strings, not {_show(value)}")


def _flags(value: Any) -> tuple[str, ...]:
    words = _strings(value)
    stray = [w for w in words if not w.startswith("-")]
    if stray:
        raise BadSetting(f"every word must be a flag starting with '-', not {_show(stray[0])}")
    return words


def _kind_set(value: Any) -> frozenset[Kind]:
    if isinstance(value, dict):  # {"heap": true, "leaks": false}
        if not all(isinstance(v, bool) for v in value.values()):
            raise BadSetting(f"must map kinds to true or false, not {_show(value)}")
        return parse_kinds([str(k) for k, v in value.items() if v])
    if isinstance(value, str):
        return parse_kinds(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return parse_kinds(value)
    raise BadSetting(f'must be a list of kinds such as ["heap", "leaks"], not {_show(value)}')


def _debounce(value: Any) -> int:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 <= value <= MAX_DEBOUNCE_MS:
        raise BadSetting(
            f"must be a number of milliseconds from 0 to {MAX_DEBOUNCE_MS}, not {_show(value)}"
        )
    return round(float(value))


def _scope(value: Any) -> str:
    if value not in ("open", "workspace"):
        raise BadSetting(f"must be 'open' or 'workspace', not {_show(value)}")
    return str(value)


def _go(value: Any) -> str | None:
    return _string(value) or None


def _env(value: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise BadSetting(f"must be an object of variable names to strings, not {_show(value)}")
    out: dict[str, str] = {}
    for name, val in value.items():
        if not name or "=" in name or "\0" in name:
            problems.append(f"`env`: {_show(name)} is not a variable name; ignored")
        elif isinstance(val, bool):
            out[name] = "true" if val else "false"
        elif isinstance(val, str | int | float) and "\0" not in str(val):
            out[name] = str(val)
        else:
            problems.append(f"`env.{name}`: must be a string, not {_show(val)}; ignored")
    return tuple(sorted(out.items()))


def _severities(value: Any, problems: list[str]) -> dict[Kind, Severity]:
    if not isinstance(value, dict):
        raise BadSetting(f'must be an object such as {{"heap": "error"}}, not {_show(value)}')
    out: dict[Kind, Severity] = {}
    for name, level in value.items():
        sev = _SEVERITIES.get(level.lower()) if isinstance(level, str) else None
        try:
            kinds = parse_kinds(str(name))
        except ValueError as exc:
            problems.append(f"`severity.{name}`: {exc}; ignored")
            continue
        if sev is None:
            levels = "error, warning, information or hint"
            problems.append(f"`severity.{name}`: must be {levels}, not {_show(level)}; ignored")
            continue
        for kind in kinds:
            out[kind] = sev
    return out


#: Setting name -> (ServerSettings field, parser). Parsers raise for a value they cannot use.
_PLAIN: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "go": ("go", _go),
    "kinds": ("kinds", _kind_set),
    "inlayHints": ("inlay_hints", _kind_set),
    "codeLens": ("code_lens", _bool),
    "debounceMs": ("debounce_ms", _debounce),
    "includeTests": ("include_tests", _bool),
    "buildFlags": ("build_flags", _flags),
    "buildTags": ("build_tags", _string),
    "gcflags": ("gcflags", _flags),
    "exclude": ("exclude", _strings),
    "scope": ("scope", _scope),
}
#: Parsers that report problems with single entries and keep the rest.
_ENTRIES: dict[str, tuple[str, Callable[[Any, list[str]], Any]]] = {
    "severity": ("severities", _severities),
    "env": ("env", _env),
}
#: Client-side settings some editors send along (the VS Code extension's `server.*`).
_CLIENT_ONLY = {"server"}


def parse_settings(raw: Any) -> tuple[ServerSettings, list[str]]:
    """Settings from a JSON object (either the `escapeLsp` section or a wrapper holding it).

    A value that cannot be used is reported (one line naming the setting) and its default
    kept; every other setting still applies. Never raises.
    """
    problems: list[str] = []
    if raw is not None and not isinstance(raw, dict):
        problems.append(f"settings must be an object, not {_show(raw)}; using the defaults")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if isinstance(data.get(SECTION), dict):
        data = data[SECTION]
    elif SECTION in data:
        problems.append(f"`{SECTION}` must be an object, not {_show(data[SECTION])}")
        data = {}
    values: dict[str, Any] = {}
    for name, value in data.items():
        try:
            if name in _PLAIN:
                field_name, parse = _PLAIN[name]
                values[field_name] = parse(value)
            elif name in _ENTRIES:
                field_name, parse_entries = _ENTRIES[name]
                values[field_name] = parse_entries(value, problems)
            elif name not in _CLIENT_ONLY and name not in EVIDENCE_SETTINGS:
                problems.append(f"unknown setting `{name}` ignored")
        except Exception as exc:  # any surprise in one value must not cost the others
            problems.append(f"`{name}`: {exc}; using the default")
    values.update(evidence_settings(data, problems))
    return ServerSettings(**values), problems
