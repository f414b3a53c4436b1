"""The workspace's package graph, from `go list`: files, imports, reverse dependencies."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from escape_lsp.gotool.flags import pinned_flags
from escape_lsp.gotool.process import GoTimeout, excerpt, run
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain, ToolchainError

#: Listing a large workspace cold can take a while; a hung go must not stall forever.
LIST_TIMEOUT = 120.0

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
    #: Whether it has cgo files (their C side is not among `files`).
    cgo: bool = False

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
    #: Packages go listed with an error and no directory (a directory no import path can
    #: name, such as `my dir`): import path -> go's error. Nothing can build them, but a
    #: pattern that matches them must say so (`go build ./...` fails there).
    unlocated: dict[str, str] = field(default_factory=dict)
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

    def why_no_package(self, path: str) -> str | None:
        """go's error for a file in no package whose directory go could not place (an
        import path it cannot be, see `unlocated`); None otherwise (a file its package's build
        constraints exclude, say). The directory's import path is its module's path (known
        from a placed package of that module) joined with the directory's place in it."""
        directory = os.path.dirname(os.path.normpath(path))
        if not self.unlocated:
            return None
        for pkg in self.packages.values():
            if not pkg.module_dir or not directory.startswith(pkg.module_dir + os.sep):
                continue
            own = os.path.relpath(pkg.dir, pkg.module_dir).replace(os.sep, "/")
            if own != "." and not pkg.import_path.endswith("/" + own):
                continue  # not laid out as its module's own package
            module = pkg.import_path if own == "." else pkg.import_path[: -len(own) - 1]
            rel = os.path.relpath(directory, pkg.module_dir).replace(os.sep, "/")
            error = self.unlocated.get(f"{module}/{rel}")
            if error is not None:
                return error
        return None

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
    """`go list -json` prints concatenated JSON objects, not a list; ValueError if it did not."""
    decoder = json.JSONDecoder()
    out: list[dict[str, object]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        if not isinstance(obj, dict):
            raise ValueError(f"expected a JSON object at offset {pos}")
        out.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


async def _list(
    toolchain: Toolchain, argv: list[str], context: ModuleContext, env: dict[str, str] | None
) -> list[dict[str, object]]:
    """Run one `go list … -json`; every way it can fail becomes one ToolchainError."""
    what = f"`go {' '.join(a for a in argv[:2])}`"
    try:
        proc = await run([toolchain.go, *argv], context.root, env, timeout=LIST_TIMEOUT)
    except (OSError, GoTimeout) as exc:
        raise ToolchainError(f"{what} failed in {context.root}: {exc}") from exc
    if proc.returncode != 0 and not proc.stdout.strip():
        printed = excerpt(proc.stderr) or f"exit status {proc.returncode}"
        raise ToolchainError(f"{what} failed in {context.root}: {printed}")
    try:
        return _decode_stream(proc.stdout)
    except ValueError as exc:
        printed = excerpt(proc.stdout + proc.stderr) or "nothing"
        raise ToolchainError(
            f"{what} in {context.root} printed something that is not its JSON ({exc}): {printed}"
        ) from exc


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
    flags = pinned_flags(context.root, build_flags or [], env or {})
    if context.gowork is None:  # one module: its folder is all there is to list
        module_dirs: tuple[str, ...] = (os.path.normpath(context.root),)
    else:
        mods = await _list(toolchain, ["list", "-m", "-json", *flags], context, env)
        module_dirs = tuple(os.path.normpath(str(m["Dir"])) for m in mods if m.get("Dir"))
    graph = PackageGraph(context, module_dirs)
    overlay_flag = [f"-overlay={overlay}"] if overlay else []
    patterns = [os.path.join(d, "...") for d in module_dirs]
    if not patterns:
        graph.finish()
        return graph
    listed = await _list(
        toolchain,
        ["list", "-e", f"-json={_LIST_FIELDS}", *flags, *overlay_flag, *patterns],
        context,
        env,
    )
    for raw in listed:
        directory = str(raw.get("Dir") or "")
        module = raw.get("Module")
        module_dir = str(module.get("Dir", "")) if isinstance(module, dict) else ""
        error = raw.get("Error")
        if not directory or not raw.get("ImportPath"):
            if raw.get("ImportPath") and isinstance(error, dict) and error.get("Err"):
                graph.unlocated[str(raw["ImportPath"])] = str(error["Err"])
            continue

        def files(key: str, d: str = directory, item: dict[str, object] = raw) -> tuple[str, ...]:
            return tuple(os.path.join(d, f) for f in _strs(item.get(key)))

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
                cgo=bool(raw.get("CgoFiles")),
            )
        )
    graph.finish()
    return graph
