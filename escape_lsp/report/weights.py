"""Measured cost in words: shares, sizes, counts and benchmark figures, worded once for the
CLI, hovers, inlay hints and code lenses."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (types only: the editor's diagnostics import this before any evidence)
    from escape_lsp.analysis.evidence import Weight
    from escape_lsp.gotool.bench import BenchResult


def share_text(share: float) -> str:
    """`41%`, `0.4%`, `<0.1%`."""
    pct = share * 100
    if pct >= 9.5:
        return f"{pct:.0f}%"
    if pct >= 0.1:
        return f"{pct:.1f}%"
    return "<0.1%" if pct > 0 else "0%"


def size_text(nbytes: float) -> str:
    """`56 B`, `1.0 KiB`, `1.2 GiB`."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns at GiB


def count_text(n: float) -> str:
    """`7`, `2.0 k`, `2.0 M`."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f}"


def objects_text(n: float) -> str:
    return f"{count_text(n)} object" + ("" if n == 1 else "s")


def weight_tag(w: Weight) -> str:
    """`heap 41% · 1.2 GiB · 2.0 M objects`, the short form after a finding."""
    return f"heap {share_text(w.share)} · {size_text(w.bytes)} · {objects_text(w.objects)}"


def weight_sentence(w: Weight, label: str) -> str:
    """`measured: 41% of allocated bytes in BenchmarkFormat (1.2 GiB, 2.0 M objects)`."""
    return (
        f"measured: {share_text(w.share)} of allocated bytes in {label} "
        f"({size_text(w.bytes)}, {objects_text(w.objects)})"
    )


def not_seen_sentence(label: str) -> str:
    return f"measured: no allocations on this line in {label}"


def bench_figures(b: BenchResult) -> str:
    """`2 allocs/op · 56 B/op · 310 ns/op`, as `go test -benchmem` prints them."""
    parts = []
    if b.allocs_per_op is not None:
        parts.append(f"{b.allocs_per_op:.10g} allocs/op")
    if b.bytes_per_op is not None:
        parts.append(f"{b.bytes_per_op:.10g} B/op")
    if b.ns_per_op is not None:
        parts.append(f"{b.ns_per_op:.10g} ns/op")
    return " · ".join(parts) or f"{b.iterations} iterations"
