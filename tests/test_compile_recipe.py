"""The server's compile without go (`gotool/compile_recipe.py`, `analysis/compile_recipes.py`):
a replayed compile shows exactly what go build shows for the same texts, on copies of std
packages; the engine replays only while the recipe holds (imports, files, dependencies and
flags unchanged), lets go build speak when a replay fails, and makes no recipe for a compile
that needs files go makes first."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from escape_lsp.analysis.builds import build_request
from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool.build import BuildOutput, run_build
from escape_lsp.gotool.compile_recipe import Recipe, replay, words
from escape_lsp.gotool.toolchain import find_toolchain, module_context
from tests.conftest import WriteModule

ESCAPES = """package p

import "strings"

type T struct{ n int }

func New(n int) *T { return &T{n} }

func Join(s []string) string { return strings.Join(append(s, "x"), ",") }
"""


def _std_copy(gomod: WriteModule, std: str) -> tuple[Path, str]:
    """A module holding a copy of std's `std` (no tests) as `example.com/m/<last element>`."""
    src = Path(find_toolchain().goroot) / "src" / std
    root = gomod({})
    name = std.rsplit("/", 1)[-1]
    (root / name).mkdir()
    for f in src.glob("*.go"):
        if not f.name.endswith("_test.go"):
            shutil.copy(f, root / name / f.name)
    return root, f"example.com/m/{name}"


def _engine(root: Path, settings: AnalysisSettings | None = None) -> Engine:
    toolchain = find_toolchain()
    return Engine(toolchain, module_context(toolchain, str(root)), settings or AnalysisSettings())


async def _recipe(engine: Engine, pkg: str) -> Recipe:
    """The package's recipe, made after a first build."""
    await engine.analyze([pkg])
    await asyncio.wait_for(engine.recipes.settled(), 60)
    graph = await engine.graph()
    keys = engine._recipe_keys(graph, [pkg], {}, {})
    recipe = engine.recipes.usable(pkg, keys[pkg])
    assert recipe is not None
    return recipe


class GoBuilds:
    """Counts the go builds one engine runs."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        real = engine.builds.run

        async def run(*args: Any) -> BuildOutput:
            self.count += 1
            return await real(*args)

        engine.builds.run = run  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("std", "flags"),
    [
        ("encoding/csv", ()),
        ("bufio", ()),
        ("image/png", ()),
        ("container/list", ()),
        ("encoding/csv", ("-trimpath",)),
    ],
)
async def test_a_replay_shows_what_go_build_shows(
    gomod: WriteModule, std: str, flags: tuple[str, ...]
) -> None:
    """For the files on disk, and for an unsaved text of one of them (an overlay, whose path
    the compiler must rewrite to the real one), the replayed compile's text is go build's,
    byte for byte; with go's -trimpath too (paths rewritten to import paths)."""
    root, pkg = _std_copy(gomod, std)
    engine = _engine(root, AnalysisSettings(build_flags=flags))
    try:
        recipe = await _recipe(engine, pkg)
        graph = await engine.graph()
        first = graph.packages[pkg].files[0]
        edited = Path(first).read_bytes() + b"\nfunc Escaped(n int) *int { return &n }\n"
        for contents in ({}, {first: edited}):
            with engine.overlays.lease(contents) as (overlay, path_map):
                req = build_request(engine.settings, str(root), graph, [pkg], contents, overlay)
                go = await run_build(engine.toolchain, req)
                overlaid = {real: tmp for tmp, real in path_map.items()}
                replayed = await replay(recipe, overlaid, 60)
            assert go.returncode == 0 and replayed is not None
            assert replayed.output == go.output and go.output[pkg]
            if contents:
                assert "Escaped" in replayed.output[pkg]
    finally:
        engine.close()


