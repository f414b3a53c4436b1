"""The `profile` setting: a heap profile (e.g. fetched from production via net/http/pprof) whose
weights the findings carry, until a benchmark lens measures something newer."""

from __future__ import annotations

import logging
import os

from lsprotocol import types as lsp

from escape_lsp.analysis.errors import EXPECTED_FAILURES
from escape_lsp.analysis.evidence import evidence_from_profile
from escape_lsp.gotool.pprof import ProfileError, read_profiles
from escape_lsp.lsp import publishing
from escape_lsp.lsp.bench_lens import Measurements
from escape_lsp.lsp.state import EscapeServer

log = logging.getLogger("escape_lsp")

_FAILURES: tuple[type[Exception], ...] = (ProfileError, *EXPECTED_FAILURES)


def _absolute(ls: EscapeServer, path: str) -> str:
    """Relative to the first workspace folder (where settings files usually live)."""
    expanded = os.path.expanduser(path)
    roots = ls.roots()
    return os.path.normpath(os.path.join(roots[0], expanded) if roots else expanded)


async def sync_profile(ls: EscapeServer, measurements: Measurements) -> None:
    """Load the configured profile when it changed; forget its weights when it was removed."""
    session = ls.session
    wanted = _absolute(ls, ls.settings.profile) if ls.settings.profile else None
    if session is None or wanted == measurements.profile:
        return
    loaded_from_profile = measurements.profile is not None
    measurements.profile = wanted
    if wanted is None:
        if loaded_from_profile:
            session.workspace.set_evidence(None)
            await publishing.publish(ls, set(session.snapshot.buffers))
        return
    try:
        env = dict(ls.settings.env)
        raw = await read_profiles(session.workspace.toolchain, [wanted], env)
        evidence = evidence_from_profile(raw, os.path.basename(wanted))
    except _FAILURES as exc:
        message = f"escape-lsp: profile setting: {exc}"
        log.warning("%s", message)
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, message))
        return
    session.workspace.set_evidence(evidence)
    await publishing.publish(ls, set(session.snapshot.buffers))
