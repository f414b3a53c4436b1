"""A spawned server publishes its first diagnostics before pygls is imported
(`lsp/first_publish.py`), and then the server takes over as if it had read everything itself.

Driven over stdio with a plain client, so the order of what the server writes is seen exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp

from escape_lsp.lsp import first_answer
from escape_lsp.lsp.wire import FIRST_CONFIGURATION_ID
from tests.conftest import WriteModule
from tests.fakego import RawServer, appears, fake_go, group_ends, notification, request

CLIENTS = Path(pytest_lsp.__file__).parent / "clients"
#: A push client that answers the settings request (as VS Code does).
PUSH_CAPS = {
    "workspace": {"configuration": True},
    "textDocument": {"publishDiagnostics": {"versionSupport": True}},
    "general": {"positionEncodings": ["utf-8", "utf-16"]},
}
#: A client that pulls diagnostics and can be told to pull again (as VS Code's does).
PULL_CAPS = {
    **PUSH_CAPS,
    "workspace": {"configuration": True, "diagnostics": {"refreshSupport": True}},
    "textDocument": {"diagnostic": {}},  # present, even empty, means it pulls
}
SRC = """
package p

type T struct{ n int }

func Leak() *T {
	t := T{n: 1}
	return &t
}

func Sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
"""


@pytest.mark.parametrize(
    "params",
    [
        json.loads((CLIENTS / "visual_studio_code_v1.65.2.json").read_text()),
        json.loads((CLIENTS / "neovim_v0.11.0.json").read_text()),
        json.loads((CLIENTS / "emacs_v29.1.json").read_text()),
        {"processId": None, "rootUri": None, "capabilities": PUSH_CAPS},
        {"processId": None, "rootUri": None, "capabilities": {}},
    ],
    ids=["vscode", "neovim", "emacs", "utf-8", "no-capabilities"],
)
def test_the_kept_answer_is_the_servers(params: dict[str, Any]) -> None:
    """`initialize_answer.json` is what pygls answers now (regenerate it with
    `python -m escape_lsp.lsp.first_answer` after adding a feature)."""
    assert first_answer.answer(params) == first_answer.ask_server(params)


async def _start(
    root: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> RawServer:
    """The server, with the first publish on, its requests answered (settings: defaults)."""
    env = {first_answer.FIRST_PUBLISH_ENV: "on", **(env or {})}
    srv = await RawServer.start(env=env, cwd=cwd or root)
    _answering[srv] = asyncio.create_task(srv.answer_requests())
    return srv


_answering: dict[RawServer, asyncio.Task[None]] = {}


def _open_session(
    srv: RawServer, root: Path, target: Path, caps: dict[str, Any] = PUSH_CAPS, settings: Any = None
) -> None:
    """As editors start: VS Code and Neovim send `didChangeConfiguration` at once (VS Code
    with null settings, Neovim with the plugin's)."""
    params = {"processId": None, "rootUri": root.as_uri(), "capabilities": caps}
    doc = {"uri": target.as_uri(), "languageId": "go", "version": 1, "text": target.read_text()}
    srv.send(
        request(1, "initialize", params),
        notification("initialized", {}),
        notification("workspace/didChangeConfiguration", {"settings": settings}),
        notification("textDocument/didOpen", {"textDocument": doc}),
    )


async def _nth(srv: RawServer, predicate: Callable[[dict[str, Any]], bool], n: int = 1) -> None:
    """Until the `n`th message satisfying `predicate` has come."""
    seen: list[dict[str, Any]] = []
    await srv.expect(lambda m: predicate(m) and (seen.append(m) or len(seen) >= n), timeout=60)


async def _end(srv: RawServer) -> str:
    """Shut down and exit (status 0); what the server wrote to stderr."""
    assert await srv.stop() == 0
    _answering.pop(srv).cancel()
    return await srv.stderr_tail(1 << 20)


def _published(m: dict[str, Any]) -> bool:
    return m.get("method") == "textDocument/publishDiagnostics"


def _server_settings_request(m: dict[str, Any]) -> bool:
    """The server's own request (pygls numbers its requests), not the first publish's."""
    return m.get("method") == "workspace/configuration" and m["id"] != FIRST_CONFIGURATION_ID


async def test_first_diagnostics_come_before_the_server_and_equal_its_own(
    gomod: WriteModule,
) -> None:
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    srv = await _start(root)
    _open_session(srv, root, target, settings={"escapeLsp": {"kinds": ["heap"]}})
    first = await srv.expect(_published)
    # At once, over a diagnostic the editor shows: the server answers once it has caught up.
    first_diag = first["params"]["diagnostics"][0]
    hover = {"textDocument": {"uri": target.as_uri()}, "position": first_diag["range"]["start"]}
    srv.send(request(7, "textDocument/hover", hover))
    hovered = (await srv.response(7))["result"]
    await _nth(srv, _published, 2)
    err = await _end(srv)
    assert hovered is not None and first_diag["message"] in json.dumps(hovered)

    messages = srv.messages
    answers = [m for m in messages if m.get("id") == 1 and "method" not in m]
    assert len(answers) == 1, "initialize is answered once"
    assert answers[0]["result"]["capabilities"]["positionEncoding"] == "utf-8"
    first = next(i for i, m in enumerate(messages) if _published(m))
    server = next(i for i, m in enumerate(messages) if _server_settings_request(m))
    assert first < server, "the first diagnostics come before the server reads its messages"
    published = [m["params"] for m in messages if _published(m)]
    assert published[0]["diagnostics"], "moved to heap: t"
    assert all(p == published[0] for p in published), "the server publishes the same again"
    assert published[0]["version"] == 1
    assert "before the server" in err


async def test_a_pull_client_gets_its_first_pull_answered_before_the_server(
    gomod: WriteModule,
) -> None:
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    srv = await _start(root)
    _open_session(srv, root, target, PULL_CAPS)
    pull = {"textDocument": {"uri": target.as_uri()}}
    srv.send(request(5, "textDocument/diagnostic", pull))
    await srv.expect(lambda m: m.get("method") == "workspace/diagnostic/refresh")
    srv.send(request(6, "textDocument/diagnostic", pull))
    await srv.response(6)
    err = await _end(srv)

    messages = srv.messages
    first = next(i for i, m in enumerate(messages) if m.get("id") == 5)
    server = next(i for i, m in enumerate(messages) if _server_settings_request(m))
    assert first < server, "the first pull is answered before the server reads its messages"
    (answer,) = [m["result"] for m in messages if m.get("id") == 5]
    (again,) = [m["result"] for m in messages if m.get("id") == 6]
    assert answer["kind"] == "full" and answer["items"]
    assert answer == again
    assert not any(_published(m) for m in messages), "a pull client gets nothing pushed"
    assert "before the server" in err


async def test_a_request_before_the_first_diagnostics_is_answered_by_the_caught_up_server(
    gomod: WriteModule,
) -> None:
    """Editors ask for hints, lenses and code actions as a file opens: the request waits,
    and the server answers it once it has what the first publish showed."""
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    srv = await _start(root)
    _open_session(srv, root, target)
    hover = {"textDocument": {"uri": target.as_uri()}, "position": {"line": 5, "character": 1}}
    srv.send(request(7, "textDocument/hover", hover))
    await srv.response(7)
    err = await _end(srv)

    messages = srv.messages
    assert sum(1 for m in messages if m.get("id") == 1 and "method" not in m) == 1
    published = next(i for i, m in enumerate(messages) if _published(m))
    answered = next(i for i, m in enumerate(messages) if m.get("id") == 7)
    assert published < answered
    assert "moved to heap: t" in json.dumps(messages[answered]["result"])
    assert "before the server" in err


async def test_an_edit_before_the_first_diagnostics_hands_over(gomod: WriteModule) -> None:
    """The first publish steps aside; nothing read is lost: the server sees the edit."""
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    srv = await _start(root)
    _open_session(srv, root, target)
    edited = SRC.replace("return &t", "return nil")
    change = {
        "textDocument": {"uri": target.as_uri(), "version": 2},
        "contentChanges": [{"text": edited}],
    }
    srv.send(notification("textDocument/didChange", change))
    await srv.expect(lambda m: _published(m) and m["params"].get("version") == 2, timeout=60)
    err = await _end(srv)

    messages = srv.messages
    assert sum(1 for m in messages if m.get("id") == 1 and "method" not in m) == 1
    last = [m["params"] for m in messages if _published(m)][-1]
    assert not any("moved to heap: t" in d["message"] for d in last["diagnostics"])
    assert "before the server" not in err


async def test_off_means_the_server_answers_everything(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    srv = await _start(root, {first_answer.FIRST_PUBLISH_ENV: "off"})
    _open_session(srv, root, target)
    await srv.expect(_published, timeout=60)
    err = await _end(srv)
    messages = srv.messages
    assert not any(m.get("id") == FIRST_CONFIGURATION_ID for m in messages)
    assert "before the server" not in err


async def test_a_spawn_starts_the_build_the_last_one_used_before_it_reads_initialize(
    gomod: WriteModule, tmp_path: Path
) -> None:
    """As `check`'s head start: the build the last first publish from this directory used
    starts before the analysis is imported, when what it read has changed."""
    root = gomod({"p/p.go": SRC}, sub="mod")
    target = root / "p" / "p.go"
    log = tmp_path / "go.log"
    bin_dir = tmp_path / "bin"
    fake_go(bin_dir, f'echo "$(date +%s.%N) $1" >> \'{log}\'\nexec "$REAL_GO" "$@"')
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "ESCAPE_LSP_CACHE": str(tmp_path / "cache"),
        "ESCAPE_LSP_STATE_DIR": str(state),
    }

    async def spawn() -> tuple[float, list[float]]:
        log.unlink(missing_ok=True)
        srv = await _start(root, env, cwd=tmp_path)  # started outside the module
        _open_session(srv, root, target)
        answer = await srv.response(1)
        await srv.expect(_published, timeout=60)
        await _end(srv)
        answered = srv.arrived_at[next(i for i, m in enumerate(srv.messages) if m is answer)]
        lines = [line.split() for line in log.read_text().splitlines()]
        return answered, [float(when) for when, verb in lines if verb == "build"]

    answered, builds = await spawn()  # no record yet
    assert builds and builds[0] > answered
    (root / "p" / "more.go").write_text("package p\n\nfunc More() *int { m := 1; return &m }\n")
    answered, builds = await spawn()
    assert builds and builds[0] < answered, "the recorded build starts before initialize"


@pytest.mark.parametrize("settings", [{}, {"buildTags": "extra"}])
async def test_a_first_spawn_in_a_directory_starts_the_opened_packages_build_at_once(
    gomod: WriteModule, tmp_path: Path, settings: dict[str, object]
) -> None:
    """With no record (the first spawn from a directory), the build the opened file's
    package needs starts as it is opened, before `go list`, and the engine takes it over:
    one build. It starts before the first publish is imported (`early_open`: asyncio is not
    loaded yet in the server's process), and before the settings are read: settings that
    change the build drop it, and the engine's own build comes after `go list`."""
    root = gomod({"p/p.go": SRC}, sub="mod")
    target = root / "p" / "p.go"
    log = tmp_path / "go.log"
    bin_dir = tmp_path / "bin"
    # each go command: when, its verb (`plan` for a `build -n`: a compile recipe's, after the
    # first diagnostics), and whether its parent (the server) has asyncio loaded
    asyncio_loaded = "$(grep -c _asyncio /proc/$PPID/maps)"
    verb = 'verb=$1; [ "$2" = -n ] && verb=plan'
    fake_go(
        bin_dir,
        f'{verb}\necho "$(date +%s.%N) $verb {asyncio_loaded}" >> \'{log}\'\nexec "$REAL_GO" "$@"',
    )
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "ESCAPE_LSP_CACHE": str(tmp_path / "c")}
    env["ESCAPE_LSP_STATE_DIR"] = str(tmp_path / "state")
    srv = await _start(root, env, cwd=tmp_path)
    params = {"processId": None, "rootUri": root.as_uri(), "capabilities": PUSH_CAPS}
    doc = {"uri": target.as_uri(), "languageId": "go", "version": 1, "text": target.read_text()}
    srv.send(
        request(1, "initialize", {**params, "initializationOptions": {"escapeLsp": settings}}),
        notification("initialized", {}),
        notification("textDocument/didOpen", {"textDocument": doc}),
    )
    await srv.expect(_published, timeout=60)
    await _end(srv)
    lines = [line.split() for line in log.read_text().splitlines()]
    verbs = [verb for _, verb, _ in lines]
    assert verbs.count("build") == (2 if settings else 1), verbs
    assert verbs.index("build") < verbs.index("list"), verbs
    assert next(loaded for _, verb, loaded in lines if verb == "build") == "0", lines
    assert all(loaded != "0" for _, verb, loaded in lines if verb == "env"), lines
    if settings:  # the guess dropped: the build with the settings' tags after the listing
        assert verbs.index("list") < len(verbs) - 1 - verbs[::-1].index("build"), verbs


