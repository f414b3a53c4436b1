"""The LSP base protocol's frames, with the standard library alone: the reader the server
serves from (`frames.py`, on asyncio) and the first messages read before asyncio is imported
(`early_open.py`) read and write them alike."""

from __future__ import annotations

import re

#: How long a body that is already complete JSON waits for bytes its Content-Length promised.
SHORT_BODY_GRACE = 0.5
#: A header line (without its CR LF): a token, a colon, a value.
HEADER_LINE = re.compile(rb"^[!-9;-~]+:[^\r\n]*$")
#: The Content-Length header line (without its CR LF); group 1 is the length.
LENGTH_LINE = re.compile(rb"Content-Length:[ \t]*(\d+)[ \t]*", re.IGNORECASE)


def frame(body: bytes) -> bytes:
    """An LSP base-protocol frame around a JSON body."""
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
