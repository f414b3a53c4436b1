"""Baselines: which findings are new since a recorded set, matched by a fingerprint that
survives unrelated line moves.

A fingerprint hashes what a finding is about, not where it is: the function, the kind, the
compiler's message, the source text of its range (whitespace removed) and its occurrence among
findings equal in all of those. Inserting lines above a finding changes none of them; a second,
identical allocation in the same function gets occurrence 1 and so counts as new.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from escape_lsp.findings.model import HEAP_KINDS, LEAK_KINDS, Finding, Kind, Span
from escape_lsp.findings.syntax import GoSource

FORMAT = "escape-lsp-baseline"
VERSION = 1


class BaselineError(Exception):
    """The baseline file is missing or unreadable; the message is one clear line."""


@dataclass(frozen=True)
class Entry:
    """One recorded finding: its fingerprint, and where it was (for people reading diffs)."""

    fingerprint: str
    kind: str
    message: str
    function: str
    file: str
    line: int

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Entry:
        """An entry as `write` stored it; only the fingerprint is required."""
        return cls(
            str(item["fingerprint"]),
            str(item.get("kind", "")),
            str(item.get("message", "")),
            str(item.get("function", "")),
            str(item.get("file", "")),
            int(item.get("line", 0)),
        )


@dataclass(frozen=True)
class Comparison:
    new: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]
    gone: tuple[Entry, ...]


def _text(source: GoSource | None, span: Span) -> str:
    if source is None:
        return ""
    start = source.lines.offset(span.start_line, span.start_col)
    end = source.lines.offset(span.end_line, span.end_col)
    return "".join(source.data[start:end].decode("utf-8", "replace").split())


def _scope(f: Finding, source: GoSource | None) -> str:
    """The compiler's function name, else the declaration the finding is in."""
    if f.function:
        return f.function
    decl = source.declaration_at(f.span.start_line, f.span.start_col) if source else None
    return decl.name if decl is not None else ""


def fingerprints(findings: Sequence[Finding], sources: Mapping[str, GoSource]) -> list[str]:
    """One fingerprint per finding, aligned with `findings` (which must be sorted)."""
    seen: dict[tuple[str, ...], int] = {}
    out: list[str] = []
    for f in findings:
        source = sources.get(f.file)
        key = (_scope(f, source), f.kind.value, f.message, _text(source, f.span))
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        digest = hashlib.sha256("\0".join([*key, str(occurrence)]).encode("utf-8"))
        out.append(digest.hexdigest()[:32])
    return out


def entries(
    findings: Sequence[Finding], prints: Sequence[str], sources: Mapping[str, GoSource], root: str
) -> list[Entry]:
    return [
        Entry(
            p,
            f.kind.value,
            f.message,
            _scope(f, sources.get(f.file)),
            os.path.relpath(f.file, root).replace(os.sep, "/"),
            f.line,
        )
        for f, p in zip(findings, prints, strict=True)
    ]


def write(path: str, items: Sequence[Entry]) -> None:
    data = {
        "format": FORMAT,
        "version": VERSION,
        "findings": [
            asdict(e) for e in sorted(items, key=lambda e: (e.file, e.line, e.kind, e.message))
        ],
    }
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from None


def read(path: str) -> list[Entry]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise BaselineError(
            f"baseline {path} does not exist (write one with --write-baseline {path})"
        ) from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"baseline {path} is unreadable: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f"{path} is not an escape-lsp baseline")
    if data.get("version") != VERSION:
        raise BaselineError(f"baseline {path} has version {data.get('version')}, not {VERSION}")
    try:
        return [Entry.from_json(e) for e in data.get("findings", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise BaselineError(f"baseline {path} has a malformed entry: {exc}") from None


def compare(
    findings: Sequence[Finding], prints: Sequence[str], baseline: Sequence[Entry]
) -> Comparison:
    known = {e.fingerprint for e in baseline}
    current = set(prints)
    new = tuple(f for f, p in zip(findings, prints, strict=True) if p not in known)
    same = tuple(f for f, p in zip(findings, prints, strict=True) if p in known)
    gone = tuple(e for e in baseline if e.fingerprint not in current)
    return Comparison(new, same, gone)


def gates(kind: Kind) -> bool:
    """Kinds `--fail-on` counts: heap allocations and parameters leaking."""
    return kind in HEAP_KINDS or kind in LEAK_KINDS


def summary(comparison: Comparison) -> str:
    """`3 new heap allocations, 1 new leak, 1 gone`."""
    heap = sum(1 for f in comparison.new if f.kind in HEAP_KINDS)
    leaks = sum(1 for f in comparison.new if f.kind in LEAK_KINDS)
    other = len(comparison.new) - heap - leaks
    parts = [_plural(heap, "new heap allocation")]
    if leaks:
        parts.append(_plural(leaks, "new leaking parameter"))
    if other:
        parts.append(_plural(other, "other new finding"))
    parts.append(f"{len(comparison.gone)} gone")
    return ", ".join(parts)


def _plural(n: int, words: str) -> str:
    return f"{n} {words}" if n == 1 else f"{n} {words}s"
