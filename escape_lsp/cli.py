"""Layer 5: `escape-lsp check` for terminals and CI, and `escape-lsp serve` for editors."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
from collections.abc import Sequence

from escape_lsp import __version__
from escape_lsp.analysis.check import run_check
from escape_lsp.analysis.measure import MeasureError
from escape_lsp.analysis.settings import AnalysisSettings, with_tags
from escape_lsp.cli_evidence import add_evidence_options, measured
from escape_lsp.findings.model import DEFAULT_KINDS, parse_kinds
from escape_lsp.gotool.toolchain import ToolchainError
from escape_lsp.report.data import report_data
from escape_lsp.report.text import report_text
from escape_lsp.terminal import ProgressLine, serve_from_terminal

EXIT_OK = 0
EXIT_USAGE = 2


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
    check.add_argument("--gcflags", default="", help="extra compiler flags, e.g. -l")
    check.add_argument("--tags", default="", help="build tags, as for go build -tags")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--go", default=None, help="the go command to use (default: go on PATH)")
    add_evidence_options(check)

    serve = sub.add_parser("serve", help="run the language server")
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP, for debugging")
    return parser


def _check(ns: argparse.Namespace) -> int:
    try:
        kinds = parse_kinds(ns.kinds) if ns.kinds != "default" else DEFAULT_KINDS
    except ValueError as exc:
        print(f"escape-lsp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = AnalysisSettings(
        tests=ns.tests, gcflags=tuple(shlex.split(ns.gcflags)), build_flags=with_tags((), ns.tags)
    )
    try:
        report = asyncio.run(run_check(ns.patterns, settings, ns.go, ProgressLine.for_stderr()))
        joined = asyncio.run(measured(ns, settings, report))
    except (ToolchainError, MeasureError) as exc:
        print(f"escape-lsp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sort = ns.sort or ("weight" if joined else "position")
    if ns.format == "json":
        data = report_data(report, kinds, joined, sort)
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        text = report_text(report, kinds, ns.explain, joined, sort)
        if text:
            print(text)
    return EXIT_OK


#: Options whose values start with `-` (`--gcflags -l`), which argparse would take for options.
_DASH_VALUED = ("--gcflags", "--bench-flags")


def _join_dash_values(argv: Sequence[str]) -> list[str]:
    """`--gcflags -l` -> `--gcflags=-l`, so both spellings work."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        value = next(args, None) if arg in _DASH_VALUED else None
        out.append(f"{arg}={value}" if value is not None else arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parser().parse_args(_join_dash_values(sys.argv[1:] if argv is None else argv))
    if ns.command == "check":
        try:
            return _check(ns)
        except BrokenPipeError:  # `escape-lsp check | head`: the reader left; not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
    from escape_lsp.lsp.server import serve

    if ns.tcp is None and sys.stdin.isatty():
        return serve_from_terminal(serve)
    return serve(tcp=ns.tcp)


if __name__ == "__main__":
    sys.exit(main())
