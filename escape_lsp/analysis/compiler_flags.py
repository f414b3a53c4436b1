"""Compiler flags for the opt-in reports: bounds checks and nil checks.

The compiler prints these only when asked (`-d=ssa/check_bce/debug=1`, `-d=nil`), and asking
changes the build (and so the memo key), so they are added only when a selected kind or a
`//gcassert:bce` directive needs them.
"""

from __future__ import annotations

from collections.abc import Iterable

from escape_lsp.findings.model import Kind

#: Prints `Found IsInBounds` / `Found IsSliceInBounds` for every bounds check that remains.
BOUNDS_FLAG = "-d=ssa/check_bce/debug=1"
#: Prints `generated nil check` / `removed nil check`.
NIL_FLAG = "-d=nil"

_FLAG_OF: dict[Kind, str] = {
    Kind.BOUNDS_CHECK: BOUNDS_FLAG,
    Kind.NIL_CHECK: NIL_FLAG,
    Kind.NIL_CHECK_REMOVED: NIL_FLAG,
}


def flags_for_kinds(kinds: Iterable[Kind]) -> tuple[str, ...]:
    """The report flags the selected kinds need, in a stable order (memo keys compare them)."""
    wanted = {_FLAG_OF[k] for k in kinds if k in _FLAG_OF}
    return tuple(f for f in (BOUNDS_FLAG, NIL_FLAG) if f in wanted)


def merge_flags(flags: tuple[str, ...], extra: Iterable[str]) -> tuple[str, ...]:
    """`flags` plus those of `extra` it lacks (the compiler accepts repeated `-d`, but keys read
    better without duplicates)."""
    return flags + tuple(f for f in extra if f not in flags)
