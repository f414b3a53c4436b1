"""Pool hit rates for terminals, JSON and code lenses, worded once."""

from __future__ import annotations

from escape_lsp.analysis.pools.batch import PoolsReport
from escape_lsp.analysis.pools.measure import GC_NOTE, PoolHits
from escape_lsp.report.data import Ranges, source_ranges
from escape_lsp.report.text import location


def hits_summary(hit: PoolHits) -> str:
    """`hit rate 0% · 1,000,000 Get · 1,000,000 New` (the code lens's title, too)."""
    if hit.hit_rate is None:
        return "not exercised (no Get)" if hit.benchmark is None else f"{hit.puts:,} Put, no Get"
    return f"hit rate {rate_text(hit)} · {hit.gets:,} Get · {hit.news:,} New"


def rate_text(hit: PoolHits) -> str:
    """`0%` and `100%` only when exact; `>99.9%` rather than a rounded 100%."""
    if not hit.gets or hit.news >= hit.gets:
        return "0%"
    if not hit.news:
        return "100%"
    rate = round(100 * (1 - hit.news / hit.gets), 1)
    return ">99.9%" if rate >= 100 else "<0.1%" if rate <= 0 else f"{rate:g}%"


def pools_text(report: PoolsReport) -> str:
    lines: list[str] = []
    for m in report.measurements:
        if m.error:
            lines.append(f"{m.package}: {m.error}")
        for hit in m.hits:
            where = location(hit.site.file, hit.site.span)
            during = f" ({hit.benchmark})" if hit.benchmark else ""
            puts = f" · {hit.puts:,} Put" if hit.gets else ""
            lines.append(f"{where}: {hit.site.name}{during}: {hits_summary(hit)}{puts}")
    if any(m.hits for m in report.measurements):
        lines.append(f"note: {GC_NOTE}")
    return "\n".join(lines)


def hit_data(hit: PoolHits, ranges: Ranges) -> dict[str, object]:
    return {
        "name": hit.site.name,
        "file": hit.site.file,
        "range": ranges(hit.site.file, hit.site.span),
        "gets": hit.gets,
        "puts": hit.puts,
        "news": hit.news,
        "hit_rate": hit.hit_rate,
        "benchmark": hit.benchmark,
    }


def pools_data(report: PoolsReport) -> dict[str, object]:
    """`{"pools": [...], "errors": [...], "note": ...}`; ranges as in the findings contract."""
    ranges = source_ranges(report.sources)
    return {
        "pools": [hit_data(h, ranges) for m in report.measurements for h in m.hits],
        "errors": [
            {"package": m.package, "error": m.error} for m in report.measurements if m.error
        ],
        "note": GC_NOTE,
    }
