"""Bundles the escape-lsp server and its dependencies into bundled/libs for one VS Code target.

The convention of Microsoft's python-tools-extension-template: `pip install --target
bundled/libs`, and the extension starts the server with those libraries first on sys.path
(bundled/tool/serve.py). tree-sitter ships compiled, per-CPython-version wheels, so a package is
built for one platform (`vsce package --target`) and carries the extension modules of every
supported CPython version side by side; each interpreter imports the one tagged for it.

    python scripts/bundle_server.py --target linux-x64

pip reads wheels from its cache when it has them, so a rebuild costs a few seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
REPO = HERE.parent.parent
LIBS = HERE / "bundled" / "libs"

#: VS Code target -> pip platform tags (the wheels escape-lsp's dependencies publish). No Windows:
#: the server manages go processes with POSIX process groups.
PLATFORMS: dict[str, list[str]] = {
    "linux-x64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64"],
    "linux-arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64"],
    "darwin-x64": [f"macosx_{v}_x86_64" for v in ("10_9", "10_13", "10_15", "11_0")],
    "darwin-arm64": ["macosx_11_0_arm64"],
}
#: CPython versions whose extension modules are bundled; the first resolves the dependencies.
PYTHONS = ["3.11", "3.12", "3.13", "3.14"]

#: Per-version extension modules: `x.cpython-312-x86_64-linux-gnu.so`, `x.cp312-win_amd64.pyd`.
_VERSIONED_EXT = re.compile(r"\.(cpython-3\d+[^/]*\.so|cp3\d+-[^/]*\.pyd)$")
#: Not needed to run: caches, scripts, type stubs, C sources, install bookkeeping.
_PRUNE_DIRS = {"__pycache__", "bin"}
_PRUNE_SUFFIXES = {".pyc", ".pyi", ".c", ".h"}
_PRUNE_DIST_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "entry_points.txt"}


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    subprocess.run(cmd, check=True)


def platform_args(target: str, python: str) -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in PLATFORMS[target]:
        args += ["--platform", tag]
    return args


def version_specific(libs: Path) -> dict[str, str]:
    """Distributions in `libs` whose wheel is tagged for one CPython version: name -> version."""
    found: dict[str, str] = {}
    for wheel in libs.glob("*.dist-info/WHEEL"):
        tags = [
            ln.split(":", 1)[1].strip()
            for ln in wheel.read_text().splitlines()
            if ln.startswith("Tag:")
        ]
        if any(re.match(r"cp3\d+-cp3\d+", t) for t in tags):
            name, version = wheel.parent.name.removesuffix(".dist-info").rsplit("-", 1)
            found[name] = version
    return found


def add_other_pythons(libs: Path, target: str, work: Path) -> None:
    """Copy the extension modules of the other CPython versions next to the first one's."""
    for name, version in sorted(version_specific(libs).items()):
        for python in PYTHONS[1:]:
            dest = work / f"{name}-{python}"
            pip(
                "download",
                "--no-deps",
                "-d",
                str(dest),
                *platform_args(target, python),
                f"{name}=={version}",
            )
            (wheel,) = dest.glob("*.whl")
            with zipfile.ZipFile(wheel) as zf:
                members = [m for m in zf.namelist() if _VERSIONED_EXT.search(m)]
                if not members:
                    raise SystemExit(f"{wheel.name}: no extension module for CPython {python}")
                for member in members:
                    zf.extract(member, libs)


def prune(libs: Path) -> None:
    for path in sorted(libs.rglob("*"), reverse=True):
        if not path.exists():
            continue
        if path.is_dir() and path.name in _PRUNE_DIRS:
            shutil.rmtree(path)
        elif path.is_file() and (
            path.suffix in _PRUNE_SUFFIXES
            or (path.parent.name.endswith(".dist-info") and path.name in _PRUNE_DIST_INFO)
        ):
            path.unlink()


def strip_debug_info(libs: Path) -> None:
    """Drop the debug sections of ELF extension modules (tree-sitter's: 2 MB -> 0.35 MB each).

    Only debug sections go (`strip --strip-debug`, as distributions do). Best effort: without
    binutils' strip, or for another architecture than strip's, the package is only bigger.
    """
    strip = shutil.which("strip")
    if strip is None:
        return
    for lib in libs.rglob("*.so"):
        with lib.open("rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        subprocess.run([strip, "--strip-debug", str(lib)], check=False, capture_output=True)


def source_copy(dest: Path) -> Path:
    """The package's sources alone, built apart from the checkout: setuptools' in-tree `build/`
    keeps modules that were since deleted, and would put them in the wheel."""
    dest.mkdir(parents=True)
    shutil.copy2(REPO / "README.md", dest / "README.md")
    pyproject = (REPO / "pyproject.toml").read_text()
    (dest / "pyproject.toml").write_text(_NATIVE_TABLE.sub("", pyproject))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "native")
    shutil.copytree(REPO / "escape_lsp", dest / "escape_lsp", ignore=ignore)
    return dest


#: The compiled parse and map's table in pyproject.toml: the bundle leaves it out, so the
#: server's wheel stays pure Python (one build serves every platform of a target's wheels);
#: the bundled server maps with the Python modules the compiled ones mirror.
_NATIVE_TABLE = re.compile(
    r"^\[\[tool\.setuptools-rust\.ext-modules\]\]\n(?:[^\[\n].*\n|\n)*", re.M
)


def bundle(target: str) -> None:
    if target not in PLATFORMS:
        raise SystemExit(f"unknown target {target!r}; one of: {', '.join(PLATFORMS)}")
    shutil.rmtree(LIBS, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="escape-lsp-bundle-") as tmp:
        work = Path(tmp)
        pip("wheel", "--no-deps", "-w", str(work / "wheel"), str(source_copy(work / "src")))
        (server,) = (work / "wheel").glob("escape_lsp-*.whl")
        pip(
            "install", "--target", str(LIBS), "--no-compile", "--upgrade",
            *platform_args(target, PYTHONS[0]), str(server),
        )  # fmt: skip
        add_other_pythons(LIBS, target, work)
    prune(LIBS)
    strip_debug_info(LIBS)
    (LIBS / "bundle.json").write_text(json.dumps({"target": target, "pythons": PYTHONS}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--target", default="linux-x64", choices=sorted(PLATFORMS))
    bundle(parser.parse_args().target)


if __name__ == "__main__":
    main()
