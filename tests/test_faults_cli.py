"""Fault injection on the command line: bad flags and a `--go` that is not go are usage errors
(exit 2) with one clear line, never a traceback; nothing is left in the temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import WriteModule
from tests.test_cli import check

ESCAPING = "package p\n\nfunc F() *int { x := 1; return &x }\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gcflags", '"x'], "argument --gcflags: '\"x': No closing quotation"),
        (["--go", "/bin/echo"], "/bin/echo is not a go command"),
        (["--go", "/bin/true"], "/bin/true is not a go command: `go env -json` printed nothing"),
    ],
)
def test_bad_arguments_are_usage_errors(
    gomod: WriteModule, tmp_path: Path, args: list[str], message: str
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = check(*args, "./...", cwd=root, env={"TMPDIR": str(tmp)})
    assert proc.returncode == 2, proc
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp.iterdir()) == []


def test_a_check_leaves_nothing_in_the_temp_dir(gomod: WriteModule, tmp_path: Path) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = check("./...", cwd=root, env={"TMPDIR": str(tmp), "GOFLAGS": "-mod=mod"})
    assert proc.returncode == 0 and "moved to heap: x" in proc.stdout, proc
    assert list(tmp.iterdir()) == []
