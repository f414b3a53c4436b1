"""Every overhead target of escape-lsp, each against the raw compiler in the same run.

Reference and subject runs alternate (the machine is shared); each number is a median of
--runs. The on-disk memo lives in a temp dir that starts empty. Prints a markdown table for
the README's Performance section.

  cli-cold   `check PKG` after a file of PKG changed (go recompiles PKG for both), large package
  cli-first  the same, a first run: an empty on-disk memo and no record (the head start
             starts the build it works out from the files)
  cli-warm   `check PKG` with nothing changed (go replays its cache)
  parse      parse + map net/http's own -m=2 output as the engine does (split by file, parse
             and map the files shown): a typical and the largest file, and all of them; a
             shown file is open, so its tree is parsed while go compiles (the target), and
             for reference after go, as for a file not open
  imports    `python -X importtime -m escape_lsp serve`: the thin client's imports with a
             resident server up; and `import escape_lsp.lsp.server` (the in-process server,
             what a resident server imports once), lsprotocol.types alone
  spawn      server spawn -> first diagnostics of an opened file, small package, changed and
             unchanged: forked by a resident server, the very first spawn (in-process, which
             starts one after its first diagnostics; also after a reboot, the runtime dir
             emptied, and the first ever, with no generated code (lsp/codegen_cache.py) or
             head start record kept in the state dir either), and in-process
             (ESCAPE_LSP_RESIDENT=off)
  keystroke  unsaved edit -> diagnostics (adaptive debounce), small package
  save       didSave -> diagnostics, small and large package
  (server = spawn, keystroke, save and the large-package memory)
  restart    with includeTests: didOpen -> diagnostics in a new server, nothing changed, vs
             go's replay of `go test -c`
  memory     peak RSS: the large-package session; a 1 MiB file edited 30 times (with code
             lenses); a 5 MB file opened

Run: .venv/bin/python bench/overhead.py [--runs 5] [--only cli,parse,spawn,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import MODULE, large_package, machine, median, raw_build, real_package, timed
from lsp_client import Client

ROWS: list[tuple[str, str, str, str]] = []  # target, measured, reference/ratio, verdict
#: The interpreter whose escape_lsp is measured (--python: e.g. a venv with an older commit).
SUBJECT = sys.executable


def row(target: str, measured: str, versus: str, met: bool | None) -> None:
    verdict = "—" if met is None else ("met" if met else "**not met**")
    ROWS.append((target, measured, versus, verdict))
    print(f"  {target}: {measured} | {versus} | {verdict}", flush=True)


def touch(pkg_dir: Path) -> None:
    """A new comment file: the package's content changes, so go recompiles it."""
    (pkg_dir / "zz_bench.go").write_text(
        f"package {pkg_dir.name}\n\n// {time.time_ns()} {os.urandom(4).hex()}\n"
    )


def mib_mb(mib: float) -> str:
    """A peak RSS read in MiB, also in MB (the targets' unit: 10^6 bytes)."""
    return f"{mib:.0f} MiB ({mib * 2**20 / 1e6:.0f} MB)"


def within_mb(mib: float, limit_mb: float) -> bool:
    return mib * 2**20 <= limit_mb * 1e6


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# -- CLI -------------------------------------------------------------------------------------


