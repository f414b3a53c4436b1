"""The CLI's head start: the go build its last run with the same arguments ran, started before
the analysis is imported (the imports and the set-up before the build took ~0.15 s of a cold
`check`), and taken over only by a build of the very same command; otherwise it is killed.

A run records the one go build it used (`remember`): its argv, directory and added
environment, under a key made of the working directory, the command line and the variables
that steer go, in a directory the caller names (the CLI: the private per-user state dir).
The next run with the same key starts that command at once (`begin`), with this process's
environment, as every go command escape-lsp runs. When the engine is about to run a build,
`claim` hands the process over if the build's `Command` is equal; a different command, a run
that needs no build, or the end of the process kills it. go reads the sources itself, so the
user's edits since the last run are what it compiles: only the command is reused. The record
also keeps the stat of every file and directory the run's results were read from (as they were
read): when none has changed the memo answers the next run without a build, so it starts none
(a build nobody used cost ~0.3 s of CPU on the large package). Without a
record (a first run), the caller may pass the command it expects to need (`first_build.py`
works it out from the files for one package), taken over or killed the same way.

A record is only a guess, so only a go build of the shape escape-lsp runs is started from it
(`_plausible`: go's flags only those the CLI passes, none of which runs another program or
writes anywhere but /dev/null; no added variables; in the working directory or above it,
except a server's first publish, which builds the module of the file the editor opened,
wherever the server was started: `lsp/first_publish.py`).

This module is imported before anything else of a `check`: it must stay light (no asyncio,
no dataclasses, no OpenSSL: each import here delays go's start; `dataclasses` alone took
~10 ms).
"""

from __future__ import annotations

import atexit
import contextlib
import marshal
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from escape_lsp.gotool.blake2 import blake2b
from escape_lsp.gotool.compile_stream import toolexec_flag
from escape_lsp.gotool.spawning import kill_group, spawn_options
from escape_lsp.gotool.tempdir import private_subdir

#: Bumped whenever the record's shape changes.
_FORMAT = 2
#: Variables that steer go (the record is keyed by them too: a changed one is another run).
_ENV_PREFIXES = ("GO", "CGO_")
_ENV_NAMES = ("PATH", "CC", "CXX", "AR", "PKG_CONFIG", "HOME", "XDG_CACHE_HOME")

#: A file's or directory's (mtime_ns, size, inode).
Stat = tuple[int, int, int]


class Command(NamedTuple):
    """One go invocation: what makes two builds the same process (a NamedTuple, not a frozen
    dataclass, only to keep this module light)."""

    argv: tuple[str, ...]
    cwd: str
    #: Variables the build adds to this process's environment.
    env: tuple[tuple[str, str], ...] = ()


class Started(NamedTuple):
    """A go command started ahead of the code that will want it."""

    command: Command
    popen: subprocess.Popen[bytes]
    #: Its GOTMPDIR, removed by whoever waits for the command's end.
    gotmp: str


_started: Started | None = None
#: The first go build this process used, and how many it used (see `note_used`).
_first_used: Command | None = None
_used = 0
#: What that build's results were read from (see `note_inputs`).
_inputs: dict[str, Stat] = {}
#: The command this run's record named, if any (kept by `remember` after a memo-only run).
_recorded_command: Command | None = None


def begin(
    directory: str | None,
    cwd: str,
    args: Sequence[str],
    first: Callable[[], Command | None] | None = None,
    anywhere: bool = False,
) -> None:
    """Start the build the last run with this key recorded, or with no record the build
    `first` works out (a first run's guess, see `first_build.py`), if any; never fails. A new
    run: the builds used so far are forgotten. `anywhere`: the build may run outside `cwd`
    (a server builds the module of the file an editor opened, wherever it was started)."""
    global _started, _first_used, _used, _inputs, _recorded_command
    _first_used, _used, _inputs, _recorded_command = None, 0, {}, None
    if _started is not None:
        return
    try:
        recorded = _recorded(directory, cwd, args) if directory is not None else None
        _recorded_command = recorded[0] if recorded is not None else None
        if recorded is not None and _unchanged(recorded[1]):
            return  # what the last run read is as it was: its memo answers, go has no work
        command = _recorded_command
        if command is None and first is not None:
            command = first()
        if command is None or not _plausible(command, cwd, anywhere):
            return
        gotmp = private_subdir("gotmp-")
        popen = subprocess.Popen(
            list(command.argv),
            cwd=command.cwd,
            **spawn_options(dict(command.env), gotmp, command.cwd),
        )
    except (OSError, ValueError, TypeError, EOFError, subprocess.SubprocessError):
        return  # an unreadable record, or a go that cannot start
    _started = Started(command, popen, gotmp)
    atexit.register(release)


def running() -> bool:
    """Whether `begin` started a build (claimed or not)."""
    return _started is not None


