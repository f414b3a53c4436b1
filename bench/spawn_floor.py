"""How fast could a server spawn publish its first diagnostics without pygls and lsprotocol?

The floor under the "Spawn → first diagnostics" rows of `overhead.py` when no resident server
is up: a fresh interpreter imports the analysis alone, runs the engine on the small package
(a copy of encoding/csv, memo on, as a server started before left it) and writes the
`textDocument/publishDiagnostics` notification of reader.go as plain JSON (range, message,
code and flow per finding of the default kinds: what the real conversion adds, weights and
root causes, is ~2 ms). No `initialize`, no editor: a real server would add the round trips
and the answer to `initialize`. Against the raw build of the same change, as `overhead.py`
measures the spawn rows; with the CLI's kept generated code and without it (after a reboot).

    .venv/bin/python bench/spawn_floor.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import median, raw_build, real_package, timed

CHILD = r"""
import asyncio, json, os, sys
if os.environ.get("FLOOR_KEPT"):
    from escape_lsp import cli
    kept = cli._kept_generated_code()
from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.model import DEFAULT_KINDS
from escape_lsp.gotool.toolchain import find_toolchain, module_context

root, pkg, target = sys.argv[1:4]

def span(s):
    return {"start": {"line": s.start_line, "character": s.start_col},
            "end": {"line": s.end_line, "character": s.end_col}}

async def main():
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, root), AnalysisSettings())
    try:
        result = (await engine.analyze([pkg]))[pkg]
    finally:
        engine.close()
    items = [
        {"range": span(f.span), "message": f.message, "code": f.kind.value,
         "relatedInformation": [
             {"location": {"uri": "file://" + s.file, "range": span(s.span)}, "message": s.message}
             for s in f.flow]}
        for f in result.findings if f.file == target and f.kind in DEFAULT_KINDS
    ]
    note = {"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
            "params": {"uri": "file://" + target, "diagnostics": items}}
    sys.stdout.write(json.dumps(note))
    sys.stdout.flush()

asyncio.run(main())
if os.environ.get("FLOOR_KEPT") and kept is not None:
    kept.save()
os._exit(0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="escape-floor-") as tmp:
        small = Path(tmp) / "small"
        pkg_dir, pkg = real_package(small, "encoding/csv")
        target = str(pkg_dir / "reader.go")
        state = Path(tmp) / "state"
        state.mkdir(mode=0o700)
        env = {
            **os.environ,
            "ESCAPE_LSP_CACHE": str(Path(tmp) / "memo"),
            "ESCAPE_LSP_STATE_DIR": str(state),
        }

        def touch() -> None:
            (pkg_dir / "zz_bench.go").write_text(f"package csv\n// {os.urandom(4).hex()}\n")

        def floor(kept: bool) -> float:
            run_env = {**env, **({"FLOOR_KEPT": "1"} if kept else {})}
            argv = [sys.executable, "-c", CHILD, str(small), pkg, target]
            return timed(
                lambda: subprocess.run(
                    argv, env=run_env, cwd=small, capture_output=True, check=True
                )
            )

        floor(True)  # the memo holds the package, and the generated code is kept
        times: dict[str, list[float]] = {}
        for _ in range(runs):
            for change in (True, False):
                label = "changed" if change else "unchanged"
                if change:
                    touch()
                times.setdefault(f"raw {label}", []).append(timed(lambda: raw_build(small, pkg)))
                for kept in (True, False):
                    if change:
                        touch()
                    name = f"{label}, {'generated code kept' if kept else 'nothing kept'}"
                    times.setdefault(name, []).append(floor(kept))
        for label in ("changed", "unchanged"):
            raw = median(times[f"raw {label}"])
            for kept in ("generated code kept", "nothing kept"):
                took = median(times[f"{label}, {kept}"])
                print(
                    f"first diagnostics without pygls, small package {label}, {kept}: "
                    f"{took * 1e3:.0f} ms, raw {raw * 1e3:.0f} ms, +{(took - raw) * 1e3:.0f} ms"
                )


if __name__ == "__main__":
    sys.exit(main())
