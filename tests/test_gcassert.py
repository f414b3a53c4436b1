"""gcassert directives: parsing on strings, checking against the real compiler (batch and live),
and the opt-in bounds-check / nil-check kinds."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lsprotocol import types as lsp

from escape_lsp.analysis.check import CheckRequest, run_check
from escape_lsp.analysis.compiler_flags import BOUNDS_FLAG, NIL_FLAG, flags_for_kinds
from escape_lsp.analysis.gcassert import parse_directives
from escape_lsp.analysis.gcassert_scan import needs_bounds_report
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.model import Kind, parse_kinds
from escape_lsp.findings.parser import build_findings
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.build_command import BuildRequest, build_argv
from tests.conftest import WriteModule
from tests.lsp_harness import VSCODE, change_doc, lsp_session, open_doc, text_at, wait_diagnostics


def _directives(src: str) -> list[tuple[str, str, str | None]]:
    source = GoSource(textwrap.dedent(src).lstrip("\n").encode())
    found = parse_directives(source, "/m/p/p.go", "example.com/m/p")
    out = []
    for d in found.directives:
        start = source.lines.offset(d.span.start_line, d.span.start_col)
        end = source.lines.offset(d.span.end_line, d.span.end_col)
        out.append((d.name, source.data[start:end].decode(), d.function))
    return out


def test_directive_placement_and_what_each_covers() -> None:
    got = _directives(
        """
        package p

        // Add adds.
        //gcassert:inline
        func Add(x, y int) int { return x + y }

        func (t *T) M() int { return 0 } // gcassert:noescape

        func F(s []int, n int) int {
        \t//gcassert:bce,noescape
        \ta := s[n]
        \tb := s[0] /* why */ //gcassert:bce
        \tif c := s[1]; c > 0 { //gcassert:bce
        \t\treturn c
        \t}
        \td := g(
        \t\ts[2], //gcassert:bce
        \t)
        \t//gcassert:frobnicate
        \treturn a + b + d
        }
        """
    )
    assert got == [
        ("inline", "func Add(x, y int) int", "Add"),
        ("noescape", "func (t *T) M() int", "(*T).M"),
        ("bce", "a := s[n]", None),
        ("noescape", "a := s[n]", None),
        ("bce", "b := s[0]", None),
        ("bce", "if c := s[1]; c > 0", None),
        ("bce", "s[2],", None),
        ("frobnicate", "return a + b + d", None),
    ]
    assert needs_bounds_report(b"x := s[i] //gcassert:inline,bce\n")
    assert not needs_bounds_report(b"//gcassert:inline\nfunc F() {}\n// bce\n")


def test_check_reports_parse_as_opt_in_kinds() -> None:
    text = (
        "# example.com/m/p\n"
        "p/p.go:3:8: Found IsInBounds\n"
        "p/p.go:4:10: Found IsSliceInBounds\n"
        "p/p.go:5:11: generated nil check\n"
        "p/p.go:6:11: removed nil check\n"
    )
    found = build_findings(text, "/m", lambda path: True)
    assert [(f.kind, f.span.start_line, f.span.start_col) for f in found] == [
        (Kind.BOUNDS_CHECK, 2, 7),
        (Kind.BOUNDS_CHECK, 3, 9),
        (Kind.NIL_CHECK, 4, 10),
        (Kind.NIL_CHECK_REMOVED, 5, 10),
    ]
    assert parse_kinds("bounds") == {Kind.BOUNDS_CHECK}
    assert parse_kinds("nil") == {Kind.NIL_CHECK}
    assert flags_for_kinds(parse_kinds("default")) == ()
    assert flags_for_kinds(parse_kinds("nil,bounds")) == (BOUNDS_FLAG, NIL_FLAG)


def test_report_flags_go_only_to_the_packages_that_need_them() -> None:
    argv = build_argv(
        "go", BuildRequest(("a", "b"), "/m", package_gcflags=(("a", (BOUNDS_FLAG,)),))
    )
    assert f"-gcflags=a=-m=2 {BOUNDS_FLAG}" in argv and "-gcflags=b=-m=2" in argv


PKG_A = """
package a

//gcassert:inline
func Add(x, y int) int { return x + y }

//gcassert:inline
func Deferring(n int) int {
\tdefer func() {}()
\treturn n
}

func Plain(n int) int {
\tdefer func() {}()
\treturn n
}

type T struct{ n int }

//gcassert:inline
func (t *T) Get() int { return t.n }

var sink *int

func Stmts(s []int, n int) int {
\t//gcassert:inline
\tx := Add(n, 1)
\ty := Plain(n) //gcassert:inline
\tif len(s) > 3 {
\t\tx += s[3] //gcassert:bce
\t}
\ty += s[n] //gcassert:bce
\t//gcassert:noescape
\tv := new(int)
\tz := new(int) //gcassert:noescape
\tsink = z
\treturn x + y + *v + (&T{n: 1}).Get() //gcassert:frobnicate
}

//gcassert:noescape
func Keep(p *int) { sink = p }

//gcassert:noescape
func Read(p *int) int { return *p }

