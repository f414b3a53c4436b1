"""Generated code, compiled once and kept between server processes.

lsprotocol defines ~1,000 attrs classes; attrs writes each one's methods as Python source and
compiles it while `lsprotocol.types` is imported (~0.2 s of its ~0.4 s here), cattrs does the
same for each message type's (un)structuring hooks on first use, the standard library's
dataclasses for every dataclass (escape-lsp's own ~70), and typing for every string annotation
it evaluates. What `compile` returns depends on its arguments and the interpreter alone, so
the code objects are kept (`marshal`) under the private state dir, keyed by the source text
itself: a new server reads them in ~10 ms and compiles only what it has not met (the
in-process server's imports: ~660 → ~400 ms here). Upstream: microsoft/lsprotocol#441.

Light (the stdlib, and the disk memo's file writer, which imports tempfile only to write),
and installed before those classes are made: `install` gives the generator modules a
`compile` (or, for dataclasses, an `exec`) of their own, as a module global that shadows the
builtin, and changes nothing else.
The file holds code to run, so it is read only from a dir only we can open, and only if it is
ours; anything unreadable is ignored and written again.
"""

from __future__ import annotations
import __future__

import importlib
import marshal
import os
import sys
import time
from importlib.util import MAGIC_NUMBER
from types import CodeType
from typing import Any

from escape_lsp.analysis.disk_memo import replace_file

#: The modules whose `compile` calls are cached: attrs' class builder, cattrs' hook makers,
#: typing's `ForwardRef` (string annotations).
GENERATORS = ("attr._make", "cattrs.gen", "cattrs.gen.typeddicts", "typing")
#: The modules whose `exec` of a source string is cached: dataclasses' method builder.
EXEC_GENERATORS = ("dataclasses",)
#: What `check` and `pools` cache (in a file of their own): they import no attrs, and their
#: ~50 dataclasses' methods were a third of their imports (~45 of ~145 ms).
CLI = "cli"
#: A process writes the file only when what it compiled anew took at least this long.
WORTH_WRITING = 0.02
#: Past this size the file keeps only what the writing process used.
MAX_BYTES = 8 << 20

#: The `from __future__` flags a caller's compile inherits (CPython's PyCF_MASK).
_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag

_Key = tuple[str, str, str, int, int]


def cache_path(directory: str, user: str = "") -> str:
    """One file per interpreter build (marshal's code format is the interpreter's own) and
    user of the cache (the server, or the `CLI`)."""
    tag = f"{sys.implementation.cache_tag}-{MAGIC_NUMBER.hex()}-O{sys.flags.optimize}"
    return os.path.join(directory, f"codegen-{user + '-' if user else ''}{tag}.marshal")


class CodegenCache:
    """A `compile` that answers from the kept code objects, and what to write back."""

    def __init__(self, path: str, kept: dict[_Key, CodeType]) -> None:
        self.path = path
        self.kept = kept
        self.used: dict[_Key, CodeType] = {}
        self.hits = 0
        self.misses = 0
        #: Seconds spent compiling what was not kept.
        self.compiling = 0.0

    def compile(
        self,
        source: Any,
        filename: Any,
        mode: str,
        flags: int = 0,
        dont_inherit: bool = False,
        optimize: int = -1,
    ) -> Any:
        """`compile`, with the caller's `from __future__` flags, as the builtin takes them."""
        if not dont_inherit:
            flags |= sys._getframe(1).f_code.co_flags & _FUTURE_FLAGS
        if not isinstance(source, str) or not isinstance(filename, str):
            return compile(source, filename, mode, flags, True, optimize)
        key = (source, filename, mode, flags, optimize)
        code = self.used.get(key) or self.kept.get(key)
        if code is not None:
            self.hits += 1
            self.used[key] = code
            return code
        started = time.perf_counter()
        made = compile(source, filename, mode, flags, True, optimize)
        if isinstance(made, CodeType):  # not an AST (`ast.PyCF_ONLY_AST`): marshal keeps it
            self.compiling += time.perf_counter() - started
            self.misses += 1
            self.used[key] = made
        return made

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """`exec`, a source string compiled (with the caller's `from __future__` flags, as
        the builtin takes them) or taken from the kept code."""
        caller = sys._getframe(1)
        if globals is None:  # the builtin runs in the caller's namespaces
            globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
        if isinstance(source, str):
            flags = caller.f_code.co_flags & _FUTURE_FLAGS
            source = self.compile(source, "<string>", "exec", flags, True)
        exec(source, globals, locals)

    def save(self, worth: float = WORTH_WRITING) -> None:
        """Write what this process used (with what was kept, while that stays small) when
        compiling it anew took `worth` seconds or more; errors only cost the cache."""
        if self.compiling < worth or not self.used:
            return
        # With what the file holds now: another process of the same user (the in-process
        # first publish's server beside the zygote it starts) may have written it meanwhile.
        table = {**read(self.path), **self.kept, **self.used}
        try:
            data = marshal.dumps(table)
            if len(data) > MAX_BYTES:
                table = dict(self.used)
                data = marshal.dumps(table)
            replace_file(self.path, data)
        except (OSError, ValueError):
            return
        self.kept, self.compiling = table, 0.0


#: What `for_this_user` installed in this process, by user.
_installed: dict[str, CodegenCache | None] = {}


def for_this_user(user: str = "") -> CodegenCache | None:
    """`install` under the private state dir (`resident.install.kept_state_dir`), unless
    the on-disk caches are off or there is no such dir; once per process and user (again:
    the same cache)."""
    if user in _installed:
        return _installed[user]
    from escape_lsp.lsp.resident.install import kept_state_dir

    directory = kept_state_dir()
    cache = _installed[user] = install(directory, user) if directory is not None else None
    return cache


def install(directory: str, user: str = "") -> CodegenCache | None:
    """Cache the generators' `compile` calls with the file under `directory` (a private dir:
    see `resident.install.state_dir`); None if they are missing or already imported users
    of attrs made the cache pointless. `user` `CLI`: only typing's and dataclasses' (attrs
    and cattrs are not imported for them)."""
    if "lsprotocol.types" in sys.modules:
        return None
    path = cache_path(directory, user)
    cache = CodegenCache(path, read(path))
    patched = False
    generators = ("typing",) if user == CLI else GENERATORS
    for names, builtin, cached in (
        (generators, "compile", cache.compile),
        (EXEC_GENERATORS, "exec", cache.exec),
    ):
        for name in names:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            setattr(module, builtin, cached)  # a module global shadows the builtin
            patched = True
    return cache if patched else None


def read(path: str) -> dict[_Key, CodeType]:
    """The kept table, or empty: missing, not ours, open to others, or not what we wrote."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return {}
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return {}
        try:
            table = marshal.loads(fh.read())
        except (EOFError, ValueError, TypeError, OSError):
            return {}
    if not isinstance(table, dict):
        return {}
    return {
        key: code
        for key, code in table.items()
        if isinstance(key, tuple) and len(key) == 5 and isinstance(code, CodeType)
    }
