"""Generated code (attrs', cattrs', dataclasses', typing's) kept between server processes
(lsp/codegen_cache.py).

The real libraries in fresh interpreters: a second process importing lsprotocol and making a
dataclass compiles (almost) nothing, and what it builds behaves as the first process's did.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from escape_lsp.lsp.codegen_cache import CLI, CodegenCache, cache_path, read
from escape_lsp.lsp.resident import install
from escape_lsp.lsp.resident.install import RuntimeDirError, kept_state_dir, state_dir
from tests.conftest import WriteModule
from tests.fakego import RawServer

#: A fresh interpreter: the cache installed, lsprotocol and a dataclass made and used, the
#: cache saved.
_SCRIPT = """
import json, sys
from escape_lsp.lsp import codegen_cache
cache = codegen_cache.install(sys.argv[1])
from lsprotocol import types as lsp
from pygls.protocol import default_converter
converter = default_converter()
diagnostic = lsp.Diagnostic(lsp.Range(lsp.Position(1, 2), lsp.Position(1, 5)), "moved to heap: x")
wire = converter.unstructure(diagnostic)
back = converter.structure(wire, lsp.Diagnostic)
import dataclasses, typing
@dataclasses.dataclass(frozen=True)
class Spot:
    line: "int"
    col: int = 0
hints = typing.get_type_hints(Spot)
cache.save()
print(json.dumps({"hits": cache.hits, "misses": cache.misses, "wire": wire,
                  "spot": [repr(Spot(1)), Spot(1) == Spot(1, 0), hash(Spot(2)) == hash(Spot(2)),
                           sorted(k + ":" + v.__name__ for k, v in hints.items())],
                  "same": back == diagnostic, "repr": repr(diagnostic)}))
"""


def _run(directory: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_second_process_compiles_almost_nothing_and_builds_the_same_classes(
    tmp_path: Path,
) -> None:
    first = _run(tmp_path)
    # lsprotocol's ~1,000 classes, the dataclass, the annotations (its hits: cattrs making a
    # hook again, typing reading the same annotation again, in the same process)
    assert int(first["misses"]) > 500
    kept = Path(cache_path(str(tmp_path)))
    assert kept.stat().st_mode & 0o777 == 0o600

    second = _run(tmp_path)
    # attrs salts a frozen class's generated __hash__ with a per-process string hash: those
    # few scripts differ in every process.
    assert int(second["misses"]) <= 5
    assert int(second["hits"]) >= int(first["misses"]) - 5
    for result in (first, second):
        assert result["same"] is True
    assert second["wire"] == first["wire"]
    assert (
        second["spot"]
        == first["spot"]
        == ["Spot(line=1, col=0)", True, True, ["col:int", "line:int"]]
    )
    assert second["repr"] == first["repr"]
    assert str(first["repr"]).startswith("Diagnostic(range=1:2-1:5, message='moved to heap: x'")


def _calls_without_futures(cache: CodegenCache, source: str) -> object:
    """`cache.compile(source)` called from code compiled with no `from __future__` flags."""
    caller = compile("code = c(source, '<t>', 'exec')", "<caller>", "exec", dont_inherit=True)
    space: dict[str, object] = {"c": cache.compile, "source": source}
    exec(caller, space)
    return space["code"]


def test_the_callers_future_flags_are_part_of_the_compile(tmp_path: Path) -> None:
    """attrs and cattrs compile under `from __future__ import annotations`, as this module
    does: an annotation naming nothing is fine there and a NameError without it."""
    cache = CodegenCache(str(tmp_path / "c"), {})
    source = "def f(x: Undefined) -> None: pass\n"
    for _ in range(2):  # compiled anew, then answered from the cache
        exec(cache.compile(source, "<t>", "exec"), {})
        with pytest.raises(NameError):
            exec(_calls_without_futures(cache, source), {})  # type: ignore[arg-type]
    assert (cache.misses, cache.hits, len(cache.used)) == (2, 2, 2)


def test_exec_compiles_with_the_callers_future_flags_and_namespaces(tmp_path: Path) -> None:
    """dataclasses' `exec` of its generated methods, as the builtin does it."""
    cache = CodegenCache(str(tmp_path / "c"), {})
    source = "def f(x: Undefined) -> None: pass\n"
    for _ in range(2):
        space: dict[str, object] = {}
        cache.exec(source, space)
        assert callable(space["f"])
        caller = compile("e(source, {})", "<caller>", "exec", dont_inherit=True)
        with pytest.raises(NameError):
            exec(caller, {"e": cache.exec, "source": source})
    assert (cache.misses, cache.hits) == (2, 2)
    caller_globals: dict[str, object] = {"e": cache.exec}  # no namespaces given: the caller's
    exec(compile("e('y = 7')", "<caller>", "exec"), caller_globals)
    assert caller_globals["y"] == 7


def test_what_was_compiled_anew_is_written_only_when_it_took_long_enough(tmp_path: Path) -> None:
    path = tmp_path / "c"
    cache = CodegenCache(str(path), {})
    cache.compile("x = 1\n", "<t>", "exec")
    cache.save()
    assert not path.exists()  # a fraction of a millisecond: not worth a write
    cache.save(worth=0)
    assert path.exists()


def good_flags() -> int:
    """The flags this module's compile calls carry: its `from __future__ import annotations`."""
    return __import__("__future__").annotations.compiler_flag


