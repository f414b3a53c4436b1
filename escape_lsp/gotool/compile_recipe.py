"""The compile go runs for a package, run again without go (the server's saves and edits).

A `go build` of a small package spends about half its time in go itself: loading packages,
hashing each dependency's action, writing its cache, before and after the one compile whose
output escape-lsp reads. While a package's dependencies, imports, files and flags stay the
same, that compile's command line does too, but for the files' contents: the same compiler,
the same flags, an import config naming the dependencies' export data in go's cache.

`plan_argv` asks go for that command (`go build -n`, with every Go file of the package in an
overlay and the first one perturbed, so go plans the compile instead of replaying its cache);
`parse_plan` keeps it as a `Recipe` when it can run alone (no file go would make first: cgo,
assembly headers, embed configs, a dependency being rebuilt); `replay` runs it on the files'
texts now, with the environment go gives its tools (every `go env` value), and turns what the
compiler printed into what go would show (`compile_stream.as_go_shows`). What comes out is the
compiler's own verdicts; a compile that fails, or prints to stderr, is not used: go build
runs instead and says why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from escape_lsp.gotool.build import BuildOutput
from escape_lsp.gotool.compile_stream import as_go_shows
from escape_lsp.gotool.process import run
from escape_lsp.gotool.tempdir import private_subdir

#: Stand-ins in `Recipe.head` for the values each replay gives anew.
OUT, IMPORTCFG, TRIMPATH = "\0out", "\0importcfg", "\0trimpath"
_STANDS_FOR = {"-o": OUT, "-importcfg": IMPORTCFG, "-trimpath": TRIMPATH}

#: The import config as go -n shows writing it (`Shell.WriteFile`): a heredoc, or for one line
#: (a package importing nothing: its comment alone) an echo.
_IMPORTCFG = re.compile(
    r"^cat >(\$WORK/b\d+)/importcfg << 'EOF' # internal\n(.*?)^EOF$", re.M | re.S
)
_IMPORTCFG_LINE = re.compile(r"^echo '([^'\n]*)' > (\$WORK/b\d+)/importcfg # internal$", re.M)
_CD = re.compile(r"^cd (/.*)$", re.M)
#: One word of a command as go's -n prints it: plain, or quoted as Go quotes strings.
_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|[^ ]+')
#: Escapes of Go's quoting that JSON's strings lack (bytes, bells): no recipe then.
_NOT_JSON = re.compile(r"\\[abvxU0-7]")


@dataclass(frozen=True)
class Recipe:
    """One package's compile, as go ran it, to run again on other texts of its files."""

    package: str
    package_dir: str
    #: Where go ran the compile (its own working directory).
    cwd: str
    #: The compiler, then its flags up to and including `-pack`, with `OUT`, `IMPORTCFG` and
    #: `TRIMPATH` where each replay puts its own.
    head: tuple[str, ...]
    #: The compiled Go files, absolute, in go's order.
    files: tuple[str, ...]
    #: `-trimpath` rewrites go puts before those of overlaid files (`-trimpath` builds).
    trim_before: tuple[str, ...]
    #: What an overlaid file's path is rewritten to: this directory and the file's name.
    rewrite_dir: str
    importcfg: str
    #: The compiler's environment beyond this process's: go's `env`, then every `go env`.
    env: tuple[tuple[str, str], ...]


def plan_argv(build_argv: list[str]) -> list[str]:
    """`go build -n` for a go build command line (`build_command.build_argv`)."""
    return [*build_argv[:2], "-n", *build_argv[2:]]


def words(line: str) -> list[str] | None:
    """A command line as go prints it (`joinUnambiguously`), split; None if unsure."""
    out: list[str] = []
    for m in _WORD.finditer(line):
        word = m.group()
        if word.startswith('"'):
            if _NOT_JSON.search(word):
                return None
            try:
                word = json.loads(word)
            except ValueError:
                return None
        out.append(word)
    return out


