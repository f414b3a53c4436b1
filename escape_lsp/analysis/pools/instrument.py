"""Instrumented copies of a package for counting its pools' Get, Put and New calls.

Pure text rewriting; nothing is written here. The copies are meant for `go test -overlay`, so
the user's files are never touched:
- every resolved `pool.Get()` becomes `escapeLspPoolGet(ID, pool.Get())`, every `pool.Put(x)`
  `pool.Put(escapeLspPoolPut(ID, x))`, every `New` value `escapeLspPoolNew(ID, value)`;
- each benchmark (or test) function starts with `escapeLspPoolMark(b);`, which records the
  counters before it runs and, in `b.Cleanup`, appends them to the file named by
  `$ESCAPE_LSP_POOL_COUNTS`; a benchmark runs several times (b.N = 1, 100, …): the last line per
  name is its final run;
- two generated files (counters; the mark function, per test package) are added to the
  package directory through the overlay only.

Line numbers are kept (insertions never add lines), so compiler and test messages still point
at the user's lines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tree_sitter import Node

from escape_lsp.analysis.pools.syntax import PackagePools, index_packages
from escape_lsp.analysis.pools.tree import package_name, unparen
from escape_lsp.findings.model import Span
from escape_lsp.findings.syntax import GoSource

COUNTS_ENV = "ESCAPE_LSP_POOL_COUNTS"
COUNTERS_FILE = "escape_lsp_pool_counters.go"
MARK_FILE = "escape_lsp_pool_mark_test.go"
XMARK_FILE = "escape_lsp_pool_xmark_test.go"
#: Counter columns per pool.
GETS, PUTS, NEWS, NILS = range(4)


@dataclass(frozen=True)
class PoolSite:
    """A pool the instrumented package counts, by its index in the counters."""

    id: int
    name: str
    file: str
    #: The declared name.
    span: Span
    scope: str
    function: str | None


@dataclass(frozen=True)
class Instrumented:
    """Overlay contents (real path -> bytes; new files included) and what they count."""

    files: Mapping[str, bytes]
    sites: tuple[PoolSite, ...]
    #: Benchmark or test functions that were marked, by name.
    marked: tuple[str, ...]


@dataclass(frozen=True)
class _Wrap:
    start: int
    end: int
    prefix: str
    suffix: str
    #: Among wraps of the same text, the lower rank is the outer one.
    rank: int = 0


def _apply(data: bytes, wraps: list[_Wrap]) -> bytes:
    """Insert each wrap's prefix at its start and suffix at its end; nested wraps nest."""
    inserts: list[tuple[int, int, int, int, str]] = []
    for w in wraps:
        # At one offset: closings before openings; inner closings first, outer openings first.
        inserts.append((w.start, 1, -w.end, w.rank, w.prefix))
        inserts.append((w.end, 0, -w.start, -w.rank, w.suffix))
    out, pos = [], 0
    for offset, _, _, _, text in sorted(inserts):
        out.append(data[pos:offset])
        out.append(text.encode())
        pos = offset
    out.append(data[pos:])
    return b"".join(out)


def _test_functions(src: GoSource, prefix: str) -> list[tuple[str, Node]]:
    out = []
    for node in src.tree.root_node.named_children:
        if node.type != "function_declaration":
            continue
        name = node.child_by_field_name("name")
        params = node.child_by_field_name("parameters")
        body = node.child_by_field_name("body")
        if name is None or params is None or body is None or len(params.named_children) != 1:
            continue
        text = src.data[name.start_byte : name.end_byte].decode()
        rest = text[len(prefix) :]
        if text.startswith(prefix) and text != "TestMain" and (not rest or not rest[0].islower()):
            out.append((text, node))
    return out


def has_functions(sources: Mapping[str, GoSource], prefix: str) -> bool:
    return any(
        _test_functions(src, prefix) for path, src in sources.items() if path.endswith("_test.go")
    )


def _mark(src: GoSource, fn: Node) -> list[_Wrap]:
    """`escapeLspPoolMark(b);` at the start of the body, naming the parameter if needed."""
    params = fn.child_by_field_name("parameters")
    body = fn.child_by_field_name("body")
    assert params is not None and body is not None
    param = params.named_children[0]
    name_node = param.child_by_field_name("name")
    name = src.data[name_node.start_byte : name_node.end_byte].decode() if name_node else ""
    wraps = []
    if name == "_":  # `_ *testing.B` -> `escapeLspTB_ *testing.B`
        name = "escapeLspTB_"
        wraps.append(_Wrap(param.start_byte, param.start_byte, "escapeLspTB", ""))
    elif not name:  # `*testing.B` -> `escapeLspTB *testing.B`
        name = "escapeLspTB"
        wraps.append(_Wrap(param.start_byte, param.start_byte, f"{name} ", ""))
    brace = body.start_byte + 1
    wraps.append(_Wrap(brace, brace, f"escapeLspPoolMark({name});", ""))
    return wraps


