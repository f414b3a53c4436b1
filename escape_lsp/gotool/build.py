"""One go command per batch of packages, with escape flags on exactly those packages.

`go build -json` (Go 1.24+) keeps each package's compiler output apart and says which packages
failed, so one command serves a whole batch and the go build cache gives early cut-off.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from escape_lsp.gotool.blake2 import blake2b
from escape_lsp.gotool.build_command import BuildRequest, build_argv
from escape_lsp.gotool.head_start import Started
from escape_lsp.gotool.process import adopt, run
from escape_lsp.gotool.tempdir import private_subdir
from escape_lsp.gotool.toolchain import Toolchain


class OverlayStore:
    """Unsaved buffers as files in a private temp dir, never in the workspace.

    Files are content-addressed, so an unchanged buffer keeps its path and the go build cache
    still hits for it. A file lives only while a go command that reads it runs (`lease`), so
    a long session of edits leaves nothing behind.
    """

    def __init__(self) -> None:
        self.dir = private_subdir("overlays-")
        self._users: dict[str, int] = {}

    def _hold(self, path: str, data: bytes) -> None:
        if not self._users.get(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
        self._users[path] = self._users.get(path, 0) + 1

    def _drop(self, path: str) -> None:
        left = self._users.get(path, 0) - 1
        if left > 0:
            self._users[path] = left
            return
        self._users.pop(path, None)
        with contextlib.suppress(OSError):
            os.remove(path)
        if os.path.dirname(path) != self.dir:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))

    @contextlib.contextmanager
    def lease(self, contents: Mapping[str, bytes]) -> Iterator[tuple[str | None, dict[str, str]]]:
        """The `-overlay` JSON path (None when nothing to overlay) and temp path -> real path,
        valid until the `with` block ends."""
        if not contents:
            yield None, {}
            return
        held: list[str] = []
        try:
            replace: dict[str, str] = {}
            for real, data in sorted(contents.items()):
                digest = blake2b(data, digest_size=12).hexdigest()
                tmp = os.path.join(self.dir, digest, os.path.basename(real))
                self._hold(tmp, data)
                held.append(tmp)
                replace[real] = tmp
            doc = json.dumps({"Replace": replace}, sort_keys=True).encode()
            name = f"overlay-{blake2b(doc, digest_size=12).hexdigest()}.json"
            path = os.path.join(self.dir, name)
            self._hold(path, doc)
            held.append(path)
            yield path, {tmp: real for real, tmp in replace.items()}
        finally:
            for path in held:
                self._drop(path)

    def files(self) -> list[str]:
        """Overlay files on disk now (tests count them)."""
        return [os.path.join(d, f) for d, _, names in os.walk(self.dir) for f in names]

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class BuildOutput:
    """What one go command said, split by the package it concerns."""

    returncode: int
    #: Package import path (test variants folded into their package) -> compiler text.
    output: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    #: Anything the go command printed outside its JSON (setup errors, `go: …` lines).
    stderr: str = ""
    seconds: float = 0.0
    #: The command did not run to its end (timed out, or could not start).
    interrupted: bool = False


#: What a go command prints when it (or a tool it ran) failed for reasons outside the code:
#: killed (OOM killer, kill -9), crashed, out of resources, a network hiccup. Such failures
#: say nothing about the package, so they are retried instead of remembered.
_TRANSIENT_ANYWHERE = re.compile(
    r"internal compiler error|^fatal error:|out of memory|cannot allocate memory"
    r"|no space left on device|too many open files|resource temporarily unavailable"
    r"|text file busy|i/o timeout|connection (?:refused|reset)|TLS handshake timeout"
    r"|temporary failure in name resolution|go: internal error",
    re.IGNORECASE | re.MULTILINE,
)
#: `compile: signal: killed`, `pkg: /path/to/compile: signal: segmentation fault`.
_TRANSIENT_TOOL = re.compile(r": signal: \w")
_AT_SOURCE = re.compile(r"^\S+\.go:\d+")


def transient_failure(text: str) -> bool:
    """Whether a failed command's text shows a failure that a rerun may not repeat."""
    if _TRANSIENT_ANYWHERE.search(text):
        return True
    return any(
        _TRANSIENT_TOOL.search(line) and not _AT_SOURCE.match(line) for line in text.splitlines()
    )


