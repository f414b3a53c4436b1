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
from importlib.metadata import version
from pathlib import Path

import pytest

from escape_lsp.findings.parser import build_findings, split_by_file
from escape_lsp.findings.syntax import GoSource, widen_finding

#: (go version, tree-sitter-go version) -> (findings, sha256 of every mapped finding).
RECORDED = {
    ("go1.26.8", "0.25.0"): (
        9112,
        "23811b805e2654b88d7c9a190bb2a621f57de934017126177d6bd03a6705a8af",
    ),
}


def _go(*args: str) -> str:
    return subprocess.run(["go", *args], capture_output=True, text=True, check=True).stdout.strip()


def mapped_digest() -> tuple[int, str]:
    """net/http's -m=2 output (paths relative to GOROOT/src), every file's findings mapped."""
    goroot_src = os.path.join(_go("env", "GOROOT"), "src")
    proc = subprocess.run(
        ["go", "build", "-o", os.devnull, "-gcflags=net/http=-m=2", "net/http"],
        cwd=goroot_src,
        capture_output=True,
        text=True,
        check=True,
    )
    sources: dict[str, GoSource | None] = {}

    def source(path: str) -> GoSource | None:
        if path not in sources:
            sources[path] = GoSource(Path(path).read_bytes()) if os.path.isfile(path) else None
        return sources[path]

    digest = hashlib.sha256()
    count = 0
    for part in split_by_file(proc.stderr, goroot_src).values():
        for f in build_findings(part, goroot_src, lambda _p: True):
            digest.update(repr(widen_finding(f, source)).replace(goroot_src, "").encode())
            count += 1
    return count, digest.hexdigest()


def _key() -> tuple[str, str]:
    return _go("env", "GOVERSION"), version("tree-sitter-go")


def test_net_http_maps_exactly_as_recorded() -> None:
    key = _key()
    if key not in RECORDED:
        pytest.skip(f"no digest recorded for {key}")
    assert mapped_digest() == RECORDED[key]


if __name__ == "__main__":
    print(_key(), mapped_digest())
