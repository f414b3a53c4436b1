"""The compiled parse and map (`native/`, Rust with tree-sitter), when this install has it.

`pip install` builds it where cargo is found (setuptools-rust; the build is optional, so an
install without Rust still works). The Python modules it mirrors (`parser.py`, `syntax.py`)
stay the reference: `tests/test_native.py` compares both on real packages, and
`ESCAPE_LSP_NATIVE=off` turns the compiled one off.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

ENV = "ESCAPE_LSP_NATIVE"


def _load() -> ModuleType | None:
    if os.environ.get(ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    try:
        return importlib.import_module("escape_lsp.findings._native")
    except ImportError:
        return None


#: The compiled module, or None: not built for this install, or turned off.
compiled: ModuleType | None = _load()
