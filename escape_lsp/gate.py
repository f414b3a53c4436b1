"""`check` in CI: baselines, `--since REV`, and the exit status `--fail-on` asks for.

Exit 1 means "the policy failed": heap/leak findings exist (`--fail-on any`), new ones exist
against the baseline (`--fail-on new`), or a gcassert directive is violated (always). Exit 2
stays for usage and toolchain errors, which callers raise as `ToolchainError`/`BaselineError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from escape_lsp.analysis import baseline
from escape_lsp.analysis.check import CheckReport, CheckRequest, Progress, run_check
from escape_lsp.findings.model import Finding, Kind

EXIT_OK = 0
EXIT_FAILED = 1
FAIL_ON = ("none", "any", "new")


@dataclass
class Outcome:
    """What to print and how to exit."""

    #: The report to render: with a baseline, only the findings not in it.
    report: CheckReport
    fingerprint: Callable[[Finding], str]
    comparison: baseline.Comparison | None
    exit_code: int
    #: Lines for stderr: the baseline summary, warnings about the old revision.
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    fail_on: str = "none"
    baseline: str | None = None
    write_baseline: str | None = None
    since: str | None = None


async def gated_check(
    request: CheckRequest, kinds: frozenset[Kind], policy: Policy, progress: Progress | None = None
) -> Outcome:
    """Run the analysis (and the old revision's, for `--since`) and apply the policy."""
    notes: list[str] = []
    recorded: list[baseline.Entry] | None = None
    against = ""
    if policy.baseline is not None:
        recorded = baseline.read(policy.baseline)  # fail before the long part
        against = f"baseline {policy.baseline}"
    report = await run_check(request, progress)
    shown = [f for f in report.findings if f.kind in kinds]
    table: dict[int, str] = {}

    def fingerprint(f: Finding) -> str:
        """Fingerprints are computed on first use: plain text and JSON runs need none."""
        if not table:
            prints = baseline.fingerprints(shown, report.sources)
            table.update({id(s): p for s, p in zip(shown, prints, strict=True)})
        return table[id(f)]

    if policy.since is not None:
        from escape_lsp.analysis.since import check_revision  # (git, exports: only here)

        old = await check_revision(policy.since, replace(request, cwd=report.cwd))
        against = f"{policy.since} ({old.commit[:12]})"
        if not old.existed:
            notes.append(f"{os.path.relpath(report.cwd)} did not exist at {policy.since}")
        for b in old.report.blocked:
            notes.append(
                f"at {policy.since}, {b.package} did not compile; its findings count as new"
            )
        old_shown = [f for f in old.report.findings if f.kind in kinds]
        old_prints = baseline.fingerprints(old_shown, old.report.sources)
        recorded = baseline.entries(old_shown, old_prints, old.report.sources, old.report.cwd)

    if policy.write_baseline is not None:
        prints = [fingerprint(f) for f in shown]
        baseline.write(
            policy.write_baseline, baseline.entries(shown, prints, report.sources, report.cwd)
        )

    comparison = None
    printed = report
    if recorded is not None:
        names = {k.value for k in kinds}
        prints = [fingerprint(f) for f in shown]
        comparison = baseline.compare(shown, prints, [e for e in recorded if e.kind in names])
        printed = replace(report, findings=list(comparison.new))
        notes.append(f"{baseline.summary(comparison)} (vs {against})")

    return Outcome(
        printed,
        fingerprint,
        comparison,
        _exit_code(policy.fail_on, shown, comparison, report),
        notes,
    )


def _exit_code(
    fail_on: str,
    shown: Sequence[Finding],
    comparison: baseline.Comparison | None,
    report: CheckReport,
) -> int:
    if report.violations:
        return EXIT_FAILED
    if fail_on == "any" and any(baseline.gates(f.kind) for f in shown):
        return EXIT_FAILED
    if fail_on == "new":
        new = comparison.new if comparison is not None else tuple(shown)
        if any(baseline.gates(f.kind) for f in new):
            return EXIT_FAILED
    return EXIT_OK
