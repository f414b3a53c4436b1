"""The CLI's head start (gotool/head_start.py): a `check` run again with the same arguments
starts the go build the last one used before anything else (a first run: the build
gotool/first_build.py works out from the files), takes it over when it computes the same
command, and kills it otherwise. Runs the real CLI with a go that logs each command."""

from __future__ import annotations

import marshal
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from escape_lsp.gotool.build_command import BuildRequest, build_command
from escape_lsp.gotool.first_build import first_build
from escape_lsp.gotool.head_start import Command, Started
from escape_lsp.gotool.process import GoTimeout, adopt
from tests.conftest import WriteModule, live_processes_in_group

CLI = [sys.executable, "-m", "escape_lsp", "check"]
ESCAPES = "package p\n\nfunc A() *int { x := 1; return &x }\n"


@pytest.fixture
def logged_go(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A go that appends `<pid> <subcommand>` to a log, then is the real go (same pid, its own
    process group as every go escape-lsp runs). While a file `slow` lies beside the log, the
    next command first sleeps a minute (and removes it): only a kill ends it sooner."""
    directory = tmp_path_factory.mktemp("logged-go")
    log, slow = directory / "log", directory / "slow"
    go = directory / "go"
    go.write_text(
        f'#!/bin/sh\necho "$$ $1" >> {log}\n'
        f"if [ -f {slow} ]; then rm {slow}; sleep 60; fi\n"
        f'exec {shutil.which("go")} "$@"\n'
    )
    go.chmod(0o755)
    return go, log


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An on-disk memo outside the module (on: the head start needs it), and a private
    state dir, where the head start's records live."""
    directory = tmp_path_factory.mktemp("memo-cache")
    monkeypatch.setenv("ESCAPE_LSP_CACHE", str(directory))
    state = tmp_path_factory.mktemp("state")
    state.chmod(0o700)
    monkeypatch.setenv("ESCAPE_LSP_STATE_DIR", str(state))
    return state


def _check(
    root: Path, go: Path, log: Path, pattern: str, slow: bool = False
) -> tuple[str, list[tuple[int, str]]]:
    """One CLI run: its output, and the go commands it ran (pid, subcommand), in order.
    `slow`: its first go command sleeps a minute unless killed, and the run must not wait."""
    log.write_text("")
    if slow:
        (log.parent / "slow").write_text("")
    start = time.monotonic()
    proc = subprocess.run(
        [*CLI, "--go", str(go), pattern], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < 30, "the run waited for a go command nobody needed"
    commands = [
        (int(pid), cmd)
        for pid, cmd in (line.split() for line in log.read_text().split("\n") if line)
    ]
    return proc.stdout, commands


def _builds(commands: list[tuple[int, str]]) -> list[int]:
    return [pid for pid, cmd in commands if cmd == "build"]


@pytest.mark.parametrize("pattern", ["./p", "p", "example.com/m/p"])
def test_a_run_again_starts_its_build_first_and_compiles_the_edited_files(
    gomod: WriteModule, cache: Path, logged_go: tuple[Path, Path], pattern: str
) -> None:
    go, log = logged_go
    root = gomod({"p/a.go": ESCAPES})
    # A first run starts the build it works out from the files (one package, by its directory
    # or import path), and takes it over: the only build, and before go env and go list.
    first, commands = _check(root, go, log, pattern)
    assert commands[0][1] == "build" and len(_builds(commands)) == 1, commands
    assert "moved to heap: x" in first
    assert not live_processes_in_group(commands[0][0])
    # go reads the sources itself: an edit since the last run is what the head start compiles
    (root / "p" / "a.go").write_text(ESCAPES + "\nfunc B() *int { y := 2; return &y }\n")
    second, commands = _check(root, go, log, pattern)
    assert commands[0][1] == "build" and len(_builds(commands)) == 1, commands
    assert "moved to heap: x" in second and "moved to heap: y" in second
    assert not live_processes_in_group(commands[0][0])


def test_nothing_changed_starts_no_build_and_nothing_to_build_kills_the_head_start(
    gomod: WriteModule, cache: Path, logged_go: tuple[Path, Path]
) -> None:
    """Run again with every file (and directory, and go) as the last run read it, the memo
    answers: no build is started at all. A file touched (new mtime, same bytes) starts the
    head start, which the memo's answer then kills."""
    go, log = logged_go
    root = gomod({"p/a.go": ESCAPES})
    first, _ = _check(root, go, log, "./p")
    again, commands = _check(root, go, log, "./p")
    assert again == first
    assert commands and not _builds(commands), commands
    path = root / "p" / "a.go"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    again, commands = _check(root, go, log, "./p", slow=True)  # the memo answers: no build
    assert again == first
    assert commands[0][1] == "build" and len(_builds(commands)) == 1, commands
    assert not live_processes_in_group(commands[0][0])


def test_a_head_start_with_another_command_is_killed(
    gomod: WriteModule, cache: Path, logged_go: tuple[Path, Path]
) -> None:
    go, log = logged_go
    root = gomod({"p/a.go": ESCAPES})
    _check(root, go, log, "./...")
    # A new package: the same arguments now mean a build of two packages, not one.
    (root / "q").mkdir()
    (root / "q" / "b.go").write_text(ESCAPES.replace("package p", "package q"))
    out, commands = _check(root, go, log, "./...", slow=True)
    early, real = _builds(commands)
    assert commands[0] == (early, "build"), commands
    assert "p/a.go" in out and "q/b.go" in out
    assert not live_processes_in_group(early) and not live_processes_in_group(real)


@pytest.mark.parametrize(
    "argv",
    [
        ["/bin/sh", "-c", "touch {mark}"],
        ["{go}", "build", "-toolexec=touch {mark}", "./p"],
        ["{go}", "build", "-o", "{mark}", "./p"],
        ["{go}", "vet", "./p"],
    ],
)
def test_a_record_is_run_only_when_it_is_a_build_the_cli_runs(
    gomod: WriteModule, cache: Path, logged_go: tuple[Path, Path], argv: list[str]
) -> None:
    """A record that is not the go build escape-lsp would run (another program, a flag that
    runs one or writes a file, another go command) starts nothing."""
    go, log = logged_go
    root = gomod({"p/a.go": ESCAPES})
    _check(root, go, log, "./p")
    (record,) = (cache / "head-start").iterdir()
    mark = root.parent / "mark"
    command = [arg.format(mark=mark, go=go) for arg in argv]
    record.write_bytes(marshal.dumps((2, tuple(command), str(root), (), ())))
    out, commands = _check(root, go, log, "./p")
    assert commands[0][1] == "env" and not mark.exists(), commands
    assert "moved to heap: x" in out


def test_without_the_on_disk_memo_nothing_is_recorded(
    gomod: WriteModule, cache: Path, logged_go: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every run is a first run: no record is read or written, only the files' guess starts
    a build (`./...` has none: go env comes first)."""
    go, log = logged_go
    monkeypatch.setenv("ESCAPE_LSP_CACHE", "off")
    root = gomod({"p/a.go": ESCAPES})
    for _ in range(2):
        _, commands = _check(root, go, log, "./p")
        assert commands[0][1] == "build" and len(_builds(commands)) == 1, commands
        _, commands = _check(root, go, log, "./...")
        assert commands[0][1] == "env", commands
    assert not (cache / "head-start").exists()


def test_a_first_run_guess_go_list_disagrees_with_is_killed(
    gomod: WriteModule, cache: Path, logged_go: tuple[Path, Path]
) -> None:
    """A `//gcassert:bce` file adds the bounds-check report to the package's flags, which the
    files' guess does not know: the guessed build (asleep until killed) is not the one used."""
    go, log = logged_go
    bce = "package p\n\nfunc F(s []int) int {\n\tif len(s) == 0 {\n\t\treturn 0\n\t}\n"
    bce += "\t//gcassert:bce\n\treturn s[0]\n}\n"
    root = gomod({"p/a.go": ESCAPES, "p/b.go": bce})
    out, commands = _check(root, go, log, "./p", slow=True)
    early, real = _builds(commands)
    assert commands[0] == (early, "build"), commands
    assert "moved to heap: x" in out
    assert not live_processes_in_group(early) and not live_processes_in_group(real)


@pytest.mark.parametrize(
    ("files", "args"),
    [
        ({"go.work": "go 1.24\n\nuse .\n"}, ["./p"]),  # a workspace: go says where it runs
        ({}, ["--tests", "./p"]),  # options that change the build
        ({}, ["--kinds=bounds", "./p"]),
        ({}, ["./p", "./q"]),  # more than one pattern
        ({"p/testdata/t.go": ESCAPES}, ["./p/testdata"]),  # no workspace package there
    ],
)
def test_no_first_run_guess_where_the_files_cannot_tell(
    gomod: WriteModule,
    cache: Path,
    logged_go: tuple[Path, Path],
    files: dict[str, str],
    args: list[str],
) -> None:
    go, log = logged_go
    root = gomod({"p/a.go": ESCAPES, "q/b.go": ESCAPES.replace("package p", "package q"), **files})
    log.write_text("")
    subprocess.run([*CLI, "--go", str(go), *args], cwd=root, capture_output=True, timeout=120)
    first = log.read_text().split("\n")[0].split()
    assert first[1:] == ["env"], log.read_text()  # go env first: nothing was started early


@pytest.mark.parametrize(
    ("gomod_text", "cwd", "pattern", "package"),
    [
        ("module example.com/m\n", ".", "./p/q", "example.com/m/p/q"),
        ("module example.com/m\n", "p", ".", "example.com/m/p"),
        ("module example.com/m\n", "p", "..", "example.com/m"),
        (
            '// a comment\nmodule "example.com/quoted" // and another\n',
            ".",
            "./p",
            "example.com/quoted/p",
        ),
        ("module example.com/m\n", "p/q", "example.com/m/p", "example.com/m/p"),
        ("module example.com/m\n", ".", "example.com/other/p", None),
        ("module example.com/m\n", ".", "./p/...", None),
        ("module example.com/m\n", ".", "./empty", None),
        ("module example.com/m\n", ".", "./_hidden", None),
        ("go 1.24\n", ".", "./p", None),  # no module directive
    ],
)
def test_the_first_build_is_the_one_command_the_engine_would_run(
    tmp_path: Path, gomod_text: str, cwd: str, pattern: str, package: str | None
) -> None:
    """`first_build`, against `build_command` for the package go would list (None: no guess)."""
    (tmp_path / "go.mod").write_text(gomod_text)
    for d in ("p", "p/q", "_hidden"):
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
        (tmp_path / d / "a.go").write_text("package x\n")
    (tmp_path / "a.go").write_text("package m\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a_test.go").write_text("package x\n")
    root = str(tmp_path.absolute())
    guessed = first_build(str(tmp_path / cwd), pattern)
    expected = build_command(shutil.which("go") or "", BuildRequest((package,), root))
    assert guessed == (expected if package else None)


async def test_a_taken_over_command_past_its_time_is_killed(tmp_path: Path) -> None:
    """`process.adopt` keeps `run`'s promise: past the timeout the command's group is killed,
    its leader reaped and its GOTMPDIR removed before GoTimeout is raised; also when its pipes
    closed before it ended."""
    gotmp = tmp_path / "gotmp"
    gotmp.mkdir()
    argv = ("sh", "-c", "exec >&- 2>&-; sleep 60")
    popen = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    started = Started(Command(argv, str(tmp_path)), popen, str(gotmp))
    begun = time.monotonic()
    with pytest.raises(GoTimeout):
        await adopt(started, 0.5)
    assert time.monotonic() - begun < 10
    assert popen.returncode is not None and not live_processes_in_group(popen.pid)
    assert not gotmp.exists()


LIGHT_SCRIPT = r"""
import json, subprocess, sys
seen = []
popen = subprocess.Popen.__init__
def noted(self, *args, **kwargs):
    if not seen:
        seen.append(sorted(m for m in ("asyncio", "dataclasses", "_hashlib") if m in sys.modules))
    popen(self, *args, **kwargs)
subprocess.Popen.__init__ = noted
from escape_lsp import cli
try:
    cli.main(["check", *sys.argv[1:]])
finally:
    print(json.dumps(seen))
"""


@pytest.mark.parametrize("runs", [1, 2])
def test_go_starts_before_the_heavy_imports(
    gomod: WriteModule, cache: Path, logged_go: tuple[Path, Path], runs: int
) -> None:
    """Each import before the head start delays go's start (asyncio, dataclasses and OpenSSL
    together ~15 ms): none of them is loaded when go starts, in a first run (the build worked
    out from the files) or a run again (the recorded build)."""
    go, log = logged_go
    root = gomod({"p/a.go": ESCAPES})
    for run in range(runs):
        if run:  # an edit: the recorded build starts (an unchanged run would need none)
            (root / "p" / "a.go").write_text(ESCAPES + "\n// edited\n")
        log.write_text("")
        proc = subprocess.run(
            [sys.executable, "-c", LIGHT_SCRIPT, "--go", str(go), "./p"],
            cwd=root, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert log.read_text().split("\n")[0].split()[1] == "build"  # the head start's, first
    assert proc.stdout.strip().splitlines()[-1] == "[[]]"
