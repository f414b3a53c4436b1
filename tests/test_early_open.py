"""A spawned server's first messages read before the first publish is imported
(`lsp/early_open.py`): `initialize` answered as the first publish answers it, the opened
file's build guessed, and every byte handed on; anything it cannot follow is left alone,
without waiting for input that may never come."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from escape_lsp.lsp import early_open as early
from escape_lsp.lsp import first_answer

CAPS = {"workspace": {"configuration": True}, "general": {"positionEncodings": ["utf-16"]}}
INIT = {"processId": None, "rootUri": "file:///w", "capabilities": CAPS}
DOC = {"uri": "file:///w/p/p.go", "languageId": "go", "version": 1, "text": "package p\n"}


def frame(message: dict[str, Any], headers: bytes = b"") -> bytes:
    body = json.dumps(message).encode()
    return headers + b"Content-Length: %d\r\n\r\n" % len(body) + body


def initialize(options: Any = None) -> bytes:
    params = {**INIT, "initializationOptions": options} if options is not None else INIT
    return frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})


def notification(method: str, params: Any) -> bytes:
    return frame({"jsonrpc": "2.0", "method": method, "params": params})


OPEN = notification("textDocument/didOpen", {"textDocument": DOC})


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    for fd in (read, write):
        with contextlib.suppress(OSError):  # (a test closed it)
            os.close(fd)


def run(
    pipe: tuple[int, int], sent: bytes, close: bool = False, steps: list[str] | None = None
) -> tuple[early.EarlyOpen, bytes, list[tuple[str, str | None]], float]:
    """`early_open` on `sent` (the write end closed after it if `close`): what it returned,
    wrote, guessed (the guesses it dropped taken out), and how long it took; `steps`, if
    given, hears each guess, drop and preparation in order."""
    read, write = pipe
    os.write(write, sent)
    if close:
        os.close(write)
    out = io.BytesIO()
    guessed: list[tuple[str, str | None]] = []
    heard = steps if steps is not None else []

    def guess(path: str, go: str | None) -> None:
        guessed.append((path, go))
        heard.append(f"guess {path} {go}")

    def drop() -> None:
        guessed.pop()
        heard.append("drop")

    start = time.monotonic()
    got = early.early_open(read, out, guess, drop, lambda: heard.append("prepare"))
    return got, out.getvalue(), guessed, time.monotonic() - start


def answer_frame(params: dict[str, Any]) -> bytes:
    result = first_answer.answer(params)
    return frame({"jsonrpc": "2.0", "id": 1, "result": result})


def test_an_editors_opening_is_answered_and_its_file_guessed(pipe: tuple[int, int]) -> None:
    """VS Code's and Neovim's order: initialize, initialized, the settings notification, the
    open files; the build is guessed at the first didOpen, and reading stops there."""
    later = frame({"jsonrpc": "2.0", "id": 2, "method": "textDocument/inlayHint", "params": {}})
    opening = (
        initialize({"escapeLsp": {}})
        + notification("initialized", {})
        + notification("workspace/didChangeConfiguration", {"settings": None})
        + OPEN
    )
    got, out, guessed, took = run(pipe, opening + later)
    assert out == answer_frame({**INIT, "initializationOptions": {"escapeLsp": {}}})
    assert got.answered is not None and got.answered[0] == 1
    assert got.answered[1] == first_answer.answer(INIT)
    assert guessed == [("/w/p/p.go", None)]
    assert (opening + later).startswith(got.data) and got.data.startswith(opening)
    assert took < early.WAIT  # (it read no further than the didOpen: nothing to wait for)


@pytest.mark.parametrize(
    ("options", "guess"),
    [
        ({"escapeLsp": {"go": "/opt/go/bin/go"}}, [("/w/p/p.go", "/opt/go/bin/go")]),
        ({"escapeLsp": {"buildTags": "extra"}}, []),  # another build: the first publish's
        ({"escapeLsp": {"includeTests": True}}, []),
    ],
)
def test_only_settings_that_build_as_the_defaults_keep_a_guess(
    pipe: tuple[int, int], options: Any, guess: list[tuple[str, str]]
) -> None:
    got, out, guessed, _ = run(pipe, initialize(options) + OPEN)
    assert got.answered is not None and out.startswith(b"Content-Length: ")
    assert guessed == guess


@pytest.mark.parametrize(
    ("options", "after"),
    [
        ({"escapeLsp": {}}, []),
        ({"escapeLsp": {"go": "/opt/go/bin/go"}}, ["drop", "guess /w/p/p.go /opt/go/bin/go"]),
        ({"escapeLsp": {"includeTests": True}}, ["drop"]),
    ],
)
def test_the_build_is_guessed_before_the_settings_are_read(
    pipe: tuple[int, int], options: Any, after: list[str]
) -> None:
    """go starts at the didOpen, before the kept code is installed (`prepare`) and the
    settings' imports: settings that build otherwise drop the guess after."""
    steps: list[str] = []
    run(pipe, initialize(options) + OPEN, steps=steps)
    assert steps == ["guess /w/p/p.go None", "prepare", *after]


