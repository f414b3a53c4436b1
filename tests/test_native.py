"""The compiled parse and map (`findings/native/`) give exactly what the Python modules they
mirror give, on real packages nobody here wrote: every finding, range, flow step, detail and
inlined-call label, with the opt-in check reports too."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from escape_lsp.findings import codec, native, parser
from escape_lsp.findings.compiled_map import mapped_findings, mapped_rows
from escape_lsp.findings.model import SORT_ORDER, Finding, Kind, Span
from escape_lsp.findings.syntax import MAPPED_ORDER, GoSource, unwiden_findings, widen_findings
from tests.conftest import WriteModule

needs_native = pytest.mark.skipif(native.compiled is None, reason="no compiled parse and map")

#: std packages with many shapes of verdicts (generics, closures, inlining, reflection, big
#: literals), built with the flags that add check reports and debug notes.
PACKAGES = [
    ("encoding/json", "-m=2 -d=ssa/check_bce/debug=1"),
    ("text/template/parse", "-m=2 -d=nil"),
    ("go/types", "-m=2"),
    ("compress/flate", "-m=2 -d=ssa/check_bce/debug=1"),
]


def _output(package: str, flags: str) -> tuple[str, str]:
    """GOROOT/src, and the package's compiler output (paths relative to it)."""
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True)
    src = os.path.join(goroot.stdout.strip(), "src")
    proc = subprocess.run(
        ["go", "build", "-o", os.devnull, f"-gcflags={package}={flags}", package],
        cwd=src,
        capture_output=True,
        text=True,
        check=True,
    )
    return src, proc.stderr


def _sources() -> Callable[[str], GoSource | None]:
    """Each file's text parsed once, as the engine's source cache has it."""
    parsed: dict[str, GoSource | None] = {}

    def source(path: str) -> GoSource | None:
        if path not in parsed:
            parsed[path] = GoSource(Path(path).read_bytes()) if os.path.isfile(path) else None
        return parsed[path]

    return source


def _everything(findings: list[Finding]) -> list[tuple[object, ...]]:
    """Each finding with the fields equality leaves out (`detail`)."""
    return [(f, sorted(f.detail.items())) for f in findings]


def test_the_compiled_parse_and_map_is_built_where_cargo_is() -> None:
    """The build is optional (an install without Rust works): where cargo is, a failed build
    would otherwise go unnoticed, as a slower server."""
    if shutil.which("cargo") is None:
        pytest.skip("no cargo on PATH: the install maps with the Python modules")
    assert native.compiled is not None


