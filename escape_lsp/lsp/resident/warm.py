"""What the zygote prepares once so that every forked server has it: the imports (pygls,
lsprotocol, watchdog, the server's modules), tree-sitter's parser, and cattrs' converters for
the messages of a session (built lazily, type by type, on first use otherwise: ~40 ms of a
first `initialize`). Nothing here starts a thread or an event loop, or changes the server's
state: the zygote forks it."""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
from typing import Any

_DOC = {"uri": "file:///w/p/p.go", "version": 2}
_RANGE = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}
#: What clients send in a session's first seconds, capabilities as a rich client has them.
_CLIENT_MESSAGES: list[dict[str, Any]] = [
    {
        "id": 1,
        "method": "initialize",
        "params": {
            "processId": 1,
            "rootUri": "file:///w",
            "workspaceFolders": [{"uri": "file:///w", "name": "w"}],
            "initializationOptions": {"escapeLsp": {}},
            "capabilities": {
                "workspace": {
                    "applyEdit": True,
                    "configuration": True,
                    "workspaceFolders": True,
                    "didChangeWatchedFiles": {"dynamicRegistration": True},
                    "workspaceEdit": {"documentChanges": True},
                    "codeLens": {"refreshSupport": True},
                    "inlayHint": {"refreshSupport": True},
                    "diagnostics": {"refreshSupport": True},
                    "executeCommand": {"dynamicRegistration": False},
                },
                "textDocument": {
                    "synchronization": {"didSave": True, "dynamicRegistration": False},
                    "publishDiagnostics": {
                        "versionSupport": True,
                        "relatedInformation": True,
                        "tagSupport": {"valueSet": [1, 2]},
                        "codeDescriptionSupport": True,
                        "dataSupport": True,
                    },
                    "hover": {"contentFormat": ["markdown", "plaintext"]},
                    "codeAction": {
                        "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix"]}},
                        "resolveSupport": {"properties": ["edit"]},
                        "dataSupport": True,
                    },
                    "codeLens": {"dynamicRegistration": False},
                    "inlayHint": {"dynamicRegistration": False},
                    "diagnostic": {"dynamicRegistration": False},
                },
                "window": {"workDoneProgress": True, "showMessage": {}},
                "general": {
                    "positionEncodings": ["utf-8", "utf-16"],
                    "staleRequestSupport": {"cancel": True, "retryOnContentModified": []},
                },
            },
        },
    },
    {"method": "initialized", "params": {}},
    {
        "method": "textDocument/didOpen",
        "params": {"textDocument": {**_DOC, "languageId": "go", "text": "package p\n"}},
    },
    {
        "method": "textDocument/didChange",
        "params": {"textDocument": _DOC, "contentChanges": [{"text": "package p\n"}]},
    },
    {"method": "textDocument/didSave", "params": {"textDocument": {"uri": _DOC["uri"]}}},
    {"method": "textDocument/didClose", "params": {"textDocument": {"uri": _DOC["uri"]}}},
    {
        "id": 2,
        "method": "textDocument/hover",
        "params": {"textDocument": _DOC, "position": _RANGE["start"]},
    },
    {
        "id": 3,
        "method": "textDocument/codeAction",
        "params": {"textDocument": _DOC, "range": _RANGE, "context": {"diagnostics": []}},
    },
    {
        "id": 4,
        "method": "textDocument/inlayHint",
        "params": {"textDocument": _DOC, "range": _RANGE},
    },
    {"id": 5, "method": "textDocument/codeLens", "params": {"textDocument": _DOC}},
    {"id": 6, "method": "shutdown"},
    {"method": "exit"},
]


def _server_messages(lsp: Any, capabilities: Any) -> list[Any]:
    """What a server sends in a session's first seconds."""
    diagnostic = lsp.Diagnostic(
        range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 1)),
        message="moved to heap: x",
        severity=lsp.DiagnosticSeverity.Information,
        code="heap",
        source="escape-lsp",
        code_description=lsp.CodeDescription("https://example.com"),
        related_information=[
            lsp.DiagnosticRelatedInformation(
                lsp.Location("file:///w/p/p.go", lsp.Range(lsp.Position(0, 0), lsp.Position(0, 1))),
                "flow",
            )
        ],
        data={"k": 1},
    )
    return [
        lsp.InitializeResponse(id=1, result=lsp.InitializeResult(capabilities=capabilities)),
        lsp.PublishDiagnosticsNotification(
            params=lsp.PublishDiagnosticsParams("file:///w/p/p.go", [diagnostic], version=1)
        ),
        lsp.LogMessageNotification(params=lsp.LogMessageParams(lsp.MessageType.Info, "x")),
        lsp.ShowMessageNotification(params=lsp.ShowMessageParams(lsp.MessageType.Error, "x")),
        lsp.ConfigurationRequest(
            id=1, params=lsp.ConfigurationParams([lsp.ConfigurationItem(section="escapeLsp")])
        ),
        lsp.RegistrationRequest(
            id=2,
            params=lsp.RegistrationParams(
                [
                    lsp.Registration(
                        "1",
                        lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        lsp.DidChangeWatchedFilesRegistrationOptions(
                            [lsp.FileSystemWatcher(glob_pattern="**/*.go")]
                        ),
                    )
                ]
            ),
        ),
    ]


def _exercise(protocol: Any, capabilities: Any) -> None:
    from lsprotocol import types as lsp

    for message in _CLIENT_MESSAGES:
        protocol.structure_message({"jsonrpc": "2.0", **message})
    outgoing = [capabilities, *_server_messages(lsp, capabilities)]  # pygls logs capabilities
    for message in outgoing:
        with contextlib.suppress(Exception):  # a warm-up only: the session will say
            json.dumps(message, default=protocol._serialize_message)


def prepare() -> None:
    """Import the server and build what its first messages need; freeze what exists now, so
    forked servers share those pages instead of copying them at their first collection."""
    from lsprotocol import types as lsp
    from pygls.capabilities import ServerCapabilitiesBuilder

    from escape_lsp.findings import syntax
    from escape_lsp.lsp import server

    protocol = server.server.protocol
    fm = protocol.fm
    initialize = protocol.structure_message({"jsonrpc": "2.0", **_CLIENT_MESSAGES[0]})
    capabilities = ServerCapabilitiesBuilder(
        initialize.params.capabilities,
        set({**fm.features, **fm.builtin_features}.keys()),
        fm.feature_options,
        list(fm.commands.keys()),
        server.server._text_document_sync_kind,
        server.server._notebook_document_sync,
        lsp.PositionEncodingKind.Utf16,
    ).build()  # type: ignore[no-untyped-call]
    # Twice: cattrs empties its cache of hooks whenever it meets a new sequence type, so only
    # a pass that meets none leaves every hook it needs cached.
    _exercise(protocol, capabilities)
    _exercise(protocol, capabilities)
    for module in ("watchdog.events", "watchdog.observers"):  # when a server watches files
        importlib.import_module(module)
    syntax._parser().parse(b"package p\n\nfunc F() *int { x := 1; return &x }\n")
    # No full collection first: the imports and the warm-up leave no cyclic garbage (a pass
    # here found none) and it took 30-45 ms of the very first spawn's wait.
    gc.freeze()


def serve_forked() -> int:
    """The normal stdio server, in a process forked from the zygote."""
    from escape_lsp.lsp.server import serve

    return serve()
