"""Which packages the server may compile without go, and getting each one's recipe
(`gotool/compile_recipe.py`).

A recipe holds while nothing it was made from has changed: the go version, the settings and
the module files (`memo_keys.key_base`), the package as go listed it, its workspace
dependencies' memo keys (their export data), what go reads of each of its files to list them
(`file_header.listing_part`: package clause, imports, build constraints, embed lines), the
names in its directory (a new .s, .c or .go file changes the compile) and whether it asks for
the bounds-check report. Only its files' bodies may differ: that is what a replay compiles.

Recipes are made after a lone package's go build or memo answer, in the background, once per
such state; the CLI (one build per process) and test builds (`go test -c`) make none.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping

from escape_lsp.analysis.builds import asserts_bce, build_request
from escape_lsp.analysis.hashing import digest, read_contents
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool import process
from escape_lsp.gotool.build import OverlayStore, split_json
from escape_lsp.gotool.build_command import build_argv
from escape_lsp.gotool.compile_recipe import Recipe, parse_plan, plan_argv
from escape_lsp.gotool.file_header import listing_part
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.process import ProcessResult, run_in_thread
from escape_lsp.gotool.toolchain import Toolchain, env_json

#: `go build -n` and `go env` of one package: well under a second unless the machine stalls.
PLAN_TIMEOUT = 60.0
#: Seconds between a build (or memo answer) and its package's plan.
PLAN_DELAY = 0.25


def recipe_key(
    base: str,
    graph: PackageGraph,
    name: str,
    contents: Mapping[str, bytes],
    keys: Mapping[str, str],
) -> str | None:
    """What a recipe of `name` depends on, as it is now (see the module's docstring); None
    when a file cannot be read."""
    pkg = graph.packages[name]
    texts: dict[str, bytes] = {}
    for path in pkg.files:
        data = read_contents(path, contents)
        if data is None:
            return None
        texts[path] = data
    try:
        names = sorted(os.listdir(pkg.dir))
    except OSError:
        return None
    deps = sorted((d, keys[d]) for d in pkg.imports if d in keys and d != name)
    parts = [digest(listing_part(data)) for data in texts.values()]
    bce = asserts_bce(graph, name, texts, False)  # the texts just read, not read again
    return digest(repr((base, name, pkg, deps, parts, names, bce)).encode())


class RecipeBook:
    """The recipes of one engine, by package, each under the key it holds for."""

    def __init__(self, toolchain: Toolchain, overlays: OverlayStore) -> None:
        self.toolchain = toolchain
        self.overlays = overlays
        self._recipes: dict[str, tuple[str, Recipe]] = {}
        self._making: dict[str, tuple[str, asyncio.Task[None]]] = {}

    def usable(self, name: str, key: str | None) -> Recipe | None:
        held = self._recipes.get(name)
        return held[1] if held is not None and key is not None and held[0] == key else None

    def held_or_making(self, name: str) -> bool:
        """Whether the package has a recipe, or one is being made, for whatever key."""
        making = self._making.get(name)
        return name in self._recipes or (making is not None and not making[1].done())

    def forget(self, name: str) -> None:
        """Drop the package's recipe (its replay failed where go build did not)."""
        self._recipes.pop(name, None)

    def make(
        self,
        settings: AnalysisSettings,
        root: str,
        graph: PackageGraph,
        name: str,
        contents: Mapping[str, bytes],
        key: str | None,
    ) -> None:
        """Start making the package's recipe for `key`, unless it is held or being made, or
        the package cannot have one (cgo: go makes files before compiling)."""
        pkg = graph.packages.get(name)
        if key is None or pkg is None or pkg.cgo or not pkg.files or settings.tests:
            return
        if self.usable(name, key) is not None:
            return
        making = self._making.get(name)
        if making is not None and not making[1].done():
            if making[0] == key:
                return
            making[1].cancel()  # made for texts that are gone
        planned = _planned(pkg.files, contents)  # the texts `key` is of, read now
        if planned is None:
            return

        async def made() -> None:
            # After what the build it follows is for: the server publishes its diagnostics
            # first (a plan's go beside them on two cores slowed a first spawn's).
            await asyncio.sleep(PLAN_DELAY)
            with contextlib.suppress(Exception):  # no recipe: go build serves, as before
                recipe = await self._plan(settings, root, graph, name, planned)
                if recipe is not None:
                    self._recipes[name] = (key, recipe)

        task = asyncio.ensure_future(made())
        process.expect(task)  # the status is not idle until it is done
        self._making[name] = (key, task)

    async def _plan(
        self,
        settings: AnalysisSettings,
        root: str,
        graph: PackageGraph,
        name: str,
        planned: dict[str, bytes],
    ) -> Recipe | None:
        pkg = graph.packages[name]
        env = dict(settings.env)
        with self.overlays.lease(planned) as (overlay, path_map):
            req = build_request(settings, root, graph, [name], planned, overlay)
            go = self.toolchain.go
            plan = await _run(plan_argv(build_argv(go, req)), root, env)
        if plan.returncode != 0:
            return None
        texts, _, _ = split_json(plan.stdout, {name})
        go_env = env_json(go, await _run([go, "env", "-json"], root, env), ())
        values = {k: v for k, v in go_env.items() if v}
        values.pop("GOTMPDIR", None)  # this command's own; each replay has its own
        return parse_plan(texts.get(name, ""), name, pkg.dir, path_map, {**env, **values})

    async def settled(self) -> None:
        """Once the recipes being made are made (or not): tests, and the bench."""
        tasks = [task for _, task in self._making.values()]
        if tasks:
            await asyncio.wait(tasks)

    def close(self) -> None:
        for _, task in self._making.values():
            task.cancel()
        self._recipes.clear()


def _planned(files: tuple[str, ...], contents: Mapping[str, bytes]) -> dict[str, bytes] | None:
    """The overlays a plan gives go: `contents`, and every file of the package as it is now,
    the first one changed (a newline added), so go names each by its overlay and plans the
    compile instead of taking its output from the cache."""
    planned = dict(contents)
    for i, path in enumerate(files):
        data = read_contents(path, contents)
        if data is None:
            return None
        planned[path] = data + b"\n" if i == 0 else data
    return planned


async def _run(argv: list[str], cwd: str, env: dict[str, str]) -> ProcessResult:
    return await run_in_thread(argv, cwd, env, PLAN_TIMEOUT)
