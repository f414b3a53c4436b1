"""Layer 5: `escape-lsp check` for terminals and CI, and `escape-lsp serve` for editors."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from escape_lsp import __version__
from escape_lsp.analysis.engine import AnalysisSettings, Blocked, Engine
from escape_lsp.analysis.explain import describe_reason, flow_sections
from escape_lsp.analysis.targets import is_path_pattern, pattern_dir, select_packages
from escape_lsp.findings.model import DEFAULT_KINDS, Finding, Kind, Span, parse_kinds
from escape_lsp.findings.positions import Encoding
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.toolchain import (
    ModuleContext,
    Toolchain,
    ToolchainError,
    find_toolchain,
    module_context,
)

EXIT_OK = 0
EXIT_USAGE = 2


@dataclass
class Report:
    findings: list[Finding]
    blocked: list[Blocked]
    sources: dict[str, GoSource]


def _words(value: str) -> tuple[str, ...]:
    """A flag list split like a shell would (no shell runs); unbalanced quotes are usage errors."""
    try:
        return tuple(shlex.split(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escape-lsp", description="The Go compiler's escape analysis, explained."
    )
    parser.add_argument("--version", action="version", version=f"escape-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="analyse packages and print the compiler's verdicts")
    check.add_argument("patterns", nargs="*", default=["./..."], help="packages or dirs (./...)")
    check.add_argument(
        "--kinds",
        default="default",
        help="comma-separated kinds or groups: heap, leaks, default (heap+leaks), inlining, "
        "captures, does-not-escape, all",
    )
    check.add_argument("--explain", action="store_true", help="print each finding's flow")
    check.add_argument("--tests", action="store_true", help="include _test.go files")
    check.add_argument("--gcflags", default=(), type=_words, help="extra compiler flags, e.g. -l")
    check.add_argument("--tags", default="", help="build tags, as for go build -tags")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--go", default=None, help="the go command to use (default: go on PATH)")

    serve = sub.add_parser("serve", help="run the language server")
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP, for debugging")
    return parser


def _groups(
    patterns: Sequence[str], toolchain_go: str | None
) -> tuple[Toolchain, dict[ModuleContext, list[str]]]:
    toolchain = find_toolchain(toolchain_go)
    cwd = os.getcwd()
    groups: dict[ModuleContext, list[str]] = {}
    for arg in patterns:
        is_path = is_path_pattern(arg, cwd)
        start = pattern_dir(arg, cwd) if is_path else cwd
        if is_path and not os.path.isdir(start):
            raise ToolchainError(f"{arg}: no such directory")
        ctx = module_context(toolchain, start)
        groups.setdefault(ctx, []).append(arg)
    return toolchain, groups


async def run_check(
    patterns: Sequence[str], settings: AnalysisSettings, go: str | None = None
) -> Report:
    toolchain, groups = _groups(patterns, go)
    cwd = os.getcwd()
    report = Report([], [], {})
    for ctx, args in groups.items():
        engine = Engine(toolchain, ctx, settings)
        try:
            graph = await engine.graph()
            names: set[str] = set()
            for arg in args:
                matched = select_packages(graph, arg, cwd)
                if not matched:
                    print(f"escape-lsp: warning: {arg} matched no packages", file=sys.stderr)
                names.update(matched)
            results = await engine.analyze(names)
            seen: set[tuple[str, Span, str]] = set()
            for res in results.values():
                if res.blocked:
                    report.blocked.append(res.blocked)
                for f in res.findings:
                    if (f.file, f.span, f.message) not in seen:
                        seen.add((f.file, f.span, f.message))
                        report.findings.append(f)
            for f in report.findings:
                if f.file not in report.sources:
                    src = engine.source(f.file, {})
                    if src is not None:
                        report.sources[f.file] = src
        finally:
            engine.close()
    report.findings.sort(key=Finding.sort_key)
    report.blocked.sort(key=lambda b: b.package)
    return report


def _lsp_range(sources: dict[str, GoSource], file: str, span: Span) -> dict[str, dict[str, int]]:
    src = sources.get(file)

    def pos(line: int, col: int) -> dict[str, int]:
        char = src.lines.column(line, col, Encoding.UTF16) if src else col
        return {"line": line, "character": char}

    return {"start": pos(span.start_line, span.start_col), "end": pos(span.end_line, span.end_col)}


def report_json(report: Report, kinds: frozenset[Kind]) -> dict[str, object]:
    """The documented, stable `--format json` contract (see README)."""
    findings = []
    for f in report.findings:
        if f.kind not in kinds:
            continue
        item: dict[str, object] = {
            "file": f.file,
            "range": _lsp_range(report.sources, f.file, f.span),
            "kind": f.kind.value,
            "message": f.message,
        }
        if f.function:
            item["function"] = f.function
        item["flow"] = [
            {
                "file": s.file,
                "range": _lsp_range(report.sources, s.file, s.span),
                "message": s.message,
            }
            for s in f.flow
        ]
        findings.append(item)
    blocked = [
        {
            "package": b.package,
            "errors": [str(e) for e in b.errors],
            **({"because_of": b.because_of} if b.because_of else {}),
        }
        for b in report.blocked
    ]
    return {"findings": findings, "blocked": blocked}


def _rel(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("../../") else rel


def report_text(report: Report, kinds: frozenset[Kind], explain: bool) -> str:
    lines: list[str] = []
    for b in report.blocked:
        lines.append(f"{b.package}: escape analysis blocked: {b.summary}")
    for f in report.findings:
        if f.kind not in kinds:
            continue
        where = f"{_rel(f.file)}:{f.span.start_line + 1}:{f.span.start_col + 1}"
        fn = f" (in {f.function})" if f.function else ""
        lines.append(f"{where}: {f.kind.value}: {f.message}{fn}")
        if explain:
            for edge, steps in flow_sections(f):
                lines.append(f"    flow: {edge}")
                for i, s in steps:
                    at = f"{_rel(s.file)}:{s.span.start_line + 1}:{s.span.start_col + 1}"
                    lines.append(f"      {i}. {s.subject} — {describe_reason(s.reason)}  [{at}]")
    return "\n".join(lines)


def _check(ns: argparse.Namespace) -> int:
    try:
        kinds = parse_kinds(ns.kinds) if ns.kinds != "default" else DEFAULT_KINDS
    except ValueError as exc:
        print(f"escape-lsp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = AnalysisSettings(
        tests=ns.tests,
        gcflags=ns.gcflags,
        build_flags=(f"-tags={ns.tags}",) if ns.tags else (),
    )
    try:
        report = asyncio.run(run_check(ns.patterns, settings, ns.go))
    except ToolchainError as exc:
        print(f"escape-lsp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if ns.format == "json":
        json.dump(report_json(report, kinds), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        text = report_text(report, kinds, ns.explain)
        if text:
            print(text)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    if ns.command == "check":
        try:
            return _check(ns)
        except BrokenPipeError:  # `escape-lsp check | head`: the reader left; not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
    from escape_lsp.lsp.server import serve

    return serve(tcp=ns.tcp)


if __name__ == "__main__":
    sys.exit(main())
