"""The latest hit-rate measurement per package, shown only for the texts it was taken on."""

from __future__ import annotations

from dataclasses import dataclass, field

from escape_lsp.analysis.pools.measure import Measurement, PoolHits
from escape_lsp.findings.model import Span


@dataclass
class PoolMeasurements:
    by_package: dict[str, Measurement] = field(default_factory=dict)
    #: Packages being measured now.
    running: set[str] = field(default_factory=set)

    def store(self, measurement: Measurement) -> None:
        self.by_package[measurement.package] = measurement

    def hits(self, path: str, span: Span, current_hash: str) -> list[PoolHits]:
        """Counts for the pool declared at `span` in `path`, if measured on this very text."""
        out: list[PoolHits] = []
        for m in self.by_package.values():
            if m.file_hashes.get(path) != current_hash:
                continue
            out += [h for h in m.hits if h.site.file == path and h.site.span == span]
        return out
