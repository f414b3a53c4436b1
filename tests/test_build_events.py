"""`go build -json` events: the progress reporter reads a package's name without decoding
its (possibly megabytes of) compiler output."""

from __future__ import annotations

import json

from escape_lsp.gotool.build import package_reporter, split_json


def test_each_package_is_reported_once_whatever_the_key_order() -> None:
    heard: list[str] = []
    on_line = package_reporter({"ex.com/a", "ex.com/b", 'ex.com/"q"'}, heard.append)
    output = "".join(f"a.go:{i}:2: x escapes to heap\n" for i in range(100_000))
    events = [
        {"ImportPath": "ex.com/a", "Action": "build-output", "Output": output},
        {"ImportPath": "ex.com/a", "Action": "build-output", "Output": "more\n"},
        {"Action": "build-fail", "ImportPath": "ex.com/b"},
        {"ImportPath": 'ex.com/"q"', "Action": "build-output", "Output": "x\n"},
        {"ImportPath": "ex.com/other", "Action": "build-output", "Output": "x\n"},
    ]
    lines = [json.dumps(e) for e in events]
    for line in [*lines, "not json", '{"Action":"build-output"']:
        on_line(line)
    assert heard == ["ex.com/a", "ex.com/b", 'ex.com/"q"']
    out, failed, stray = split_json("\n".join(lines), {"ex.com/a", "ex.com/b"})
    assert out["ex.com/a"] == output + "more\n" and failed == {"ex.com/b"} and not stray


def test_lines_that_are_not_one_event_are_stray() -> None:
    """Events are decoded where they stand in go's output; a line is an event only when it
    is exactly one JSON object (what `json.loads` of the line accepted)."""
    lines = [
        "go: downloading ex.com/dep v1.0.0",
        '{"ImportPath":"ex.com/a","Action":"build-output","Output":"a.go:1:2: x\\n"}',
        '{"ImportPath":"ex.com/a",',  # an object cut short
        '"Action":"build-fail"}',
        '{"ImportPath":"ex.com/a","Action":"build-fail"} trailing',
        '{"ImportPath":"ex.com/b","Action":"build-fail"}  ',
        "",
        "[1, 2]",
        '{"ImportPath":"ex.com/a","Action":"build-output","Output":"\\u2028 é\\n"}',
    ]
    out, failed, stray = split_json("\n".join(lines), {"ex.com/a", "ex.com/b"})
    assert out == {"ex.com/a": "a.go:1:2: x\n\u2028 é\n"}
    assert failed == {"ex.com/b"}
    assert stray == [lines[0], lines[2], lines[3], lines[4], "[1, 2]"]
