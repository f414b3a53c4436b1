"""The resident server: `serve` as a thin client whose server is forked by a zygote.

Each test has its own runtime dir (so its own zygote) and kills every zygote it started.
Processes are found through /proc: a forked server is the zygote's child whose stdin is the
thin client's stdin.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import escape_lsp
from escape_lsp.lsp.resident.install import import_path, install_key
from tests.conftest import WriteModule, proc_stat, running
from tests.fakego import RawServer

ESCAPING = "package p\n\nfunc F() *int { x := 1; return &x }\n"
TAGGED = "//go:build special\n\npackage p\n\nfunc G() *int { y := 2; return &y }\n"


def _alive(pid: int) -> bool:
    return running(proc_stat(pid))


def _zygotes(runtime: Path) -> list[int]:
    """Live zygotes listening in `runtime`: processes whose command line names its socket,
    except their forked servers (a fork keeps its parent's command line)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = proc_stat(entry.name)
        named = b"resident.zygote" in cmdline and str(runtime).encode() in cmdline
        if named and running(fields):
            found[int(entry.name)] = int(fields[1])
    return sorted(pid for pid, parent in found.items() if parent not in found)


def _server_of(client_pid: int) -> int:
    """The forked server of a thin client: a zygote's child reading the client's stdin."""
    stdin = os.readlink(f"/proc/{client_pid}/fd/0")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == client_pid:
            continue
        try:
            if os.readlink(entry / "fd" / "0") != stdin:
                continue
            parent = (proc_stat(int(entry.name)) or ["", "0"])[1]
            parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resident.zygote" in parent_cmd and _alive(int(entry.name)):
            return int(entry.name)
    raise AssertionError(f"no forked server reads the stdin of {client_pid}")


async def _ends(pid: int, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while _alive(pid):
            await asyncio.sleep(0.02)


def _private_runtime() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="elr-", dir="/tmp"))  # short: socket paths are limited
    try:
        yield path
    finally:
        for pid in _zygotes(path):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(path)  # sockets, the log, kept code, head start records


@pytest.fixture(scope="module")
def shared() -> Iterator[Path]:
    """A runtime dir whose zygote the module's tests share (starting one takes ~1 s)."""
    yield from _private_runtime()


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A runtime dir of this test's own; its zygotes die at the end."""
    yield from _private_runtime()


def _env(runtime: Path, **extra: str) -> dict[str, str]:
    return {
        "ESCAPE_LSP_RESIDENT": "on",
        "ESCAPE_LSP_RUNTIME_DIR": str(runtime),
        "ESCAPE_LSP_FIRST_PUBLISH": "on",
        **extra,
    }


async def _first_diagnostics(
    root: Path, env: dict[str, str], cwd: Path | None = None
) -> tuple[RawServer, list[dict[str, Any]]]:
    srv = await RawServer.start(env=env, cwd=cwd)
    await srv.initialize(root)
    srv.open(root / "p" / "p.go")
    diags = await srv.diagnostics(root / "p" / "p.go", lambda d: len(d) > 0)
    return srv, diags


def _readies(runtime: Path) -> int:
    """How many zygotes of `runtime` have said they are ready, in its log."""
    try:
        return (runtime / "zygote.log").read_text().count("ready in ")
    except FileNotFoundError:
        return 0


async def _resident(root: Path, runtime: Path, **extra: str) -> None:
    """A zygote ready in `runtime`: a first `serve` serves in-process and starts one after its
    first diagnostics; wait until it says it is ready."""
    before = _readies(runtime)
    srv, diags = await _first_diagnostics(root, _env(runtime, **extra))
    assert diags
    assert await srv.stop() == 0
    async with asyncio.timeout(30):
        while _readies(runtime) <= before:
            await asyncio.sleep(0.05)


async def _ensure_resident(root: Path, runtime: Path) -> None:
    if not _zygotes(runtime):
        await _resident(root, runtime)


async def test_a_second_spawn_is_forked_by_the_zygote_and_says_what_in_process_says(
    gomod: WriteModule, shared: Path
) -> None:
    runtime = shared
    root = gomod({"p/p.go": ESCAPING})
    local, expected = await _first_diagnostics(root, {"ESCAPE_LSP_RESIDENT": "off"})
    assert await local.stop() == 0

    await _ensure_resident(root, runtime)  # the first spawn serves in-process, starts a zygote
    (zygote,) = _zygotes(runtime)
    first, diags = await _first_diagnostics(root, _env(runtime))
    assert diags == expected
    second, diags = await _first_diagnostics(root, _env(runtime))
    assert diags == expected
    server = _server_of(second.proc.pid)
    assert (proc_stat(server) or [])[1] == str(zygote)
    assert (proc_stat(_server_of(first.proc.pid)) or [])[1] == str(zygote)
    assert _zygotes(runtime) == [zygote]  # one zygote, reused
    assert await first.stop() == 0
    assert await second.stop() == 0
    await _ends(server)


