"""`escape-lsp check` as users run it: a subprocess, real go, exit codes and output contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import WriteModule

DEMO = Path(__file__).resolve().parent.parent / "escape_lsp" / "demo"


def check(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "escape_lsp", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_json_contract_on_the_demo_module() -> None:
    proc = check("--format", "json", "./...", cwd=DEMO)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"findings", "blocked", "violations"} and data["blocked"] == []
    assert data["violations"] == []
    moved = [f for f in data["findings"] if f["message"] == "moved to heap: r"]
    assert len(moved) == 1
    f = moved[0]
    assert f["file"] == str(DEMO / "render" / "render.go")
    assert f["kind"] == "moved-to-heap" and f["function"] == "NewRecord"
    assert f["range"] == {
        "start": {"line": 25, "character": 1},
        "end": {"line": 25, "character": 2},
    }
    assert [s["message"] for s in f["flow"]] == ["&r (address-of)", "return &r (return)"]
    assert f["flow"][0]["range"]["start"] == {"line": 26, "character": 8}
    kinds = {x["kind"] for x in data["findings"]}
    heap_and_leaks = {"moved-to-heap", "escapes-to-heap", "leaking-param", "leaking-param-content"}
    pools = {"pool-new-non-pointer", "pool-put-non-pointer", "pool-object-retained", "pool-local"}
    assert pools <= kinds <= heap_and_leaks | pools


def test_text_is_sorted_stable_and_explains_on_request() -> None:
    first = check("--explain", cwd=DEMO)
    second = check("--explain", cwd=DEMO)
    assert first.returncode == 0 and first.stdout == second.stdout
    lines = first.stdout.splitlines()
    i = lines.index("render/render.go:26:2: moved-to-heap: moved to heap: r (in NewRecord)")
    assert lines[i + 1] == "    flow: ~r0 ← &r"
    assert lines[i + 2] == "      1. &r — its address is taken  [render/render.go:27:9]"
    assert lines[i + 3] == "      2. return &r — it is returned  [render/render.go:27:2]"
    headers = [ln for ln in lines if not ln.startswith("    ")]
    keys = [(h.split(":")[0], int(h.split(":")[1]), int(h.split(":")[2])) for h in headers]
    assert keys == sorted(keys)


def test_kinds_selection_and_gcflags(gomod: WriteModule) -> None:
    root = gomod(
        {"k/k.go": "package k\n\nfunc F() *int { x := 1; return &x }\n\nfunc G() { _ = F() }\n"}
    )
    default = check("./...", cwd=root).stdout
    assert "moved-to-heap" in default and "can-inline" not in default
    every = check("--kinds", "all", "./...", cwd=root).stdout
    assert "can-inline: can inline F" in every and "inlined-call" in every
    no_inline = check("--kinds", "all", "--gcflags=-l", "./...", cwd=root).stdout
    assert "can-inline" not in no_inline and "moved-to-heap" in no_inline
    bad = check("--kinds", "heap,nonsense", cwd=root)
    assert bad.returncode == 2 and "unknown kind 'nonsense'" in bad.stderr


def test_tests_flag_covers_test_files(gomod: WriteModule) -> None:
    root = gomod(
        {
            "t/t.go": "package t\n",
            "t/t_test.go": 'package t\n\nimport "testing"\n\nvar s *int\n\nfunc TestT(t *testing.T) { x := 1; s = &x }\n',
        }
    )
    assert "t_test.go" not in check("./...", cwd=root).stdout
    assert (
        "t/t_test.go:7:28: moved-to-heap: moved to heap: x"
        in check("--tests", "./...", cwd=root).stdout
    )


def test_blocked_package_is_reported_not_raised(gomod: WriteModule) -> None:
    root = gomod({"b/b.go": "package b\n\nfunc F() { undefined() }\n"})
    proc = check("--format", "json", cwd=root)
    assert proc.returncode == 0
    (blocked,) = json.loads(proc.stdout)["blocked"]
    assert (
        blocked["package"] == "example.com/m/b" and "undefined: undefined" in blocked["errors"][0]
    )


def test_a_directory_reached_through_a_symlink(gomod: WriteModule, tmp_path: Path) -> None:
    """A shell in a linked directory exports PWD as the link; go takes an inherited PWD for its
    working directory whenever it is the same directory, and then printed paths under the link,
    which matched none of the resolved package directories ("no Go package there")."""
    root = gomod({"p/a.go": "package p\n\nfunc A() *int { x := 1; return &x }\n"}, sub="real")
    link = tmp_path / "link"
    link.symlink_to(root)
    for args in (["./p"], ["./..."], ["example.com/m/p"]):
        proc = check(*args, cwd=link, env={"PWD": str(link)})
        assert proc.returncode == 0, proc.stderr
        assert "p/a.go:3:17: moved-to-heap: moved to heap: x" in proc.stdout, proc.stdout


def test_clear_errors_for_missing_go_and_missing_module(tmp_path: Path) -> None:
    no_go = check(cwd=DEMO, env={"PATH": str(tmp_path)})
    assert no_go.returncode == 2
    assert "`go` was not found on PATH" in no_go.stderr and "Traceback" not in no_go.stderr
    old = check("--go", str(tmp_path / "nope"), cwd=DEMO)
    assert old.returncode == 2 and "not found" in old.stderr
    outside = check(cwd=tmp_path, env={"GOFLAGS": "", "GOWORK": "off"})
    assert outside.returncode == 2
    assert "not inside a Go module or go.work workspace" in outside.stderr


def test_too_old_go_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "go"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'{"GOVERSION": "go1.21.13", "GOROOT": "/opt/go"}\'\n')
    fake.chmod(0o755)
    proc = check(cwd=DEMO, env={"PATH": f"{fake.parent}:{os.environ['PATH']}"})
    assert proc.returncode == 2
    assert "needs Go 1.24 or newer" in proc.stderr and "go1.21.13" in proc.stderr


def test_build_tags_select_files(gomod: WriteModule) -> None:
    root = gomod(
        {
            "t/t.go": "package t\n",
            "t/special.go": "//go:build special\n\npackage t\n\nvar S *int\n\nfunc F() { x := 1; S = &x }\n",
        }
    )
    assert "special.go" not in check("./...", cwd=root).stdout
    assert (
        "t/special.go:7:12: moved-to-heap: moved to heap: x"
        in check("--tags", "special", "./...", cwd=root).stdout
    )


NO_GC_SCRIPT = r"""
import atexit, gc, json, sys
from escape_lsp.findings import parser
passes, parsing = [], []
split = parser.split_by_file
def split_noted(*args, **kwargs):  # the first thing done with go's output
    parsing.append(True)
    return split(*args, **kwargs)