@pytest.mark.parametrize("end", ["sigterm", "stdin-closed"])
async def test_the_first_publish_ends_cleanly_while_go_builds(
    gomod: WriteModule, tmp_path: Path, end: str
) -> None:
    """Told to stop (SIGTERM) or left (end of input) while its build runs: the process ends
    at once and takes go's process group with it."""
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    pid_file = tmp_path / "build.pid"
    fake_go(
        tmp_path / "bin",
        f"""case "$1" in build) echo $$ > '{pid_file}'; sleep 600 & wait;; esac
exec "$REAL_GO" "$@\"""",
    )
    srv = await _start(root, {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"})
    _open_session(srv, root, target)
    await appears(pid_file)
    code = await srv.end_by(end)
    assert code in (0, 1), await srv.stderr_tail()  # 1: the editor left without `shutdown`
    await group_ends(int(pid_file.read_text()))
    _answering.pop(srv).cancel()


async def test_the_first_diagnostics_import_no_evidence_gcassert_pool_doctor_or_fix_builders(
    gomod: WriteModule,
) -> None:
    """What the first publish imports runs beside go's first build, on the same two cores.
    For a package with no measurement, no directive and no `sync` import, the measured
    evidence (with pprof and bench), the gcassert checker, the sync.Pool doctor and the fix
    builders are left out of it: the fix builders come once the diagnostics are sent
    (`Session.fix_service`, made as the first build's fixes are proven), the rest only when
    needed. `-X importtime` writes each import as it ends to stderr (what it imported first,
    more indented), where the first publish's log line follows in order."""
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    srv = await _start(root, {"PYTHONPROFILEIMPORTTIME": "1"})
    _open_session(srv, root, target)
    await srv.expect(_published, timeout=60)
    err = (await _end(srv)).splitlines()
    published = next(i for i, line in enumerate(err) if "first diagnostics published" in line)
    rows = [  # each import's row: "import time: <self µs> | <cumulative µs> | <indent><name>"
        line.rsplit("|", 1)[1]
        for line in err[:published]
        if line.startswith("import time:") and line.split("|")[0].split(":")[1].strip().isdigit()
    ]
    imported = [row.strip() for row in rows]
    depth = [len(row) - len(row.lstrip()) for row in rows]
    session = imported.index("escape_lsp.analysis.session")
    fixes = imported.index("escape_lsp.analysis.fixes.service")  # proving the first fixes
    first_of_fixes = fixes  # the imports it made come right before it, more indented
    while first_of_fixes > 0 and depth[first_of_fixes - 1] > depth[fixes]:
        first_of_fixes -= 1
    assert first_of_fixes > session, "the fix builders come after the analysis"
    for_diagnostics = imported[:first_of_fixes]
    assert "escape_lsp.lsp.diagnostics" in for_diagnostics
    assert "escape_lsp.analysis.gcassert_scan" in for_diagnostics
    left_out = {
        "escape_lsp.analysis.evidence",
        "escape_lsp.analysis.gcassert",
        "escape_lsp.gotool.bench",
        "escape_lsp.gotool.pprof",
        "escape_lsp.analysis.pools.syntax",
        "escape_lsp.analysis.pools.checks",
        "escape_lsp.analysis.fixes.registry",
    }
    assert left_out.isdisjoint(for_diagnostics), sorted(left_out.intersection(for_diagnostics))