async def test_the_very_first_spawn_serves_in_process_and_then_starts_the_zygote(
    gomod: WriteModule, runtime: Path
) -> None:
    """No zygote: waiting ~1 s for one would delay the first diagnostics; this server serves
    in-process and starts one once it has published them."""
    root = gomod({"p/p.go": ESCAPING})
    srv, diags = await _first_diagnostics(root, _env(runtime))
    assert diags
    async with asyncio.timeout(30):
        while _readies(runtime) == 0:
            await asyncio.sleep(0.05)
    (zygote,) = _zygotes(runtime)
    assert zygote not in _children(srv.proc.pid)  # detached: no zombie when it ends
    assert await srv.stop() == 0
    assert "resident server unavailable" not in await srv.stderr_tail()
    third, diags = await _first_diagnostics(root, _env(runtime))
    assert diags
    assert (proc_stat(_server_of(third.proc.pid)) or [])[1] == str(zygote)
    assert await third.stop() == 0


async def test_a_first_spawn_answers_initialize_without_argparse_sockets_or_openssl(
    gomod: WriteModule, runtime: Path
) -> None:
    """With no zygote's socket in the runtime dir, `serve` does not work out the install key
    (a walk of escape_lsp's files) or import the socket modules until it starts a zygote,
    after its first diagnostics; editors' plain `serve` needs no argparse, and nothing before
    the answer loads OpenSSL or tempfile (the private temp dir is made without it).
    `-X importtime` writes each import as it ends to stderr: what was imported before
    `early_open`, which answers `initialize`."""
    root = gomod({"p/p.go": ESCAPING})
    srv, diags = await _first_diagnostics(root, _env(runtime, PYTHONPROFILEIMPORTTIME="1"))
    assert diags
    assert await srv.stop() == 0
    rows = [
        line.rsplit("|", 1)[1].strip()
        for line in (await srv.stderr_tail(1 << 20)).splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    ]
    before_the_answer = rows[: rows.index("escape_lsp.lsp.early_open")]
    assert "escape_lsp.gotool.head_start" in before_the_answer
    unwanted = {"argparse", "socket", "hashlib", "tempfile", "escape_lsp.lsp.resident.wire"}
    assert unwanted.isdisjoint(before_the_answer), sorted(unwanted.intersection(before_the_answer))
    async with asyncio.timeout(30):  # and it still starts the zygote, after them
        while _readies(runtime) == 0:
            await asyncio.sleep(0.05)
    assert len(list(runtime.glob("zygote-*.sock"))) == 1


def _children(pid: int) -> list[int]:
    return [
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and (proc_stat(e.name) or ["", ""])[1] == str(pid)
    ]


async def test_the_forked_server_adopts_the_clients_environment_and_directory(
    gomod: WriteModule, shared: Path, tmp_path: Path
) -> None:
    runtime = shared
    root = gomod({"p/p.go": ESCAPING, "p/tagged.go": TAGGED})
    await _ensure_resident(root, runtime)
    plain, _ = await _first_diagnostics(root, _env(runtime))
    tagged_go = root / "p" / "tagged.go"
    plain.open(tagged_go)
    # Without the tag the file is not compiled: no verdict about `y`.
    assert not any("y" in d["message"] for d in await plain.diagnostics(tagged_go, lambda _: True))
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    srv, _ = await _first_diagnostics(root, _env(runtime, GOFLAGS="-tags=special"), cwd=cwd)
    server = _server_of(srv.proc.pid)
    assert Path(os.readlink(f"/proc/{server}/cwd")) == cwd
    srv.open(tagged_go)
    diags = await srv.diagnostics(tagged_go, lambda d: any("y" in x["message"] for x in d))
    assert any(d["message"] == "moved to heap: y" for d in diags)
    assert await srv.stop() == 0
    assert await plain.stop() == 0


@pytest.mark.parametrize("end", ["sigterm", "stdin-closed"])
async def test_the_thin_client_and_its_server_end_together(
    gomod: WriteModule, shared: Path, end: str
) -> None:
    runtime = shared
    root = gomod({"p/p.go": ESCAPING})
    await _ensure_resident(root, runtime)
    srv, _ = await _first_diagnostics(root, _env(runtime))
    server = _server_of(srv.proc.pid)
    code = await srv.end_by(end)
    assert code == 0, await srv.stderr_tail()
    await _ends(server)
    assert _zygotes(runtime)  # the zygote stays for the next editor


async def test_a_changed_install_never_reuses_the_old_zygote(
    gomod: WriteModule, shared: Path
) -> None:
    runtime = shared
    root = gomod({"p/p.go": ESCAPING})
    await _ensure_resident(root, runtime)
    (old,) = _zygotes(runtime)
    module = Path(escape_lsp.__file__).parent / "lsp" / "resident" / "__init__.py"
    before = module.stat()
    key = install_key(import_path())
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    try:
        assert install_key(import_path()) != key
        await _resident(root, runtime)  # the old one is not asked: a new one starts
        srv, _ = await _first_diagnostics(root, _env(runtime))
        (new,) = set(_zygotes(runtime)) - {old}
        assert (proc_stat(_server_of(srv.proc.pid)) or [])[1] == str(new)
        assert await srv.stop() == 0
        assert len(list(runtime.glob("zygote-*.sock"))) == 2
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.kill(new, signal.SIGKILL)  # the others in this module use the old one
    await _ends(new)