def test_headers_in_any_order_are_read(pipe: tuple[int, int]) -> None:
    content_type = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT})
    sent = content_type + b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode()) + OPEN
    got, out, guessed, _ = run(pipe, sent)
    assert out == answer_frame(INIT) and guessed == [("/w/p/p.go", None)]
    assert got.data == sent


@pytest.mark.parametrize(
    "sent",
    [
        frame({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}),  # not initialize
        frame({"jsonrpc": "2.0", "method": "initialize", "params": INIT}),  # no id
        b"Content-Length: 5\r\n\r\n[1,2]",  # not an object
        b"Content-Length: 9\r\n\r\n{not json",
        b"X-Length: 2\r\n\r\n{}",  # no length
        b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        b"junk\r\n\r\n" + initialize(),  # the first publish's reader skips junk; not this
    ],
    ids=["shutdown", "no-id", "array", "not-json", "no-length", "two-lengths", "junk"],
)
def test_what_it_cannot_follow_is_left_unanswered(pipe: tuple[int, int], sent: bytes) -> None:
    got, out, guessed, took = run(pipe, sent)
    assert (got.answered, out, guessed) == (None, b"", [])
    assert sent.startswith(got.data) and took < 0.4  # nothing waited for


def test_a_short_body_is_not_waited_for_long(pipe: tuple[int, int]) -> None:
    """A Content-Length larger than the body (the editor then waits for an answer): it
    gives up after half a second, as the frames' reader recovers such a body."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT})
    sent = b"Content-Length: %d\r\n\r\n%s" % (len(body) + 10, body.encode())
    got, out, guessed, took = run(pipe, sent)
    assert (got.answered, out, guessed, got.data) == (None, b"", [], sent)
    assert 0.4 < took < 3


def test_no_open_file_ends_the_wait_after_a_moment(pipe: tuple[int, int]) -> None:
    got, out, guessed, took = run(pipe, initialize() + notification("initialized", {}))
    assert got.answered is not None and out == answer_frame(INIT) and guessed == []
    assert early.WAIT <= took < early.WAIT + 1


@pytest.mark.parametrize(
    "after",
    [
        frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
        notification("textDocument/didChange", {}),
    ],
    ids=["request", "edit"],
)
def test_reading_stops_at_a_message_it_does_not_wait_past(
    pipe: tuple[int, int], after: bytes
) -> None:
    got, _, guessed, took = run(pipe, initialize() + after + OPEN)
    assert got.answered is not None and guessed == [] and took < early.WAIT


def test_the_end_of_input_ends_it(pipe: tuple[int, int]) -> None:
    got, out, guessed, took = run(pipe, initialize(), close=True)
    assert got.answered is not None and out == answer_frame(INIT) and guessed == []
    assert took < early.WAIT
    got, out, guessed, _ = run_closed_empty()
    assert (got.answered, got.data, out, guessed) == (None, b"", b"", [])


def run_closed_empty() -> tuple[early.EarlyOpen, bytes, list[tuple[str, str | None]], float]:
    read, write = os.pipe()
    try:
        return run((read, write), b"", close=True)
    finally:
        os.close(read)


def test_an_odd_open_or_a_failing_guess_leaves_it_whole(
    pipe: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    """A didOpen without a document guesses nothing, quietly; a guess that fails is logged,
    and what was read and answered is handed on all the same."""
    odd = initialize() + notification("textDocument/didOpen", [])
    got, _, guessed, _ = run(pipe, odd)
    assert got.answered is not None and guessed == [] and got.data == odd
    assert not caplog.records

    read, write = os.pipe()
    try:
        os.write(write, initialize() + OPEN)

        def failing(path: str, go: str | None) -> None:
            raise RuntimeError("no guess")

        got = early.early_open(read, io.BytesIO(), failing)
    finally:
        os.close(read)
        os.close(write)
    assert got.answered is not None and got.data == initialize() + OPEN
    assert "no guess" in caplog.text
