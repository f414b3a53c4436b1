"""Layer 5: `escape-lsp check` for terminals and CI, and `escape-lsp serve` for editors."""

from __future__ import annotations

import functools
import gc
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from escape_lsp import __version__

if TYPE_CHECKING:
    import argparse

    from escape_lsp.gotool.head_start import Command
    from escape_lsp.lsp.codegen_cache import CodegenCache

# Everything else is imported where it is used: `serve` must start without the analysis,
# pygls or lsprotocol (its import time is the editor's wait; see lsp/resident/), and `check`
# without pygls; argparse (~4 ms) once a `check`'s go build has started.

T = TypeVar("T")

EXIT_OK = 0
EXIT_USAGE = 2


def _words(value: str) -> tuple[str, ...]:
    """A flag list split like a shell would (no shell runs); unbalanced quotes are usage errors."""
    import argparse
    import shlex

    try:
        return tuple(shlex.split(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from None


def _add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP, for debugging")
    serve.add_argument(
        "--no-resident",
        action="store_true",
        help="serve in this process, not forked from the resident server "
        "(also: ESCAPE_LSP_RESIDENT=off)",
    )


def _parser() -> argparse.ArgumentParser:
    import argparse

    from escape_lsp.cli_evidence import add_evidence_options
    from escape_lsp.gate import FAIL_ON

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
        "captures, does-not-escape, bounds, nil, all",
    )
    check.add_argument("--explain", action="store_true", help="print each finding's flow")
    check.add_argument("--tests", action="store_true", help="include _test.go files")
    check.add_argument("--gcflags", default=(), type=_words, help="extra compiler flags, e.g. -l")
    check.add_argument("--tags", default="", help="build tags, as for go build -tags")
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    check.add_argument("--go", default=None, help="the go command to use (default: go on PATH)")
    ci = check.add_argument_group("CI")
    ci.add_argument("--baseline", metavar="FILE", help="report only findings not in FILE")
    ci.add_argument("--write-baseline", metavar="FILE", help="record the findings in FILE")
    ci.add_argument("--since", metavar="REV", help="baseline: the same analysis at git REV")
    ci.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="none",
        help="exit 1 on heap/leak findings: any, or new vs the baseline (default: none); "
        "violated //gcassert directives always exit 1",
    )

    add_evidence_options(check)

    pools = sub.add_parser("pools", help="measure sync.Pool hit rates with go test")
    pools.add_argument("patterns", nargs="*", default=["./..."], help="packages or dirs (./...)")
    pools.add_argument("--bench", default=".", help="benchmarks to run (tests if none exist)")
    pools.add_argument("--benchtime", default=None, help="as go test -benchtime, e.g. 10000x")
    pools.add_argument("--tags", default="", help="build tags, as for go build -tags")
    pools.add_argument("--format", choices=("text", "json"), default="text")
    pools.add_argument("--go", default=None, help="the go command to use (default: go on PATH)")

    _add_serve_options(sub.add_parser("serve", help="run the language server"))
    return parser


def _run(work: Coroutine[object, object, T]) -> T:
    """`asyncio.run(work)`, with the result kept out of the main task: at its end asyncio.run
    reads the SIGINT handler, whose failed enum lookup formats the task's repr — that of the
    whole report (seconds for a large package)."""
    import asyncio

    box: list[T] = []

    async def main() -> None:
        box.append(await work)

    asyncio.run(main())
    return box[0]