parser.split_by_file = split_noted
gc.callbacks.append(lambda phase, info: passes.append(info) if parsing and phase == "start" else None)
# as a program: it exits at once when done, after the exit handlers
atexit.register(lambda: print(json.dumps({"parsed": bool(parsing), "passes": passes})))
sys.argv = ["escape-lsp", "check", "./big"]
from escape_lsp import cli
cli.main()
"""


def test_check_runs_no_cyclic_gc_pass(gomod: WriteModule) -> None:
    """`check`'s data is mostly acyclic and lives to the end: a GC pass once go's output is
    being parsed (as the one when the parse's pause ends, over everything it made) is time
    for nothing. 4,000 functions with an escaping value and a leaking parameter each (~16,000
    findings): enough allocations that a pass would come, with an empty memo."""
    funcs = "".join(f"func F{i}(p *int) *T {{ return &T{{p, {i}}} }}\n\n" for i in range(4000))
    root = gomod(
        {"big/big.go": f"package big\n\ntype T struct {{\n\tp *int\n\tn int\n}}\n\n{funcs}"}
    )
    env = {**os.environ, "ESCAPE_LSP_CACHE": "off"}
    proc = subprocess.run(
        [sys.executable, "-c", NO_GC_SCRIPT], cwd=root, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["parsed"] and out["passes"] == []


def test_check_as_a_program_loads_no_tls(gomod: WriteModule) -> None:
    """`check` opens no connection: asyncio's optional ssl import (OpenSSL, ~13 ms of every
    run) is left out, and the run is whole without it."""
    root = gomod({"p/a.go": "package p\n\nfunc A() *int { x := 1; return &x }\n"})
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "escape_lsp", "check", "./p"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and "moved to heap: x" in proc.stdout, proc.stderr
    # (-X importtime also lists the import of a module marked missing: `ssl`, in µs)
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()}
    assert "asyncio" in imported and "_ssl" not in imported


def test_a_served_session_loads_no_tls(tmp_path: Path) -> None:
    """A spawned server imports asyncio for its first publish with ssl marked missing (TLS
    left out; the server serves stdio) and unmarks it: a whole session, initialize to exit,
    the server imported after the first publish, never loads OpenSSL."""
    from escape_lsp.lsp import first_answer
    from escape_lsp.lsp.framing import frame

    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    stdin = b"".join(frame(json.dumps(m).encode()) for m in messages)
    env = {**os.environ, first_answer.FIRST_PUBLISH_ENV: "on"}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "escape_lsp", "serve"],
        input=stdin, cwd=tmp_path, capture_output=True, env=env, timeout=120,
    )  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 0 and b'"id": 1, "result"' in proc.stdout, err
    imported = {line.split("|")[-1].strip() for line in err.splitlines()}
    assert {"asyncio", "escape_lsp.lsp.first_publish", "escape_lsp.lsp.server"} <= imported
    assert "_ssl" not in imported
