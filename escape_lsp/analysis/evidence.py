"""Measured allocation cost, kept apart from the compiler's verdicts and joined at render time.

A heap profile says where allocations happened (a source line, with the frames inlined there);
the compiler says why they are on the heap. `Evidence` is what a profile says, reduced to
allocation sites; `join` attributes each site to the line of a heap finding and leaves the rest
as sites with no verdict (the runtime, other modules, code that was not analysed). Findings are
never changed: weights live beside them, keyed by (file, line).

Which line gets an allocation: the allocating location is the first one of the sample's stack
(leaf first) that is not the runtime's allocator. Its frames are the chain of calls inlined at
that instruction; the compiler reports an allocation in inlined code at the outermost call site
(the function it compiled), so the outermost frame with a heap finding wins, then inner ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from escape_lsp.findings.model import HEAP_KINDS, Finding
from escape_lsp.gotool.bench import BenchResult
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.pprof import Frame, ProfileError, RawProfile

#: Frames of the allocator itself (`runtime.mallocgc`, `runtime.growslice`, map internals).
_ALLOCATOR_PREFIXES = ("runtime.", "internal/runtime/")

#: A file name as the profile has it -> the workspace file, or None.
Resolve = Callable[[str], str | None]


def is_allocator(frame: Frame) -> bool:
    return frame.function.startswith(_ALLOCATOR_PREFIXES)


@dataclass(frozen=True)
class SiteCost:
    """Allocations at one place: the frames inlined there (innermost first) and their sum."""

    frames: tuple[Frame, ...]
    bytes: int
    objects: int


@dataclass(frozen=True)
class Evidence:
    """What one measurement (a benchmark run, a profile file) says, independent of findings."""

    #: What was measured, for people: `BenchmarkFormat`, `mem.pprof`.
    label: str
    total_bytes: int
    total_objects: int
    sites: tuple[SiteCost, ...]
    benchmarks: tuple[BenchResult, ...] = ()
    #: Workspace file -> content hash it was measured with; None when unknown (a profile file:
    #: its lines are taken to match the current text).
    file_hashes: Mapping[str, str] | None = None

    def with_benchmarks(self, earlier: Iterable[BenchResult]) -> Evidence:
        """Keep earlier benchmark figures (for their lenses) that this run did not replace."""
        mine = {(b.package, b.name) for b in self.benchmarks}
        kept = tuple(b for b in earlier if (b.package, b.name) not in mine)
        return Evidence(
            self.label,
            self.total_bytes,
            self.total_objects,
            self.sites,
            kept + self.benchmarks,
            self.file_hashes,
        )


def evidence_from_profile(
    profile: RawProfile,
    label: str,
    benchmarks: tuple[BenchResult, ...] = (),
    file_hashes: Mapping[str, str] | None = None,
) -> Evidence:
    """Reduce a heap profile to allocation sites; ProfileError if it is not a heap profile."""
    space, objects = profile.index("alloc_space"), profile.index("alloc_objects")
    if space is None or objects is None:
        found = ", ".join(profile.sample_types) or "none"
        raise ProfileError(
            f"not a heap profile: it has no alloc_space/alloc_objects (sample types: {found}); "
            "use a heap or allocs profile (go test -memprofile, /debug/pprof/allocs)"
        )
    costs: dict[tuple[Frame, ...], list[int]] = {}
    total_bytes = total_objects = 0
    for sample in profile.samples:
        nbytes, nobjects = sample.values[space], sample.values[objects]
        if nbytes == 0 and nobjects == 0:
            continue
        total_bytes += nbytes
        total_objects += nobjects
        frames: tuple[Frame, ...] = ()
        for loc in sample.stack:
            mine = tuple(f for f in profile.locations.get(loc, ()) if not is_allocator(f))
            if mine:
                frames = mine
                break
        if not frames:  # the runtime allocating for itself, or an unsymbolised stack
            frames = _runtime_site(profile, sample.stack)
        cost = costs.setdefault(frames, [0, 0])
        cost[0] += nbytes
        cost[1] += nobjects
    sites = tuple(SiteCost(k, b, o) for k, (b, o) in costs.items())
    hashes = MappingProxyType(dict(file_hashes)) if file_hashes is not None else None
    return Evidence(label, total_bytes, total_objects, sites, benchmarks, hashes)


#: The allocator's entry points: a runtime-only stack is named by the frame that called them.
_MALLOC_ENTRIES = ("runtime.malloc", "runtime.newobject", "runtime.newarray", "runtime.rawmem")


def _runtime_site(profile: RawProfile, stack: tuple[int, ...]) -> tuple[Frame, ...]:
    frames = [f for loc in stack for f in profile.locations.get(loc, ())]
    for f in frames:
        if not f.function.startswith(_MALLOC_ENTRIES):
            return (f,)
    return tuple(frames[:1]) or (Frame("(unknown)", "", 0),)


@dataclass(frozen=True)
class Weight:
    """The measured cost of one source line: bytes and objects allocated, out of `total`."""

    bytes: int
    objects: int
    #: Every byte the measurement allocated.
    total: int

    @property
    def share(self) -> float:
        """The line's share of all bytes allocated (0 when nothing was)."""
        return self.bytes / self.total if self.total else 0.0


