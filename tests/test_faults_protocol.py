"""Fault injection at the protocol edge: malformed params and frames, bad settings, a go that
is not go. The real server over stdio, spoken to frame by frame."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from escape_lsp.lsp.config import ServerSettings, parse_settings
from tests.conftest import WriteModule
from tests.fakego import RawServer, did_change, fake_go, notification, request

ESCAPING = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"
MOVED = "moved to heap: x"


@pytest.fixture
async def module(gomod: WriteModule) -> Path:
    return gomod({"p/p.go": ESCAPING}, sub="mod")


@pytest.fixture
async def server(module: Path) -> AsyncIterator[RawServer]:
    srv = await RawServer.start()
    await srv.initialize(module)
    yield srv
    await srv.stop()


def _doc(path: Path) -> dict[str, str]:
    return {"uri": path.as_uri()}


async def _opened(srv: RawServer, module: Path) -> Path:
    """Open the module's file and wait for its escape to be reported; the file's path."""
    path = module / "p" / "p.go"
    srv.open(path)
    await srv.diagnostics(path, lambda ds: any(d["message"] == MOVED for d in ds))
    return path


def _shown_errors(srv: RawServer) -> list[str]:
    return [
        m["params"]["message"]
        for m in srv.messages
        if m.get("method") == "window/showMessage" and m["params"]["type"] == 1
    ]


async def test_requests_with_invalid_params_get_invalid_params(
    server: RawServer, module: Path
) -> None:
    path = await _opened(server, module)
    pos = {"line": 3, "character": 1}
    cases = {
        10: ("textDocument/hover", None, "params"),
        11: ("textDocument/hover", {}, "textDocument"),
        12: (
            "textDocument/hover",
            {"textDocument": _doc(path), "position": {"line": -1, "character": 0}},
            "position",
        ),
        13: (
            "textDocument/codeAction",
            {"textDocument": _doc(path), "context": {"diagnostics": []}},
            "range",
        ),
        14: (
            "textDocument/inlayHint",
            {"textDocument": _doc(path), "range": {"start": pos}},
            "end",
        ),
    }
    server.send(*(request(i, method, params) for i, (method, params, _) in cases.items()))
    for msg_id, (method, _, where) in cases.items():
        answer = await server.response(msg_id)
        assert answer["error"]["code"] == -32602, answer
        assert method in answer["error"]["message"] and where in answer["error"]["message"]
    server.send(
        request(
            20,
            "workspace/executeCommand",
            {"command": "escapeLsp.showKind", "arguments": ["bogus"]},
        )
    )
    answer = await server.response(20)
    assert (
        answer["error"]["code"] == -32602 and "unknown kind 'bogus'" in answer["error"]["message"]
    )
    assert "traceback" not in json.dumps(answer)
    # Still serving, and nothing was shown to the user as a server error.
    server.send(request(21, "textDocument/hover", {"textDocument": _doc(path), "position": pos}))
    assert MOVED in (await server.response(21))["result"]["contents"]["value"]
    assert _shown_errors(server) == []


async def test_a_change_that_does_not_fit_waits_for_the_full_text(
    server: RawServer, module: Path
) -> None:
    path = await _opened(server, module)

    far = {"start": {"line": 90, "character": 0}, "end": {"line": 90, "character": 0}}
    server.send(did_change(path, 2, {"range": far, "text": "// lost\n"}))
    await server.expect(lambda m: "did not fit the document" in json.dumps(m))
    # Further incremental changes cannot be placed either: ignored until the full text.
    top = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
    server.send(did_change(path, 3, {"range": top, "text": "//go:build ignore\n\n"}))
    renamed = ESCAPING.replace("x", "y")
    server.send(did_change(path, 4, {"text": renamed}))
    diags = await server.diagnostics(
        path, lambda ds: any(d["message"] == "moved to heap: y" for d in ds)
    )
    assert [d["message"] for d in diags if d["code"] == "moved-to-heap"] == ["moved to heap: y"]
    assert _shown_errors(server) == []


async def test_frames_with_a_wrong_content_length_are_recovered_from(
    server: RawServer, module: Path
) -> None:
    path = await _opened(server, module)
    pos = {"line": 3, "character": 1}

    def hover(msg_id: int) -> bytes:
        body = json.dumps(
            request(msg_id, "textDocument/hover", {"textDocument": _doc(path), "position": pos})
        )
        return body.encode()

    short, long_ = hover(30), hover(31)
    server.send_raw(f"Content-Length: {len(short) - 7}\r\n\r\n".encode() + short)  # too small
    server.send_raw(f"Content-Length: {len(long_) + 40}\r\n\r\n".encode() + long_)  # too large
    server.send_raw(b"garbage without a header\r\n")
    body = hover(32)
    server.send_raw(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    for msg_id in (30, 32):
        assert MOVED in (await server.response(msg_id))["result"]["contents"]["value"]
    assert MOVED in (await server.response(31))["result"]["contents"]["value"]
    server.send_raw(b"Content-Length: 9\r\n\r\n{not json")
    assert (await server.response(None))["error"]["code"] == -32700  # type: ignore[arg-type]
    body = hover(33)
    server.send_raw(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    assert MOVED in (await server.response(33))["result"]["contents"]["value"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("debounceMs", "fast"),
        ("debounceMs", None),
        ("debounceMs", float("inf")),  # what JSON's 1e400 becomes
        ("debounceMs", -5),
        ("severity", "error"),
        ("kinds", 5),
        ("kinds", ["heap", "nonsense"]),
        ("inlayHints", {"heap": "yes"}),
        ("buildFlags", "-tags='x"),
        ("gcflags", ["-l", "m"]),
        ("env", []),
        ("scope", "everything"),
        ("codeLens", "false"),
        ("go", 7),
    ],
)
def test_each_bad_setting_is_one_warning_naming_it_and_the_rest_applies(
    name: str, value: object
) -> None:
    settings, problems = parse_settings({"escapeLsp": {name: value, "buildTags": "integration"}})
    assert settings.build_tags == "integration"  # the good setting still applies
    assert replace(settings, build_tags="") == ServerSettings()  # the bad one: its default
    assert len(problems) == 1 and f"`{name}`" in problems[0], problems


@pytest.mark.parametrize(
    "raw", [None, 5, "x", [], {"escapeLsp": 3}, {"escapeLsp": {"env": {"": 1}}}]
)
def test_settings_of_any_shape_never_raise(raw: object) -> None:
    settings, _ = parse_settings(raw)
    assert settings.debounce_ms == 300


_BAD_SETTINGS = {
    "debounceMs": "fast",
    "severity": "error",
    "kinds": 5,
    "buildFlags": "-tags='x",
    "gcflags": ["l"],
    "env": {"GOFLAGS": None},
}


async def test_bad_settings_are_each_warned_about_once_and_the_rest_applies(module: Path) -> None:
    srv = await RawServer.start()
    try:
        await srv.initialize(module, {**_BAD_SETTINGS, "inlayHints": {"heap": False}})
        path = module / "p" / "p.go"
        srv.open(path)
        diags = await srv.diagnostics(path, lambda ds: any(d["message"] == MOVED for d in ds))
        assert {d["severity"] for d in diags if d["code"] == "moved-to-heap"} == {2}  # default
        rng = {"start": {"line": 0, "character": 0}, "end": {"line": 6, "character": 0}}
        srv.send(request(40, "textDocument/inlayHint", {"textDocument": _doc(path), "range": rng}))
        assert (await srv.response(40))["result"] == []  # inlayHints applied
        warnings = [m for m in srv.logs() if "settings:" in m]
        for name in ("debounceMs", "severity", "kinds", "buildFlags", "gcflags", "env.GOFLAGS"):
            assert sum(f"`{name}`" in w for w in warnings) == 1, (name, warnings)
        srv.send(
            notification(
                "workspace/didChangeConfiguration",
                {"settings": {"escapeLsp": {"debounceMs": 1e400, "scope": 3}}},
            )
        )
        await srv.expect(lambda m: "`scope`" in json.dumps(m))
        assert any("`debounceMs`" in w and "inf" in w for w in srv.logs())
        assert _shown_errors(srv) == []
    finally:
        await srv.stop()


async def test_a_go_that_is_not_go_says_so_once_and_settings_can_fix_it(
    module: Path, tmp_path: Path
) -> None:
    echo = fake_go(tmp_path / "bin", 'echo "$@"')
    srv = await RawServer.start()
    try:
        await srv.initialize(module, {"go": str(echo)})
        shown = await srv.expect(lambda m: m.get("method") == "window/showMessage")
        assert "is not a go command" in shown["params"]["message"]
        srv.send(request(50, "workspace/executeCommand", {"command": "escapeLsp.status"}))
        status = (await srv.response(50))["result"]
        assert status["state"] == "unavailable" and "not a go command" in status["reason"]
        path = module / "p" / "p.go"
        srv.open(path)
        srv.send(
            notification(
                "workspace/didChangeConfiguration", {"settings": {"escapeLsp": {"debounceMs": 50}}}
            )
        )
        await srv.diagnostics(path, lambda ds: any(d["message"] == MOVED for d in ds))
        assert len([m for m in srv.messages if m.get("method") == "window/showMessage"]) == 1
    finally:
        await srv.stop()
