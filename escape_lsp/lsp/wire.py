"""LSP values as the JSON the client reads, without lsprotocol (whose import takes ~0.4 s).

Diagnostics are built here as plain dicts: the server sends them as they are, and a spawned
server publishes its first diagnostics with them before pygls and lsprotocol are imported
(`lsp/first_publish.py`). Keys are the protocol's camelCase names; absent fields are left out,
as lsprotocol's converter leaves out None.
"""

from __future__ import annotations

import enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pygls.uris import from_fs_path, to_fs_path

from escape_lsp.findings.positions import Encoding

if TYPE_CHECKING:  # (a spawn reads its first didOpen's path with this before dataclasses)
    from escape_lsp.findings.model import Span
    from escape_lsp.findings.positions import LineIndex

Json = dict[str, Any]

PUBLISH = "textDocument/publishDiagnostics"
#: The id of a first publish's settings request (`lsp/first_publish.py`; the server's own
#: requests are numbered, and it drops an answer to this one that comes after the hand-over).
FIRST_CONFIGURATION_ID = "escape-lsp/first-publish/configuration"


class Severity(enum.IntEnum):
    """`DiagnosticSeverity`'s values."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4


def encoding_of(name: str | None) -> Encoding:
    try:
        return Encoding(str(name)) if name else Encoding.UTF16
    except ValueError:
        return Encoding.UTF16


def range_of(lines: LineIndex | None, span: Span, encoding: Encoding) -> Json:
    """A byte span as an LSP range in the negotiated encoding (bytes where no text is known)."""
    if lines is None:
        start, end = span.start_col, span.end_col
    else:
        start = lines.column(span.start_line, span.start_col, encoding)
        end = lines.column(span.end_line, span.end_col, encoding)
    return {
        "start": {"line": span.start_line, "character": start},
        "end": {"line": span.end_line, "character": end},
    }


def location(uri: str, rng: Json) -> Json:
    return {"uri": uri, "range": rng}


def related(loc: Json, message: str) -> Json:
    return {"location": loc, "message": message}


def diagnostic(
    rng: Json,
    message: str,
    severity: Severity,
    code: str,
    source: str,
    related_information: list[Json] | None = None,
    data: Any = None,
) -> Json:
    out: Json = {
        "range": rng,
        "message": message,
        "severity": int(severity),
        "code": code,
        "source": source,
    }
    if related_information:
        out["relatedInformation"] = related_information
    if data is not None:
        out["data"] = data
    return out


def publish_params(uri: str, diagnostics: list[Json], version: int | None) -> Json:
    out: Json = {"uri": uri, "diagnostics": diagnostics}
    if version is not None:
        out["version"] = version
    return out


def uri_to_path(uri: str) -> str | None:
    return to_fs_path(uri)


@lru_cache(maxsize=4096)
def path_to_uri(path: str) -> str:
    """Cached: every flow step of every diagnostic names a file."""
    return from_fs_path(path) or f"file://{path}"
