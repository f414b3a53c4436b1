"""The compiler's -m=2 output while go still runs.

go shows a compile's output only once the compile has ended, but the compiler prints each -m
line as it makes it (`base.WarnfAt` flushes at once under -m), and the verdicts are done long
before the backend is: a copy of net/http's 3.6 MB are all printed 1.7 s into a 5 s compile.
`-toolexec` runs the compiler through `compile_stream.sh`, which copies what a -m=2 compile
prints into the command's GOTMPDIR too; `Streams` reads those copies, and `as_go_shows` turns
one into the text go will show for it (paths shortened as go shortens them). Whoever maps it
early must still compare it with what go shows in the end: only that text is the output.

Light on purpose (no asyncio, no dataclasses): `build_argv` adds the flag for a first
`check`'s head start before anything else is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compile_stream.sh")
#: What the script names its copies in the GOTMPDIR (then the compile's process id).
PREFIX = "escape-lsp-stream."
_SHELL = "/bin/sh"


def toolexec_flag() -> str | None:
    """The `-toolexec` flag that runs the compiler through the script; None where there is
    no POSIX shell, or where go would split the script's path (go splits the flag's value at
    spaces, and quotes are its own)."""
    if os.name != "posix" or not os.path.isfile(_SHELL) or not os.path.isfile(SCRIPT):
        return None
    if any(c.isspace() or c in "'\"\\" for c in SCRIPT):
        return None
    return f"-toolexec={_SHELL} {SCRIPT}"


def user_toolexec(build_flags: Sequence[str], env: Mapping[str, str]) -> bool:
    """Whether the user runs go's tools through a program of their own (their `-toolexec`,
    on the command line or in GOFLAGS, set in the environment or with `go env -w`): theirs
    is kept, and nothing streams."""
    full = {**os.environ, **env}
    words = [*build_flags, *full.get("GOFLAGS", "").split(), *_go_env_goflags(full).split()]
    return any(w.lstrip("-").startswith("toolexec") for w in words)


def _go_env_goflags(env: Mapping[str, str]) -> str:
    """GOFLAGS as `go env -w` wrote it into go's own env file (os.UserConfigDir()/go/env,
    or $GOENV)."""
    path = env.get("GOENV", "")
    if path == "off":
        return ""
    if not path:
        home = os.path.expanduser("~")
        if sys.platform == "darwin":
            base = os.path.join(home, "Library", "Application Support")
        else:
            base = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        path = os.path.join(base, "go", "env")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return ""
    return " ".join(line[len("GOFLAGS=") :] for line in lines if line.startswith("GOFLAGS="))


class Streams:
    """The copies in one command's GOTMPDIR: each compile's package and text so far."""

    def __init__(self, gotmp: str) -> None:
        self.gotmp = gotmp

    def sizes(self) -> dict[str, int]:
        """Each copy's path and size now (none once go has removed the directory)."""
        try:
            names = [n for n in os.listdir(self.gotmp) if n.startswith(PREFIX)]
        except OSError:
            return {}
        out: dict[str, int] = {}
        for name in names:
            path = os.path.join(self.gotmp, name)
            try:
                out[path] = os.stat(path).st_size
            except OSError:
                continue
        return out

    @staticmethod
    def read(path: str) -> tuple[str, str] | None:
        """The copy's package (as TOOLEXEC_IMPORTPATH names it) and its whole lines so far."""
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        head, newline, body = data.partition(b"\n")
        if not newline:
            return None
        body = body[: body.rfind(b"\n") + 1]  # a line still being written waits
        return head.decode("utf-8", "replace"), body.decode("utf-8", "replace")


def as_go_shows(text: str, package: str, package_dir: str, cwd: str) -> str:
    """What go shows for a compile of `package` in `package_dir`, run from `cwd`, that printed
    `text` (cmd/go's `Shell.reportCmd`): a `# package` line, then the text with the package's
    directory and each directory above it written relative to `cwd` where that is shorter.
    Go's $WORK and cgo rewrites are not made: a text needing them will not equal go's."""
    if text and not text.endswith("\n"):
        text += "\n"
    directory = package_dir
    while True:
        short = _short_path(directory, cwd)
        if short != directory:
            text = _replace_prefix(text, directory, short)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return f"# {package}\n{text}"


def _short_path(path: str, cwd: str) -> str:
    """cmd/go's `base.ShortPath`: `path` relative to `cwd` when that is shorter and names
    the same file."""
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:
        return path
    if len(rel) < len(path) and _same_file(os.path.join(cwd, rel), path):
        return rel
    return path


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return not os.path.lexists(a) and not os.path.lexists(b)


def _replace_prefix(s: str, old: str, new: str) -> str:
    """cmd/go's `replacePrefix`: `old` replaced where it starts the text, or follows a space,
    a newline or a newline and a tab."""
    if old not in s:
        return s
    s = s.replace(" " + old, " " + new)
    s = s.replace("\n" + old, "\n" + new)
    s = s.replace("\n\t" + old, "\n\t" + new)
    if s.startswith(old):
        s = new + s[len(old) :]
    return s