def cli(runs: int) -> None:
    cli = [SUBJECT, "-m", "escape_lsp", "check"]
    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp:
        root = Path(tmp) / "large"
        root.mkdir()
        pkg_dir, pkg = large_package(root)
        raw_build(root, pkg)
        from escape_lsp.analysis.disk_memo import DiskMemo
        from escape_lsp.findings.parser import build_findings

        output = raw_build(root, pkg).stderr
        verdicts = len(build_findings(output, str(root), lambda p: p.startswith(str(root))))
        print(f"cli: {pkg} (a copy of net/http), {verdicts} verdicts (findings)", flush=True)

        def ours(cache: str) -> float:
            """A run with the on-disk memo `cache`, and the state dir beside it (where the
            head start's record is: a fresh `cache` is a first run in every way)."""
            state = Path(f"{cache}-state")
            state.mkdir(mode=0o700, exist_ok=True)
            env = {**os.environ, "ESCAPE_LSP_CACHE": cache, "ESCAPE_LSP_STATE_DIR": str(state)}
            took = timed(
                lambda: subprocess.run(
                    [*cli, pkg], cwd=root, env=env, check=True, capture_output=True
                )
            )
            # `check` writes its memo in a child after it exits: not timed, and over before
            # the next run (a reference build beside it would be slowed)
            DiskMemo(cache).wait_for_writer()
            return took

        memo = str(Path(tmp) / "memo")
        ours(memo)  # the memo holds the package as it is now
        cold: tuple[list[float], list[float]] = ([], [])
        first: tuple[list[float], list[float]] = ([], [])
        warm: tuple[list[float], list[float]] = ([], [])
        for i in range(runs):
            touch(pkg_dir)
            cold[0].append(timed(lambda: raw_build(root, pkg)))
            touch(pkg_dir)
            cold[1].append(ours(memo))
            warm[0].append(timed(lambda: raw_build(root, pkg)))
            warm[1].append(ours(memo))
            touch(pkg_dir)
            first[0].append(timed(lambda: raw_build(root, pkg)))
            touch(pkg_dir)
            first[1].append(ours(str(Path(tmp) / f"empty-{i}")))
        r, o = median(cold[0]), median(cold[1])
        row(
            "CLI cold, large package (≤ 1.1× raw)",
            ms(o),
            f"raw {ms(r)}, {o / r:.2f}×",
            o / r <= 1.1,
        )
        r, o = median(first[0]), median(first[1])
        row(
            "CLI cold, first run (empty memo, no record: the build worked out from the files)",
            ms(o),
            f"raw {ms(r)}, {o / r:.2f}×",
            o / r <= 1.1,
        )
        r, o = median(warm[0]), median(warm[1])
        row("CLI warm (≤ raw + 250 ms)", ms(o), f"raw {ms(r)}, +{ms(o - r)}", o - r <= 0.25)


# -- parse -----------------------------------------------------------------------------------


