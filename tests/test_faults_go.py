"""Fault injection on the go side: go commands that hang, print garbage, die by signal, or
would rewrite go.mod; failures that must not be remembered; files only the editor has."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from escape_lsp.analysis.engine import (
    SOURCE_BUDGET,
    SOURCE_COST_FACTOR,
    AnalysisSettings,
    Engine,
)
from escape_lsp.findings.model import HEAP_KINDS
from escape_lsp.gotool import process, tempdir
from escape_lsp.gotool.toolchain import (
    Toolchain,
    ToolchainError,
    find_toolchain,
    find_toolchain_async,
    module_context,
    module_context_async,
)
from tests.conftest import WriteModule
from tests.fakego import (
    RawServer,
    fake_go,
    group_ends,
    invocations,
    logging_go,
    notification,
    request,
    shows_env,
    tree_digest,
)

ESCAPING = "package p\n\nfunc F() *int { x := 1; return &x }\n"


def _engine(root: Path, go: Path | None = None, **settings: object) -> Engine:
    real = find_toolchain()
    toolchain = Toolchain(str(go), real.version, real.version_text, real.goroot) if go else real
    ctx = module_context(real, str(root))
    return Engine(toolchain, ctx, AnalysisSettings(**settings))  # type: ignore[arg-type]


# -- go env: hangs, garbage, signals ----------------------------------------------------------


async def test_a_hanging_go_env_times_out_and_its_process_group_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    go = fake_go(tmp_path / "bin", f"echo $$ > '{pid_file}'\nsleep 600 & wait")
    started = time.monotonic()
    with pytest.raises(ToolchainError, match="took longer than"):
        await find_toolchain_async(str(go), timeout=0.5)
    assert time.monotonic() - started < 5
    await group_ends(int(pid_file.read_text()))  # sh and its sleep


@pytest.mark.parametrize(
    ("body", "printed"),
    [
        ("exit 0", "printed nothing instead of JSON"),  # /bin/true
        ('echo "$@"', "printed 'env -json GOVERSION GOROOT' instead of JSON"),  # /bin/echo
        ("echo '[1, 2]'", "printed '[1, 2]' instead of JSON"),
        ("echo '{\"GOVERSION\": 5}'", "printed '{\"GOVERSION\": 5}' instead of JSON"),
    ],
)
async def test_a_go_printing_garbage_is_not_a_go_command(
    tmp_path: Path, body: str, printed: str
) -> None:
    go = fake_go(tmp_path / "bin", body)
    for attempt in (find_toolchain_async, lambda go: asyncio.to_thread(find_toolchain, go)):
        with pytest.raises(ToolchainError) as err:
            await attempt(str(go))
        assert f"{go} is not a go command: `go env -json` {printed}" in str(err.value)


async def test_a_go_killed_by_a_signal_says_so_with_what_it_printed(tmp_path: Path) -> None:
    go = fake_go(tmp_path / "bin", "echo 'fatal error: out of memory' >&2\nkill -9 $$")
    with pytest.raises(ToolchainError, match=r"failed \(signal 9\): fatal error: out of memory"):
        await find_toolchain_async(str(go))


async def test_go_env_for_a_module_context_hang_times_out(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    real = find_toolchain()
    go = fake_go(
        tmp_path / "bin", 'case "$*" in *GOMOD*) sleep 600 & wait;; esac\nexec "$REAL_GO" "$@"'
    )
    toolchain = Toolchain(str(go), real.version, real.version_text, real.goroot)
    with pytest.raises(ToolchainError, match="took longer than"):
        await module_context_async(toolchain, str(root / "p"), timeout=0.5)


# -- go list: garbage is one clear error, remembered until invalidated ------------------------


async def test_go_list_garbage_is_a_clear_error_that_is_not_rerun_per_keystroke(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    log = tmp_path / "go.log"
    go = logging_go(tmp_path / "bin", log, "list) echo 'this is not json'; exit 0;;")
    engine = _engine(root, go)
    try:
        for _ in range(3):
            with pytest.raises(ToolchainError, match=r"not its JSON.*this is not json"):
                await engine.graph()
        assert len(invocations(log, "list")) == 1
        engine.invalidate_graph()  # settings change / rebuild / go.mod change
        with pytest.raises(ToolchainError):
            await engine.graph()
        assert len(invocations(log, "list")) == 2
    finally:
        engine.close()


# -- transient failures are retried, real compile errors remembered ---------------------------


def _compile_killer(tmp_path: Path) -> tuple[Path, Path]:
    """A `-toolexec` script that kills the compiler (as the OOM killer would) while the
    returned flag file exists."""
    kill = tmp_path / "kill-compile"
    kill.touch()
    script = fake_go(
        tmp_path / "bin",
        f'case "$1" in *compile) [ -e \'{kill}\' ] && case "$*" in *-V=full*) ;; *) kill -9 $$;; esac;; esac\nexec "$@"',
        name="toolexec",
    )
    return kill, script


async def test_a_compile_killed_by_a_signal_is_retried_not_remembered(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    kill, toolexec = _compile_killer(tmp_path)
    engine = _engine(root, build_flags=(f"-toolexec={toolexec}",))
    try:
        (res,) = (await engine.analyze(["example.com/m/p"])).values()
        assert res.blocked is not None and res.blocked.transient
        assert "signal: killed" in res.blocked.summary
        again = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        assert not again.from_memo and again.blocked is not None  # rebuilt, not replayed
        kill.unlink()
        good = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        assert good.blocked is None and "moved to heap: x" in [f.message for f in good.findings]
        assert (await engine.analyze(["example.com/m/p"]))["example.com/m/p"].from_memo
    finally:
        engine.close()


async def test_a_go_build_killed_by_a_signal_or_timing_out_is_transient(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    killed = fake_go(tmp_path / "a", 'case "$1" in build) kill -9 $$;; esac\nexec "$REAL_GO" "$@"')
    hung = fake_go(
        tmp_path / "b", 'case "$1" in build) sleep 600 & wait;; esac\nexec "$REAL_GO" "$@"'
    )
    for go, timeout, text in ((killed, 300.0, "killed by signal 9"), (hung, 0.5, "took longer")):
        engine = _engine(root, go, timeout=timeout)
        try:
            res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
            assert res.blocked is not None and res.blocked.transient, res
            assert text in res.blocked.summary
            assert not (await engine.analyze(["example.com/m/p"]))["example.com/m/p"].from_memo
        finally:
            engine.close()


async def test_a_real_compile_error_is_remembered(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": "package p\n\nfunc F() int { return undefined }\n"}, sub="mod")
    engine = _engine(root)
    try:
        res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        assert res.blocked is not None and not res.blocked.transient
        assert (await engine.analyze(["example.com/m/p"]))["example.com/m/p"].from_memo
    finally:
        engine.close()


# -- nothing written outside the private dir --------------------------------------------------

_REPLACED_NOT_REQUIRED = {
    # With -mod=mod, go adds `require example.com/dep v0.0.0-…` to go.mod (offline).
    "go.mod": "module example.com/m\n\ngo 1.24\n\nreplace example.com/dep => ./dep\n",
    "dep/go.mod": "module example.com/dep\n\ngo 1.24\n",
    "dep/dep.go": "package dep\n\nfunc D() *int { x := 1; return &x }\n",
    "p/p.go": 'package p\n\nimport "example.com/dep"\n\nfunc F() *int { return dep.D() }\n',
}


async def test_goflags_mod_mod_never_rewrites_go_mod(
    gomod: WriteModule, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import write_tree

    root = write_tree(tmp_path / "mod", _REPLACED_NOT_REQUIRED).resolve()
    before = tree_digest(root)
    monkeypatch.setenv("GOFLAGS", "-mod=mod")
    engine = _engine(root, env=(("GOFLAGS", "-mod=mod"),), build_flags=("-mod=mod",), tests=True)
    try:
        graph = await engine.graph()
        assert "example.com/m/p" in graph.packages
        res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        assert res.blocked is not None
        assert "replaced but not required" in " ".join(str(e) for e in res.blocked.errors)
    finally:
        engine.close()
    assert tree_digest(root) == before


async def test_vendored_modules_build_with_mod_vendor(gomod: WriteModule) -> None:
    files = {
        "go.mod": "module example.com/m\n\ngo 1.24\n\nrequire example.com/dep v1.0.0\n",
        "vendor/modules.txt": "# example.com/dep v1.0.0\n## explicit\nexample.com/dep\n",
        "vendor/example.com/dep/dep.go": "package dep\n\nfunc D() *int { x := 1; return &x }\n",
        "p/p.go": 'package p\n\nimport "example.com/dep"\n\nfunc F() *int { return dep.D() }\n',
    }
    root = gomod(files, sub="mod")
    (root / "go.mod").write_text(files["go.mod"])
    engine = _engine(root, build_flags=("-mod=mod",))
    try:
        res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        assert res.blocked is None, res.blocked
    finally:
        engine.close()


async def test_overlay_files_live_only_while_a_go_command_reads_them(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    path = str(root / "p" / "p.go")
    engine = _engine(root)
    try:
        for i in range(5):
            text = ESCAPING + f"\n// edit {i}\n"
            await engine.analyze(["example.com/m/p"], {path: text.encode()})
            assert engine.overlays.files() == []
    finally:
        engine.close()


async def test_kill_all_also_kills_go_processes_it_never_saw_start() -> None:
    # A command cancelled while starting (or a tool its go left behind): known only by its
    # GOTMPDIR inside the private dir.
    gotmp = tempdir.private_subdir("gotmp-")
    stray = subprocess.Popen(
        ["sh", "-c", "sleep 600 & wait"],
        env={**os.environ, "GOTMPDIR": gotmp},
        start_new_session=True,
    )
    # Until it has exec'd: before that its /proc environ is still ours, without the GOTMPDIR.
    await shows_env(stray.pid, f"GOTMPDIR={gotmp}".encode())
    process.kill_all()
    assert stray.wait(timeout=10) == -9
    await group_ends(stray.pid)


@pytest.mark.parametrize("tmpdir_env", ["usable", "missing", "unset"])
def test_the_private_dirs_are_made_where_tempfile_would_and_only_we_can_open_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmpdir_env: str
) -> None:
    """Made without `tempfile` (its imports delayed go's start): the same temp dir as
    `tempfile.gettempdir()` finds, the same private dirs as `tempfile.mkdtemp` makes."""
    base = tmp_path / "tmp"
    base.mkdir()
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)
    if tmpdir_env != "unset":
        monkeypatch.setenv("TMPDIR", str(base if tmpdir_env == "usable" else tmp_path / "no"))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile works it out again, once
    assert tempdir.system_temp_dir() == tempfile.gettempdir()
    assert (tempdir.system_temp_dir() == str(base)) is (tmpdir_env == "usable")
    made = {tempdir.make_private_dir(str(base), "x-") for _ in range(20)}
    assert len(made) == 20
    for path in made:
        assert Path(path).parent == base and Path(path).name.startswith("x-")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_stale_private_dirs_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    mine = tmp_path / f"escape-lsp-{os.getpid()}-a"
    alive = tmp_path / f"escape-lsp-{os.getppid()}-b"
    gone = tmp_path / f"escape-lsp-{dead.pid}-c"
    other = tmp_path / "escape-lsp-unrelated"
    for d in (mine, alive, gone, other):
        (d / "overlays").mkdir(parents=True)
    assert tempdir.remove_stale(str(tmp_path)) == [str(gone)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (mine, alive, other)
    )


# -- files only the editor has ----------------------------------------------------------------


async def test_go_list_sees_unsaved_new_files_and_open_files_deleted_on_disk(
    gomod: WriteModule,
) -> None:
    root = gomod({"p/p.go": "package p\n"}, sub="mod")
    new = str(root / "p" / "new.go")
    old = root / "p" / "p.go"
    buffers = {new: ESCAPING.encode(), str(old): b"package p\n\nvar G = 1\n"}
    engine = _engine(root)
    engine.buffers = lambda: buffers
    try:
        graph = await engine.graph_for(new)
        assert graph.package_of(new) is not None
        res = (await engine.analyze(["example.com/m/p"], buffers))["example.com/m/p"]
        heap = [(os.path.basename(f.file), f.message) for f in res.findings if f.kind in HEAP_KINDS]
        assert heap == [("new.go", "moved to heap: x")]
        old.unlink()
        engine.invalidate_graph()
        assert (await engine.graph()).package_of(str(old)) is not None
    finally:
        engine.close()


async def test_a_file_in_no_package_is_listed_once_per_text_and_per_burst(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    log = tmp_path / "go.log"
    engine = _engine(root, logging_go(tmp_path / "bin", log))
    ignored = str(root / "p" / "gen.go")
    text = "//go:build ignore\n\npackage main\n"
    buffers = {ignored: text.encode()}
    engine.buffers = lambda: buffers
    try:
        await engine.graph()
        assert len(invocations(log, "list")) == 1

        async def keystroke(i: int) -> None:
            buffers[ignored] = (text + "/" * i).encode()
            await engine.graph_for(ignored, delay=0.2)

        await asyncio.gather(*(keystroke(i) for i in range(50)))
        assert len(invocations(log, "list")) == 2  # one listing for the whole burst
        for _ in range(5):  # the same text again: remembered
            assert (await engine.graph_for(ignored)).package_of(ignored) is None
        assert len(invocations(log, "list")) == 2
    finally:
        engine.close()


# -- memory -----------------------------------------------------------------------------------


def test_parsed_sources_are_bounded_by_bytes(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    engine = _engine(root)
    big = "package p\n\n" + "".join(
        f"func F{i}(n int) int {{ return n * {i} }}\n" for i in range(30000)
    )
    assert len(big) > 2**20
    path = str(root / "p" / "p.go")
    try:
        for i in range(30):
            src = engine.source(path, {path: f"{big}// {i}\n".encode()})
            assert src is not None
        total = sum(len(s.data) for s in engine._sources.values()) * SOURCE_COST_FACTOR
        assert total <= max(SOURCE_BUDGET, len(big) * SOURCE_COST_FACTOR * 2)
        assert len(engine._sources) <= 2
    finally:
        engine.close()


# -- the same, through the server ---------------------------------------------------------------


async def test_the_server_never_rewrites_go_mod_whatever_goflags_say(tmp_path: Path) -> None:
    from tests.conftest import write_tree

    root = write_tree(tmp_path / "mod", _REPLACED_NOT_REQUIRED).resolve()
    before = tree_digest(root)
    srv = await RawServer.start(env={"GOFLAGS": "-mod=mod"})
    try:
        await srv.initialize(
            root, {"env": {"GOFLAGS": "-mod=mod"}, "buildFlags": ["-mod=mod"], "includeTests": True}
        )
        path = root / "p" / "p.go"
        srv.open(path)
        await srv.diagnostics(path, lambda ds: any(d["code"] == "analysis-blocked" for d in ds))
        srv.send(notification("textDocument/didSave", {"textDocument": {"uri": path.as_uri()}}))
        srv.send(request(2, "workspace/executeCommand", {"command": "escapeLsp.rebuild"}))
        await srv.response(2)
    finally:
        await srv.stop()
    assert tree_digest(root) == before


async def test_the_server_retries_a_killed_compile_on_save_and_analyses_unsaved_files(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    kill, toolexec = _compile_killer(tmp_path)
    srv = await RawServer.start()
    try:
        await srv.initialize(root, {"buildFlags": [f"-toolexec={toolexec}"]})
        path = root / "p" / "p.go"
        srv.open(path)
        diags = await srv.diagnostics(
            path, lambda ds: any(d["code"] == "analysis-blocked" for d in ds)
        )
        assert "signal: killed" in diags[0]["message"] and "retried" in diags[0]["message"]
        kill.unlink()
        srv.send(notification("textDocument/didSave", {"textDocument": {"uri": path.as_uri()}}))
        await srv.diagnostics(path, lambda ds: [d["code"] for d in ds] == ["moved-to-heap"])
        new = root / "p" / "unsaved.go"  # never written to disk
        srv.open(new, "package p\n\nfunc G() *int { y := 2; return &y }\n")
        await srv.diagnostics(new, lambda ds: [d["message"] for d in ds] == ["moved to heap: y"])
        assert not new.exists()
    finally:
        await srv.stop()