async def test_the_server_engine_compiles_an_edit_without_go_and_finds_what_go_finds(
    gomod: WriteModule,
) -> None:
    """Once the recipe is made, an unsaved edit and a save of the package run no go build,
    and their findings equal those of a go build of the same texts (a one-shot engine)."""
    root = gomod({"p/p.go": ESCAPES})
    pkg, path = "example.com/m/p", str(root / "p" / "p.go")
    engine = _engine(root)
    builds = GoBuilds(engine)
    try:
        await _recipe(engine, pkg)
        assert builds.count == 1
        unsaved = ESCAPES + "\nfunc More(n int) *int { return &n }\n"
        edited = (await engine.analyze([pkg], {path: unsaved.encode()}))[pkg]
        (root / "p" / "p.go").write_text(ESCAPES + "\nfunc Saved(s string) any { return s }\n")
        saved = (await engine.analyze([pkg]))[pkg]
        assert builds.count == 1
    finally:
        engine.close()
    assert await _go_findings(root, pkg, {path: unsaved.encode()}) == _shown(edited)
    assert await _go_findings(root, pkg, {}) == _shown(saved)
    assert any("More" in f for f in _shown(edited)) and any("Saved" in f for f in _shown(saved))


async def _go_findings(root: Path, pkg: str, overlays: dict[str, bytes]) -> list[str]:
    engine = _engine(root)
    engine.one_shot = True  # no recipes: go build
    try:
        return _shown((await engine.analyze([pkg], overlays))[pkg])
    finally:
        engine.close()


def _shown(result: PackageResult) -> list[str]:
    return sorted(f"{f.file}:{f.span} {f.function} {f.message} {f.flow}" for f in result.findings)


@pytest.mark.parametrize(
    "change",
    ["new import", "new file", "dependency", "bounds report"],
)
async def test_a_change_the_compile_depends_on_goes_to_go_build(
    gomod: WriteModule, change: str
) -> None:
    """A new import, a new file in the directory, a workspace dependency's change and a
    `//gcassert:bce` (which adds a compiler flag) each make go build run again, and its
    findings are right; a later edit of bodies alone replays again."""
    root = gomod({"p/p.go": ESCAPES, "q/q.go": "package q\n\nfunc Q(n int) *int { return &n }\n"})
    pkg, path = "example.com/m/p", root / "p" / "p.go"
    engine = _engine(root)
    builds = GoBuilds(engine)
    try:
        await _recipe(engine, pkg)
        if change == "new import":
            path.write_text(
                ESCAPES.replace('"strings"', '(\n\t"strconv"\n\t"strings"\n)') + _USES_STRCONV
            )
        elif change == "new file":
            (root / "p" / "extra.go").write_text("package p\n\nfunc Extra() *T { return &T{} }\n")
        elif change == "dependency":
            path.write_text(
                ESCAPES.replace('"strings"', '(\n\t"strings"\n\n\t"example.com/m/q"\n)')
                + "\nvar _ = q.Q\n"
            )
            await engine.analyze([pkg])
            await asyncio.wait_for(engine.recipes.settled(), 60)
            builds.count = 1
            (root / "q" / "q.go").write_text("package q\n\nfunc Q(n int) int { return n }\n")
        else:
            path.write_text(ESCAPES + "\n//gcassert:bce\nfunc At(s []int) int { return s[3] }\n")
        engine.invalidate_graph()
        changed = (await engine.analyze([pkg]))[pkg]
        assert builds.count == 2
        assert _shown(changed) == await _go_findings(root, pkg, {})
        await asyncio.wait_for(engine.recipes.settled(), 60)
        path.write_text(path.read_text() + "\nfunc Later(n int) *int { return &n }\n")
        later = (await engine.analyze([pkg]))[pkg]
        assert builds.count == 2 and any("Later" in f for f in _shown(later))
    finally:
        engine.close()


_USES_STRCONV = "\nfunc Itoa(n int) string { return strconv.Itoa(n) }\n"


