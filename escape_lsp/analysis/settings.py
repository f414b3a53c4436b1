"""What changes what the compiler says (so what memo keys include), and shared defaults."""

from __future__ import annotations

from dataclasses import dataclass

from escape_lsp.gotool.build_command import BuildOptions

#: Quiet time after a keystroke before a build starts; saves and opens build at once.
DEFAULT_DEBOUNCE_MS = 300


@dataclass(frozen=True)
class AnalysisSettings(BuildOptions):
    """Everything that changes what the compiler says, so everything the memo key includes:
    how builds run (`BuildOptions`, handed to each build as they are) and what is shown."""

    excluded: tuple[str, ...] = ()
    max_processes: int = 2


def with_tags(build_flags: tuple[str, ...], tags: str) -> tuple[str, ...]:
    """`build_flags` plus `-tags=…` when build tags are given (CLI `--tags`, `buildTags`)."""
    return build_flags + ((f"-tags={tags}",) if tags else ())
