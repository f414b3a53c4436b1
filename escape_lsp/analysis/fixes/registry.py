"""The table of quick fixes: a new fix is one new module and one row here.

Builders only propose (on the syntax tree, from the compiler's finding and flow); the service
proves each proposal with the compiler before an editor sees it. One failing builder is logged
once and skipped; the others still answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from escape_lsp.analysis.fixes.boxing import boxing_fix
from escape_lsp.analysis.fixes.context import FixContext
from escape_lsp.analysis.fixes.model import Fix
from escape_lsp.analysis.fixes.pool_hoist import pool_hoist_fix
from escape_lsp.analysis.fixes.pool_pointer import pool_pointer_fix
from escape_lsp.analysis.fixes.return_value import return_value_fix

log = logging.getLogger(__name__)

Builder = Callable[[FixContext], Fix | None]


@dataclass(frozen=True)
class FixKind:
    name: str
    build: Builder
    #: What it does, for docs and logs.
    summary: str


FIXES: tuple[FixKind, ...] = (
    FixKind("return-value", return_value_fix, "return a value instead of a pointer to a local"),
    FixKind("pool-pointer", pool_pointer_fix, "store pointers in a sync.Pool (SA6002)"),
    FixKind("unbox-fmt", boxing_fix, "strconv or the value itself instead of fmt boxing"),
    FixKind("pool-hoist", pool_hoist_fix, "hoist a function-local sync.Pool to package level"),
)

_failed: set[str] = set()


def candidates(ctx: FixContext, table: tuple[FixKind, ...] = FIXES) -> list[Fix]:
    """Every fix some builder proposes for `ctx.finding` (not yet verified)."""
    out: list[Fix] = []
    for kind in table:
        try:
            fix = kind.build(ctx)
        except Exception:
            if kind.name not in _failed:
                _failed.add(kind.name)
                log.exception("fix builder %s failed (further failures are not logged)", kind.name)
            continue
        if fix is not None:
            out.append(fix)
    return out
