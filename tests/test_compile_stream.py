"""The compiler's output read while go runs (`gotool/compile_stream.py`, its script, and the
one-shot engine's mapping of it): go gets what it would get without the script, the copy is
what go shows once made relative as go makes it, and a `check` ends with the findings it has
without streaming, wherever the copy was read."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from escape_lsp.analysis import package_results, stream_follower
from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool import build_argv
from escape_lsp.gotool.build_argv import go_build_argv
from escape_lsp.gotool.compile_stream import PREFIX, Streams, as_go_shows, toolexec_flag
from escape_lsp.gotool.toolchain import find_toolchain, module_context
from tests.conftest import WriteModule, write_tree

FLAG = toolexec_flag()
needs_shell = pytest.mark.skipif(FLAG is None, reason="no POSIX shell for -toolexec")
SCRIPT = FLAG.split(" ", 1)[1] if FLAG else ""

ESCAPES = """
package p

type T struct{ n int }

func New(n int) *T { return &T{n} }

func Keep(s []int) []int { return append(s, len(s)) }
"""


@needs_shell
@pytest.mark.parametrize(
    "body",
    [
        'echo a\necho b >&2\necho "c  d"',
        "echo line\nexit 3",
        "echo line\necho err >&2\nkill -9 $$",
        "kill -15 $$",
        ":",
    ],
)
def test_the_script_gives_go_what_the_compiler_gives_and_copies_it(
    tmp_path: Path, body: str
) -> None:
    """Output (stdout and stderr as go reads them: one buffer), exit status and the signal
    that killed the compiler are the compiler's own; the copy is that output after the
    package's line. No shell message (a "Killed") is added anywhere."""
    compile_ = tmp_path / "compile"
    compile_.write_text(f"#!/bin/sh\n{body}\n")
    compile_.chmod(0o755)
    gotmp = tmp_path / "gotmp"
    gotmp.mkdir()
    env = {**os.environ, "GOTMPDIR": str(gotmp), "TOOLEXEC_IMPORTPATH": "example.com/m/p"}

    def run(*argv: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=30
        )

    direct = run(str(compile_), "-m=2", "x.go")
    wrapped = run("/bin/sh", SCRIPT, str(compile_), "-m=2", "x.go")
    assert (wrapped.returncode, wrapped.stdout) == (direct.returncode, direct.stdout)
    (copy,) = gotmp.iterdir()
    assert copy.name.startswith(PREFIX)
    assert copy.read_bytes() == b"example.com/m/p\n" + direct.stdout


@needs_shell
def test_other_tools_and_compiles_without_m2_are_not_copied(tmp_path: Path) -> None:
    gotmp = tmp_path / "gotmp"
    gotmp.mkdir()
    env = {**os.environ, "GOTMPDIR": str(gotmp)}
    for name, args in (("compile", ["-p", "x"]), ("asm", ["-m=2"])):
        tool = tmp_path / name
        tool.write_text("#!/bin/sh\necho out\n")
        tool.chmod(0o755)
        proc = subprocess.run(
            ["/bin/sh", SCRIPT, str(tool), *args], capture_output=True, env=env, timeout=30
        )
        assert (proc.returncode, proc.stdout) == (0, b"out\n")
    assert list(gotmp.iterdir()) == []


def _shown(stdout: str) -> dict[str, str]:
    """go build -json's output events, joined per package."""
    shown: dict[str, str] = {}
    for line in stdout.splitlines():
        event = json.loads(line)
        if event.get("Action") == "build-output":
            path = event["ImportPath"]
            shown[path] = shown.get(path, "") + event["Output"]
    return shown


@needs_shell
@pytest.mark.parametrize("where", [".", "p", "p/inner", ".."])
def test_the_copy_made_relative_is_what_go_shows(tmp_path: Path, where: str) -> None:
    """From the module root, a package's directory, a directory below it and a go.work
    workspace above the module, go shortens the paths in what it shows differently;
    `as_go_shows` of each copy is exactly go's text for that package."""
    write_tree(
        tmp_path,
        {
            "go.work": "go 1.24\n\nuse ./sub\n",
            "sub/go.mod": "module example.com/m\n\ngo 1.24\n",
            "sub/p/p.go": ESCAPES,
            "sub/p/inner/i.go": ESCAPES.replace("package p", "package inner"),
            "sub/q/q.go": ESCAPES.replace("package p", "package q"),
        },
    )
    module = tmp_path.resolve() / "sub"
    cwd = (module / where).resolve()
    gotmp = tmp_path / "gotmp"
    gotmp.mkdir()
    pkgs = ["example.com/m/p", "example.com/m/p/inner", "example.com/m/q"]
    argv = go_build_argv("go", pkgs, str(cwd), stream=True)
    assert FLAG in argv
    env = {**os.environ, "GOTMPDIR": str(gotmp), "PWD": str(cwd), "GOFLAGS": ""}
    env.pop("GOWORK", None)
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = _shown(proc.stdout)
    copies = Streams(str(gotmp))
    dirs = {"example.com/m/p": "p", "example.com/m/p/inner": "p/inner", "example.com/m/q": "q"}
    made = {}
    for path in copies.sizes():
        got = copies.read(path)
        assert got is not None
        package, text = got
        made[package] = as_go_shows(text, package, str(module / dirs[package]), str(cwd))
    assert made == shown and set(made) == set(pkgs)


