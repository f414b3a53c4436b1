"""The go command's package patterns: which name a directory and where it starts.

Light (os only): the CLI's first-run head start reads patterns before anything is imported.
"""

from __future__ import annotations

import os


def pattern_dir(arg: str, cwd: str) -> str:
    """The directory a path pattern starts at (`./x/...` -> `<cwd>/x`)."""
    base = arg[: -len("...")] if arg.endswith("...") else arg
    return os.path.normpath(os.path.join(cwd, base or "."))


def is_path_pattern(arg: str, cwd: str) -> bool:
    """`./x`, `/abs/x/...` and `dir/...` naming an existing directory are paths, not imports."""
    return arg.startswith((".", "/")) or os.path.isdir(pattern_dir(arg, cwd))
