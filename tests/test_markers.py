"""Data-driven tests of findings and fixes: every `tests/markers/*.txtar` against the real go.

The core runs in-process (a `Session`, no LSP): files are opened as an editor would, results
read from the snapshot, fixes proven by the compiler and applied; see marker_format.py.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from escape_lsp.analysis.fixes.model import apply_edits
from escape_lsp.analysis.session import Session
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.views import file_view
from escape_lsp.findings.model import Finding, parse_kinds
from escape_lsp.findings.positions import LineIndex
from escape_lsp.gotool.toolchain import find_toolchain
from tests.marker_format import Expectation, MarkerTest, load

MARKERS = sorted((Path(__file__).parent / "markers").glob("*.txtar"))


async def _quiet(paths: set[str]) -> None:
    return None


def _range_text(src: bytes, f: Finding) -> str:
    lines = LineIndex(src)
    start = lines.offset(f.span.start_line, f.span.start_col)
    end = lines.offset(f.span.end_line, f.span.end_col)
    return src[start:end].decode()


@pytest.mark.parametrize("marker", MARKERS, ids=lambda p: p.stem)
async def test_marker(marker: Path, tmp_path: Path) -> None:
    test = load(marker)
    root = tmp_path / "m"
    for rel, text in test.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    kinds = parse_kinds(str(test.settings.get("kinds", "default")))
    settings = AnalysisSettings(tests=bool(test.settings.get("tests", False)))
    session = Session(find_toolchain(), settings, _quiet)
    try:
        go_files = [rel for rel in test.files if rel.endswith(".go")]
        for rel in go_files:
            path = root / rel
            await session.open(str(path), path.read_bytes(), 1)
        await session.wait_idle()
        snapshot = session.snapshot
        problems: list[str] = []
        for rel in go_files:
            path = str(root / rel)
            view = file_view(snapshot, path)
            assert view.blocked is None, f"{rel}: {view.blocked.summary}"
            found = [f for f in view.findings if f.kind in kinds]
            wanted = [e for e in test.expectations if e.file == rel]
            problems += _check_findings(rel, found, wanted, (root / rel).read_bytes())
            for exp in wanted:
                problems += await _check_fix(session, root, test, path, exp, found)
        assert not problems, "\n".join(problems)
    finally:
        session.close_all()


def _check_findings(
    rel: str, found: list[Finding], wanted: list[Expectation], src: bytes
) -> list[str]:
    problems: list[str] = []
    claimed: set[int] = set()
    for exp in wanted:
        hits = [
            i
            for i, f in enumerate(found)
            if f.span.start_line == exp.line and f.message == exp.message
        ]
        where = f"{rel}:{exp.line + 1}"
        if exp.verb == "nofinding":
            if hits:
                problems.append(f"{where}: unexpected finding {exp.message!r}")
            continue
        if not hits:
            on_line = [f.message for f in found if f.span.start_line == exp.line]
            problems.append(f"{where}: no finding {exp.message!r} (line has {on_line})")
            continue
        claimed.update(hits)
        if exp.text is not None:
            got = _range_text(src, found[hits[0]])
            if got != exp.text:
                problems.append(f"{where}: {exp.message!r} covers {got!r}, not {exp.text!r}")
    for i, f in enumerate(found):
        if i not in claimed:
            problems.append(f"{rel}:{f.line}: unannotated finding {f.message!r} ({f.kind})")
    return problems


async def _check_fix(
    session: Session,
    root: Path,
    test: MarkerTest,
    path: str,
    exp: Expectation,
    found: list[Finding],
) -> list[str]:
    if exp.verb not in ("finding", "nofix") or (exp.verb == "finding" and not exp.fix_title):
        return []
    where = f"{exp.file}:{exp.line + 1}"
    target = [f for f in found if f.span.start_line == exp.line and f.message == exp.message]
    if not target:
        return []
    fixes = [
        fix
        for fix in await session.fixes(session.snapshot, path, target[0].span)
        if fix.finding.message == exp.message
    ]
    if exp.verb == "nofix":
        return [f"{where}: unexpected fix {fix.title!r}" for fix in fixes]
    chosen = [fix for fix in fixes if exp.fix_title and fix.title.startswith(exp.fix_title)]
    if len(chosen) != 1:
        return [f"{where}: fixes {[f.title for f in fixes]}, wanted one {exp.fix_title!r}"]
    golden = test.goldens.get(exp.golden or "", {})
    problems: list[str] = []
    for rel, want in golden.items():
        file = root / rel
        edits = [e for e in chosen[0].edits if e.path == str(file)]
        got = apply_edits(file.read_bytes(), edits).decode()
        if got != want:
            problems.append(f"{where}: fix {exp.golden} gives for {rel}:\n{got}")
    problems += _builds(root, golden)
    return problems


def _builds(root: Path, golden: dict[str, str]) -> list[str]:
    """The golden module builds, vets and is gofmt-clean (in a copy; the test tree stays)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "m"
        shutil.copytree(root, copy)
        for rel, text in golden.items():
            (copy / rel).write_text(text)
        for cmd in (["go", "build", "./..."], ["go", "vet", "./..."], ["gofmt", "-l", "."]):
            proc = subprocess.run(cmd, cwd=copy, capture_output=True, text=True)
            if proc.returncode != 0 or (cmd[0] == "gofmt" and proc.stdout):
                return [f"golden does not pass {' '.join(cmd)}: {proc.stderr or proc.stdout}"]
    return []


def test_marker_files_parse() -> None:
    """Every marker file loads and names goldens that exist (a typo would silently pass)."""
    assert MARKERS
    for marker in MARKERS:
        test = load(marker)
        assert test.expectations, marker
        for exp in test.expectations:
            if exp.golden:
                assert exp.golden in test.goldens, f"{marker.name}: no section @{exp.golden}/"
        parse_kinds(str(test.settings.get("kinds", "default")))
