"""Every finding and flow step of net/http, mapped to ranges, is exactly what it was when the
digest below was recorded: optimisations of the parser and the mapping may not change one
range, subject, flow step or inlined-call label.

The digest depends on the compiler's output and the grammar, so it is kept per go version
and tree-sitter-go version; record a new one (`python tests/test_mapping_golden.py`) only
after checking that the findings themselves are right (markers, conformance).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from escape_lsp.findings import codec as findings_codec
from escape_lsp.findings.model import Span
from escape_lsp.findings.parser import build_findings, split_by_file
from escape_lsp.findings.syntax import GoSource, widen_finding

#: (go version, tree-sitter-go version) -> (findings, sha256 of every mapped finding).
RECORDED = {
    ("go1.26.8", "0.25.0"): (
        9112,
        "49b67c25db52997953347e238be51ef2f3fd69c8803ead934190d739eec8ad1d",
    ),
}


def _go(*args: str) -> str:
    return subprocess.run(["go", *args], capture_output=True, text=True, check=True).stdout.strip()


def _net_http_output() -> tuple[str, str]:
    """GOROOT/src, and net/http's -m=2 output (paths relative to it)."""
    goroot_src = os.path.join(_go("env", "GOROOT"), "src")
    proc = subprocess.run(
        ["go", "build", "-o", os.devnull, "-gcflags=net/http=-m=2", "net/http"],
        cwd=goroot_src,
        capture_output=True,
        text=True,
        check=True,
    )
    return goroot_src, proc.stderr


def mapped_digest() -> tuple[int, str]:
    """net/http's -m=2 output, every file's findings mapped."""
    goroot_src, output = _net_http_output()
    sources: dict[str, GoSource | None] = {}

    def source(path: str) -> GoSource | None:
        if path not in sources:
            sources[path] = GoSource(Path(path).read_bytes()) if os.path.isfile(path) else None
        return sources[path]

    digest = hashlib.sha256()
    count = 0
    for part in split_by_file(output, goroot_src).values():
        for f in build_findings(part, goroot_src, lambda _p: True):
            digest.update(repr(widen_finding(f, source)).replace(goroot_src, "").encode())
            count += 1
    return count, digest.hexdigest()


@pytest.mark.parametrize(("settled", "seeded"), [(False, False), (True, False), (True, True)])
def test_an_edited_file_maps_as_a_fresh_parse_of_it_would(
    monkeypatch: pytest.MonkeyPatch, settled: bool, seeded: bool
) -> None:
    """After an edit the earlier text's answers are reused in the declarations it still has
    byte for byte (moved down a line here), and only the edited one is mapped again: looked
    up as points come (`settled` False) or all settled before (as the engine does while go
    compiles). `seeded`: the earlier text was never mapped here; its answers are what its
    findings, read back from the on-disk memo's encoding, say (`GoSource.seed`)."""
    goroot_src, output = _net_http_output()
    path = os.path.join(goroot_src, "net", "http", "server.go")
    raw = build_findings(split_by_file(output, goroot_src)[path], goroot_src, lambda _p: True)
    data = Path(path).read_bytes()
    lines = data.splitlines(keepends=True)
    edited_at = next(i for i, line in enumerate(lines) if line.startswith(b"func (c *conn) serve("))
    # A line above everything, and one more inside `(*conn).serve`'s body.
    head, body = lines[1 : edited_at + 1], lines[edited_at + 1 :]
    edited = b"".join([lines[0], b"// a new first comment\n", *head, b"\t// edited\n", *body])

    def moved(span: Span) -> Span:
        down = (span.start_line >= 1) + (span.start_line > edited_at)
        return Span(span.start_line + down, span.start_col, span.end_line + down, span.end_col)

    shifted = [
        replace(f, span=moved(f.span), flow=tuple(s._replace(span=moved(s.span)) for s in f.flow))
        for f in raw
    ]

    def only(src: GoSource) -> Callable[[str], GoSource | None]:
        return lambda p: src if p == path else None  # flow steps in other files stay points

    earlier = GoSource(data)
    mapped = [widen_finding(f, only(earlier)) for f in raw]
    if seeded:  # a process that read the earlier text's findings from its memo
        earlier = GoSource(data)
        earlier.seed(findings_codec.decode(findings_codec.encode(mapped)), path)
        assert earlier.has_answers
    fresh = GoSource(edited)
    expected = [widen_finding(f, only(fresh)) for f in shifted]

    computed: list[Span] = []
    locate = GoSource._locate

    def counted(self: GoSource, span: Span, *args: Any) -> tuple[Span, str | None]:
        computed.append(span)
        return locate(self, span, *args)

    monkeypatch.setattr(GoSource, "_locate", counted)
    carried = GoSource(edited)
    carried.carry_from(earlier)
    if settled:
        carried.settle_carried()
        assert carried._prior is None  # every answer kept is now one of this text's
    assert [widen_finding(f, only(carried)) for f in shifted] == expected
    serve = next(d for d in carried.declarations() if d.name == "(*conn).serve").span
    assert computed
    assert all(serve.contains(s.start_line, s.start_col) for s in computed)


def _key() -> tuple[str, str]:
    return _go("env", "GOVERSION"), version("tree-sitter-go")


def test_net_http_maps_exactly_as_recorded() -> None:
    key = _key()
    if key not in RECORDED:
        pytest.skip(f"no digest recorded for {key}")
    assert mapped_digest() == RECORDED[key]


if __name__ == "__main__":
    print(_key(), mapped_digest())