@dataclass(frozen=True)
class UnmatchedSite:
    """Allocations at a place where no heap finding is: the runtime, other modules, …"""

    function: str
    file: str
    line: int
    weight: Weight


def _never(path: str) -> bool:
    return False


@dataclass(frozen=True)
class Joined:
    """Evidence joined to findings: weights per (file, 1-based line), and the rest."""

    evidence: Evidence
    lines: Mapping[tuple[str, int], Weight]
    unmatched: tuple[UnmatchedSite, ...] = ()
    #: Whether a file's text changed since the measurement (its weights are withheld).
    is_stale: Callable[[str], bool] = field(default=_never, compare=False)

    def weight(self, f: Finding) -> Weight | None:
        """The measured cost of a heap finding's line; None for other kinds or unmeasured."""
        if f.kind not in HEAP_KINDS:
            return None
        return self.lines.get((f.file, f.line))

    def measured(self, path: str) -> bool:
        """Whether weights for `path` are shown (absent ones then mean "not seen")."""
        return not self.is_stale(path)


def heap_lines(findings: Iterable[Finding]) -> set[tuple[str, int]]:
    """(file, 1-based line) of every heap finding: where allocations can be attributed."""
    return {(f.file, f.line) for f in findings if f.kind in HEAP_KINDS}


def join(
    evidence: Evidence,
    lines_with_verdicts: set[tuple[str, int]],
    resolve: Resolve,
    current_hash: Callable[[str], str] | None = None,
) -> Joined:
    """Attribute every site to a heap finding's line, or list it as unmatched.

    `current_hash` (path -> content hash now) withholds weights of files edited since the
    measurement, when the evidence knows what it measured.
    """
    is_stale = _stale_check(evidence.file_hashes, current_hash)
    total = evidence.total_bytes
    attributed: dict[tuple[str, int], list[int]] = {}
    unmatched: dict[tuple[str, str, int], list[int]] = {}
    for site in evidence.sites:
        resolved = [(resolve(f.file), f) for f in site.frames]
        key: tuple[str, int] | None = None
        for path, frame in reversed(resolved):  # outermost first
            if path is not None and (path, frame.line) in lines_with_verdicts:
                key = (path, frame.line)
                break
        if key is not None and not is_stale(key[0]):
            cost = attributed.setdefault(key, [0, 0])
        elif key is None:
            path, inner = resolved[0]
            cost = unmatched.setdefault((inner.function, path or inner.file, inner.line), [0, 0])
        else:
            continue
        cost[0] += site.bytes
        cost[1] += site.objects
    weights = {k: Weight(b, o, total) for k, (b, o) in attributed.items()}
    rest = sorted(
        (
            UnmatchedSite(fn, file, line, Weight(b, o, total))
            for (fn, file, line), (b, o) in unmatched.items()
        ),
        key=lambda s: (-s.weight.bytes, -s.weight.objects, s.function, s.file, s.line),
    )
    return Joined(evidence, MappingProxyType(weights), tuple(rest), is_stale)


def _stale_check(
    measured: Mapping[str, str] | None, current_hash: Callable[[str], str] | None
) -> Callable[[str], bool]:
    """path -> whether its text differs from the measured one (memoised; files the
    measurement did not know count as changed)."""
    if measured is None or current_hash is None:
        return _never
    known: dict[str, bool] = {}

    def is_stale(path: str) -> bool:
        if path not in known:
            known[path] = measured.get(path) != current_hash(path)
        return known[path]

    return is_stale


def import_dirs(graphs: Iterable[PackageGraph]) -> dict[str, str]:
    """Import path -> directory of every workspace package (to place `-trimpath` file names)."""
    return {p.import_path: p.dir for g in graphs for p in g.packages.values()}


def path_resolver(import_dirs: Mapping[str, str]) -> Resolve:
    """Profile file names -> workspace files: absolute paths as they are; `-trimpath` names
    (`example.com/m/pkg/file.go`) through the package's import path -> directory map."""
    cache: dict[str, str | None] = {}

    def resolve(name: str) -> str | None:
        if name in cache:
            return cache[name]
        found: str | None = None
        if os.path.isabs(name):
            found = os.path.normpath(name)
        elif name and not name.startswith("<"):
            directory = import_dirs.get(os.path.dirname(name).replace(os.sep, "/"))
            if directory is not None:
                found = os.path.join(directory, os.path.basename(name))
        cache[name] = found
        return found

    return resolve


def rank_key(f: Finding, joined: Joined | None) -> tuple[int, int]:
    """Hottest first: more bytes, then more objects (unmeasured findings last)."""
    w = joined.weight(f) if joined is not None else None
    return (-w.bytes, -w.objects) if w is not None else (1, 0)


def combined_weight(findings: Iterable[Finding], joined: Joined) -> Weight | None:
    """The cost of several findings: each measured line counted once (findings on one line
    share it)."""
    seen: dict[tuple[str, int], Weight] = {}
    for f in findings:
        w = joined.weight(f)
        if w is not None:
            seen[(f.file, f.line)] = w
    if not seen:
        return None
    nbytes = sum(w.bytes for w in seen.values())
    nobjects = sum(w.objects for w in seen.values())
    return Weight(nbytes, nobjects, joined.evidence.total_bytes)
