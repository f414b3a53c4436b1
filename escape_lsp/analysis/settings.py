"""What changes what the compiler says (so what memo keys include), and shared defaults."""

from __future__ import annotations

from dataclasses import dataclass

#: Quiet time after a keystroke before a build starts; saves and opens build at once.
DEFAULT_DEBOUNCE_MS = 300


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything that changes what the compiler says, so everything the memo key includes."""

    tests: bool = False
    gcflags: tuple[str, ...] = ()
    build_flags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    excluded: tuple[str, ...] = ()
    timeout: float = 300.0
    max_processes: int = 2


def with_tags(build_flags: tuple[str, ...], tags: str) -> tuple[str, ...]:
    """`build_flags` plus `-tags=…` when build tags are given (CLI `--tags`, `buildTags`)."""
    return build_flags + ((f"-tags={tags}",) if tags else ())
