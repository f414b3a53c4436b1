"""The go command line that builds named packages with escape analysis output, from plain
values.

Light on purpose (no dataclasses, no asyncio): a first `check` works its build out with it
before anything else is imported (`first_build.py`), so go starts ~10 ms sooner;
`build_command.py` makes the same argv from a `BuildRequest`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from escape_lsp.gotool.compile_stream import toolexec_flag, user_toolexec
from escape_lsp.gotool.flags import pinned_flags

ESCAPE_FLAGS = "-m=2"


def go_build_argv(
    go: str,
    packages: Sequence[str],
    cwd: str,
    *,
    tests: bool = False,
    gcflags: Sequence[str] = (),
    build_flags: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    package_gcflags: Mapping[str, Sequence[str]] | None = None,
    overlay: str | None = None,
    stream: bool = False,
) -> list[str]:
    """`go build` (`go test -c` with tests) of `packages` with `-m=2` (and `gcflags`, and
    each package's own `package_gcflags`) for exactly those packages, output discarded, JSON
    events, and go.mod/go.sum pinned read-only (`flags.pinned_flags`). With `stream`, the
    compiler runs through `compile_stream.sh` (unless the user runs go's tools through their
    own program), so its output can be read before go ends."""
    extra = package_gcflags or {}
    argv = [go, "test", "-c"] if tests else [go, "build"]
    argv += ["-json", "-o", os.devnull]
    if stream and not user_toolexec(build_flags, env or {}) and (flag := toolexec_flag()):
        argv.append(flag)
    for pkg in packages:
        flags = " ".join([ESCAPE_FLAGS, *gcflags, *extra.get(pkg, ())])
        argv.append(f"-gcflags={pkg}={flags}")
        if tests:
            argv.append(f"-gcflags={pkg}_test={flags}")
    if overlay:
        argv.append(f"-overlay={overlay}")
    argv += pinned_flags(cwd, build_flags, env or {})
    argv += list(packages)
    return argv
