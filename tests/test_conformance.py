"""The conformance harness in CI: copies of encoding/json and text/template/parse and Go's
errorcheck escape tests, compared verdict by verdict with `check --format json --kinds all`,
on the machine's Go and on the oldest supported Go (1.24.11, fetched from the module proxy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.harness import (
    FAILURES,
    conform,
    go_tests_dir,
    go_version,
    machine_go,
    report,
    toolchain_go,
)

TOOLCHAINS = ["machine", "go1.24.11"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("which", TOOLCHAINS)
def test_every_verdict_once_on_its_expression_with_its_own_flow(
    which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOTOOLCHAIN", "local")
    go = machine_go() if which == "machine" else toolchain_go(which)
    rows, skipped = conform(go, tmp_path)
    text = report(rows, skipped, go_version(go))
    print(text)
    by_name = {r.package: r for r in rows}
    # Real packages, really compared: thousands of verdicts, not a vacuous pass.
    assert by_name["conformance/json"].counts["verdicts"] > 400, text
    assert by_name["conformance/parse"].counts["verdicts"] > 1000, text
    if go_tests_dir(go) is not None:  # Go's own tests ship with most Go installs, not all
        escape = [r for r in rows if r.package.startswith("esc/")]
        assert len(escape) >= 25 and sum(r.counts["verdicts"] for r in escape) > 1500, text
    assert {s.name for s in skipped} <= {
        "escape_runtime_atomic",  # imports internal/runtime/atomic
        "escape_alias",  # needs GOEXPERIMENT=runtimefreegc
        "esc/escape_iface_data",  # -d=escapedebug=1 is newer than Go 1.24
        "go/test",  # no $GOROOT/test on this machine
    }, text
    bad = {r.package: {c: r.counts[c] for c in FAILURES if r.counts[c]} for r in rows if r.failures}
    assert bad == {}, text
    assert sum(r.counts["other"] for r in rows) == 0, text
