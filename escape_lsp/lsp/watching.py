"""On-disk changes made outside the editor: the client's file watcher, else watchdog."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from lsprotocol import types as lsp

from escape_lsp.gotool.modfiles import GRAPH_FILES

log = logging.getLogger(__name__)

IGNORED_DIRS = frozenset({".git", "vendor", "node_modules", ".hg", ".svn"})
WATCHED_GLOBS = ("**/*.go", *(f"**/{name}" for name in GRAPH_FILES))

OnPaths = Callable[[list[str]], Any]


def client_can_watch(caps: lsp.ClientCapabilities) -> bool:
    ws = caps.workspace
    watched = ws.did_change_watched_files if ws else None
    return bool(watched and watched.dynamic_registration)


def registration() -> lsp.RegistrationParams:
    return lsp.RegistrationParams(
        [
            lsp.Registration(
                id="escape-lsp-watch",
                method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
                    [lsp.FileSystemWatcher(glob_pattern=g) for g in WATCHED_GLOBS]
                ),
            )
        ]
    )


def is_relevant(path: str) -> bool:
    parts = path.split(os.sep)
    if any(p in IGNORED_DIRS for p in parts[:-1]):
        return False
    name = parts[-1]
    return name.endswith(".go") or name in GRAPH_FILES


class DiskWatcher:
    """watchdog observers over the workspace folders, feeding paths into the event loop.

    Used only when the client cannot watch files for us. Exhausted inotify watches degrade to
    no watching with a logged hint, never a crash.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_paths: OnPaths) -> None:
        self._loop = loop
        self._on_paths = on_paths
        self._observer: Any = None

    def start(self, roots: list[str]) -> str | None:
        """Start watching; returns a warning to show when watching is not possible."""
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError as exc:  # pragma: no cover - watchdog is a dependency
            return f"file watching disabled: {exc}"

        loop, on_paths = self._loop, self._on_paths

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed", "closed_no_write"):
                    return
                paths = [str(p) for p in (event.src_path, getattr(event, "dest_path", "")) if p]
                relevant = [os.fspath(p) for p in paths if is_relevant(os.fspath(p))]
                if relevant:
                    loop.call_soon_threadsafe(on_paths, relevant)

        observer = Observer()
        try:
            for root in roots:
                if os.path.isdir(root):
                    observer.schedule(Handler(), root, recursive=True)
            observer.daemon = True
            observer.start()
        except OSError as exc:
            log.warning("file watching disabled: %s", exc)
            return (
                f"escape-lsp cannot watch files ({exc}); changes made outside the editor are "
                "picked up on the next edit or save. Raise fs.inotify.max_user_watches to fix."
            )
        self._observer = observer
        return None

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer = None