def base_package(import_path: str, known: Mapping[str, object] | set[str]) -> str:
    """`p [p.test]`, `p_test [p.test]` and `p.test` all belong to `p`."""
    name = import_path.split(" [", 1)[0]
    if name not in known and name.endswith("_test") and name[: -len("_test")] in known:
        return name[: -len("_test")]
    if name not in known and name.endswith(".test") and name[: -len(".test")] in known:
        return name[: -len(".test")]
    return name


def split_json(stdout: str, known: set[str]) -> tuple[dict[str, str], set[str], list[str]]:
    """`go build -json` events to per-package text, failed packages, and stray lines."""
    output: dict[str, list[str]] = {}
    failed: set[str] = set()
    stray: list[str] = []
    for event in _events(stdout, stray):
        path = event.get("ImportPath") or event.get("Package")
        if not path:
            continue
        pkg = base_package(str(path), known)
        action = event.get("Action")
        if action == "build-output":
            output.setdefault(pkg, []).append(str(event.get("Output", "")))
        elif action == "build-fail":
            failed.add(pkg)
    return {k: "".join(v) for k, v in output.items()}, failed, stray


_DECODER = json.JSONDecoder()


def _events(stdout: str, stray: list[str]) -> Iterator[dict[str, object]]:
    """The JSON object on each line of `stdout`, decoded where it stands: a package's whole
    output is one line of megabytes, and slicing it out first cost a copy (~10 ms for a large
    package's 3 MB, once go was done). Other lines, and lines that are not one object, go to
    `stray`. Lines end at `\\n` alone (`str.splitlines` also ends them at `\\x1c`, `\\x85`, …)."""
    at, size = 0, len(stdout)
    while at < size:
        end = stdout.find("\n", at)
        end = size if end < 0 else end
        event: object = None
        if stdout.startswith("{", at):
            try:
                event, stop = _DECODER.raw_decode(stdout, at)
            except json.JSONDecodeError:
                event = None
            else:
                if stop > end or stdout[stop:end].strip():  # not one object on this line
                    event = None
        if isinstance(event, dict):
            yield event
        elif stdout[at:end].strip():
            stray.append(stdout[at:end])
        at = end + 1


#: The package of a `go build -json` event, when it comes first (as go prints it).
_LEADING_IMPORT_PATH = re.compile(r'\{"ImportPath":("(?:[^"\\]|\\.)*")')


def package_reporter(known: set[str], on_package: Callable[[str], None]) -> Callable[[str], None]:
    """A `go build -json` line handler calling `on_package` once per package that reported."""
    seen: set[str] = set()

    def on_line(line: str) -> None:
        if '"build-output"' not in line and '"build-fail"' not in line:
            return
        try:
            lead = _LEADING_IMPORT_PATH.match(line)  # not the whole line: megabytes of output
            path = json.loads(lead[1]) if lead else json.loads(line).get("ImportPath")
        except json.JSONDecodeError:
            return
        pkg = base_package(str(path or ""), known)
        if pkg in known and pkg not in seen:
            seen.add(pkg)
            on_package(pkg)

    return on_line


async def run_build(
    toolchain: Toolchain,
    req: BuildRequest,
    on_package: Callable[[str], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    started: Started | None = None,
) -> BuildOutput:
    """Run one batch; raises asyncio.CancelledError (process group killed) or GoTimeout.

    `on_package` hears of each named package as soon as the compiler has reported on it;
    `on_start` is called once go runs, with its GOTMPDIR. `started`: the process
    `head_start` started for exactly this request's command, read instead of starting
    another.
    """
    began = time.monotonic()
    on_line = package_reporter(set(req.packages), on_package) if on_package else None
    timeout = req.options.timeout
    if started is not None:
        if on_start is not None:
            on_start(started.gotmp)
        proc = await adopt(started, timeout, on_line)
    else:
        argv = build_argv(toolchain.go, req)
        proc = await run(argv, req.cwd, dict(req.options.env), timeout, on_line, on_start)
    output, failed, stray = split_json(proc.stdout, set(req.packages))
    stderr = "\n".join([*stray, proc.stderr.strip()]).strip()
    return BuildOutput(proc.returncode, output, failed, stderr, time.monotonic() - began)
