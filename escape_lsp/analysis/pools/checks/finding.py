"""How a pool finding is made: its likely fix, the pool it is about, the verdict it rests on."""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from escape_lsp.analysis.pools.syntax import PackagePools, PoolCall
from escape_lsp.findings.model import Finding, Kind, Span

#: The likely fix, with the why that does not fit in a diagnostic's one line.
FIXES = {
    Kind.POOL_PUT_NON_POINTER: (
        "Put takes an interface: a slice, string or struct is copied into a new heap box on "
        "every call (staticcheck SA6002). Pool pointers (*[]byte, *T); the quick fix rewrites "
        "New, Get and Put when every use of the pool is in this file."
    ),
    Kind.POOL_NEW_NON_POINTER: (
        "New's value is what Get hands out and callers Put back: return a pointer "
        "(`v := make([]byte, 0, n); return &v`, or `new(T)`) and Get/Put that pointer."
    ),
    Kind.POOL_LOCAL: (
        "Pooled objects are reused only through a pool that outlives the call: declare it "
        "once at package level (or in a long-lived struct); the quick fix hoists it. Even "
        "then a Get misses after GCs: the runtime empties pools at every GC (keeping one "
        "GC's worth as a victim cache since Go 1.13), so measure the hit rate "
        "(`escape-lsp pools`)."
    ),
    Kind.POOL_OBJECT_RETAINED: (
        "After Put, another Get (in any goroutine) may receive this object while it is still "
        "referenced here (a data race), and it stays reachable, so nothing is saved. Keep a "
        "copy instead (`bytes.Clone(buf)`, `string(buf)`), or do not put it back."
    ),
    Kind.POOL_GET_VALUE: (
        "An interface holds a struct or array as a boxed copy: Get copies it out and each "
        "Put boxes a new copy (an allocation). Pool *T: New returns new(T), Get asserts .(*T)."
    ),
    Kind.POOL_USE_AFTER_PUT: (
        "Finish with the object before Put (or Put it with defer): once Put, another Get may "
        "hand it to other code, which then changes it under you."
    ),
    Kind.POOL_MISSING_PUT: (
        "Put the object back on every path, e.g. `defer pool.Put(x)` right after the Get; a "
        "dropped object is left to the GC and the pool refills through New."
    ),
}

#: What a syntax-only check found at one call: where to report, the message, the subject.
Hit = tuple[Node, str, str]


def pool_finding(
    kind: Kind,
    file: str,
    span: Span,
    message: str,
    subject: str,
    function: str | None,
    pool: str,
    verdict: Finding | None = None,
) -> Finding:
    """A `kind` finding about `pool`, carrying the flow and message of the verdict it rests on."""
    detail = {"pool": pool, "fix": FIXES[kind]}
    if verdict is not None and verdict.message:
        detail["because"] = verdict.message
    flow = verdict.flow if verdict is not None else ()
    return Finding(kind, file, span, message, subject, function, tuple(flow), detail=detail)


def per_call(
    pools: PackagePools, method: str, kind: Kind, check: Callable[[PoolCall], Hit | None]
) -> list[Finding]:
    """Syntax-only `kind` findings, at most one per `method` call: where `check` finds one."""
    out: list[Finding] = []
    for call in pools.calls:
        if call.method != method:
            continue
        hit = check(call)
        if hit is not None:
            node, message, subject = hit
            file = call.file
            span, function = pools.span(file, node), pools.function_name(file, node)
            out.append(pool_finding(kind, file, span, message, subject, function, call.receiver))
    return out


def line(node: Node) -> int:
    """The 1-based line `node` starts on."""
    return node.start_point[0] + 1
