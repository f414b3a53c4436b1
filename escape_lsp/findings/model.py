"""The typed model of what the compiler said. No LSP types here: editors and the CLI convert."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from typing import NamedTuple, TypeVar

S = TypeVar("S")


class Kind(StrEnum):
    """One value per message shape of `-gcflags=-m=2`; the value doubles as the diagnostic code."""

    MOVED_TO_HEAP = "moved-to-heap"
    ESCAPES_TO_HEAP = "escapes-to-heap"
    LEAKING_PARAM = "leaking-param"
    LEAKING_PARAM_CONTENT = "leaking-param-content"
    DOES_NOT_ESCAPE = "does-not-escape"
    CAPTURE_BY_REF = "capture-by-ref"
    CAPTURE_BY_VALUE = "capture-by-value"
    CAN_INLINE = "can-inline"
    CANNOT_INLINE = "cannot-inline"
    INLINED_CALL = "inlined-call"
    DEVIRTUALIZED = "devirtualized"
    #: `function F considered 'big'; reducing max cost of inlinees`, and Go 1.24's
    #: `skip inlining within testing.B.loop for …`.
    INLINING_NOTE = "inlining-note"
    #: `F ignoring self-assignment in x.f = x.f[1:]`: escape analysis skips that assignment.
    SELF_ASSIGNMENT = "self-assignment"
    #: `index bounds check elided`: a constant index the compiler proved in range.
    BOUNDS_CHECK_ELIDED = "bounds-check-elided"
    #: `zero-copy string->[]byte conversion`: the conversion shares the string's bytes.
    ZERO_COPY = "zero-copy-conversion"
    #: `function result will be kept alive` and the like, inside a `testing.B.Loop` body
    #: (Go 1.26+).
    KEPT_ALIVE = "kept-alive"
    #: Extra notes only `-d=` debug flags print: `mutates param: b derefs=0`,
    #: `s does not escape, mutate, or call`, `convert: using global for …`,
    #: `closure converted to global`, `slice: omit slice operation`.
    DEBUG_NOTE = "debug-note"
    #: Opt-in: reported only when the build adds `-d=ssa/check_bce/debug=1` / `-d=nil`.
    BOUNDS_CHECK = "bounds-check"
    NIL_CHECK = "nil-check"
    NIL_CHECK_REMOVED = "nil-check-removed"
    OTHER = "other"
    # Derived from verdicts and syntax about a sync.Pool (analysis/pools/), not message shapes.
    POOL_PUT_NON_POINTER = "pool-put-non-pointer"
    POOL_NEW_NON_POINTER = "pool-new-non-pointer"
    POOL_LOCAL = "pool-local"
    POOL_OBJECT_RETAINED = "pool-object-retained"
    POOL_GET_VALUE = "pool-get-value"
    POOL_USE_AFTER_PUT = "pool-use-after-put"
    POOL_MISSING_PUT = "pool-missing-put"


HEAP_KINDS = frozenset({Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP})
LEAK_KINDS = frozenset({Kind.LEAKING_PARAM, Kind.LEAKING_PARAM_CONTENT})
#: Not a compiler message: derived from verdicts and syntax about sync.Pools (analysis/pools).
DERIVED_KINDS = frozenset(k for k in Kind if k.value.startswith("pool-"))
#: On by default; `pool-missing-put` is opt-in (by name).
POOL_KINDS = DERIVED_KINDS - {Kind.POOL_MISSING_PUT}
DEFAULT_KINDS = HEAP_KINDS | LEAK_KINDS | POOL_KINDS
ALL_KINDS = frozenset(Kind)

#: Names accepted wherever a user selects kinds (CLI `--kinds`, server settings).
KIND_GROUPS: dict[str, frozenset[Kind]] = {
    "heap": HEAP_KINDS,
    "leaks": LEAK_KINDS,
    "default": DEFAULT_KINDS,
    "inlining": frozenset(
        {Kind.CAN_INLINE, Kind.CANNOT_INLINE, Kind.INLINED_CALL, Kind.INLINING_NOTE}
    ),
    "captures": frozenset({Kind.CAPTURE_BY_REF, Kind.CAPTURE_BY_VALUE}),
    "optimizations": frozenset(
        {Kind.SELF_ASSIGNMENT, Kind.BOUNDS_CHECK_ELIDED, Kind.ZERO_COPY, Kind.KEPT_ALIVE}
    ),
    "debug": frozenset({Kind.DEBUG_NOTE}),
    "bounds": frozenset({Kind.BOUNDS_CHECK}),
    "nil": frozenset({Kind.NIL_CHECK}),
    "pool": POOL_KINDS,
    "all": ALL_KINDS,
}


def parse_kinds(names: str | list[str]) -> frozenset[Kind]:
    """Turn `heap,leaks,does-not-escape` (groups or kind names) into kinds; raises ValueError."""
    items = names.split(",") if isinstance(names, str) else names
    kinds: set[Kind] = set()
    for raw in items:
        name = raw.strip()
        if not name:
            continue
        if name in KIND_GROUPS:
            kinds |= KIND_GROUPS[name]
        else:
            try:
                kinds.add(Kind(name))
            except ValueError:
                known = ", ".join([*KIND_GROUPS, *(k.value for k in Kind)])
                raise ValueError(f"unknown kind {name!r} (known: {known})") from None
    return frozenset(kinds)


class Span(NamedTuple):
    """A range in a file: 0-based lines, 0-based *byte* columns, end exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    @staticmethod
    def point(line: int, col: int) -> Span:
        return Span(line, col, line, col)

    def contains(self, line: int, col: int) -> bool:
        return (self.start_line, self.start_col) <= (line, col) <= (self.end_line, self.end_col)

    def overlaps(self, other: Span) -> bool:
        """Whether the two ranges share a position (touching ends count)."""
        return other.contains(self.start_line, self.start_col) or self.contains(
            other.start_line, other.start_col
        )


