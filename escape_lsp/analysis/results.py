"""What one package's analysis produced: findings, or why there are none (`Blocked`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from escape_lsp.findings.model import CompileError, Finding


@dataclass(frozen=True)
class Blocked:
    """Escape analysis of a package could not run: the compiler printed errors instead."""

    package: str
    errors: tuple[CompileError, ...]
    #: Set when this package did not fail itself but a package it imports did.
    because_of: str | None = None
    #: The build died for reasons outside the code (killed, timed out, go crashed): never
    #: remembered, so the next edit, save or rebuild tries again.
    transient: bool = False

    @property
    def summary(self) -> str:
        first = self.errors[0] if self.errors else None
        if self.because_of:
            text = f"{self.package} depends on {self.because_of}, which does not compile"
        else:
            text = str(first) if first else f"{self.package} does not compile"
        return f"{text} (retried on the next edit, save or rebuild)" if self.transient else text


@dataclass(frozen=True)
class PackageResult:
    package: str
    findings: tuple[Finding, ...]
    blocked: Blocked | None
    #: Content hash of every file the build read, so callers know which texts these match.
    file_hashes: Mapping[str, str] = field(default_factory=dict)
    key: str = ""
    from_memo: bool = False
    #: The engine's per-file memo keys the findings came from; None when not kept on disk.
    file_keys: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
