"""pool-get-value: `p.Get().(T)` with T a struct or array copies it out of the pool, and each
Put boxes a new copy. Exact syntax (the package's own types)."""

from __future__ import annotations

from escape_lsp.analysis.pools.checks.finding import Hit, per_call
from escape_lsp.analysis.pools.syntax import PackagePools, PoolCall
from escape_lsp.findings.model import Finding, Kind


def get_value(pools: PackagePools) -> list[Finding]:
    def copied_out(get: PoolCall) -> Hit | None:
        assertion = get.call.parent
        if assertion is None or assertion.type != "type_assertion_expression":
            return None
        typ = assertion.child_by_field_name("type")
        under = pools.type_facts.underlying(get.file, typ)
        if typ is None or under is None or under.type not in ("struct_type", "array_type"):
            return None  # slices: pool-put-non-pointer says so where they are put back
        name = pools.text(get.file, typ)
        message = f"{get.receiver}.Get().({name}) copies a {name} out of the pool: pool *{name}"
        return assertion, message, name

    return per_call(pools, "Get", Kind.POOL_GET_VALUE, copied_out)