class FlowStep(NamedTuple):
    """One `from <subject> (<reason>) at file:L:C` line of a flow explanation."""

    file: str
    span: Span
    subject: str
    reason: str
    #: The `flow: dst ← src` line this step belongs to, e.g. `~r0 ← &t`.
    edge: str
    #: The compiler's own point, kept when `span` is widened (as `Finding.point`): a result
    #: read back from a memo can then tell a later text which range each point maps to.
    point: Span | None = None

    @property
    def message(self) -> str:
        return f"{self.subject} ({self.reason})"

    @property
    def at(self) -> Span:
        """The compiler's point, whatever range the step now covers."""
        return self.point if self.point is not None else self.span


def shared_flow(
    flow: Iterable[S], made: dict[int, FlowStep], make: Callable[[S], FlowStep]
) -> tuple[FlowStep, ...]:
    """`make` of each step of `flow`, once per step object: findings share the steps the
    compiler's output repeats, and their conversions stay shared. `made` holds what was made
    by the id of what it was made of, so those objects must outlive it."""
    out = []
    for step in flow:
        done = made.get(id(step))
        if done is None:
            done = made[id(step)] = make(step)
        out.append(done)
    return tuple(out)


@dataclass(slots=True)
class Finding:
    """One compiler verdict about one place in a workspace file.

    Treat as immutable (use dataclasses.replace); not frozen only because frozen dataclasses
    are several times slower to build, and big packages produce tens of thousands of these.
    """

    kind: Kind
    file: str
    span: Span
    #: The compiler's own text, verbatim, without the `file:line:col: ` prefix.
    message: str
    #: What the message is about: `t`, `&T{...}`, `make([]byte, n)`, a function name.
    subject: str
    function: str | None = None
    flow: tuple[FlowStep, ...] = ()
    #: Inlining cost for `can inline`, level for leaks; None when the message has none.
    cost: int | None = None
    #: Where a leaking parameter goes: `{heap}`, `~r0`, or a named result.
    leak_to: str | None = None
    #: For closure captures: whether the variable is assigned after capture, and its width.
    detail: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    #: The call (as written, e.g. `zapcore.Lock`) whose inlined body the verdict is about: the
    #: compiler reports such verdicts at the call's `(` with the callee's own expression text.
    inlined_from: str | None = None
    #: The compiler's own point (0-based line and byte column), kept when `span` is widened;
    #: None means `span` is still that point.
    point: Span | None = None

    @property
    def at(self) -> Span:
        """The compiler's point, whatever range the finding now covers."""
        return self.point if self.point is not None else self.span

    @property
    def line(self) -> int:
        """1-based line, as the compiler printed it."""
        return self.at.start_line + 1

    def sort_key(self) -> tuple[str, int, int, int, int, str, str, int, int]:
        at = self.at
        return (self.file, *self.span, self.kind, self.message, at.start_line, at.start_col)


#: `Finding.sort_key`'s order as a key read in C (a report sorts thousands of findings): a
#: point is a zero-width span, so comparing `at` whole orders as its start does.
SORT_ORDER = attrgetter("file", "span", "kind", "message", "at")


@dataclass(frozen=True)
class CompileError:
    """A compiler or go-command error that stops escape analysis of a package."""

    file: str | None
    line: int  # 1-based, 0 when unknown
    col: int  # 1-based byte column, 0 when unknown
    message: str

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        return f"{self.file}:{self.line}:{self.col}: {self.message}"
