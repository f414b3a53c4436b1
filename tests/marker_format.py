"""Marker tests, in the spirit of gopls's: a txtar archive of a Go module with annotations.

    Comment lines before the first file are the test's description.
    -- settings.json --          optional: {"kinds": "default", "tests": false}
    -- go.mod --
    module example.com/m
    -- p/p.go --
    package p
    func F() *int {
        x := 1 //@finding("moved to heap: x", text="x", fix=("Return int", rv))
        return &x
    }
    -- @rv/p/p.go --             golden text of p/p.go after the fix `rv`

Annotations are Python-call syntax after `//@` at the end of a line, several separated by
commas. They speak about the line they are on:
- `finding(MESSAGE, text=SRC, fix=(TITLE_PREFIX, GOLDEN))`: a finding with exactly MESSAGE
  starts on this line; its range covers SRC; a verified fix whose title starts with TITLE_PREFIX
  turns the module into the files of the golden section `@GOLDEN/…`.
- `nofix(MESSAGE)`: the finding exists and no verified fix is offered for it.
- `nofinding(MESSAGE)`: no finding with MESSAGE starts on this line.
Every finding of the selected kinds must be annotated: an unexpected finding fails the test.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_SECTION = re.compile(r"^-- (?P<name>.+?) --$", re.MULTILINE)
_MARK = re.compile(r"//@(?P<calls>.*)$")


@dataclass(frozen=True)
class Expectation:
    verb: str  # finding | nofix | nofinding
    file: str  # relative to the module root
    line: int  # 0-based
    message: str
    text: str | None = None
    fix_title: str | None = None
    golden: str | None = None


@dataclass
class MarkerTest:
    name: str
    files: dict[str, str] = field(default_factory=dict)
    goldens: dict[str, dict[str, str]] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    expectations: list[Expectation] = field(default_factory=list)


def _literal(node: ast.expr) -> object:
    if isinstance(node, ast.Name):  # a golden name: `rv`
        return node.id
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e) for e in node.elts)
    return ast.literal_eval(node)


def _expectations(file: str, text: str) -> list[Expectation]:
    out: list[Expectation] = []
    for number, line in enumerate(text.splitlines()):
        match = _MARK.search(line)
        if match is None:
            continue
        tree = ast.parse(f"({match['calls']},)", mode="eval")
        assert isinstance(tree.body, ast.Tuple), f"{file}:{number + 1}: bad marker"
        for call in tree.body.elts:
            assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name), (
                f'{file}:{number + 1}: a marker is a call like finding("...")'
            )
            (message,) = (str(_literal(a)) for a in call.args)
            kw = {k.arg: _literal(k.value) for k in call.keywords if k.arg}
            title, golden = kw.get("fix") or (None, None)  # type: ignore[misc]
            text_kw = kw.get("text")
            out.append(
                Expectation(
                    call.func.id,
                    file,
                    number,
                    message,
                    str(text_kw) if text_kw is not None else None,
                    str(title) if title is not None else None,
                    str(golden) if golden is not None else None,
                )
            )
    return out


def load(path: Path) -> MarkerTest:
    raw = path.read_text(encoding="utf-8")
    test = MarkerTest(path.stem)
    parts = _SECTION.split(raw)
    for name, section in zip(parts[1::2], parts[2::2], strict=True):
        body = section.removeprefix("\n")
        if name == "settings.json":
            test.settings = json.loads(body)
        elif name.startswith("@"):
            golden, _, rel = name[1:].partition("/")
            test.goldens.setdefault(golden, {})[rel] = body
        else:
            test.files[name] = body
            if name.endswith(".go"):
                test.expectations.extend(_expectations(name, body))
    return test
