"""Settings for measured evidence: `severityByWeight`, `profile`, `benchFlags`.

`severityByWeight`: `true` (hot = at least 1% of allocated bytes) or a share such as `0.05`;
with a measurement, heap findings on hot lines are warnings and the measured-cold ones hints.
"""

from __future__ import annotations

import shlex
from typing import Any

#: The setting names this module reads.
EVIDENCE_SETTINGS = frozenset({"severityByWeight", "profile", "benchFlags"})

#: What `"severityByWeight": true` means: a line with at least 1% of the bytes is hot.
DEFAULT_HOT_SHARE = 0.01


def _share(value: Any, problems: list[str]) -> float:
    if value is None or value is False:
        return 0.0
    if value is True:
        return DEFAULT_HOT_SHARE
    if isinstance(value, int | float) and 0 < value <= 1:
        return float(value)
    problems.append(f"severityByWeight must be true, false or a share in (0, 1], not {value!r}")
    return 0.0


def evidence_settings(data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """The evidence fields of `ServerSettings` from the `escapeLsp` section."""
    profile = data.get("profile")
    if profile is not None and not isinstance(profile, str):
        problems.append(f"profile must be a file path, not {profile!r}")
        profile = None
    flags = data.get("benchFlags") or []
    if isinstance(flags, str):
        flags = shlex.split(flags)
    if not isinstance(flags, list):
        problems.append(f"benchFlags must be a list of go test flags, not {flags!r}")
        flags = []
    return {
        "severity_by_weight": _share(data.get("severityByWeight"), problems),
        "profile": profile or None,
        "bench_flags": tuple(str(f) for f in flags),
    }
