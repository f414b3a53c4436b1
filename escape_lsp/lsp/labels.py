"""Short words for findings, shared by inlay hints and code lenses."""

from __future__ import annotations

from escape_lsp.findings.model import Finding, Kind


def short_label(f: Finding) -> str | None:
    """`heap`, `leaks → ~r0`, `inlined`, …; None for kinds without a short form."""
    match f.kind:
        case Kind.MOVED_TO_HEAP | Kind.ESCAPES_TO_HEAP:
            return "heap"
        case Kind.LEAKING_PARAM:
            return "leaks → heap" if f.leak_to in (None, "{heap}") else f"leaks → {f.leak_to}"
        case Kind.LEAKING_PARAM_CONTENT:
            return "content leaks → heap"
        case Kind.DOES_NOT_ESCAPE:
            return "stack"
        case Kind.CAPTURE_BY_REF:
            return "captured by ref"
        case Kind.CAPTURE_BY_VALUE:
            return "captured by value"
        case Kind.CAN_INLINE:
            return f"inlinable (cost {f.cost})"
        case Kind.CANNOT_INLINE:
            return "not inlinable"
        case Kind.INLINED_CALL:
            return "inlined"
        case Kind.DEVIRTUALIZED:
            return "devirtualized"
        case Kind.BOUNDS_CHECK:
            return "bounds check"
        case Kind.NIL_CHECK:
            return "nil check"
    return None


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
