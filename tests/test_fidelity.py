"""One finding per compiler verdict, on the right expression, with its own flow — on recorded
`-m=2` output of the same file from Go 1.24.11 and Go 1.25.5 (1.26 and 1.27 print the same as
1.25 for it), checked with the conformance harness's independent reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from escape_lsp.findings.model import Finding, Kind, parse_kinds
from escape_lsp.findings.parser import build_findings
from escape_lsp.findings.syntax import GoSource, widen_finding
from escape_lsp.report.markdown import finding_markdown
from tests.conformance.harness import Checked, Row, compare, read_raw

DATA = Path(__file__).parent / "data" / "versions"
ROOT = Path("/work/fid")
FILE = str(ROOT / "fid" / "fid.go")
SOURCE = GoSource((DATA / "fid.go.txt").read_bytes())
VERSIONS = ["go1.24.11", "go1.25.5"]


def _findings(version: str) -> list[Finding]:
    text = (DATA / f"{version}.m2.txt").read_text()
    raw = build_findings(text, str(ROOT), lambda f: f.startswith(str(ROOT) + "/"))
    return [widen_finding(f, lambda p: SOURCE if p == FILE else None) for f in raw]


def _checked(f: Finding) -> Checked:
    def pos(line: int, col: int) -> tuple[int, int]:
        return line + 1, col + 1

    return Checked(
        f.file,
        pos(f.span.start_line, f.span.start_col),
        pos(f.span.end_line, f.span.end_col),
        f.kind.value,
        f.message,
        [
            (
                s.file,
                pos(s.span.start_line, s.span.start_col),
                pos(s.span.end_line, s.span.end_col),
                s.message,
            )
            for s in f.flow
        ],
        f.inlined_from,
    )


def _text(f: Finding) -> str:
    a = SOURCE.lines.offset(f.span.start_line, f.span.start_col)
    b = SOURCE.lines.offset(f.span.end_line, f.span.end_col)
    return SOURCE.data[a:b].decode()


def _at(findings: list[Finding], message: str, line: int) -> list[Finding]:
    return [f for f in findings if f.message == message and f.line == line]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_harness_finds_nothing_wrong(version: str) -> None:
    verdicts, headers = read_raw((DATA / f"{version}.m2.txt").read_text(), ROOT)
    row = Row(version)
    compare(verdicts, headers, [_checked(f) for f in _findings(version)], row)
    assert row.failures == 0 and row.counts["other"] == 0, row.examples
    assert row.counts["verdicts"] > 50


@pytest.mark.parametrize("version", VERSIONS)
def test_headers_are_never_findings(version: str) -> None:
    findings = _findings(version)
    assert not [f for f in findings if f.message.endswith(":")]
    text = (DATA / f"{version}.m2.txt").read_text()
    if version == "go1.24.11":  # no ` in F` / ` for F`, and `flow: a = b`
        assert "&Logger{...} escapes to heap:\n" in text and " for New with" not in text
        assert "   flow: ~r0 = &x:" in text
    moved = _at(findings, "moved to heap: x", 39)
    # Both the `x escapes to heap` and the `parameter x leaks to ~r0` headers explain it.
    assert [(s.subject, s.reason) for s in moved[0].flow][:1] == [("&x", "address-of")]
    assert moved[0].flow[0].edge == "~r0 ← &x"


@pytest.mark.parametrize("version", VERSIONS)
def test_adjacent_and_nested_allocations_stay_apart(version: str) -> None:
    findings = _findings(version)
    boxes = _at(findings, "string(v) escapes to heap", 43)
    assert sorted(f.at.start_col for f in boxes) == [14, 15]
    assert {_text(f) for f in boxes} == {"string(v)"}
    outer = _at(findings, "map[string]map[string]string{...} escapes to heap", 47)
    inner = _at(findings, "map[string]string{...} escapes to heap", 47)
    assert len(outer) == len(inner) == 1
    assert _text(inner[0]) == '{"b": "c"}'
    assert _text(outer[0]).startswith("map[string]map[string]string{")


@pytest.mark.parametrize("version", VERSIONS)
def test_inlined_allocations_cover_the_call_and_name_it(version: str) -> None:
    findings = _findings(version)
    (lock,) = _at(findings, "&lockedOut{...} escapes to heap", 23)
    assert _text(lock) == "Lock(w)" and lock.inlined_from == "Lock"
    (logger,) = _at(findings, "&Logger{...} escapes to heap", 22)
    assert logger.inlined_from is None and _text(logger).startswith("&Logger{")
    (err,) = _at(findings, "&errors.errorString{...} escapes to heap", 30)
    assert _text(err) == 'errors.New("missing Level")' and err.inlined_from == "errors.New"
    (reset,) = _at(findings, "UseReset ignoring self-assignment in b.b = b.b[:0]", 69)
    assert reset.kind is Kind.SELF_ASSIGNMENT and reset.inlined_from == "b.Reset"
    (own,) = _at(findings, "(*buf).Reset ignoring self-assignment in b.b = b.b[:0]", 58)
    assert own.inlined_from is None and _text(own) == "b.b = b.b[:0]"


@pytest.mark.parametrize("version", VERSIONS)
def test_each_leak_gets_its_own_explanation(version: str) -> None:
    findings = _findings(version)
    (content,) = _at(findings, "leaking param content: a", 33)
    assert content.flow and all(s.file == FILE for s in content.flow)
    (grow,) = _at(findings, "leaking param: s to result ~r0 level=0", 67)
    assert [s.reason for s in grow.flow][-1] == "return"
    (k,) = _at(findings, "leaking param: k", 42)
    assert k.flow and _text(k) == "k"


def test_append_and_concatenation_ranges() -> None:
    findings = _findings("go1.25.5")
    (grow,) = _at(findings, "append escapes to heap", 67)
    assert _text(grow) == "append(s, x)" and grow.flow  # explained by `append(s, x) escapes…:`
    concat = _at(findings, '"<" + a + ">" + b escapes to heap', 65)
    assert len(concat) == 1 and _text(concat[0]) == '"<" + a + ">" + b'


def test_new_message_shapes_have_kinds_in_opt_in_groups() -> None:
    text = "\n".join(
        [
            "p/p.go:1:2: index bounds check elided",
            "p/p.go:1:3: zero-copy string->[]byte conversion",
            "p/p.go:1:4: F ignoring self-assignment in l.start = l.pos",
            "p/p.go:1:5: function result will be kept alive",
            "p/p.go:1:6: partially devirtualizing i.M to T",
            "p/p.go:1:7: mutates param: b derefs=0",
            "p/p.go:1:8: s does not escape, mutate, or call",
            "p/p.go:1:9: sync.OnceValue[go.shape.func() int] capturing by ref: sync.d (addr=true assign=true width=48)",
            "p/p.go:2:1: convert: using global for interface value: .stmp_0",
            "p/p.go:2:2: skip inlining within testing.B.loop for for loop",
            "p/p.go:2:3: function F considered 'big'; reducing max cost of inlinees",
            "p/p.go:2:4: inlining call to F with score 12",
        ]
    )
    found = build_findings(text, "/m", lambda f: True)
    assert [f.kind for f in found] == [
        Kind.BOUNDS_CHECK_ELIDED,
        Kind.ZERO_COPY,
        Kind.SELF_ASSIGNMENT,
        Kind.KEPT_ALIVE,
        Kind.DEVIRTUALIZED,
        Kind.DEBUG_NOTE,
        Kind.DEBUG_NOTE,
        Kind.CAPTURE_BY_REF,
        Kind.DEBUG_NOTE,
        Kind.INLINING_NOTE,
        Kind.INLINING_NOTE,
        Kind.INLINED_CALL,
    ]
    assert found[-1].subject == "F" and found[-2].subject == "F"
    assert found[2].function == "F" and found[2].subject == "l.start = l.pos"
    assert found[7].function == "sync.OnceValue[go.shape.func() int]"
    optimizations = parse_kinds("optimizations")
    assert {Kind.BOUNDS_CHECK_ELIDED, Kind.ZERO_COPY, Kind.SELF_ASSIGNMENT} <= optimizations
    assert not optimizations & parse_kinds("default")
    assert Kind.DEBUG_NOTE in parse_kinds("debug") and Kind.DEBUG_NOTE not in parse_kinds("default")


def test_explanations_without_a_printed_verdict_are_dropped() -> None:
    text = (
        "p/p.go:5:3: func literal escapes to heap in Loop:\n"
        "p/p.go:5:3:   flow: {heap} ← &{storage for func literal}:\n"
        "p/p.go:5:3:     from func literal (spill) at p/p.go:5:3\n"
        "p/p.go:5:26: i escapes to heap\n"
        "p/p.go:9:2: parameter opts leaks to {heap} for GetOption[go.shape.bool] with derefs=0:\n"
        "p/p.go:9:2:   flow: {heap} ← opts:\n"
        "p/p.go:9:2:     from opts (assign) at p/p.go:9:9\n"
    )
    found = build_findings(text, "/m", lambda f: True)
    assert [(f.message, f.flow) for f in found] == [("i escapes to heap", ())]


def test_a_constant_verdict_takes_the_variables_explanation() -> None:
    """`v escapes to heap in F:` explains `"abc" escapes to heap` (the constant v holds)."""
    text = (
        "p/p.go:20:9: v escapes to heap in string2:\n"
        "p/p.go:20:9:   flow: {heap} ← v:\n"
        "p/p.go:20:9:     from v (interface-converted) at p/p.go:20:9\n"
        'p/p.go:20:9: "abc" escapes to heap\n'
    )
    (f,) = build_findings(text, "/m", lambda f: True)
    assert f.message == '"abc" escapes to heap' and f.flow[0].reason == "interface-converted"


def test_hover_names_the_inlined_call() -> None:
    (err,) = _at(_findings("go1.25.5"), "&errors.errorString{...} escapes to heap", 30)
    text = finding_markdown(err, lambda file, span: file)
    assert "in `Missing`, inside inlined call to `errors.New`" in text
