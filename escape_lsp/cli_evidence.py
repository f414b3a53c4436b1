"""`escape-lsp check --bench REGEX --profile FILE --sort weight`: measured evidence for the CLI.

Kept apart from cli.py: the options, running the measurement after the analysis, and joining
it to the report's findings.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the measuring is imported when evidence is asked for (`measured`)
    from escape_lsp.analysis.check import CheckReport
    from escape_lsp.analysis.evidence import Joined
    from escape_lsp.analysis.settings import AnalysisSettings


def add_evidence_options(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--bench",
        metavar="REGEX",
        default=None,
        help="run the named packages' benchmarks matching REGEX with a memory profile "
        "(go test -bench REGEX -benchmem -memprofile), then weigh findings by it",
    )
    check.add_argument(
        "--profile",
        metavar="FILE",
        action="append",
        default=[],
        help="a heap profile (go test -memprofile, /debug/pprof/allocs) to weigh findings by; "
        "repeat to merge several",
    )
    check.add_argument(
        "--bench-flags",
        default="",
        help="extra go test flags for --bench, e.g. '-benchtime=100x -memprofilerate=1'",
    )
    check.add_argument(
        "--sort",
        choices=("position", "weight"),
        default=None,
        help="order of findings: by position, or hottest first (the default with evidence)",
    )


def _echo_results(line: str) -> None:
    """Benchmark result lines on a terminal's stderr, as go test prints them."""
    if line.startswith("Benchmark") and sys.stderr.isatty():
        print(f"escape-lsp: {line.strip()}", file=sys.stderr)


async def measured(
    ns: argparse.Namespace, settings: AnalysisSettings, report: CheckReport
) -> Joined | None:
    """The evidence asked for on the command line, joined to `report`; None when none was."""
    if ns.bench is None and not ns.profile:
        return None
    from escape_lsp.analysis.evidence import heap_lines, join, path_resolver
    from escape_lsp.analysis.measure import evidence_for_check

    found = await evidence_for_check(
        ns.patterns,
        settings,
        ns.go,
        ns.bench,
        ns.profile,
        shlex.split(ns.bench_flags),
        _echo_results,
    )
    resolve = path_resolver(found.import_dirs)
    return join(found.evidence, heap_lines(report.findings), resolve)