def instrument(
    sources: Mapping[str, GoSource], import_path: str, package_dir: str, mode: str
) -> Instrumented | None:
    """Counting copies of a package's files (`sources`: every file, tests included), or None
    when it has no pool. `mode` is `Benchmark` or `Test`: which functions are marked."""
    package = next(
        (package_name(s) for p, s in sorted(sources.items()) if not p.endswith("_test.go")), ""
    )
    main = next((g for g in index_packages(sources) if _group_name(g) == package), None)
    if main is None:
        return None
    sites: list[PoolSite] = []
    ids: dict[object, int] = {}
    for decl in main.decls:
        ids[decl] = len(sites)
        sites.append(
            PoolSite(len(sites), decl.name, decl.file, decl.span, decl.scope.value, decl.function)
        )
    wraps: dict[str, list[_Wrap]] = {}
    for call in main.calls:
        i = ids[call.decl]
        if call.method == "Get":
            wraps.setdefault(call.file, []).append(
                _Wrap(call.call.start_byte, call.call.end_byte, f"escapeLspPoolGet({i}, ", ")", 1)
            )
        else:
            args = call.call.child_by_field_name("arguments")
            if args is None or len(args.named_children) != 1:
                continue
            arg = args.named_children[0]
            wraps.setdefault(call.file, []).append(
                _Wrap(arg.start_byte, arg.end_byte, f"escapeLspPoolPut({i}, ", ")")
            )
    for decl, news in main.news.items():
        for file, value in news:
            v = unparen(value)
            wraps.setdefault(file, []).append(
                _Wrap(v.start_byte, v.end_byte, f"escapeLspPoolNew({ids[decl]}, ", ")")
            )
    marked: list[str] = []
    xtest = False
    for path, src in sorted(sources.items()):
        if not path.endswith("_test.go"):
            continue
        for name, fn in _test_functions(src, mode):
            wraps.setdefault(path, []).extend(_mark(src, fn))
            marked.append(name)
            xtest = xtest or package_name(src) != package
    files = {path: _apply(sources[path].data, w) for path, w in wraps.items() if w}
    files[os.path.join(package_dir, COUNTERS_FILE)] = counters_source(package, len(sites))
    files[os.path.join(package_dir, MARK_FILE)] = mark_source(package, None)
    if xtest:
        files[os.path.join(package_dir, XMARK_FILE)] = mark_source(f"{package}_test", import_path)
    if any(os.path.exists(p) for p in files if os.path.basename(p) in _GENERATED):
        return None  # a user's file has one of our names: never shadow it
    return Instrumented(files, tuple(sites), tuple(marked))


_GENERATED = (COUNTERS_FILE, MARK_FILE, XMARK_FILE)


def _group_name(group: PackagePools) -> str:
    return next(iter(group.files.values())).package


_HEADER = "// Code generated by escape-lsp for a sync.Pool hit-rate measurement (overlay only).\n"


def counters_source(package: str, count: int) -> bytes:
    """Counters and wrappers; `interface{}` and no generics, for modules on old go versions."""
    return (
        _HEADER
        + f"""
package {package}

import escapeLspAtomic "sync/atomic"

var escapeLspPoolCounters [{max(count, 1)}][4]int64

func escapeLspPoolGet(id int, v interface{{}}) interface{{}} {{
	escapeLspAtomic.AddInt64(&escapeLspPoolCounters[id][{GETS}], 1)
	if v == nil {{
		escapeLspAtomic.AddInt64(&escapeLspPoolCounters[id][{NILS}], 1)
	}}
	return v
}}

func escapeLspPoolPut(id int, v interface{{}}) interface{{}} {{
	escapeLspAtomic.AddInt64(&escapeLspPoolCounters[id][{PUTS}], 1)
	return v
}}

func escapeLspPoolNew(id int, f func() interface{{}}) func() interface{{}} {{
	if f == nil {{
		return nil
	}}
	return func() interface{{}} {{
		escapeLspAtomic.AddInt64(&escapeLspPoolCounters[id][{NEWS}], 1)
		return f()
	}}
}}

// EscapeLspPoolCounts is exported for the external test package's mark function.
func EscapeLspPoolCounts() [][4]int64 {{
	out := make([][4]int64, len(escapeLspPoolCounters))
	for i := range escapeLspPoolCounters {{
		for j := range escapeLspPoolCounters[i] {{
			out[i][j] = escapeLspAtomic.LoadInt64(&escapeLspPoolCounters[i][j])
		}}
	}}
	return out
}}
"""
    ).encode()


def mark_source(package: str, target: str | None) -> bytes:
    """`escapeLspPoolMark`: counters before a benchmark/test and, at its cleanup, after."""
    counts = "escapeLspTarget.EscapeLspPoolCounts" if target else "EscapeLspPoolCounts"
    target_import = f'\tescapeLspTarget "{target}"\n' if target else ""
    return (
        _HEADER
        + f"""
package {package}

import (
	escapeLspJSON "encoding/json"
	escapeLspOS "os"
	escapeLspTesting "testing"
{target_import})

func escapeLspPoolMark(tb escapeLspTesting.TB) {{
	before := {counts}()
	tb.Cleanup(func() {{
		line, err := escapeLspJSON.Marshal(map[string]interface{{}}{{
			"name": tb.Name(), "before": before, "after": {counts}(),
		}})
		if err != nil {{
			return
		}}
		const flags = escapeLspOS.O_APPEND | escapeLspOS.O_CREATE | escapeLspOS.O_WRONLY
		f, err := escapeLspOS.OpenFile(escapeLspOS.Getenv("{COUNTS_ENV}"), flags, 0600)
		if err != nil {{
			return
		}}
		_, _ = f.Write(append(line, '\\n'))
		_ = f.Close()
	}})
}}
"""
    ).encode()