def test_it_can_be_turned_off() -> None:
    code = "from escape_lsp.findings import native; print(native.compiled is None)"
    env = {**os.environ, native.ENV: "off"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr


@needs_native
@pytest.mark.parametrize(("package", "flags"), PACKAGES)
def test_compiled_and_python_agree_on_a_real_package(
    monkeypatch: pytest.MonkeyPatch, package: str, flags: str
) -> None:
    root, output = _output(package, flags)
    chunks = parser.split_by_file(output, root)
    assert chunks, output[:500]
    total = 0
    for index, (path, chunk) in enumerate(sorted(chunks.items())):
        # Every other file keeps only itself: flow steps into files not kept stay points.
        keep = (lambda _p: True) if index % 2 else (lambda p, path=path: p == path)
        compiled = parser.build_findings(chunk, root, keep)
        reference = parser._build_findings(chunk, root, keep, None)
        assert _everything(compiled) == _everything(reference), path
        total += len(compiled)

        mapped = widen_findings(compiled, _sources())
        with monkeypatch.context() as m:
            m.setattr(native, "compiled", None)
            expected = widen_findings(reference, _sources())
        assert _everything(mapped) == _everything(expected), path
        assert sorted(mapped, key=MAPPED_ORDER) == sorted(mapped, key=Finding.sort_key)
        for some in (compiled, mapped):  # the report's key read in C: sort_key's order
            backwards = some[::-1]
            assert sorted(backwards, key=SORT_ORDER) == sorted(backwards, key=Finding.sort_key)

        # Parsed and mapped in one compiled call: the same findings, in MAPPED_ORDER.
        rows = mapped_rows(chunk, root, keep, None, _sources())
        assert rows is not None
        fused = list(codec.decode(rows))
        assert _everything(fused) == _everything(sorted(expected, key=MAPPED_ORDER)), path
        # Decoded by the Python reference, and made in the same call with no row between:
        # the same findings, of the model's own types, a repeated step one object.
        for other in (codec._decode(rows), mapped_findings(chunk, root, keep, None, _sources())):
            assert other is not None
            assert _everything(list(other)) == _everything(fused), path
            assert _types(other) == _types(fused) == _types(expected), path
            assert _shared_steps(other) == _shared_steps(codec._decode(rows)), path
        # ... from which the parse the result memo keeps is made again.
        assert _multiset(unwiden_findings(fused)) == _multiset(reference), path
    assert total > 300


def _types(findings: Iterable[Finding]) -> set[tuple[type, ...]]:
    return {
        (
            type(f),
            type(f.kind),
            type(f.span),
            type(f.point),
            type(f.detail),
            *((type(s), type(s.span), type(s.point)) for s in f.flow),
        )
        for f in findings
    }


def _shared_steps(findings: Iterable[Finding]) -> int:
    """How many flow steps are one object with a step met before."""
    seen: set[int] = set()
    shared = 0
    for step in (s for f in findings for s in f.flow):
        shared += id(step) in seen
        seen.add(id(step))
    return shared


def _multiset(findings: list[Finding]) -> list[str]:
    return sorted(map(repr, findings))


@needs_native
@pytest.mark.parametrize(
    "bent",
    [
        lambda row: ("no-such-kind", *row[1:]),  # a kind this version lacks
        lambda row: row[:11],  # a field short
        lambda row: (*row[:6], ((row[6][0][:5]),), *row[7:]),  # a step a field short
        lambda row: (*row[:2], None, *row[3:]),  # no range
        lambda row: (*row[:6], 7, *row[7:]),  # a flow that is no tuple
    ],
)
def test_rows_of_another_shape_fail_to_decode_alike(bent: Callable[[codec.Row], object]) -> None:
    """A memo entry of another shape is an error both decoders raise (the memo then treats
    it as missing), never a crash or a finding made up."""
    output = (  # as -m=2 prints it: the explanation, then the verdict
        "./m.go:3:37: t escapes to heap:\n"
        "./m.go:3:37:   flow: ~r0 = &t:\n"
        "./m.go:3:37:     from &t (address-of) at ./m.go:3:51\n"
        "./m.go:3:37: moved to heap: t\n"
    )
    rows = codec.encode(parser.build_findings(output, "/w", lambda _p: True))
    assert rows and rows[0][6], rows
    assert len(codec.decode(rows)) == len(codec._decode(rows)) == 1
    for decoder in (codec.decode, codec._decode):
        with pytest.raises((TypeError, ValueError, KeyError)):
            decoder([bent(rows[0])])


@needs_native
def test_the_compiled_decode_makes_ranges_and_steps_of_tuple_types_only() -> None:
    """It fills their objects as tuples: any other class is refused before anything is made."""
    assert native.compiled is not None
    finding, step, span, kinds = codec.MODEL
    for model in ((finding, step, dict, kinds), (finding, Finding, span, kinds)):
        with pytest.raises(TypeError, match="not a tuple type"):
            native.compiled.decode_rows([], model)


@needs_native
def test_odd_lines_parse_alike() -> None:
    """Lines real packages rarely print: CRLF ends, a line 0, no column, Windows paths,
    repeated and unpositioned steps, headers no verdict matches, non-ASCII subjects."""
    text = "\r\n".join(
        [
            "# example.com/p",
            "./a.go:0:0: moved to heap: x",
            "./a.go:3: leaking param: p",
            r"C:\w\a.go:4:2: leaking param: q to result ~r0 level=0",
            "./a.go:5:9: &T{...} escapes to heap in F:",
            "./a.go:5:9:   flow: {heap} = &{storage for &T{...}}:",
            "./a.go:5:9:     from &T{...} (spill) at ./a.go:5:9",
            "./a.go:5:9:     from &T{...} (spill) at ./a.go:5:9",
            "./a.go:5:9:     from return (return)",
            "./a.go:5:9: &T{...} escapes to heap",
            "./a.go:6:1: parameter p leaks to {storage for func literal} for G with derefs=1:",
            "./a.go:6:1:   flow: ~r0 ← p:",
            "./a.go:6:1: leaking param content: p",
            "./a.go:7:3: func literal capturing by ref: é (addr=true assign=false width=8)",
            "./a.go:8:3: can inline (*T).M with cost 12 as: func() { }",
            "./a.go:9:3: cannot inline F: function too complex: cost 90 exceeds budget 80",
            "./a.go:10:3: inlining call to strings.Index with score -3",
            "./a.go:11:3: Found IsInBounds",
            "./a.go:12:3: x ignoring self-assignment in b.buf = b.buf[1:]",
            "./a.go:13:3: something the parser has no rule for",
            "<autogenerated>:1: leaking param: .this",
        ]
    )
    keep = lambda _p: True  # noqa: E731
    compiled = parser.build_findings(text, "/w", keep, {"/w/a.go": "/real/a.go"})
    reference = parser._build_findings(text, "/w", keep, {"/w/a.go": "/real/a.go"})
    assert _everything(compiled) == _everything(reference)
    assert len(compiled) >= 12


#: Pieces of the verdicts' and headers' shapes, for lines that bend them.
_PIECES = [" with cost ", "12", " as: ", ": ", "}", "{", " for ", " with derefs=", "-1", ":",
           " (", ")", " capturing by ref: ", " capturing by value: ", " to result ", " level=",
           "~r0", " ", "é", "\t", "{heap}", " leaks to ", "parameter ", "leaking param: "]  # fmt: skip
_SHAPES = [
    "leaking param: p",
    "leaking param: p to result ~r0 level=0",
    "leaking param content: q",
    "can inline F with cost 12 as: func() {}",
    "cannot inline G: function too complex: cost 90 exceeds budget 80",
    "cannot inline : G: reason",
    "can inline  with cost 1 with cost 2 as: x",
    "leaking param:  to result ~r0 level=1",
    "func literal capturing by ref: x (addr=true assign=false width=8)",
    "parameter p leaks to {storage for func literal} for G with derefs=1:",
    "parameter p leaks to ~r0 with derefs=0:",
    "x escapes to heap in F:",
    "inlining call to strings.Index with score 12",
]


@needs_native
def test_bent_shapes_parse_alike() -> None:
    """Real lines with pieces of other shapes inserted and characters cut out (seeded): the
    compiled matchers written by hand answer as the patterns do, match or not."""
    rng = random.Random(7)
    lines = []
    for _ in range(6000):
        text = rng.choice(_SHAPES)
        for _ in range(rng.randint(1, 3)):
            i = rng.randint(0, len(text))
            if rng.random() < 0.3:
                text = text[:i] + text[rng.randint(i, min(len(text), i + 4)) :]
            else:
                text = text[:i] + rng.choice(_PIECES) + text[i:]
        lines.append(f"./a.go:{rng.randint(1, 9)}:{rng.randint(1, 9)}: {text}")
        if text.endswith(":"):
            lines.append("./a.go:1:1:   from x (y) at ./a.go:1:2")
    text = "\n".join(lines)
    compiled = parser.build_findings(text, "/w", lambda _p: True)
    reference = parser._build_findings(text, "/w", lambda _p: True, None)
    assert _everything(compiled) == _everything(reference)
    assert len(compiled) > 4000


def test_a_file_without_a_compiled_tree_maps_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """tree-sitter may give the compiled mapping no tree (it never has here): that file's
    points are located by the Python rules, with the same answers."""

    class NoTree:
        def NativeSource(self, _data: bytes) -> object:  # the compiled module's class
            raise ValueError("tree-sitter could not parse")

    data = b"package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"
    point = Span.point(3, 1)
    expected = GoSource(data).locate(point, "x", Kind.MOVED_TO_HEAP)
    monkeypatch.setattr(native, "compiled", NoTree())
    src = GoSource(data)
    src.locate_all([(point, "x", Kind.MOVED_TO_HEAP)])
    assert src.locate(point, "x", Kind.MOVED_TO_HEAP) == expected
    assert expected[0] == Span(3, 1, 3, 2)


@needs_native
def test_the_one_call_mapping_leaves_a_file_without_a_compiled_tree_to_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mapped_rows` answers None when a file its findings name (here, a flow step's) has
    no compiled tree: the engine maps through the parsed findings then, in Python."""
    a = b"package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"
    text = "./a.go:4:2: moved to heap: x\n./a.go:4:2: x escapes to heap:\n"
    text += "./a.go:4:2:   flow: ~r0 = &x:\n./a.go:4:2:     from &x (address-of) at ./b.go:5:9\n"
    good = {"/w/a.go": GoSource(a), "/w/b.go": GoSource(a)}
    rows = mapped_rows(text, "/w", lambda _p: True, None, good.get)
    assert rows is not None and len(rows) == 1  # the verdict, its explanation folded in
    assert [step[1] for step in rows[0][6]] == [(4, 8, 4, 10)]  # `&x`, in b.go's tree

    bad = GoSource(a)
    monkeypatch.setattr(bad, "compiled_tree", lambda: None)
    assert mapped_rows(text, "/w", lambda _p: True, None, {**good, "/w/b.go": bad}.get) is None


@needs_native
def test_a_failing_callback_fails_the_parse_as_in_python() -> None:
    text = "./a.go:3:6: moved to heap: x\n./b.go:4:2: y escapes to heap"

    def keep(path: str) -> bool:
        if path.endswith("b.go"):
            raise RuntimeError(path)
        return True

    for build in (parser.build_findings, parser._build_findings):
        with pytest.raises(RuntimeError, match=r"b\.go"):
            build(text, "/w", keep, None)


@needs_native
async def test_a_run_parses_ahead_the_compiled_trees_its_bytes_allow(
    gomod: WriteModule,
) -> None:
    """While go compiles a first build, the compiled trees of files not open are parsed only
    within the bytes it is given (the CLI's `TREES_AHEAD`); the server's 0 leaves them to the
    mapping."""
    from escape_lsp.analysis.engine import Engine
    from escape_lsp.analysis.package_results import prepare_sources
    from escape_lsp.analysis.settings import AnalysisSettings
    from escape_lsp.gotool.toolchain import find_toolchain, module_context

    files = {
        "p/a.go": "package p\n\nfunc A() *int { x := 1; return &x }\n",
        "p/b.go": "package p\n\nfunc B(s []byte) any { return string(s) }\n",
    }
    root = gomod(files)
    toolchain = find_toolchain()
    a, b = str(root / "p" / "a.go"), str(root / "p" / "b.go")
    cases = [(0, set(), set()), (len(files["p/a.go"]), set(), {a}), (2**20, set(), {a, b})]
    cases.append((2**20, {a}, {b}))  # a.go most likely answered by the memo
    for ahead, answered, parsed in cases:
        engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
        try:
            graph = await engine.graph()
            said: set[str] = set()
            pkg = ["example.com/m/p"]
            prepare_sources(engine, graph, pkg, {}, {}, ahead, said, answered)
            trees = {p for p in (a, b) if engine.source(p, {})._native is not None}  # type: ignore[union-attr]
            assert trees == parsed == said, ahead
        finally:
            engine.close()


@needs_native
def test_the_memo_tells_builds_of_the_compiled_module_apart() -> None:
    """A rebuilt compiled module may map differently: its size and mtime salt every memo key,
    as the Python modules' do."""
    from escape_lsp.analysis import disk_memo

    compiled = os.path.realpath(str(native.compiled.__file__))  # type: ignore[union-attr]
    root = os.path.dirname(os.path.dirname(os.path.abspath(disk_memo.__file__)))
    assert os.path.relpath(compiled, root) in {path for path, _, _ in disk_memo._code_identity()}


@needs_native
def test_a_large_files_points_are_located_alike_on_two_threads() -> None:
    """From `PARALLEL_POINTS` points on, a file's are located on two threads (the later half
    in a copy of the tree): the same ranges as located one part at a time, on one thread.
    net/http's h2_bundle.go: ~7,000 distinct points the compiler printed."""
    root, output = _output("net/http", "-m=2")
    path = os.path.join(root, "net", "http", "h2_bundle.go")
    chunk = parser.split_by_file(output, root)[path]
    found = parser.build_findings(chunk, root, lambda p: p == path)
    points = sorted(
        {(f.span.start_line, f.span.start_col, f.subject, f.kind.value) for f in found}
        | {(s.span.start_line, s.span.start_col, s.subject, None) for f in found for s in f.flow},
        key=lambda p: (*p[:3], p[3] or ""),
    )
    assert len(points) > 5000
    tree = GoSource(Path(path).read_bytes()).compiled_tree()
    at_once = tree.locate_many(points)
    by_parts = [
        hit for i in range(0, len(points), 1000) for hit in tree.locate_many(points[i : i + 1000])
    ]
    assert at_once == by_parts
    fresh = GoSource(Path(path).read_bytes()).compiled_tree()  # (no cache warmed by the above)
    assert fresh.locate_many(points[::-1]) == by_parts[::-1]
