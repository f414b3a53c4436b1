"""Go command flags that keep the user's files untouched.

`-mod=mod` (from GOFLAGS in the environment, the `env` setting or `buildFlags`) lets `go list`
and `go build` rewrite go.mod and go.sum. Every command escape-lsp runs pins `-mod=readonly`
instead, or `-mod=vendor` when the module vendors its dependencies; flags on the command line
override GOFLAGS, and the pinned flag comes last.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence


def _mod_value(words: Sequence[str]) -> tuple[str | None, list[str]]:
    """The last `-mod` value among `words`, and `words` without any `-mod` flag."""
    value: str | None = None
    rest: list[str] = []
    skip = False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        name, eq, arg = word.lstrip("-").partition("=")
        if word.startswith("-") and name == "mod":
            if eq:
                value = arg
            elif i + 1 < len(words):
                value, skip = words[i + 1], True
            continue
        rest.append(word)
    return value, rest


def pinned_flags(root: str, build_flags: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """`build_flags` without `-mod`, then `-mod=readonly` (or `-mod=vendor` when vendoring)."""
    goflags = {**os.environ, **env}.get("GOFLAGS", "").split()
    from_env, _ = _mod_value(goflags)
    from_flags, rest = _mod_value(build_flags)
    asked = from_flags or from_env
    vendored = os.path.isdir(os.path.join(root, "vendor"))
    if asked == "vendor" or (vendored and asked != "readonly"):
        return [*rest, "-mod=vendor"]
    return [*rest, "-mod=readonly"]
