"""BLAKE2b without hashlib: `import hashlib` loads OpenSSL (~4 ms), and the modules a spawn
or a `check` imports before go starts hash with it (the head start's record names, the
resident server's install key, the on-disk memo's salt, memo keys). `_blake2` is the module
hashlib's own `blake2b` comes from."""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b

__all__ = ["blake2b"]