def _recorded(
    directory: str, cwd: str, args: Sequence[str]
) -> tuple[Command | None, tuple[tuple[str, Stat], ...]] | None:
    """The command recorded under this key (None if no run with it built anything yet) and
    the inputs of the last run's results; None without a record (the first run)."""
    try:
        with open(_record_path(directory, cwd, args), "rb") as fh:
            fmt, *fields = marshal.load(fh)
    except FileNotFoundError:
        return None
    if fmt != _FORMAT:
        return None
    argv, build_cwd, env, inputs = fields
    command = None
    if argv is not None:
        command = Command(tuple(argv), str(build_cwd), tuple((str(k), str(v)) for k, v in env))
    return command, tuple((str(path), tuple(stat)) for path, stat in inputs)


def stat_of(path: str) -> Stat | None:
    """The `Stat` of a file or directory as it is now; None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _unchanged(inputs: Sequence[tuple[str, Stat]]) -> bool:
    """Whether every input (file, or directory: a file added or removed) is as it was.
    A wrong "changed" costs a build nothing uses; a wrong "unchanged" only the head start."""
    return bool(inputs) and all(stat_of(path) == stat for path, stat in inputs)


def claim(command: Command) -> Started | None:
    """The started process if it runs exactly `command` (the caller now owns it: it waits
    for its end and removes its GOTMPDIR); any other one is killed."""
    global _started
    started, _started = _started, None
    if started is not None and started.command == command:
        return started
    if started is not None:
        _end(started)
    return None


def release() -> None:
    """Kill the started process unless it was claimed (nothing will read its output)."""
    global _started
    started, _started = _started, None
    if started is not None:
        _end(started)


def note_used(command: Command) -> None:
    """A build whose output this process used: `remember` records it."""
    global _first_used, _used
    _first_used = command if _used == 0 else _first_used
    _used += 1


def note_inputs(inputs: Mapping[str, Stat]) -> None:
    """The stat of every file and directory this run's results were read from, as they were
    read (`remember` records them: a next run that finds them all unchanged is answered by the
    memo without building, so it starts no build)."""
    _inputs.update(inputs)


def remember(directory: str | None, cwd: str, args: Sequence[str]) -> None:
    """Record the go build this run used, for the next run with the same key, and what its
    results were read from: only when it used exactly one build (several module groups, or a
    baseline revision, get no head start), or none and every result came from the memo (the
    build recorded before, if any, stays the one to start)."""
    if directory is None:
        return
    if _used == 1:
        command = _first_used
    elif _used == 0 and _inputs:
        command = _recorded_command  # as `begin` read it
    else:
        return
    inside = os.path.join(os.path.realpath(command.cwd if command else cwd), "")
    if os.path.join(os.path.realpath(directory), "").startswith(inside):
        return  # never write into the user's tree
    path = _record_path(directory, cwd, args)
    inputs = tuple(sorted(_inputs.items()))
    fields = (command.argv, command.cwd, command.env) if command else (None, None, None)
    record = marshal.dumps((_FORMAT, *fields, inputs))
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(record)
        os.replace(tmp, path)


#: The flags of the builds escape-lsp's CLI runs (`gotool/build.py`, `gotool/flags.py`); none
#: of them makes go run another program (as `-toolexec`, `-exec` or `-ldflags=-extld` would),
#: but for escape-lsp's own `-toolexec` (`compile_stream.toolexec_flag`), as this install has it.
_FLAGS = ("-json", "-c", "-o")
_VALUED_FLAGS = ("-gcflags=", "-mod=", "-tags=")


def _plausible(command: Command, cwd: str, anywhere: bool = False) -> bool:
    """Whether `command` is a build escape-lsp itself would run from `cwd` (in or above it,
    unless `anywhere`)."""
    argv = command.argv
    if len(argv) < 3 or not os.path.isabs(argv[0]) or not os.path.isfile(argv[0]):
        return False
    words = argv[1:3] if argv[1] == "test" else argv[1:2]
    if words not in (("build",), ("test", "-c")) or command.env:
        return False
    args = argv[len(words) + 1 :]
    for i, arg in enumerate(args):
        if args[i - 1 : i] == ("-o",):
            if arg != os.devnull:
                return False
        elif arg.startswith("-") and not _known_flag(arg):
            return False
    here = os.path.join(os.path.realpath(cwd), "")
    return anywhere or here.startswith(os.path.join(os.path.realpath(command.cwd), ""))


def _known_flag(arg: str) -> bool:
    return arg in _FLAGS or arg.startswith(_VALUED_FLAGS) or arg == toolexec_flag()


def _record_path(directory: str, cwd: str, args: Sequence[str]) -> str:
    env = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES
    )
    key = repr((_FORMAT, os.path.realpath(cwd), tuple(args), env)).encode()
    return os.path.join(directory, blake2b(key, digest_size=20).hexdigest())


def _end(started: Started) -> None:
    """Kill the command's group and wait for its leader; its GOTMPDIR goes with the private
    temp dir (a killed compile may still write into it for a moment)."""
    kill_group(started.popen.pid)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        started.popen.communicate()