async def test_a_zygote_ends_when_its_socket_is_removed(gomod: WriteModule, runtime: Path) -> None:
    root = gomod({"p/p.go": ESCAPING})
    await _resident(root, runtime)
    (zygote,) = _zygotes(runtime)
    (sock,) = runtime.glob("zygote-*.sock")
    sock.unlink()
    await _ends(zygote)


async def test_a_new_zygote_reuses_the_code_the_last_one_generated(
    gomod: WriteModule, runtime: Path, tmp_path: Path
) -> None:
    """lsp/codegen_cache.py: the first zygote compiles what attrs and cattrs generate and
    keeps it in the state dir; the next one compiles next to nothing."""
    root = gomod({"p/p.go": ESCAPING})
    state = tmp_path / "state"
    for _ in range(2):
        kept = {"ESCAPE_LSP_CACHE": str(tmp_path / "cache"), "ESCAPE_LSP_STATE_DIR": str(state)}
        await _resident(root, runtime, **kept)
        (zygote,) = _zygotes(runtime)
        os.kill(zygote, signal.SIGTERM)
        await _ends(zygote)
    assert not list(runtime.glob("codegen-*"))  # gone with a reboot: not kept there
    kept_files = [p for p in state.glob("codegen-*.marshal") if "-cli-" not in p.name]
    assert len(kept_files) == 1  # the server's (the first publish keeps the CLI's)
    counts = re.findall(
        r"generated code: (\d+) kept, (\d+) compiled", (runtime / "zygote.log").read_text()
    )
    (_, _), (kept1, compiled1) = [(int(k), int(c)) for k, c in counts]
    assert kept1 > 500 and compiled1 <= 5


async def test_without_a_usable_runtime_dir_it_serves_in_process_with_a_warning(
    gomod: WriteModule, runtime: Path
) -> None:
    root = gomod({"p/p.go": ESCAPING})
    runtime.chmod(0o755)  # open to others: not private
    try:
        srv, diags = await _first_diagnostics(root, _env(runtime))
        assert diags
        assert await srv.stop() == 0
    finally:
        runtime.chmod(0o700)
    assert "resident server unavailable" in await srv.stderr_tail()
    assert _zygotes(runtime) == []


@pytest.mark.parametrize("how", ["env", "flag"])
async def test_opting_out_serves_in_process(gomod: WriteModule, runtime: Path, how: str) -> None:
    root = gomod({"p/p.go": ESCAPING})
    if how == "env":
        srv = await RawServer.start(env=_env(runtime, ESCAPE_LSP_RESIDENT="off"))
    else:
        srv = await RawServer.start(env=_env(runtime), args=("--no-resident",))
    await srv.initialize(root)
    srv.open(root / "p" / "p.go")
    assert await srv.diagnostics(root / "p" / "p.go", lambda d: len(d) > 0)
    assert await srv.stop() == 0
    assert _zygotes(runtime) == []
    assert list(runtime.iterdir()) == []


def test_the_thin_client_imports_no_server_code() -> None:
    code = (
        "import sys, escape_lsp.cli, escape_lsp.lsp.resident.client; "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = out.stdout.split()
    assert "escape_lsp.lsp.resident.client" in modules
    heavy = [
        m
        for m in modules
        if m.split(".")[0] in ("pygls", "lsprotocol", "cattrs", "attrs", "asyncio", "tree_sitter")
        or m.startswith(("escape_lsp.analysis", "escape_lsp.findings", "escape_lsp.gotool"))
        or m in ("escape_lsp.lsp.server", "escape_lsp.lsp.resident.zygote")
    ]
    assert heavy == []


def test_the_zygote_forks_without_threads_or_an_event_loop() -> None:
    code = (
        "import asyncio, sys, threading; from escape_lsp.lsp.resident import warm; "
        "warm.prepare(); "
        "loop = asyncio.get_event_loop_policy()._local._loop; "  # what get_event_loop would make
        "print(threading.active_count(), loop is None, 'pygls' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True", "True"]


def test_the_import_path_drops_only_what_depends_on_where_the_server_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`python -m` puts the working directory first; an editable install's path entry may be
    that same directory (the checkout) and must stay, or the zygote cannot import escape_lsp."""
    here, lib = str(tmp_path), "/usr/lib/python3.11"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [here, lib, here])
    assert import_path() == [lib, here]
    monkeypatch.setattr(sys, "path", ["", lib, ".", here])
    assert import_path() == [lib, here]
    monkeypatch.setattr(sys, "path", [lib, here])  # -P, -I: nothing start-dependent first
    assert import_path() == [lib, here]
