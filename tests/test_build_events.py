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
