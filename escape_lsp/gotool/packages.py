"""The workspace's package graph, from `go list`: files, imports, reverse dependencies."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from escape_lsp.gotool.process import run
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain, ToolchainError

_LIST_FIELDS = (
    "ImportPath,Name,Dir,GoFiles,CgoFiles,TestGoFiles,XTestGoFiles,"
    "Imports,TestImports,XTestImports,Module,Error"
)


@dataclass(frozen=True)
class Package:
    import_path: str
    dir: str
    #: Absolute paths of the package's compiled files (GoFiles + CgoFiles).
    files: tuple[str, ...]
    test_files: tuple[str, ...]
    xtest_files: tuple[str, ...]
    imports: frozenset[str]
    test_imports: frozenset[str]
    module_dir: str
    error: str | None = None

    @property
    def has_tests(self) -> bool:
        return bool(self.test_files or self.xtest_files)

    def all_files(self, tests: bool) -> tuple[str, ...]:
        return self.files + (self.test_files + self.xtest_files if tests else ())


@dataclass
class PackageGraph:
    """Workspace packages only; dependencies outside the workspace are not tracked."""

    context: ModuleContext
    modules: tuple[str, ...]
    packages: dict[str, Package] = field(default_factory=dict)
    by_file: dict[str, str] = field(default_factory=dict)
    _rdeps: dict[str, set[str]] = field(default_factory=dict)

    def add(self, pkg: Package) -> None:
        self.packages[pkg.import_path] = pkg
        for f in pkg.all_files(tests=True):
            self.by_file[f] = pkg.import_path

    def finish(self) -> None:
        self._rdeps = {p: set() for p in self.packages}
        for pkg in self.packages.values():
            for imp in pkg.imports | pkg.test_imports:
                if imp in self._rdeps and imp != pkg.import_path:
                    self._rdeps[imp].add(pkg.import_path)

    def package_of(self, path: str) -> Package | None:
        name = self.by_file.get(os.path.normpath(path))
        return self.packages.get(name) if name else None

    def dependents(self, roots: Iterable[str], tests: bool = False) -> set[str]:
        """`roots` and every workspace package that imports them, directly or not."""
        seen: set[str] = set()
        stack = [r for r in roots if r in self.packages]
        while stack:
            cur = stack.pop()
            if cur in seen:
                continue
            seen.add(cur)
            for user in self._rdeps.get(cur, ()):
                pkg = self.packages[user]
                if cur in pkg.imports or (tests and cur in pkg.test_imports):
                    stack.append(user)
        return seen

    def workspace_deps(self, name: str, tests: bool = False) -> set[str]:
        """Workspace packages `name` imports, transitively (itself excluded)."""
        seen: set[str] = set()
        pkg = self.packages.get(name)
        stack = list(pkg.imports | (pkg.test_imports if tests else frozenset())) if pkg else []
        while stack:
            cur = stack.pop()
            if cur in seen or cur not in self.packages or cur == name:
                continue
            seen.add(cur)
            stack.extend(self.packages[cur].imports)
        return seen

    def is_workspace_file(self, path: str) -> bool:
        return any(path.startswith(m.rstrip(os.sep) + os.sep) for m in self.modules)


def _decode_stream(text: str) -> list[dict[str, object]]:
    """`go list -json` prints concatenated JSON objects, not a list."""
    decoder = json.JSONDecoder()
    out: list[dict[str, object]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        out.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


async def load_graph(
    toolchain: Toolchain,
    context: ModuleContext,
    env: dict[str, str] | None = None,
    build_flags: list[str] | None = None,
    overlay: str | None = None,
) -> PackageGraph:
    """List every package of every module in the workspace (one module, or all of go.work)."""
    flags = list(build_flags or [])
    if overlay:
        flags.append(f"-overlay={overlay}")
    if context.gowork is None:  # one module: its folder is all there is to list
        module_dirs: tuple[str, ...] = (os.path.normpath(context.root),)
    else:
        mods = await run([toolchain.go, "list", "-m", "-json"], context.root, env, timeout=120)
        if mods.returncode != 0:
            raise ToolchainError(f"`go list -m` failed in {context.root}: {mods.stderr.strip()}")
        module_dirs = tuple(
            os.path.normpath(str(m["Dir"])) for m in _decode_stream(mods.stdout) if m.get("Dir")
        )
    graph = PackageGraph(context, module_dirs)
    patterns = [os.path.join(d, "...") for d in module_dirs]
    if not patterns:
        graph.finish()
        return graph
    proc = await run(
        [toolchain.go, "list", "-e", f"-json={_LIST_FIELDS}", *flags, *patterns],
        context.root,
        env,
        timeout=300,
    )
    if proc.returncode != 0 and not proc.stdout.strip():
        raise ToolchainError(f"`go list` failed in {context.root}: {proc.stderr.strip()}")
    for raw in _decode_stream(proc.stdout):
        directory = str(raw.get("Dir") or "")
        module = raw.get("Module")
        module_dir = str(module.get("Dir", "")) if isinstance(module, dict) else ""
        if not directory:
            continue

        def files(key: str, d: str = directory, item: dict[str, object] = raw) -> tuple[str, ...]:
            return tuple(os.path.join(d, f) for f in _strs(item.get(key)))

        error = raw.get("Error")
        graph.add(
            Package(
                import_path=str(raw["ImportPath"]),
                dir=os.path.normpath(directory),
                files=files("GoFiles") + files("CgoFiles"),
                test_files=files("TestGoFiles"),
                xtest_files=files("XTestGoFiles"),
                imports=frozenset(_strs(raw.get("Imports"))),
                test_imports=frozenset(
                    _strs(raw.get("TestImports")) + _strs(raw.get("XTestImports"))
                ),
                module_dir=module_dir,
                error=str(error.get("Err")) if isinstance(error, dict) else None,
            )
        )
    graph.finish()
    return graph
