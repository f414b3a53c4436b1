"""Whether a file's bytes may hold `//gcassert:` directives, without parsing it.

What every build (`builds.asserts_bce`: the bounds-check report) and every view
(`assertions.py`: whether to load the checker at all) asks of every file, so it is kept apart
from the checker (`gcassert.py`: tree-sitter queries and six dataclasses, ~8 ms to import),
which only a package that has directives needs. Stdlib only.
"""

from __future__ import annotations

import re

_BCE_DIRECTIVE = re.compile(rb"// ?gcassert:[\w,]*\bbce\b")


def has_directives(data: bytes) -> bool:
    """False when the file certainly has none; True when the checker must parse it."""
    return b"gcassert:" in data


def needs_bounds_report(data: bytes) -> bool:
    """Whether a file has a `bce` directive (so its package is built with the bce report)."""
    return has_directives(data) and _BCE_DIRECTIVE.search(data) is not None