func Calls(n int) int {
\treturn Deferring(n) + Add(n, 2)
}
"""

PKG_B = """
package b

import "example.com/m/a"

func UseAdd(n int) int { return a.Add(n, 3) }

func UseDeferring(n int) int { return a.Deferring(n) }

func UseGet(t *a.T) int { return t.Get() }

func Index(s []int, i int) int { return s[i] }
"""

EXPECTED = [
    ("a/a.go", 7, "inline", "//gcassert:inline: cannot inline Deferring: unhandled op DEFER"),
    (
        "a/a.go",
        27,
        "inline",
        "//gcassert:inline: no call here was inlined (cannot inline Plain: unhandled op DEFER)",
    ),
    ("a/a.go", 31, "bce", "//gcassert:bce: a bounds check remains at s[n] (Found IsInBounds)"),
    ("a/a.go", 34, "noescape", "//gcassert:noescape: new(int) escapes to heap ("),
    (
        "a/a.go",
        36,
        "frobnicate",
        "//gcassert:frobnicate: unknown directive (known: inline, bce, noescape)",
    ),
    ("a/a.go", 40, "noescape", "//gcassert:noescape: leaking param: p ("),
    (
        "a/a.go",
        46,
        "inline",
        "//gcassert:inline on Deferring: this call was not inlined "
        "(cannot inline Deferring: unhandled op DEFER)",
    ),
    (
        "b/b.go",
        7,
        "inline",
        "//gcassert:inline on Deferring: this call was not inlined "
        "(cannot inline Deferring: unhandled op DEFER)",
    ),
]


async def test_each_directive_passes_when_kept_and_fails_when_broken(gomod: WriteModule) -> None:
    root = gomod({"a/a.go": PKG_A, "b/b.go": PKG_B})
    report = await run_check(CheckRequest(("./...",), AnalysisSettings(), cwd=str(root)))
    assert report.blocked == []
    got = [
        (str(Path(v.file).relative_to(root)), v.span.start_line + 1, v.directive, v.message)
        for v in report.violations
    ]
    assert len(got) == len(EXPECTED), got
    for (file, line, name, message), want in zip(got, EXPECTED, strict=True):
        assert (file, line, name) == want[:3] and message.startswith(want[3]), (got, want)
    # The bce report is asked for only where a directive needs it: package a, not b.
    bounds = {Path(f.file).name for f in report.findings if f.kind is Kind.BOUNDS_CHECK}
    assert bounds == {"a.go"}


NIL_SAMPLE = """
package n

type U struct {
\tA [100]int
\tB int
}

func Addr(u *U) *int {
\treturn &u.B
}

func Sl(s []byte, i, j int) []byte {
\treturn s[i:j]
}

func At(s string, i int) byte { return s[i] }
"""


async def test_bounds_and_nil_kinds_on_a_sample(gomod: WriteModule) -> None:
    root = gomod({"n/n.go": NIL_SAMPLE})
    kinds = parse_kinds("bounds,nil")
    settings = AnalysisSettings(gcflags=flags_for_kinds(kinds))
    report = await run_check(CheckRequest(("./...",), settings, cwd=str(root)))
    source = report.sources[str(root / "n" / "n.go")]

    def text(span: object) -> str:
        s = span  # a Span
        start = source.lines.offset(s.start_line, s.start_col)  # type: ignore[attr-defined]
        end = source.lines.offset(s.end_line, s.end_col)  # type: ignore[attr-defined]
        return source.data[start:end].decode()

    got = [(f.kind, f.message, text(f.span)) for f in report.findings if f.kind in kinds]
    assert got == [
        (Kind.NIL_CHECK, "generated nil check", "u.B"),
        (Kind.BOUNDS_CHECK, "Found IsSliceInBounds", "s[i:j]"),
        (Kind.BOUNDS_CHECK, "Found IsInBounds", "s[i]"),
    ]


async def test_violations_are_live_errors_in_the_editor(gomod: WriteModule) -> None:
    root = gomod({"a/a.go": PKG_A, "b/b.go": PKG_B})
    path = root / "a" / "a.go"
    text = path.read_text()

    def gcassert(diags: list[lsp.Diagnostic]) -> list[lsp.Diagnostic]:
        return [d for d in diags if d.code == "gcassert"]

    async with lsp_session(root, VSCODE) as lc:
        open_doc(lc, path)
        diags = await wait_diagnostics(lc, path, lambda ds: len(gcassert(list(ds))) == 7)
        bce = [d for d in gcassert(list(diags)) if "bounds check" in d.message]
        (d,) = bce
        assert d.severity == lsp.DiagnosticSeverity.Error and d.source == "escape-lsp"
        assert text_at(text, d.range, "utf-16") == "y += s[n]"
        assert d.message.endswith("(Found IsInBounds)")
        fixed = text.replace("\ty += s[n] //gcassert:bce\n", "\ty += n //gcassert:bce\n")
        change_doc(lc, path, 2, fixed)
        diags = await wait_diagnostics(lc, path, lambda ds: len(gcassert(list(ds))) == 6)
        assert not [d for d in gcassert(list(diags)) if "bounds check" in d.message]