def _check(ns: argparse.Namespace) -> int:
    import json

    from escape_lsp.analysis.baseline import BaselineError
    from escape_lsp.analysis.check import CheckRequest
    from escape_lsp.analysis.compiler_flags import flags_for_kinds, merge_flags
    from escape_lsp.analysis.errors import MeasureError
    from escape_lsp.analysis.settings import AnalysisSettings, with_tags
    from escape_lsp.cli_evidence import measured
    from escape_lsp.findings.model import DEFAULT_KINDS, parse_kinds
    from escape_lsp.gate import Policy, gated_check
    from escape_lsp.gotool import head_start
    from escape_lsp.gotool.toolchain import ToolchainError
    from escape_lsp.report.text import report_text
    from escape_lsp.terminal import ProgressLine

    try:
        kinds = parse_kinds(ns.kinds) if ns.kinds != "default" else DEFAULT_KINDS
    except ValueError as exc:
        print(f"escape-lsp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    gcflags = merge_flags(ns.gcflags, flags_for_kinds(kinds))
    settings = AnalysisSettings(tests=ns.tests, gcflags=gcflags, build_flags=with_tags((), ns.tags))
    policy = Policy(ns.fail_on, ns.baseline, ns.write_baseline, ns.since)
    if ns.baseline and ns.since:
        print("escape-lsp: --baseline and --since exclude each other", file=sys.stderr)
        return EXIT_USAGE
    try:
        progress = ProgressLine.for_stderr()
        request = CheckRequest(tuple(ns.patterns), settings, ns.go)
        outcome = _run(gated_check(request, kinds, policy, progress))
        report = outcome.report
        head_start.note_inputs(report.inputs)  # recorded with the build this run used
        joined = _run(measured(ns, settings, report))
    except (ToolchainError, BaselineError, MeasureError) as exc:
        print(f"escape-lsp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sort = ns.sort or ("weight" if joined else "position")
    if ns.format in ("json", "sarif"):  # (their renderers imported only for them)
        from escape_lsp.report.data import report_data
        from escape_lsp.report.sarif import report_sarif

        data = (
            report_data(report, kinds, joined, sort)
            if ns.format == "json"
            else report_sarif(report, kinds, outcome.fingerprint, outcome.comparison is not None)
        )
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        text = report_text(report, kinds, ns.explain, joined, sort)
        if text:
            print(text)
    for note in outcome.notes:
        print(f"escape-lsp: {note}", file=sys.stderr)
    return outcome.exit_code


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


def _pools(ns: argparse.Namespace) -> int:
    import asyncio
    import json

    from escape_lsp.analysis.pools.batch import run_pools
    from escape_lsp.analysis.settings import AnalysisSettings, with_tags
    from escape_lsp.gotool.toolchain import ToolchainError
    from escape_lsp.report.pools import pools_data, pools_text

    settings = AnalysisSettings(tests=True, build_flags=with_tags((), ns.tags))
    try:
        report = asyncio.run(run_pools(ns.patterns, settings, ns.bench, ns.benchtime, ns.go))
    except ToolchainError as exc:
        print(f"escape-lsp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if ns.format == "json":
        json.dump(pools_data(report), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif text := pools_text(report):
        print(text)
    return EXIT_OK


def _exit_now(code: int) -> NoReturn:
    """End the program without the interpreter's teardown, which frees a large package's
    findings, syntax trees and modules one object at a time (0.15–0.2 s). Exit handlers run
    and the output is flushed first, so nothing is lost."""
    import atexit
    import contextlib

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # the reader left; a closed stream
            stream.flush()
    os._exit(code)


def _serve(stdio: bool, tcp: str | None, no_resident: bool) -> int:
    """The language server: forked from the resident zygote when possible (see
    `lsp/resident/`), else in this process."""
    from escape_lsp.lsp.resident import client

    if client.wanted(no_resident, tcp):
        code = client.serve(["serve", *(["--stdio"] if stdio else [])])
        if code is not None:
            return code
    from escape_lsp.lsp import codegen_cache, first_answer

    handover = None
    if tcp is None and not sys.stdin.isatty() and first_answer.wanted():
        # The first diagnostics before the server is imported: the go build the last first
        # publish from here used starts now, if what it read changed (as `check`'s head start);
        # with no record, the opened file's from its didOpen, read before the first publish
        # is imported (`early_open`).
        from escape_lsp.gotool import head_start

        records, cwd = _head_start_records(), os.getcwd()
        head_start.begin(records, cwd, first_answer.HEAD_START_KEY, anywhere=True)
        previous = _end_on_signals()  # until the first publish's own handlers
        try:
            # The analysis' kept code, before the settings' imports (after the guessed build's
            # start if `early_open` reads them); installed once.
            keep_code = functools.partial(codegen_cache.for_this_user, codegen_cache.CLI)
            stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer
            early = None
            if not head_start.running():  # the build the opened file needs, from its didOpen
                from escape_lsp.lsp.early_open import early_open, start_guessed_build

                guess = functools.partial(start_guessed_build, records, cwd)
                early = early_open(stdin, stdout, guess, head_start.release, keep_code)
            kept = keep_code()
            _import_asyncio_without_tls()
            from escape_lsp.lsp import first_publish

            handover = first_publish.first_publish(stdin, stdout, records, cwd, early)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if kept is not None:
            kept.save()
    if client.start_later is not None:  # no resident server listened: one for the next editor
        client.start_later()
    from escape_lsp.lsp import heap

    heap.give_back_large_blocks()  # a long-lived process (see lsp/heap.py)
    cache = codegen_cache.for_this_user()  # before lsprotocol is imported
    from escape_lsp.lsp.server import serve
    from escape_lsp.terminal import serve_from_terminal

    if cache is not None:
        cache.save()  # what the imports compiled; the session's message hooks at its end
    try:
        if tcp is None and sys.stdin.isatty():
            return serve_from_terminal(serve)
        return serve(tcp=tcp, handover=handover)
    finally:
        if cache is not None:
            cache.save()


def _end_on_signals() -> dict[signal.Signals, Any]:
    """SIGTERM and SIGINT end the process at once, the head start's build (a process group
    of its own) killed first, as the first publish's handlers do; the handlers replaced."""
    from escape_lsp.gotool import head_start, tempdir

    def end(signum: int, frame: Any) -> None:
        head_start.release()
        tempdir.remove_private_root()
        os._exit(0)

    return {sig: signal.signal(sig, end) for sig in (signal.SIGTERM, signal.SIGINT)}


def _import_asyncio_without_tls() -> None:
    """asyncio imported with ssl marked missing, as `check` does: it then leaves TLS out
    (OpenSSL's import, ~13 ms, is on the way to a first spawn's diagnostics; the server
    serves stdio or plain TCP). The mark goes after, so an `import ssl` later still works."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]
    try:
        import asyncio  # noqa: F401
    finally:
        if sys.modules.get("ssl", False) is None:
            del sys.modules["ssl"]


def _head_start_records() -> str | None:
    """Where `check` keeps the build its head start repeats (see gotool/head_start.py)."""
    from escape_lsp.lsp.resident.install import kept_state_dir

    directory = kept_state_dir()
    return os.path.join(directory, "head-start") if directory is not None else None


#: `check` options that leave the go build as it is (a first run's guess may skip them).
_OUTPUT_FLAGS = ("--explain",)
_OUTPUT_OPTIONS = ("--format", "--fail-on", "--baseline", "--write-baseline")


def _first_build(cwd: str, args: Sequence[str]) -> Command | None:
    """The go build a first `check` of one package with the default build settings will run,
    worked out from the files (see gotool/first_build.py); None for anything else."""
    if args[:1] != ["check"]:
        return None
    patterns: list[str] = []
    go: str | None = None
    rest = iter(args[1:])
    for arg in rest:
        name, eq, value = arg.partition("=")
        if arg in _OUTPUT_FLAGS:
            continue
        if name in (*_OUTPUT_OPTIONS, "--go"):
            value = value if eq else next(rest, "")
            go = value if name == "--go" else go
        elif arg.startswith("-"):
            return None  # the kinds, tags, tests, flags, --since or evidence: not the plain case
        else:
            patterns.append(arg)
    if len(patterns) != 1:
        return None
    from escape_lsp.gotool.first_build import first_build

    return first_build(cwd, patterns[0], go, stream=True)  # a `check` streams (one-shot)


def main(argv: Sequence[str] | None = None) -> int:
    """The program (`argv` None: the command line; a finished `check` then exits at once),
    or one command run in-process (`argv` given)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None and args[:1] == ["check"]:
        # One short run whose data (findings, trees, memo rows) is mostly acyclic and lives to
        # the end: no cyclic GC, the little cyclic garbage goes at exit. The imports' passes
        # took ~10 ms, and the one when the parse's pause (`gc_paused`) ended walked all the
        # parse had made (~50 ms after a large package's first run) for nothing.
        gc.disable()
        # No TLS: `check` opens no connection, and asyncio imports ssl (OpenSSL, ~13 ms) only
        # for TLS transports; with it marked missing asyncio leaves TLS out.
        sys.modules.setdefault("ssl", None)  # type: ignore[arg-type]
    if args in (["serve"], ["serve", "--stdio"]):  # what editors run: no argparse (~10 ms)
        return _serve(stdio=len(args) == 2, tcp=None, no_resident=False)
    if args[:1] == ["serve"]:  # without the other commands' imports
        import argparse

        serve = argparse.ArgumentParser(prog="escape-lsp serve")
        _add_serve_options(serve)
        ns = serve.parse_args(args[1:])
        return _serve(ns.stdio, ns.tcp, ns.no_resident)
    from escape_lsp.gotool import head_start

    cwd, records = os.getcwd(), _head_start_records() if args[:1] == ["check"] else None
    # before the analysis is imported
    head_start.begin(records, cwd, args, lambda: _first_build(cwd, args))
    generated = _kept_generated_code()
    try:
        ns = _parser().parse_args(_join_dash_values(args))
        if ns.command == "pools":
            return _pools(ns)
        if ns.command != "check":
            return _serve(ns.stdio, ns.tcp, ns.no_resident)
        from escape_lsp.analysis import durable_store

        if argv is None:  # the on-disk memo written once the report is out, by a child
            durable_store.defer_writes()
        try:
            code = _check(ns)
            head_start.remember(records, cwd, args)
        except BrokenPipeError:  # `escape-lsp check | head`: the reader left; not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = EXIT_OK
        finally:
            head_start.release()
            durable_store.finish_writes(background=True)
    finally:
        if generated is not None:
            generated.save()  # what the imports compiled anew, if that took ≥ 20 ms
    if argv is None and sys.getprofile() is None and sys.gettrace() is None:
        _exit_now(code)  # (a profiler or tracer writes its results at the normal exit)
    return code


def _kept_generated_code() -> CodegenCache | None:
    """The methods of the analysis' dataclasses as kept code objects (`lsp/codegen_cache.py`:
    a third of `check`'s imports), installed before those are imported, unless they are."""
    if "escape_lsp.analysis.check" in sys.modules:
        return None
    from escape_lsp.lsp import codegen_cache

    return codegen_cache.for_this_user(codegen_cache.CLI)


if __name__ == "__main__":
    sys.exit(main())