def parse(runs: int) -> None:
    from escape_lsp.findings.compiled_map import mapped_findings
    from escape_lsp.findings.model import Finding
    from escape_lsp.findings.parser import build_findings, gc_paused, split_by_file
    from escape_lsp.findings.syntax import MAPPED_ORDER, GoSource, widen_findings

    pkg = "net/http"
    subprocess.run(["go", "build", pkg], check=True)
    text = subprocess.run(
        ["go", "build", f"-gcflags={pkg}=-m=2 -memprofilerate={524288 + os.getpid()}", pkg],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    size = len(text.encode())
    found = build_findings(text, "/", lambda _p: True)
    by_file: dict[str, list[Finding]] = {}
    for f in found:
        by_file.setdefault(f.file, []).append(f)
    largest = max(by_file, key=lambda p: len(by_file[p]))  # h2_bundle.go: generated, 400 kB
    typical = next(p for p in by_file if p.endswith("/server.go"))

    def end_to_end(files: Callable[[str], bool], trees: dict[str, GoSource] | None) -> None:
        """What the engine does with go's output for the files shown: split it by file,
        parse those files' parts, map their findings (and flow steps) to syntax ranges.
        `trees`: sources parsed beforehand (the engine parses them while go compiles)."""
        sources: dict[str, GoSource | None] = dict(trees or {})

        def source(path: str) -> GoSource | None:
            if path not in sources:
                sources[path] = GoSource(Path(path).read_bytes()) if files(path) else None
            return sources[path]

        with gc_paused():  # as the engine maps a package's output
            for path, part in split_by_file(text, "/").items():
                if files(path):  # the compiled route in one call where it is built
                    if mapped_findings(part, "/", lambda _p: True, None, source) is not None:
                        continue
                    raw = build_findings(part, "/", lambda _p: True)
                    sorted(widen_findings(raw, source), key=MAPPED_ORDER)

    def parsed(path: str) -> dict[str, GoSource]:
        src = GoSource(Path(path).read_bytes())
        src.prepare()  # its trees parsed before the clock starts, as `prepare_sources` does
        return {path: src}

    def timed_file(path: str, with_tree: bool) -> float:
        trees = parsed(path) if with_tree else None
        return timed(lambda: end_to_end(lambda p: p == path, trees))

    only = median([timed(lambda: build_findings(text, "/", lambda _p: True)) for _ in range(runs)])
    split = median([timed(lambda: split_by_file(text, "/")) for _ in range(runs)])
    print(f"parse: {pkg}, {size / 1e6:.2f} MB, {len(found)} findings", flush=True)
    mbs = size / 1e6
    row("Parse only (net/http -m=2 output)", f"{mbs / only:.1f} MB/s", ms(only), None)
    row("Split by file (net/http -m=2 output)", f"{mbs / split:.0f} MB/s", ms(split), None)
    for label, path in (("typical", typical), ("largest", largest)):
        took = median([timed_file(path, False) for _ in range(runs)])
        warm = median([timed_file(path, True) for _ in range(runs)])
        name = f"{os.path.basename(path)}, {len(by_file[path])} findings"
        # A shown file is open in the editor: the engine parses its tree while go compiles.
        target = f"Parse + map, {label} shown file ({name}), its tree parsed while go compiles (≥ 40 MB/s)"
        row(target, f"{mbs / warm:.1f} MB/s", ms(warm), mbs / warm >= 40)
        row("  the same, its tree parsed after go (a file not open: a package's first build)",
            f"{mbs / took:.1f} MB/s", ms(took), None)  # fmt: skip
    every = median([timed(lambda: end_to_end(lambda p: True, None)) for _ in range(runs)])
    row("Parse + map, every file", f"{mbs / every:.1f} MB/s", ms(every), None)


async def engine_after_one_change(runs: int) -> None:
    """The engine's parse + map of a large package's output after one file changed (one or
    two lines inserted at its top, in turn, so that all the compiler says about it moves
    from one run to the next): the per-file memo re-parses that file only (the editor's
    save, the CLI's cold run)."""
    from escape_lsp.analysis import package_results
    from escape_lsp.analysis.engine import Engine
    from escape_lsp.analysis.settings import AnalysisSettings
    from escape_lsp.gotool.toolchain import find_toolchain, module_context

    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp:
        root = Path(tmp)
        pkg_dir, pkg = large_package(root)
        raw_build(root, pkg)
        toolchain = find_toolchain()
        engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
        took: list[float] = []
        size = 0
        result = package_results.package_result

        def timed_result(host: Any, batch: Any, *args: Any) -> Any:
            """What the engine does once go is done (parsing trees and indexing pools
            happened while it compiled)."""
            nonlocal size
            start = time.perf_counter()
            res = result(host, batch, *args)
            took.append(time.perf_counter() - start)
            size = len(batch.out.output.get(pkg, "").encode())
            return res

        package_results.package_result = timed_result  # type: ignore[assignment]
        target = pkg_dir / "server.go"
        original = target.read_text()
        try:
            await engine.analyze([pkg])
            took.clear()
            for i in range(runs):
                # one line inserted at the top, or two: every verdict about the file moves
                # from where the run before put it (the engine keeps each file's last parse)
                top = f"// {i} {os.urandom(4).hex()}\n" * (1 + i % 2)
                target.write_text(top + original)
                await engine.analyze([pkg])
        finally:
            package_results.package_result = result
            engine.close()
    t = median(took)
    row(
        "Parse + map in the engine after one file changed (net/http copy, per-file memo)",
        f"{size / 1e6 / t:.1f} MB/s",
        ms(t),
        size / 1e6 / t >= 40,
    )


# -- imports ---------------------------------------------------------------------------------


def import_micros(module: str) -> tuple[int, int]:
    """(total µs of importing `module`, self µs of lsprotocol.types) per -X importtime."""
    err = subprocess.run(
        [SUBJECT, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    total = lsp_self = 0
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and m[4] == module:
            total = int(m[2])
        if m and m[4] == "lsprotocol.types":
            lsp_self = int(m[1])
    return total, lsp_self


def serve_import_micros(env: dict[str, str]) -> tuple[int, list[str]]:
    """µs of everything `escape-lsp serve` imports after the interpreter's own start-up (the
    top-level imports after `site`), with stdin at its end: the forked server ends at once."""
    err = subprocess.run(
        [SUBJECT, "-X", "importtime", "-m", "escape_lsp", "serve"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    ).stderr
    total, after_site, names = 0, False, []
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m or len(m[3]) > 1:  # nested: counted in its parent's cumulative time
            continue
        if after_site:
            total += int(m[2])
            names.append(m[4])
        after_site = after_site or m[4] == "site"
    return total, names


def in_process_import_ms(
    kept_in: str | None, module: str = "escape_lsp.lsp.server", user: str = ""
) -> float:
    """Wall-clock ms of importing `module` as the in-process `serve` (or, `user` "cli",
    `check`) does: after installing the kept generated code from `kept_in`
    (lsp/codegen_cache.py), or without it (None)."""
    install = (
        "from escape_lsp.lsp import codegen_cache; "
        f"c = codegen_cache.install({kept_in!r}, {user!r}); "
        if kept_in
        else ""
    )
    save = "c.save(); " if kept_in else ""
    code = (
        "import time; t = time.perf_counter(); "
        f"{install}import {module}; took = time.perf_counter() - t; "
        f"{save}print(took * 1000)"
    )
    out = subprocess.run([SUBJECT, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def imports(runs: int) -> None:
    with resident_runtime() as env:
        serve_import_micros(env)  # starts the resident server
        thin = [serve_import_micros(env) for _ in range(runs)]
    assert not any("lsprotocol" in n or "pygls" in n for n in thin[0][1]), thin[0][1]
    server = [import_micros("escape_lsp.lsp.server") for _ in range(runs)]
    check = [import_micros("escape_lsp.analysis.check")[0] for _ in range(runs)]
    total = median([s[0] for s in server]) / 1000
    lsp = median([s[1] for s in server]) / 1000
    client = median([t[0] for t in thin]) / 1000
    row(
        "Server imports: `escape-lsp serve`, a resident server up (≤ 150 ms)",
        f"{client:.0f} ms",
        f"in-process server {total:.0f} ms",
        client <= 150,
    )
    row(
        "Server imports in-process (fallback; a resident server's start)",
        f"{total:.0f} ms",
        f"lsprotocol.types alone {lsp:.0f} ms",
        None,
    )
    row("CLI `check` imports (no pygls)", f"{median(check) / 1000:.0f} ms", "", None)
    # What the in-process `serve` imports; what `check` imports after its head start.
    cli_modules = "escape_lsp.analysis.check, escape_lsp.cli_evidence, escape_lsp.report.sarif"
    for label, module, user in (
        ("Server imports in-process as `serve`", "escape_lsp.lsp.server", ""),
        ("CLI `check` imports as `check`", cli_modules, "cli"),
    ):
        with tempfile.TemporaryDirectory(prefix="escape-bench-codegen-") as kept_in:
            in_process_import_ms(kept_in, module, user)  # compiles and keeps the code
            kept, fresh = [], []
            for _ in range(runs):
                kept.append(in_process_import_ms(kept_in, module, user))
                fresh.append(in_process_import_ms(None, module))
        row(
            f"{label} makes them, generated code kept (wall clock)",
            f"{median(kept):.0f} ms",
            f"nothing kept {median(fresh):.0f} ms",
            None,
        )


# -- resident server -------------------------------------------------------------------------


def zygotes(runtime: str) -> list[int]:
    """Live resident servers of `runtime` (not the servers they forked, which keep their
    parent's command line)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if b"resident.zygote" in cmdline and runtime.encode() in cmdline and fields[0] != "Z":
            found[int(entry.name)] = int(fields[1])
    return [pid for pid, parent in found.items() if parent not in found]


def stop_zygotes(runtime: str) -> None:
    for pid in zygotes(runtime):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while zygotes(runtime) and time.monotonic() < deadline:
        time.sleep(0.02)


def zygote_readies(runtime: str) -> int:
    """How many zygotes of `runtime` have said they are ready, in its log."""
    try:
        return (Path(runtime) / "zygote.log").read_text().count("ready in ")
    except FileNotFoundError:
        return 0


async def ready_after(runtime: str, readies: int, timeout: float = 30) -> None:
    """Until one more zygote is ready: a spawn with none serves in-process and starts one
    after its first diagnostics, which must not share the cores with the next run."""
    async with asyncio.timeout(timeout):
        while zygote_readies(runtime) <= readies:
            await asyncio.sleep(0.05)


class resident_runtime:
    """A private runtime dir for resident servers and a state dir (env for the spawned
    `serve`); the servers are stopped at the end."""

    def __enter__(self) -> dict[str, str]:
        self.dir = tempfile.mkdtemp(prefix="elb-", dir="/tmp")
        self.state = tempfile.mkdtemp(prefix="elb-state-")
        return {
            "ESCAPE_LSP_RESIDENT": "on",
            "ESCAPE_LSP_RUNTIME_DIR": self.dir,
            "ESCAPE_LSP_STATE_DIR": self.state,
        }

    def __exit__(self, *_: object) -> None:
        stop_zygotes(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.state, ignore_errors=True)


# -- server ----------------------------------------------------------------------------------


def variant(text: str, tag: str) -> str:
    return text + f"\n// bench {tag} {os.urandom(4).hex()}\n"


async def first_diagnostics(
    root: Path, target: Path, settings: dict[str, object], env: dict[str, str] | None = None
) -> tuple[float, float, Client]:
    """(spawn -> diagnostics, didOpen -> diagnostics) of a new server opening `target`."""
    start = time.perf_counter()
    client = await Client.start(settings, python=SUBJECT, env=env)
    await client.initialize(root.as_uri())
    opened = time.perf_counter()
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": target.as_uri(),
                "languageId": "go",
                "version": 1,
                "text": target.read_text(),
            }
        },
    )
    when = await client.published(target.as_uri(), 1)
    return when - start, when - opened, client


async def idle(client: Client) -> None:
    """Until the server runs no go command (background fix proofs included), so the raw
    reference does not share the machine with them."""
    async with asyncio.timeout(120):
        while True:
            status = await client.request(
                "workspace/executeCommand", {"command": "escapeLsp.status", "arguments": []}
            )
            if status["state"] == "idle":
                return
            await asyncio.sleep(0.05)  # polling a bench's server, not a test's synchronisation


async def edits(
    client: Client, root: Path, pkg: str, target: Path, runs: int, label: str, keystrokes: bool
) -> float:
    """Saves (and unsaved edits) of `target`, each against the raw build of the same change;
    returns the server's peak RSS (MiB)."""
    uri = target.as_uri()
    original = target.read_text()
    version = 1
    saves, raws, keys = [], [], []
    for i in range(runs):
        await idle(client)
        await asyncio.sleep(1.0)  # a quiet machine before each measurement
        target.write_text(variant(original, f"raw {i}"))
        raws.append(timed(lambda: raw_build(root, pkg)))
        await asyncio.sleep(1.0)  # the same quiet second before the subject as before the raw
        text = variant(original, f"save {i}")
        target.write_text(text)
        version += 1
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )
        start = time.perf_counter()
        client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        saves.append(await client.published(uri, version) - start)
        if keystrokes:
            await idle(client)
            await asyncio.sleep(1.0)  # a pause before typing: not a synchronisation
            version += 1
            start = time.perf_counter()
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": variant(original, f"key {i}")}],
                },
            )
            keys.append(await client.published(uri, version) - start)
            await asyncio.sleep(1.0)
    target.write_text(original)
    r, s = median(raws), median(saves)
    row(
        f"Save → diagnostics, {label} (≤ 1.1× raw)",
        ms(s),
        f"raw {ms(r)}, {s / r:.2f}×",
        s / r <= 1.1,
    )
    if keys:
        k = median(keys)
        row(
            f"Unsaved edit → diagnostics, {label} (≤ raw + 50 ms)",
            ms(k),
            f"raw {ms(r)}, +{ms(k - r)}",
            k - r <= 0.05,
        )
    return client.peak_rss_mib()


async def spawn(runs: int) -> None:
    """Spawn -> first diagnostics on the small package, changed and unchanged: forked by a
    resident server, the first spawn (no resident server yet; also after a reboot, and with
    nothing kept at all) and in-process."""
    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp, resident_runtime() as env:
        small = Path(tmp) / "small"
        small_dir, small_pkg = real_package(small, "encoding/csv")
        target = small_dir / "reader.go"
        raw_build(small, small_pkg)
        runtime, state = env["ESCAPE_LSP_RUNTIME_DIR"], env["ESCAPE_LSP_STATE_DIR"]

        def first_start() -> None:
            stop_zygotes(runtime)

        def after_a_reboot() -> None:  # the runtime dir is per boot: emptied
            stop_zygotes(runtime)
            for entry in Path(runtime).iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()

        def on_a_new_machine() -> None:  # nothing kept anywhere, as on the first spawn ever
            after_a_reboot()
            for kept in Path(state).glob("codegen-*"):
                kept.unlink()
            shutil.rmtree(Path(state) / "head-start", ignore_errors=True)

        in_process = {**env, "ESCAPE_LSP_RESIDENT": "off"}
        #: name -> (the spawn's environment, what happens before it)
        variants: dict[str, tuple[dict[str, str], Callable[[], None] | None]] = {
            "resident": (env, None),
            "very first spawn (in-process; starts the resident server after)": (env, first_start),
            "very first spawn after a reboot (runtime dir emptied)": (env, after_a_reboot),
            "in-process (ESCAPE_LSP_RESIDENT=off)": (in_process, None),
            "the first spawn ever (nothing kept in the state dir either)": (env, on_a_new_machine),
        }
        raw_cold, raw_warm = [], []
        cold: dict[str, list[float]] = {v: [] for v in variants}
        warm: dict[str, list[float]] = {v: [] for v in variants}
        _, _, client = await first_diagnostics(small, target, {}, env)  # a resident server
        await client.close()
        for _ in range(runs):
            touch(small_dir)
            raw_cold.append(timed(lambda: raw_build(small, small_pkg)))
            raw_warm.append(timed(lambda: raw_build(small, small_pkg)))
            for name, (variant_env, before) in variants.items():
                for times, change in ((cold, True), (warm, False)):
                    if before is not None:
                        before()
                    if change:
                        touch(small_dir)
                    readies = zygote_readies(runtime)
                    took, _, client = await first_diagnostics(small, target, {}, variant_env)
                    times[name].append(took)
                    await client.close()
                    if before is not None:  # the zygote it started, ready before the next
                        await ready_after(runtime, readies)
        for name in variants:
            for label, times, raws in (("changed", cold, raw_cold), ("unchanged", warm, raw_warm)):
                r, s = median(raws), median(times[name])
                row(
                    f"Spawn → first diagnostics, small package {label}, {name} (≤ raw + 200 ms)",
                    ms(s),
                    f"raw {ms(r)}, +{ms(s - r)}",
                    s - r <= 0.2,
                )


async def server(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp:
        small = Path(tmp) / "small"
        small_dir, small_pkg = real_package(small, "encoding/csv")
        target = small_dir / "reader.go"
        raw_build(small, small_pkg)
        _, _, client = await first_diagnostics(small, target, {})
        await edits(
            client, small, small_pkg, target, runs, "small package (encoding/csv)", keystrokes=True
        )
        await client.close()

        large = Path(tmp) / "large"
        large.mkdir()
        large_dir, large_pkg = large_package(large)
        raw_build(large, large_pkg)
        _, _, client = await first_diagnostics(large, large_dir / "server.go", {})
        rss = await edits(
            client,
            large,
            large_pkg,
            large_dir / "server.go",
            runs,
            "large package (net/http copy)",
            keystrokes=False,
        )
        await client.close()
        row(
            "Memory: large-package session, peak RSS (≤ 150 MB)",
            mib_mb(rss),
            "",
            within_mb(rss, 150),
        )


async def restart(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp:
        root = Path(tmp) / "tests"
        info = json.loads(
            subprocess.check_output(["go", "list", "-json", "encoding/xml"], text=True)
        )
        pkg_dir = root / "xml"
        pkg_dir.mkdir(parents=True)
        (root / "go.mod").write_text(f"module {MODULE}\n\ngo 1.24\n")
        for f in info["GoFiles"] + info["TestGoFiles"] + info["XTestGoFiles"]:
            shutil.copy(os.path.join(info["Dir"], f), pkg_dir / f)
        pkg = f"{MODULE}/xml"
        target = pkg_dir / "xml.go"
        flags = f"-gcflags={pkg}=-m=2"
        raw = ["go", "test", "-c", "-o", os.devnull, flags, f"-gcflags={pkg}_test=-m=2", pkg]
        size = len(subprocess.run(raw, cwd=root, capture_output=True, check=True).stderr)
        settings = {"includeTests": True}
        _, _, client = await first_diagnostics(root, target, settings)  # fills the memo
        await client.close()
        replays, restarts = [], []
        for _ in range(runs):
            replays.append(
                timed(lambda: subprocess.run(raw, cwd=root, capture_output=True, check=True))
            )
            _, took, client = await first_diagnostics(root, target, settings)
            restarts.append(took)
            await client.close()
        r, s = median(replays), median(restarts)
        print(f"restart: {pkg} with tests, {size / 1e6:.2f} MB of -m=2 output", flush=True)
        row(
            "Unchanged restart with tests: didOpen → diagnostics (≤ replay + 300 ms)",
            ms(s),
            f"go replay {ms(r)}, +{ms(s - r)}",
            s - r <= 0.3,
        )


async def memory() -> None:
    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp:
        root = Path(tmp)
        (root / "go.mod").write_text(f"module {MODULE}\n\ngo 1.24\n")
        funcs = "".join(f"func F{i}(n int) int {{ return n * {i} }}\n" for i in range(12000))
        padding = "".join(f"// {'-' * 70} {i}\n" for i in range(7000))
        text = f'package big\n\n{funcs}{padding}var _ int = "not an int"\n'
        (root / "big").mkdir()
        path = root / "big" / "big.go"
        path.write_text(text)
        client = await Client.start({"debounceMs": 60000}, python=SUBJECT)
        await client.initialize(root.as_uri())
        uri = path.as_uri()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": text}},
        )
        await client.published(uri, 1)
        for version in range(2, 32):
            edited = text.replace("n * 1 }", f"n * {version} }}")
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": edited}],
                },
            )
            await client.request("textDocument/codeLens", {"textDocument": {"uri": uri}})
        peak = client.peak_rss_mib()
        await client.close()
        row(
            "Memory: 1 MiB file edited 30 times, peak RSS (≤ 300 MB)",
            mib_mb(peak),
            "",
            within_mb(peak, 300),
        )

        big = "".join(f"func G{i}(n int) int {{ return n * {i} }}\n" for i in range(60000))
        big += "".join(f"// {'-' * 70} {i}\n" for i in range(32000))
        five = f'package huge\n\n{big}var _ int = "not an int"\n'
        (root / "huge").mkdir()
        hpath = root / "huge" / "huge.go"
        hpath.write_text(five)
        client = await Client.start({}, python=SUBJECT)
        await client.initialize(root.as_uri())
        client.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": hpath.as_uri(),
                    "languageId": "go",
                    "version": 1,
                    "text": five,
                }
            },
        )
        await client.published(hpath.as_uri(), 1)
        await client.request("textDocument/codeLens", {"textDocument": {"uri": hpath.as_uri()}})
        peak = client.peak_rss_mib()
        await client.close()
        row(
            f"Memory: a {len(five) / 1e6:.1f} MB file opened, peak RSS (≤ 500 MB)",
            mib_mb(peak),
            "",
            within_mb(peak, 500),
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="cli,parse,imports,spawn,server,restart,memory")
    ap.add_argument("--python", default=sys.executable, help="interpreter of the subject")
    args = ap.parse_args()
    global SUBJECT
    SUBJECT = args.python
    only = set(args.only.split(","))
    # Bytecode as an installed package has it (this sandbox sets PYTHONDONTWRITEBYTECODE=1,
    # which would otherwise recompile every module in every process: ~70 ms more per start).
    compile_subject = (
        "import compileall, os, escape_lsp; "
        "compileall.compile_dir(os.path.dirname(escape_lsp.__file__), quiet=1)"
    )
    subprocess.run([SUBJECT, "-c", compile_subject], check=True, capture_output=True)
    memo = tempfile.mkdtemp(prefix="escape-bench-memo-")
    os.environ["ESCAPE_LSP_CACHE"] = memo  # servers inherit it; starts empty
    loads = [machine()]
    try:
        if "parse" in only:
            parse(args.runs)
            asyncio.run(engine_after_one_change(args.runs))
        if "imports" in only:
            imports(args.runs)
        if "cli" in only:
            cli(args.runs)
            loads.append(machine())
        if "spawn" in only or "server" in only:
            asyncio.run(spawn(args.runs))
            loads.append(machine())
        if "server" in only:
            asyncio.run(server(args.runs))
            loads.append(machine())
        if "restart" in only:
            asyncio.run(restart(args.runs))
        if "memory" in only:
            asyncio.run(memory())
        loads.append(machine())
    finally:
        shutil.rmtree(memo, ignore_errors=True)
    print()
    print("machine: " + "; ".join(loads))
    print(f"medians of {args.runs} runs, reference and subject interleaved\n")
    print("| target | measured | reference | |")
    print("| --- | --- | --- | --- |")
    for r in ROWS:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