@pytest.mark.parametrize("damage", ["garbage", "not-a-table", "open-to-others", "symlink"])
def test_a_file_not_as_written_is_ignored_and_written_again(tmp_path: Path, damage: str) -> None:
    path = Path(cache_path(str(tmp_path)))
    good = CodegenCache(str(path), {})
    good.compile("y = 2\n", "<t>", "exec")
    good.save(worth=0)
    assert list(read(str(path))) == [("y = 2\n", "<t>", "exec", good_flags(), -1)]
    if damage == "garbage":
        path.write_bytes(b"\x00not marshal")
    elif damage == "not-a-table":
        path.write_bytes(__import__("marshal").dumps([1, 2]))
    elif damage == "open-to-others":
        os.chmod(path, 0o666)
    else:
        target = tmp_path / "elsewhere"
        path.rename(target)
        path.symlink_to(target)
    assert read(str(path)) == {}
    again = CodegenCache(str(path), {})
    again.compile("y = 2\n", "<t>", "exec")
    again.save(worth=0)
    assert not path.is_symlink() and path.stat().st_mode & 0o777 == 0o600


async def test_an_in_process_server_keeps_the_code_its_imports_generated(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": "package p\n\nfunc F() *int { x := 1; return &x }\n"})
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    env = {"ESCAPE_LSP_STATE_DIR": str(state), "ESCAPE_LSP_CACHE": str(tmp_path / "memo")}
    env |= {"ESCAPE_LSP_RESIDENT": "off", "ESCAPE_LSP_FIRST_PUBLISH": "on"}
    srv = await RawServer.start(env=env)
    await srv.initialize(root)
    srv.open(root / "p" / "p.go")
    assert await srv.diagnostics(root / "p" / "p.go", lambda d: len(d) > 0)
    assert await srv.stop() == 0
    assert len(read(cache_path(str(state)))) > 500
    # The first publish (before the server is imported) keeps the analysis' code in the CLI's.
    assert read(cache_path(str(state), CLI))


def test_what_is_not_code_is_compiled_every_time_and_never_kept(tmp_path: Path) -> None:
    cache = CodegenCache(str(tmp_path / "c"), {})
    tree = cache.compile("z = 3\n", "<t>", "exec", ast.PyCF_ONLY_AST)
    assert isinstance(tree, ast.Module) and cache.used == {}
    cache.compile("z = 3\n", "<t>", "exec")
    cache.save(worth=0)
    assert [key[0] for key in read(cache.path)] == ["z = 3\n"]


_CLI_SCRIPT = """
import json, sys
from escape_lsp.lsp import codegen_cache
cache = codegen_cache.install(sys.argv[1], codegen_cache.CLI)
import escape_lsp.analysis.check, escape_lsp.report.sarif
cache.save(0)
print(json.dumps({"hits": cache.hits, "misses": cache.misses,
                  "attrs": "attr" in sys.modules}))
"""


def test_the_cli_keeps_its_dataclasses_code_in_a_file_of_its_own(tmp_path: Path) -> None:
    """`check`'s imports (no attrs) keep the methods dataclasses writes for the analysis'
    classes: a second process compiles none of them, and the server's file is untouched."""

    def run() -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", _CLI_SCRIPT, str(tmp_path)],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        result: dict[str, object] = json.loads(done.stdout)
        return result

    first = run()
    assert int(first["misses"]) > 40 and first["attrs"] is False
    second = run()
    assert int(second["misses"]) == 0 and int(second["hits"]) >= int(first["misses"])
    assert Path(cache_path(str(tmp_path), "cli")).is_file()
    assert not Path(cache_path(str(tmp_path))).exists()


def test_kept_state_lives_in_a_private_dir_under_xdg_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept code and head start records live under $XDG_STATE_HOME (which a reboot keeps, not
    the runtime dir), in a dir made 0700; one open to others is refused, and nothing is kept."""
    monkeypatch.delenv("ESCAPE_LSP_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg" / "state"))
    monkeypatch.setenv("ESCAPE_LSP_CACHE", str(tmp_path / "memo"))
    chosen = tmp_path / "xdg" / "state" / "escape-lsp"
    assert kept_state_dir() == str(chosen)
    assert chosen.stat().st_mode & 0o777 == 0o700
    chosen.chmod(0o755)
    with pytest.raises(RuntimeDirError, match="open to others"):
        state_dir()
    assert kept_state_dir() is None
    monkeypatch.setenv("ESCAPE_LSP_CACHE", "off")
    chosen.chmod(0o700)
    assert kept_state_dir() is None


def test_a_state_dir_setting_that_cannot_be_used_is_said_and_nothing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESCAPE_LSP_CACHE", str(tmp_path / "memo"))
    monkeypatch.setattr(install, "_warned", [])
    monkeypatch.setenv("ESCAPE_LSP_STATE_DIR", "relative/state")
    assert kept_state_dir() is None and kept_state_dir() is None
    said = capsys.readouterr().err
    assert said.count("ESCAPE_LSP_STATE_DIR=relative/state is not an absolute path") == 1
    monkeypatch.setattr(install, "_warned", [])
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("ESCAPE_LSP_STATE_DIR", str(tmp_path / "file"))
    assert kept_state_dir() is None
    assert "is not a directory" in capsys.readouterr().err
