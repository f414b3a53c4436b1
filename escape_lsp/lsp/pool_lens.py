"""Code lenses on sync.Pool declarations: measured hit rates, or a lens that measures them.

`escapeLsp.measurePools [uri, bench, benchtime]` runs the package's benchmarks (or tests) with
counting copies passed through -overlay (the editor's unsaved text included, the files on disk
untouched) and then asks the client to refresh its lenses. A result is shown only while the file
still has the text it was measured on.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from lsprotocol import types as lsp

from escape_lsp.analysis.errors import EXPECTED_FAILURES
from escape_lsp.analysis.pools.measure import GC_NOTE, MeasureRequest, measure
from escape_lsp.analysis.pools.store import PoolMeasurements
from escape_lsp.analysis.pools.syntax import index_packages
from escape_lsp.analysis.pools.tree import may_import_sync
from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.lsp.convert import path_to_uri, to_range, uri_to_path
from escape_lsp.lsp.isolation import isolated
from escape_lsp.lsp.state import EscapeServer
from escape_lsp.report.data import source_ranges
from escape_lsp.report.pools import hit_data, hits_summary

log = logging.getLogger(__name__)

MEASURE = "escapeLsp.measurePools"
#: Lenses per pool when several benchmarks exercised it.
MAX_PER_POOL = 3

_stores: weakref.WeakKeyDictionary[EscapeServer, PoolMeasurements] = weakref.WeakKeyDictionary()


def measurements(ls: EscapeServer) -> PoolMeasurements:
    store = _stores.get(ls)
    if store is None:
        store = _stores[ls] = PoolMeasurements()
    return store


@isolated("pool code lens", list)
def code_lenses(
    ls: EscapeServer, snapshot: Snapshot | None, path: str | None
) -> list[lsp.CodeLens]:
    if not ls.settings.code_lens or snapshot is None or path is None:
        return []
    root = snapshot.root_of(path)
    src = snapshot.source(path)
    pkg = root.engine.current_graph.package_of(path) if root and root.engine.current_graph else None
    if root is None or src is None or pkg is None or not may_import_sync(src):
        return []
    current = root.engine.file_hash(path, snapshot.overlays)
    store = measurements(ls)
    uri = path_to_uri(path)
    lenses: list[lsp.CodeLens] = []
    for pools in index_packages({path: src}):
        for decl in pools.decls:
            if decl.file != path:
                continue
            rng = to_range(src.lines, decl.span, ls.encoding)
            hits = sorted(store.hits(path, decl.span, current), key=lambda h: -h.gets)
            if hits:
                for hit in hits[:MAX_PER_POOL]:
                    during = f" ({hit.benchmark})" if hit.benchmark else ""
                    title = f"{hits_summary(hit)}{during}"
                    cmd = lsp.Command(title, MEASURE, tooltip=GC_NOTE, arguments=[uri])
                    lenses.append(lsp.CodeLens(rng, cmd))
            elif pkg.import_path in store.running:
                lenses.append(lsp.CodeLens(rng, lsp.Command("measuring hit rate…", "")))
            elif pkg.has_tests:
                cmd = lsp.Command("measure hit rate", MEASURE, arguments=[uri])
                lenses.append(lsp.CodeLens(rng, cmd))
    return lenses


async def measure_command(ls: EscapeServer, *args: Any) -> dict[str, Any]:
    """Measure the package of the file `args[0]`; optional `args[1]` bench regex, `args[2]`
    benchtime. Returns the JSON of `escape-lsp pools` for that package."""
    snapshot = ls.snapshot()
    path = uri_to_path(str(args[0])) if args else None
    root = snapshot.root_of(path) if snapshot and path else None
    graph = root.engine.current_graph if root else None
    pkg = graph.package_of(path) if graph and path else None
    if snapshot is None or root is None or pkg is None:
        return {"pools": [], "error": "not a file of an analysed package"}
    store = measurements(ls)
    if pkg.import_path in store.running:
        return {"pools": [], "error": f"{pkg.import_path} is being measured already"}
    engine = root.engine
    overlays = snapshot.overlays
    req = MeasureRequest(
        engine.toolchain,
        engine.context,
        pkg,
        lambda p: engine.source(p, overlays),
        buffers={p: d for p, d in overlays.items() if p.startswith(engine.context.root)},
        bench=str(args[1]) if len(args) > 1 and args[1] else ".",
        benchtime=str(args[2]) if len(args) > 2 and args[2] else None,
        build_flags=engine.settings.build_flags,
        env=engine.settings.env,
    )
    store.running.add(pkg.import_path)
    _refresh(ls)
    try:
        result = await measure(req)
    except EXPECTED_FAILURES as exc:
        log.warning("measuring pools of %s: %s", pkg.import_path, exc)
        return {"pools": [], "error": str(exc)}
    finally:
        store.running.discard(pkg.import_path)
    store.store(result)
    _refresh(ls)
    sources = {h.site.file: s for h in result.hits if (s := engine.source(h.site.file, overlays))}
    ranges = source_ranges(sources)
    return {
        "pools": [hit_data(h, ranges) for h in result.hits],
        "error": result.error,
        "note": GC_NOTE,
    }


def _refresh(ls: EscapeServer) -> None:
    ws = ls.caps().workspace
    if ws and ws.code_lens and ws.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)
