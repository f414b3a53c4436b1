"""The zygote's socket protocol: length-prefixed `marshal` dicts (both ends run the same
interpreter: the install key includes it), the client's stdio fds sent with SCM_RIGHTS.

client → zygote: a request ({key, argv, env, cwd, path}) with fds 0, 1, 2 attached.
zygote → client: {"pid": N} once the server is forked (or {"error": why}), then
{"status": wait status} when it ended.
"""

from __future__ import annotations

import marshal
import os
import socket
import struct
from typing import Any

_HEADER = struct.Struct("!I")
#: A request carries the environment; anything far larger is not from our client.
MAX_MESSAGE = 1 << 22
STDIO_FDS = 3


class WireError(Exception):
    """The other end broke the protocol or went away mid-message."""


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise WireError("the connection closed mid-message")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _decode(data: bytes) -> dict[str, Any]:
    try:
        value = marshal.loads(data)
    except (EOFError, ValueError, TypeError) as exc:
        raise WireError(f"unreadable message: {exc}") from None
    if not isinstance(value, dict):
        raise WireError("a message is not a dict")
    return value


def _body(sock: socket.socket, head: bytes, what: str) -> dict[str, Any]:
    """The message whose length `head` gives, read and decoded."""
    (size,) = _HEADER.unpack(head)
    if size > MAX_MESSAGE:
        raise WireError(f"{what} of {size} bytes")
    return _decode(_recv_exactly(sock, size))


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    body = marshal.dumps(message)
    sock.sendall(_HEADER.pack(len(body)) + body)


def receive(sock: socket.socket) -> dict[str, Any] | None:
    """The next message, or None if the other end closed the connection between messages."""
    first = sock.recv(_HEADER.size)
    if not first:
        return None
    return _body(sock, first + _recv_exactly(sock, _HEADER.size - len(first)), "a message")


def send_request(sock: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    body = marshal.dumps(request)
    socket.send_fds(sock, [_HEADER.pack(len(body))], fds)
    sock.sendall(body)


def receive_request(sock: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """A request and the fds that came with it (the caller owns and closes them)."""
    head, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, STDIO_FDS)
    try:
        if len(fds) != STDIO_FDS:
            raise WireError(f"a request with {len(fds)} fds instead of {STDIO_FDS}")
        head += _recv_exactly(sock, _HEADER.size - len(head)) if head else b""
        if len(head) != _HEADER.size:
            raise WireError("the connection closed before the request")
        return _body(sock, head, "a request"), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end (Linux SO_PEERCRED); None where unknown."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    creds = struct.Struct("3i")
    _pid, uid, _gid = creds.unpack(sock.getsockopt(socket.SOL_SOCKET, option, creds.size))
    return int(uid)
