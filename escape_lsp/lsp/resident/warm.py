"""What the zygote prepares once so that every forked server has it: the imports (pygls,
lsprotocol and the server's modules) and cattrs' converters for the messages of a session
(built lazily per type on first use otherwise). Nothing here starts a thread or an event loop:
the zygote forks."""

from __future__ import annotations

import contextlib
import gc
import importlib


def prepare() -> None:
    """Import the server and build the converters its messages need; freeze what exists now
    so forked servers share those pages instead of copying them at their first collection."""
    from lsprotocol import types as lsp

    from escape_lsp.findings import syntax
    from escape_lsp.lsp import server

    protocol = server.server.protocol
    converter = protocol._converter
    methods = set(server.server.protocol.fm.features) | set(protocol.fm.builtin_features)
    methods |= {
        lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
        lsp.WINDOW_LOG_MESSAGE,
        lsp.WINDOW_SHOW_MESSAGE,
        lsp.WORKSPACE_CONFIGURATION,
        lsp.CLIENT_REGISTER_CAPABILITY,
        lsp.WORKSPACE_DIAGNOSTIC_REFRESH,
        lsp.WORKSPACE_INLAY_HINT_REFRESH,
        lsp.WORKSPACE_CODE_LENS_REFRESH,
        lsp.WINDOW_WORK_DONE_PROGRESS_CREATE,
        lsp.PROGRESS,
    }
    for method in methods:
        for kind in lsp.METHOD_TO_TYPES.get(method, ()):
            if kind is None:
                continue
            with contextlib.suppress(Exception):  # a type cattrs cannot convert is never sent
                converter.get_structure_hook(kind)
                converter.get_unstructure_hook(kind)
    for module in ("watchdog.events", "watchdog.observers"):  # when a server watches files
        importlib.import_module(module)
    syntax._parser().parse(b"package p\n\nfunc F() *int { x := 1; return &x }\n")
    gc.collect()
    gc.freeze()


def serve_forked() -> int:
    """The normal stdio server, in a process forked from the zygote."""
    from escape_lsp.lsp.server import serve

    return serve()
