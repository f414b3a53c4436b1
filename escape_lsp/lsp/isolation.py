"""Errors isolated per feature: a failing hover, lens or fix answers empty; the rest go on.

Each LSP feature handler is wrapped once. Expected failures of the go command or the disk are
logged as warnings; anything else is a bug, logged with its traceback the first time per
feature only, so one broken provider cannot flood the client's log.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from escape_lsp.analysis.errors import EXPECTED_FAILURES

log = logging.getLogger("escape_lsp")

F = TypeVar("F", bound=Callable[..., Any])

_reported: set[str] = set()


def _failed(feature: str, exc: Exception) -> None:
    if isinstance(exc, EXPECTED_FAILURES):
        log.warning("%s: %s", feature, exc)
    elif feature not in _reported:
        _reported.add(feature)
        log.exception("%s failed; it answers empty (later failures are not logged)", feature)


def isolated(feature: str, empty: Callable[[], Any]) -> Callable[[F], F]:
    """Wrap a handler so that an exception becomes `empty()` plus one log record."""

    def wrap(handler: F) -> F:
        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await handler(*args, **kwargs)
                except Exception as exc:
                    _failed(feature, exc)
                    return empty()

            return run_async  # type: ignore[return-value]

        @functools.wraps(handler)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except Exception as exc:
                _failed(feature, exc)
                return empty()

        return run  # type: ignore[return-value]

    return wrap