def parse_plan(
    text: str,
    package: str,
    package_dir: str,
    overlaid: Mapping[str, str],
    env: Mapping[str, str],
) -> Recipe | None:
    """The package's compile from what `go build -n -json` printed for it (its events'
    text), where `overlaid` maps each overlay file go was given to the real file; None when
    the compile needs anything go makes in its work directory first."""
    if (cfg := _IMPORTCFG.search(text)) is not None:
        objdir, importcfg = cfg[1], cfg[2]
    elif (line_cfg := _IMPORTCFG_LINE.search(text)) is not None:
        objdir, importcfg = line_cfg[2], line_cfg[1] + "\n"
    else:
        return None
    if "$WORK" in importcfg:
        return None
    line = next((ln for ln in text.splitlines() if _is_compile(ln)), None)
    if line is None or (argv := words(line)) is None:
        return None
    at = text.index(line)
    cds = [m[1] for m in _CD.finditer(text) if m.start() < at]
    if not cds:
        return None
    cwd = cds[-1]  # go's working directory for the compile
    head = [argv[0]]
    trimpath = ""
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "-pack":
            head.append(word)
            break
        if word in _STANDS_FOR and i + 1 < len(argv):
            value = argv[i + 1]
            if word == "-o" and not value.startswith(objdir + "/"):
                return None
            if word == "-importcfg" and value != f"{objdir}/importcfg":
                return None
            if word == "-trimpath":
                trimpath = value
            head += [word, _STANDS_FOR[word]]
            i += 2
            continue
        if "$WORK" in word:  # -embedcfg, -asmhdr, -symabis, a preprocessed profile: go's own
            return None
        head.append(_unshort(word, cwd))
        i += 1
    else:
        return None
    shown = [_unshort(w, cwd) for w in argv[i + 1 :]]
    if not shown or any(w.startswith("-") or w not in overlaid for w in shown):
        return None
    files = tuple(overlaid[w] for w in shown)
    trim = _trim_parts(trimpath, objdir, overlaid)
    if trim is None:
        return None
    before, rewrite_dir = trim
    return Recipe(
        package,
        package_dir,
        cwd,
        tuple(head),
        files,
        before,
        rewrite_dir,
        importcfg,
        tuple(sorted(env.items())),
    )


def _is_compile(line: str) -> bool:
    first = line.split(" ", 1)[0]
    return os.path.basename(first) in ("compile", "compile.exe") and os.path.isabs(first)


def _unshort(word: str, cwd: str) -> str:
    """The path go showed as `./…` (its working directory written as `.`), in full."""
    if word == ".":
        return cwd
    if word.startswith("./"):
        return cwd + word[1:]
    return word


def _trim_parts(
    value: str, objdir: str, overlaid: Mapping[str, str]
) -> tuple[tuple[str, ...], str] | None:
    """go's `-trimpath` value as (rewrites before the overlaid files', the directory those
    are rewritten to); None unless it is that, then `objdir=>`, as `Action.trimpath` makes it."""
    parts = value.split(";")
    if not parts or parts[-1] != f"{objdir}=>":
        return None
    before: list[str] = []
    rewrite_dir: str | None = None
    for part in parts[:-1]:
        source, arrow, target = part.partition("=>")
        if not arrow or "$WORK" in part:
            return None
        if source in overlaid:
            if os.path.basename(target) != os.path.basename(overlaid[source]):
                return None
            directory = os.path.dirname(target)
            if rewrite_dir not in (None, directory):
                return None
            rewrite_dir = directory
        elif rewrite_dir is None:
            before.append(part)
        else:
            return None
    if rewrite_dir is None:
        return None
    return tuple(before), rewrite_dir


def replay_argv(recipe: Recipe, workdir: str, overlaid: Mapping[str, str]) -> list[str]:
    """The recipe's compile on the files as they are now, its import config and object file
    in `workdir` (a compile that fails removes its object file, whatever path it names):
    `overlaid` maps a real file to the overlay file holding its unsaved text."""
    rewrites = [
        f"{overlaid[f]}=>{os.path.join(recipe.rewrite_dir, os.path.basename(f))}"
        for f in recipe.files
        if f in overlaid
    ]
    trimpath = ";".join([*recipe.trim_before, *rewrites, f"{workdir}=>"])
    given = {
        OUT: os.path.join(workdir, "_pkg_.a"),  # never a path the compiler may remove
        IMPORTCFG: os.path.join(workdir, "importcfg"),
        TRIMPATH: trimpath,
    }
    return [given.get(w, w) for w in recipe.head] + [overlaid.get(f, f) for f in recipe.files]


async def replay(
    recipe: Recipe,
    overlaid: Mapping[str, str],
    timeout: float | None,
    on_start: Callable[[str], None] | None = None,
) -> BuildOutput | None:
    """The recipe's compile run now, as go build's output for its package; None when it did
    not end cleanly (an error in the code, a dependency's export data gone from go's cache, a
    timeout): go build must run and say what it says. Cancelling kills the compiler."""
    began = time.monotonic()
    # The compile's work dir (import config, object file) is its GOTMPDIR, removed once it
    # has ended, however it ends (`process.run`).
    workdir = private_subdir("compile-")
    try:
        with open(os.path.join(workdir, "importcfg"), "w", encoding="utf-8") as fh:
            fh.write(recipe.importcfg)
        argv = replay_argv(recipe, workdir, overlaid)
        env = dict(recipe.env)
        proc = await run(argv, recipe.cwd, env, timeout, None, on_start, gotmp=workdir)
    except Exception:  # a timeout, a compiler that cannot start: go build says what is wrong
        shutil.rmtree(workdir, ignore_errors=True)  # the command never ran, or has ended
        return None
    if proc.returncode != 0 or proc.stderr:
        return None
    text = proc.stdout
    output = {}
    if text:
        output[recipe.package] = as_go_shows(text, recipe.package, recipe.package_dir, recipe.cwd)
    return BuildOutput(0, output, set(), "", time.monotonic() - began)
