"""Proving a fix with the compiler: it builds, the finding is gone, no new heap allocation.

"New" heap findings are compared per function and message, so a fix that moves nothing
elsewhere passes, and one that trades one allocation for another fails. Allocations in code
the fix marks as amortised (a sync.Pool's New, run only when the pool is empty) are allowed.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from collections.abc import Mapping

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.fixes.model import Fix, apply_edits, edited_span
from escape_lsp.analysis.results import PackageResult
from escape_lsp.findings.model import HEAP_KINDS, Finding, Span


def _heap(
    results: Mapping[str, PackageResult], skip: tuple[str, Span] | None = None
) -> Counter[tuple[str, str, str]]:
    seen = {
        (f.file, f.span, f.message, f.function or "")
        for r in results.values()
        for f in r.findings
        if f.kind in HEAP_KINDS
        and not (
            skip and f.file == skip[0] and skip[1].contains(f.span.start_line, f.span.start_col)
        )
    }
    return Counter((file, _closure.sub(".func", fn), msg) for file, _, msg, fn in seen)


#: Closures are numbered per function (`init.func2`): adding or moving one renumbers the rest.
_closure = re.compile(r"\.func\d+")


def _same(a: Finding, b: Finding) -> bool:
    return (
        a.kind is b.kind
        and a.file == b.file
        and a.subject == b.subject
        and a.function == b.function
    )


def _read(path: str, current: Mapping[str, bytes]) -> bytes:
    data = current.get(path)
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read()
    return data


def edited_contents(fix: Fix, current: Mapping[str, bytes]) -> dict[str, bytes]:
    """Current buffers plus the fix's files with its edits applied."""
    out = dict(current)
    for path in fix.files:
        out[path] = apply_edits(_read(path, current), [e for e in fix.edits if e.path == path])
    return out


class FixVerifier:
    """Remembers verdicts by the exact texts they were proven on; one proof per key at a time."""

    MAX_VERDICTS = 4096

    def __init__(self) -> None:
        self._verdicts: dict[str, bool] = {}
        self._inflight: dict[str, asyncio.Task[bool]] = {}
        self._waiters: dict[str, int] = {}

    def known(self, fix: Fix, overlays: Mapping[str, bytes]) -> bool | None:
        """The verdict if it was proven already, without building."""
        return self._verdicts.get(_key(fix, overlays))

    async def verify(self, engine: Engine, fix: Fix, overlays: Mapping[str, bytes]) -> bool:
        key = _key(fix, overlays)
        if key in self._verdicts:
            return self._verdicts[key]
        task = self._inflight.get(key)
        if task is None or task.cancelled():
            task = asyncio.ensure_future(self._prove(engine, fix, overlays))
            self._inflight[key] = task
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            ok = await asyncio.shield(task)
        except asyncio.CancelledError:
            if self._waiters[key] == 1:  # nobody else wants this proof: stop its builds
                task.cancel()
            raise
        finally:
            self._waiters[key] -= 1
            if not self._waiters[key]:
                del self._waiters[key]
            if task.done():
                self._inflight.pop(key, None)
        if len(self._verdicts) >= self.MAX_VERDICTS:
            self._verdicts.clear()
        self._verdicts[key] = ok
        return ok

    async def _prove(self, engine: Engine, fix: Fix, overlays: Mapping[str, bytes]) -> bool:
        graph = await engine.graph()
        pkg = graph.package_of(fix.finding.file)
        if pkg is None:
            return False
        edited = edited_contents(fix, overlays)
        packages = graph.dependents([pkg.import_path], engine.settings.tests)
        before = await engine.analyze(packages, overlays)
        after = await engine.analyze(packages, edited)
        skip = None
        if fix.amortised is not None:
            path = fix.amortised.path
            file_edits = [e for e in fix.edits if e.path == path]
            skip = (path, edited_span(_read(path, overlays), file_edits, fix.amortised))
        added = _heap(after, skip) - _heap(before)
        return (
            all(r.blocked is None for r in after.values())
            and not any(_same(f, fix.finding) for r in after.values() for f in r.findings)
            and not added
        )


def _key(fix: Fix, overlays: Mapping[str, bytes]) -> str:
    edited = edited_contents(fix, overlays)
    digest = sorted((p, hashlib.sha256(d).hexdigest()) for p, d in edited.items())
    return hashlib.sha256(repr((fix.title, digest)).encode()).hexdigest()