async def test_follow_hands_over_each_copy_once_it_rests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy is handed over once it has stayed one size for `QUIET`, whole lines only, and
    again after it grows and rests again; a copy that does not grow is not handed over twice."""
    monkeypatch.setattr(stream_follower, "QUIET", 0.05)
    monkeypatch.setattr(stream_follower, "POLL", 0.01)
    seen: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    copy = tmp_path / f"{PREFIX}1"
    copy.write_text("example.com/m/p\na.go:1:1: one\na.go:2:1: tw")
    task = asyncio.ensure_future(
        stream_follower.follow(Streams(str(tmp_path)), lambda p, t: seen.put_nowait((p, t)))
    )
    try:
        first = await asyncio.wait_for(seen.get(), 10)
        assert first == ("example.com/m/p", "a.go:1:1: one\n")
        with copy.open("a") as fh:
            fh.write("o\n")
        second = await asyncio.wait_for(seen.get(), 10)
        assert second == ("example.com/m/p", "a.go:1:1: one\na.go:2:1: two\n")
        with copy.open("a") as fh:  # a third size: handed over once more, then no more
            fh.write("a.go:3:1: three\n")
        third = await asyncio.wait_for(seen.get(), 10)
        assert third[1].endswith("three\n")
        # another copy, handed over after the first has rested many times over
        (tmp_path / f"{PREFIX}2").write_text("example.com/m/q\nb.go:1:1: x\n")
        fourth = await asyncio.wait_for(seen.get(), 10)
        assert fourth == ("example.com/m/q", "b.go:1:1: x\n") and seen.empty()
    finally:
        task.cancel()


def _flate_copy(gomod: WriteModule) -> Path:
    """A module holding a copy of std's compress/flate (~0.5 s to compile, with verdicts the
    backend prints last: elided bounds checks)."""
    src = Path(find_toolchain().goroot) / "src" / "compress" / "flate"
    root = gomod({})
    (root / "flate").mkdir()
    for f in src.glob("*.go"):
        if not f.name.endswith("_test.go"):
            shutil.copy(f, root / "flate" / f.name)
    return root


async def _one_shot(root: Path, pkg: str) -> PackageResult:
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
    engine.one_shot = True  # as `check` has it: the compiler's output streamed
    try:
        return (await engine.analyze([pkg]))[pkg]
    finally:
        engine.close()


@needs_shell
async def test_a_check_mapping_the_copy_at_any_moment_ends_with_the_same_findings(
    gomod: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the copy read whenever it rests for a moment (mid-output too: files whose part
    grows later are mapped again in the end), the findings equal those of a build whose output
    is mapped only once go is done; and some files' findings were taken from the early
    mapping."""
    root = _flate_copy(gomod)
    pkg = "example.com/m/flate"
    early: list[int] = []
    taken: list[int] = []
    real_premap, real_compiled = package_results.premap, package_results.map_on_two_cores

    def premap(*args: object) -> None:
        real_premap(*args)  # type: ignore[arg-type]
        into = args[-1]
        assert isinstance(into, package_results.Premapped)
        early.append(len(into.files))

    def mapped_at_end(items, *args):  # type: ignore[no-untyped-def]
        taken.append(len(items))
        return real_compiled(items, *args)

    monkeypatch.setattr(stream_follower, "QUIET", 0.0)
    monkeypatch.setattr(stream_follower, "POLL", 0.002)
    monkeypatch.setattr(package_results, "premap", premap)
    monkeypatch.setattr(package_results, "map_on_two_cores", mapped_at_end)
    # a text go has not compiled yet (its build cache would answer without a compile)
    (root / "flate" / "zz.go").write_text(f"package flate\n\n// {time.time_ns()}\n")
    streamed = await _one_shot(root, pkg)
    assert early and max(early) > 0, "the copy was never mapped while go ran"
    files = {f.file for f in streamed.findings}
    assert taken and taken[-1] < len(files), "no file's findings came from the early mapping"
    with monkeypatch.context() as m:  # the same output, mapped only once go is done
        m.setattr(build_argv, "toolexec_flag", lambda: None)
        early.clear()
        plain = await _one_shot(root, pkg)
        assert not early
    assert streamed.findings == plain.findings
    assert streamed.blocked is None and len(plain.findings) > 300


@needs_shell
@pytest.mark.parametrize("where", ["flags", "GOFLAGS", "go env -w"])
def test_a_users_own_toolexec_is_kept_and_nothing_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    mine = "-toolexec=/usr/bin/time"
    env_file = tmp_path / "goenv"
    env_file.write_text(f"GOFLAGS={mine}\n" if where == "go env -w" else "GOFLAGS=-v\n")
    monkeypatch.setenv("GOENV", str(env_file))
    monkeypatch.setenv("GOFLAGS", mine if where == "GOFLAGS" else "")
    flags = [mine] if where == "flags" else []
    argv = go_build_argv("go", ["example.com/m/p"], str(tmp_path), build_flags=flags, stream=True)
    assert FLAG not in argv
    monkeypatch.setenv("GOFLAGS", "")
    env_file.write_text("GOFLAGS=-v\n")
    assert FLAG in go_build_argv("go", ["example.com/m/p"], str(tmp_path), stream=True)