async def test_a_failed_replay_lets_go_build_say_why_and_a_stale_recipe_goes(
    gomod: WriteModule,
) -> None:
    """An error in the code: the replay fails, go build runs and its errors are shown, and the
    recipe stays (the next good edit replays). A recipe whose import config names export data
    no longer there: go build runs, succeeds, and the recipe is dropped."""
    root = gomod({"p/p.go": ESCAPES})
    pkg, path = "example.com/m/p", root / "p" / "p.go"
    engine = _engine(root)
    builds = GoBuilds(engine)
    try:
        recipe = await _recipe(engine, pkg)
        path.write_text(ESCAPES + "\nfunc Broken() int { return undefined }\n")
        broken = (await engine.analyze([pkg]))[pkg]
        assert builds.count == 2
        assert broken.blocked is not None and "undefined" in broken.blocked.summary
        path.write_text(ESCAPES + "\nfunc Fixed(n int) *int { return &n }\n")
        fixed = (await engine.analyze([pkg]))[pkg]
        assert builds.count == 2 and fixed.blocked is None
        key, held = engine.recipes._recipes[pkg]
        gone = held.importcfg.replace("packagefile strings=", "packagefile strings=/gone")
        engine.recipes._recipes[pkg] = (key, replace(held, importcfg=gone))
        path.write_text(ESCAPES + "\nfunc Again(n int) *int { return &n }\n")
        again = (await engine.analyze([pkg]))[pkg]
        assert builds.count == 3 and again.blocked is None
        await asyncio.wait_for(engine.recipes.settled(), 60)
        anew = await _recipe(engine, pkg)
        assert anew.importcfg == recipe.importcfg and anew.files == recipe.files  # made anew
    finally:
        engine.close()


@pytest.mark.parametrize("kind", ["assembly", "embed", "cgo"])
async def test_no_recipe_for_a_compile_that_needs_files_go_makes_first(
    gomod: WriteModule, kind: str
) -> None:
    """Assembly (go makes the symbol ABI file and header), embedded files (go writes the embed
    config) and cgo (go generates the Go files): go build serves every build."""
    files = {
        "assembly": {
            "p/p.go": "package p\n\nfunc Add(a, b int) int\n\nfunc New() *int { return new(int) }\n",
            "p/add_amd64.s": "TEXT ·Add(SB),4,$0-24\n\tRET\n",
            "p/add_other.go": "//go:build !amd64\n\npackage p\n\nfunc Add(a, b int) int { return a + b }\n",
        },
        "embed": {
            "p/p.go": 'package p\n\nimport _ "embed"\n\n//go:embed data.txt\nvar data string\n\n'
            "func New() *string { s := data; return &s }\n",
            "p/data.txt": "hello\n",
        },
        "cgo": {"p/p.go": 'package p\n\nimport "C"\n\nfunc New() *int { return new(int) }\n'},
    }[kind]
    root = gomod(files)
    engine = _engine(root)
    try:
        result = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        await asyncio.wait_for(engine.recipes.settled(), 60)
        assert not engine.recipes.held_or_making("example.com/m/p")
        assert kind == "cgo" or result.blocked is None
    finally:
        engine.close()


def test_go_quoted_words_are_read_as_go_wrote_them() -> None:
    """Plain words, Go-quoted ones (spaces, `=>`, escapes JSON shares); unsure with the
    escapes it lacks."""
    line = r'/go/compile -o $WORK/b001/_pkg_.a -trimpath "/a b/x.go=>/c/x.go;$WORK/b001=>" -D "" ./p.go'
    assert words(line) == [
        "/go/compile", "-o", "$WORK/b001/_pkg_.a", "-trimpath",
        "/a b/x.go=>/c/x.go;$WORK/b001=>", "-D", "", "./p.go",
    ]  # fmt: skip
    assert words(r'-x "tab\there"') == ["-x", "tab\there"]
    assert words(r'-x "bell\a"') is None and words(r'-x "byte\xff"') is None


async def test_packages_built_together_make_no_recipe_and_a_lone_one_does(
    gomod: WriteModule,
) -> None:
    """A batch (a workspace's packages, a package and its dependents) is a go build and makes
    no recipe: a recipe serves a lone package's next build. A lone package's memo answer makes
    one, as its build does."""
    root = gomod({"p/p.go": ESCAPES, "q/q.go": "package q\n\nfunc Q(n int) *int { return &n }\n"})
    engine = _engine(root)
    try:
        await engine.analyze(["example.com/m/p", "example.com/m/q"])
        await asyncio.wait_for(engine.recipes.settled(), 60)
        assert not engine.recipes.held_or_making("example.com/m/p")
        assert not engine.recipes.held_or_making("example.com/m/q")
        result = (await engine.analyze(["example.com/m/q"]))["example.com/m/q"]
        assert result.from_memo
        await _recipe(engine, "example.com/m/q")
    finally:
        engine.close()
