"""The JSON-RPC edge, hardened against client faults.

pygls drops a request whose params do not fit the LSP types (`params: null`, a negative
position, a code action without a range) without answering, and reports it as a server error.
Here such requests get `-32602 Invalid params` naming what is wrong, bad notifications are
logged, and a `didChange` that does not fit the document marks it out of sync until the next
full text, instead of silently corrupting it. `exit` reports its exit code (0 after
`shutdown`, else 1) to whoever runs the server instead of raising SystemExit in a callback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import cattrs
from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage

from escape_lsp.lsp.wire import FIRST_CONFIGURATION_ID

log = logging.getLogger("escape_lsp.protocol")


@dataclass(frozen=True)
class RejectedMessage:
    """A request or notification whose params could not be read as the LSP types."""

    id: int | str | None
    method: str
    reason: str
    is_request: bool
    raw_params: Any


def _reason(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, path="params")) or str(exc)
    return str(exc) or type(exc).__name__


def _valid_id(value: Any) -> int | str | None:
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def _range_fits(lines: list[str], rng: lsp.Range) -> bool:
    """Whether an incremental change's range lies in the document (columns may overshoot a
    line, which LSP clamps; lines may not)."""
    start, end = rng.start, rng.end
    if (start.line, start.character) > (end.line, end.character):
        return False
    return end.line <= len(lines) and not (end.line == len(lines) and end.character > 0)


_Base = TypeVar("_Base", bound=Callable[..., Any])


def _in_sync_after(method: str, base: _Base) -> _Base:
    """pygls' `base` handler of didOpen or didClose, after which the document has its full
    text (or none): whatever did not fit before no longer matters."""

    @lsp_method(method)
    def handler(self: GuardedProtocol, params: Any) -> Generator[Any, Any, None]:
        self.out_of_sync.discard(params.text_document.uri)
        yield from base(self, params)

    return cast(_Base, handler)


class GuardedProtocol(LanguageServerProtocol):
    """pygls' protocol with answers for malformed requests and document resynchronisation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Called with the exit code on `exit`; when unset, pygls' behaviour (SystemExit).
        self.on_exit: Callable[[int], None] | None = None
        #: Documents whose text can no longer be trusted, until a full-text change arrives.
        self.out_of_sync: set[str] = set()

    # -- reading messages -----------------------------------------------------------------------

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data or "method" not in data:
            return super().structure_message(data)  # nested objects, responses
        method = data["method"]
        is_request = "id" in data
        kind = self.get_message_type(str(method)) or (
            JsonRPCRequestMessage if is_request else JsonRPCNotification
        )
        try:
            return self._converter.structure(data, kind)
        except Exception as exc:
            return RejectedMessage(
                _valid_id(data.get("id")),
                str(method),
                _reason(exc),
                is_request,
                data.get("params"),
            )

    def handle_message(self, message: Any) -> None:
        if isinstance(message, RejectedMessage):
            self._reject(message)
            return
        if not hasattr(message, "jsonrpc"):
            msg_id = _valid_id(message.get("id")) if isinstance(message, dict) else None
            log.warning("ignored a message that is not JSON-RPC 2.0: %.200r", message)
            if msg_id is not None or isinstance(message, list):
                self._error(msg_id, JsonRpcInvalidRequest("not a JSON-RPC 2.0 message"))
            return
        method = getattr(message, "method", None)
        if method is None and getattr(message, "id", None) == FIRST_CONFIGURATION_ID:
            return  # a first publish's settings request, answered after it handed over
        if self._workspace is None and method not in (None, lsp.INITIALIZE, lsp.EXIT):
            if hasattr(message, "id"):
                self._error(message.id, JsonRpcServerNotInitialized())
            else:
                log.warning("ignored %s before initialize", method)
            return
        super().handle_message(message)

    def _error(self, msg_id: int | str | None, error: JsonRpcException) -> None:
        self._send_response(msg_id, error=error.to_response_error())  # type: ignore[arg-type]

    def _reject(self, message: RejectedMessage) -> None:
        log.warning("invalid params for %s: %s", message.method, message.reason)
        if message.is_request:
            error = JsonRpcInvalidParams(f"Invalid params for {message.method}: {message.reason}")
            self._error(message.id, error)
        elif message.method == lsp.TEXT_DOCUMENT_DID_CHANGE:
            params = message.raw_params if isinstance(message.raw_params, dict) else {}
            doc = params.get("textDocument")
            if isinstance(doc, dict) and isinstance(doc.get("uri"), str):
                self._lose_sync(doc["uri"], message.reason)

    # -- documents ------------------------------------------------------------------------------

    def _lose_sync(self, uri: str, why: str) -> None:
        if uri not in self.out_of_sync:
            log.warning(
                "%s: a change did not fit the document (%s); waiting for its full text", uri, why
            )
        self.out_of_sync.add(uri)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: lsp.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Apply the changes that fit; after one that does not, only a full text resyncs."""
        uri = params.text_document.uri
        applied = False
        for change in params.content_changes:
            if isinstance(change, lsp.TextDocumentContentChangeWholeDocument):
                if uri in self.out_of_sync:
                    log.info("%s: back in sync with the editor's full text", uri)
                self.out_of_sync.discard(uri)
            elif uri in self.out_of_sync:
                continue
            else:
                doc = self.workspace.get_text_document(uri)
                if not _range_fits(list(doc.lines), change.range):
                    self._lose_sync(uri, f"range {_show_range(change.range)}")
                    continue
            self.workspace.update_text_document(params.text_document, change)
            applied = True
        if not applied or uri in self.out_of_sync:
            return
        handler = self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CHANGE)
        if handler is not None:
            yield handler, (params,), None

    lsp_text_document__did_open = _in_sync_after(
        lsp.TEXT_DOCUMENT_DID_OPEN, LanguageServerProtocol.lsp_text_document__did_open
    )
    lsp_text_document__did_close = _in_sync_after(
        lsp.TEXT_DOCUMENT_DID_CLOSE, LanguageServerProtocol.lsp_text_document__did_close
    )

    # -- sending ---------------------------------------------------------------------------------

    def notify_json(self, method: str, params: dict[str, Any]) -> None:
        """A notification whose params are already the JSON the client reads (`lsp/wire.py`):
        sent as they are, without the converter."""
        self._send_data({"jsonrpc": "2.0", "method": method, "params": params})

    # -- ending ---------------------------------------------------------------------------------

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        if self.on_exit is None:
            yield from super().lsp_exit(*args)
            return
        handler = self.fm.features.get(lsp.EXIT)
        if handler is not None:
            yield handler, args, None
        self.on_exit(0 if self._shutdown else 1)


def _show_range(rng: lsp.Range) -> str:
    return f"{rng.start.line}:{rng.start.character}-{rng.end.line}:{rng.end.character}"
