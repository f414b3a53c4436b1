"""Compiler text (`-gcflags=-m=2`) in, findings out. Pure: no I/O, no go command, no LSP.

The `-m=2` output has two layers: one-line verdicts (`moved to heap: t`) and explanation
headers (`t escapes to heap in F:`, `parameter p leaks to ~r0 for F with derefs=0:`; Go 1.24
prints both without ` in F` / ` for F`) followed by indented `flow:`/`from … at …` lines.
Headers are never findings: each is folded into the verdict it explains (same position, the
same subject, a compatible destination), so every distinct verdict is exactly one finding.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from escape_lsp.findings import native
from escape_lsp.findings.model import CompileError, Finding, FlowStep, Kind, Span

_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<text>.*)$")
_ESCAPE_HEADER = re.compile(r"^(?P<subject>.+) escapes to heap(?: in (?P<fn>.+))?:$")
#: The destination is a name (`~r0`, `pkg.~r0`, `y`) or a braced location that may hold spaces
#: (`{heap}`, `{storage for func literal}`).
_LEAK_HEADER = re.compile(
    r"^parameter (?P<subject>\S+) leaks to (?P<to>\{.*\}|\S+)(?: for (?P<fn>.+))?"
    r" with derefs=(?P<d>-?\d+):$"
)

_VERDICTS: list[tuple[Kind, re.Pattern[str]]] = [
    (Kind.MOVED_TO_HEAP, re.compile(r"^moved to heap: (?P<subject>\S+)$")),
    (Kind.LEAKING_PARAM_CONTENT, re.compile(r"^leaking param content: (?P<subject>\S+)$")),
    (
        Kind.LEAKING_PARAM,
        re.compile(
            r"^leaking param: (?P<subject>\S+)(?: to result (?P<to>\S+) level=(?P<n>\d+))?$"
        ),
    ),
    (Kind.ESCAPES_TO_HEAP, re.compile(r"^(?P<subject>.+) escapes to heap$")),
    (Kind.DOES_NOT_ESCAPE, re.compile(r"^(?P<subject>.+) does not escape$")),
    (
        Kind.CAPTURE_BY_REF,
        re.compile(r"^(?P<fn>.+) capturing by ref: (?P<subject>\S+) \((?P<detail>[^)]*)\)$"),
    ),
    (
        Kind.CAPTURE_BY_VALUE,
        re.compile(r"^(?P<fn>.+) capturing by value: (?P<subject>\S+) \((?P<detail>[^)]*)\)$"),
    ),
    (
        Kind.CAN_INLINE,
        re.compile(r"^can inline (?P<subject>.+?) with cost (?P<n>\d+)(?: as: .*)?$"),
    ),
    (Kind.CANNOT_INLINE, re.compile(r"^cannot inline (?P<subject>.+?): (?P<reason>.*)$")),
    (
        Kind.INLINED_CALL,
        re.compile(r"^inlining call to (?P<subject>.+?)(?: with score -?\d+)?$"),
    ),
    (
        Kind.INLINING_NOTE,
        re.compile(
            r"^(?:function (?P<subject>.+) considered 'big'; reducing max cost of inlinees"
            r"|skip inlining within testing\.B\.loop for (?P<loop>.+))$"
        ),
    ),
    (
        Kind.DEVIRTUALIZED,
        re.compile(r"^(?:PGO )?(?:partially )?devirtualizing (?P<subject>.+?) to (?P<to>.+)$"),
    ),
    (
        Kind.SELF_ASSIGNMENT,
        re.compile(r"^(?P<fn>.+?) ignoring self-assignment in (?P<subject>.+)$"),
    ),
    (Kind.BOUNDS_CHECK_ELIDED, re.compile(r"^index bounds check elided$")),
    (Kind.ZERO_COPY, re.compile(r"^zero-copy string->\[\]byte conversion$")),
    (Kind.KEPT_ALIVE, re.compile(r"^(?P<subject>.+) will be kept alive$")),
    (
        Kind.DEBUG_NOTE,
        re.compile(
            r"^(?:(?:mutates|calls) param: (?P<subject>\S+) derefs=-?\d+"
            r"|(?P<quiet>\S+) does not escape, mutate, or call"
            r"|convert: .*|rewriting OCONVIFACE value .*|alias analysis: .*"
            r"|closure converted to global|slice: omit slice operation)$"
        ),
    ),
]

#: Kinds whose message names the enclosing function before the subject.
_FUNCTION_FIRST = frozenset({Kind.CAPTURE_BY_REF, Kind.CAPTURE_BY_VALUE, Kind.SELF_ASSIGNMENT})

_BY_KIND = {kind: [(kind, pattern)] for kind, pattern in _VERDICTS}
_PREFIXES = [
    ("moved to heap: ", _BY_KIND[Kind.MOVED_TO_HEAP]),
    ("leaking param content: ", _BY_KIND[Kind.LEAKING_PARAM_CONTENT]),
    ("leaking param: ", _BY_KIND[Kind.LEAKING_PARAM]),
    ("can inline ", _BY_KIND[Kind.CAN_INLINE]),
    ("cannot inline ", _BY_KIND[Kind.CANNOT_INLINE]),
    ("inlining call to ", _BY_KIND[Kind.INLINED_CALL]),
    ("index bounds check elided", _BY_KIND[Kind.BOUNDS_CHECK_ELIDED]),
    ("zero-copy ", _BY_KIND[Kind.ZERO_COPY]),
]


class Message(NamedTuple):
    """One `file:line:col: text` line, path resolved to an absolute real path."""

    file: str
    line: int  # 1-based
    col: int  # 1-based bytes; 0 when the compiler printed none
    text: str


def resolve_path(path: str, cwd: str, path_map: Mapping[str, str]) -> str:
    """Absolute, normalised path; temp overlay copies are mapped back to the user's file."""
    full = os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd, path))
    return path_map.get(full, full)


def compiler_lines(text: str) -> list[str]:
    """The lines of the compiler's text: each ends at `\n` (a `\r` before it goes too). Other
    characters `str.splitlines` ends lines at (`\x1c`, `\x85`, `\u2028`, …) are text: the
    compiler ends its lines with `\n`, and looking for nine characters cost as much as a
    quarter of splitting a large package's output by file."""
    return _lf_only(text).split("\n")


def _lf_only(text: str) -> str:
    """`text` with its CRLF line ends as LF."""
    return text.replace("\r\n", "\n") if "\r" in text else text


def _split(raw: str) -> tuple[str, int, int, str] | None:
    """`file:line:col: text` -> its parts; the regex handles the rest (no column, `C:\\`)."""
    parts = raw.split(":", 3)
    if len(parts) == 4 and parts[3][:1] == " " and parts[2].isdigit() and parts[1].isdigit():
        return parts[0], int(parts[1]), int(parts[2]), parts[3][1:]
    m = _LINE.match(raw)
    if m is None:
        return None
    return m["file"], int(m["line"]), int(m["col"] or 0), m["text"]


def parse_messages(text: str, cwd: str, path_map: Mapping[str, str] | None = None) -> list[Message]:
    """Split compiler output into positioned messages; `# pkg` headers and `<autogenerated>` go."""
    mapping = path_map or {}
    resolved: dict[str, str] = {}
    out: list[Message] = []
    append = out.append
    for raw in compiler_lines(text):
        split = _split(raw)
        if split is None:
            continue
        file, line, col, body = split
        if file.startswith("<"):
            continue
        path = resolved.get(file)
        if path is None:
            path = resolved[file] = resolve_path(file, cwd, mapping)
        append(Message(path, line, col, body))
    return out


def parse_errors(
    text: str, cwd: str, path_map: Mapping[str, str] | None = None
) -> list[CompileError]:
    """The errors of a failed package build, in the order printed; unpositioned lines kept too."""
    errors = [
        CompileError(m.file, m.line, m.col, m.text) for m in parse_messages(text, cwd, path_map)
    ]
    if errors:
        return errors
    lines = (raw.strip() for raw in compiler_lines(text))
    return [CompileError(None, 0, 0, line) for line in lines if line and not line.startswith("#")]


def _point(line: int, col: int) -> Span:
    c = col - 1 if col > 0 else 0
    return Span(line - 1, c, line - 1, c)


def _candidates(text: str) -> list[tuple[Kind, re.Pattern[str]]]:
    """The few verdict patterns a line can match, picked by cheap string tests."""
    if text.endswith(" escapes to heap"):
        return _BY_KIND[Kind.ESCAPES_TO_HEAP]
    if text.endswith(" does not escape"):
        return _BY_KIND[Kind.DOES_NOT_ESCAPE]
    for prefix, kinds in _PREFIXES:
        if text.startswith(prefix):
            return kinds
    if " capturing by " in text:
        return _BY_KIND[Kind.CAPTURE_BY_REF] + _BY_KIND[Kind.CAPTURE_BY_VALUE]
    if " ignoring self-assignment in " in text:
        return _BY_KIND[Kind.SELF_ASSIGNMENT]
    if text.endswith(" will be kept alive"):
        return _BY_KIND[Kind.KEPT_ALIVE]
    return _VERDICTS


#: Lines of the opt-in check reports (`-d=ssa/check_bce/debug=1`, `-d=nil`): the checks the
#: compiler kept (or, for nil checks, removed) at a position.
_CHECK_REPORTS: dict[str, Kind] = {
    "Found IsInBounds": Kind.BOUNDS_CHECK,
    "Found IsSliceInBounds": Kind.BOUNDS_CHECK,
    "generated nil check": Kind.NIL_CHECK,
    "removed nil check": Kind.NIL_CHECK_REMOVED,
}


def _check_report(msg: Message) -> Finding | None:
    """A bounds- or nil-check report as a finding about the expression at its position."""
    kind = _CHECK_REPORTS.get(msg.text)
    if kind is None:
        return None
    return Finding(kind, msg.file, _point(msg.line, msg.col), msg.text, msg.text)


_INLINED = _BY_KIND[Kind.INLINED_CALL][0][1]


def _verdict(file: str, line: int, col: int, text: str) -> Finding:
    # Fast paths for the most frequent shapes (the same results as their patterns below).
    if len(text) > 16:
        tail = text[-16:]
        if tail == " escapes to heap" or tail == " does not escape":
            kind = Kind.ESCAPES_TO_HEAP if tail[1] == "e" else Kind.DOES_NOT_ESCAPE
            return Finding(kind, file, _point(line, col), text, text[:-16])
        if text[:17] == "inlining call to ":
            m = _INLINED.match(text)
            if m is not None:
                return Finding(Kind.INLINED_CALL, file, _point(line, col), text, m["subject"])
    msg = Message(file, line, col, text)
    report = _check_report(msg)
    if report is not None:
        return report
    for kind, pattern in _candidates(msg.text):
        m = pattern.match(msg.text)
        if m is None:
            continue
        groups = m.groupdict()
        detail: dict[str, str] = {}
        if groups.get("detail"):
            for item in groups["detail"].split():
                key, _, value = item.partition("=")
                detail[key] = value
        if groups.get("reason"):
            detail["reason"] = groups["reason"]
        leak_to = groups.get("to")
        if kind is Kind.LEAKING_PARAM and leak_to is None:
            leak_to = "{heap}"
        if kind is Kind.LEAKING_PARAM_CONTENT:
            leak_to = "{heap}"
        return Finding(
            kind=kind,
            file=msg.file,
            span=_point(msg.line, msg.col),
            message=msg.text,
            subject=groups.get("subject") or groups.get("quiet") or groups.get("loop") or "",
            function=groups.get("fn") if kind in _FUNCTION_FIRST else None,
            cost=int(groups["n"]) if groups.get("n") else None,
            leak_to=leak_to,
            detail=detail,
        )
    return Finding(Kind.OTHER, msg.file, _point(msg.line, msg.col), msg.text, msg.text)


@dataclass
class _Explanation:
    header: Message
    subject: str
    #: None for Go 1.24's headers, which do not name the function.
    function: str | None
    is_leak: bool
    steps: list[FlowStep]
    #: Leak headers: where the parameter goes (`{heap}`, `~r0`, `{storage for …}`) and derefs.
    to: str = ""
    derefs: int = 0


def split_by_file(text: str, cwd: str, path_map: Mapping[str, str] | None = None) -> dict[str, str]:
    """The output's lines grouped by the file each verdict or explanation is about (resolved
    path), in order, each explanation with its flow lines.

    Findings never span files (verdicts and explanations fold by file and position), so
    `build_findings` of each group, together, equal `build_findings` of the whole text; an
    unchanged group can be answered from a cache.

    Compiled where `native.py` has it (the line-by-line rules); else `_split_runs`: lines come
    in runs about one file (flow lines carry their header's position), one regex matches each
    whole run in C, and only a run's first line and the lines between runs go through the
    line-by-line rules (`_split_lines`, which both equal).
    """
    if native.compiled is not None:  # the line-by-line rules, compiled (`native/src/parse.rs`)
        mapping = path_map or {}
        groups = native.compiled.split_by_file(text, lambda f: resolve_path(f, cwd, mapping))
        return dict(groups)
    return _split_runs(text, cwd, path_map)


def _split_runs(text: str, cwd: str, path_map: Mapping[str, str] | None) -> dict[str, str]:
    """`split_by_file` in Python: one regex match per run of lines about one file."""
    text = _lf_only(text)  # lines as `compiler_lines` has them
    state = _Grouping(cwd, path_map or {})
    at = 0
    for run in _RUN.finditer(text):
        start = run.start()
        if start > at:  # lines no run holds: `# pkg`, unpositioned text
            state.lines(text[at : start - 1].split("\n"))
        at = run.end() + 1  # past its newline
        block = run[0]
        first = block[: block.find("\n")] if "\n" in block else block
        if ":   " in first:  # a flow line first: it goes with the explanation before it
            state.lines(block.split("\n"))
        else:  # every line of the run is about the same file as the first
            state.current = state.group(run[1], block)
    if at < len(text):
        state.lines(text[at:].split("\n"))
    return state.joined()


#: A run of lines positioned in one file (`f.go:L:C: text`, or `f.go:L: text`). Possessive
#: (`++`, `*+`): the same matches, without the engine keeping backtracking points for every
#: digit and character (~11 → ~8.5 ms on net/http's 3.95 MB).
_RUN = re.compile(r"^([^:\n]++):\d++:(?:\d++:)? .*+(?:\n\1:\d++:(?:\d++:)? .*+)*+", re.MULTILINE)


class _Grouping:
    """The state of `split_by_file`: the groups so far and the one flow lines go to."""

    def __init__(self, cwd: str, path_map: Mapping[str, str]) -> None:
        self.cwd = cwd
        self.path_map = path_map
        self.resolved: dict[str, str] = {}
        self.groups: dict[str, list[str]] = {}
        self.current: list[str] | None = None

    def group(self, file: str, lines: str) -> list[str] | None:
        """Add `lines` (about `file`) to its group; that group, or None for `<autogenerated>`."""
        if file[:1] == "<":
            return None
        path = self.resolved.get(file)
        if path is None:
            path = self.resolved[file] = resolve_path(file, self.cwd, self.path_map)
        found = self.groups.get(path)
        if found is None:
            found = self.groups[path] = []
        found.append(lines)
        return found

    def joined(self) -> dict[str, str]:
        """Each group's text: its lines (and runs) joined."""
        return {path: "\n".join(lines) for path, lines in self.groups.items()}

    def lines(self, lines: Iterable[str]) -> None:
        """The line-by-line rules."""
        for raw in lines:
            if ":   " in raw:  # a flow line goes with the explanation it follows
                if self.current is not None:
                    self.current.append(raw)
                continue
            split = _split(raw)
            if split is None:  # `# pkg` lines: the parse skips them without ending a block
                continue
            self.current = self.group(split[0], raw)


def _split_lines(text: str, cwd: str, path_map: Mapping[str, str] | None) -> dict[str, str]:
    """`split_by_file`, one line at a time."""
    state = _Grouping(cwd, path_map or {})
    state.lines(compiler_lines(text))
    return state.joined()


def build_findings(
    text: str,
    cwd: str,
    keep: Callable[[str], bool],
    path_map: Mapping[str, str] | None = None,
) -> list[Finding]:
    """All findings about files `keep` accepts, deduplicated, with flows folded in.

    One pass over the lines; flow lines of explanations about files not kept are skipped
    unparsed, and repeated steps (the output repeats whole blocks) are parsed once.
    """
    with gc_paused():
        if native.compiled is not None:
            return _build_compiled(text, cwd, keep, path_map)
        return _build_findings(text, cwd, keep, path_map)


def _build_compiled(
    text: str, cwd: str, keep: Callable[[str], bool], path_map: Mapping[str, str] | None
) -> list[Finding]:
    """`_build_findings`, its rules compiled (`native/src/parse.rs`): the same findings."""
    kept, resolve = path_askers(cwd, keep, path_map)
    rows, step_rows = native.compiled.build_findings(text, kept, resolve)  # type: ignore[union-attr]
    steps = [FlowStep(f, Span(ln, c, ln, c), s, r, e) for f, ln, c, s, r, e in step_rows]
    kinds = _KINDS
    return [
        Finding(
            kinds[kind], file, Span(line, col, line, col), message, subject, function,
            tuple([steps[i] for i in flow]), cost, leak_to, dict(detail),
        )
        for kind, file, line, col, message, subject, function, flow, cost, leak_to, detail in rows
    ]  # fmt: skip


_KINDS = {kind.value: kind for kind in Kind}


def path_askers(
    cwd: str, keep: Callable[[str], bool], path_map: Mapping[str, str] | None
) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """What the compiled parse asks of each file as printed: its resolved path if `keep`
    accepts it, else "" (`kept`); its resolved path whatever it is (`resolve`)."""
    mapping = path_map or {}

    def resolve(file: str) -> str:
        return resolve_path(file, cwd, mapping)

    def kept(file: str) -> str:
        path = resolve(file)
        return path if path and keep(path) else ""

    return kept, resolve


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC passes meanwhile: parsing and mapping allocate many small acyclic objects,
    and each pass would walk everything alive (a large package's trees and findings); the
    cycles made meanwhile are collected after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build_findings(
    text: str, cwd: str, keep: Callable[[str], bool], path_map: Mapping[str, str] | None
) -> list[Finding]:
    mapping = path_map or {}
    resolved: dict[str, str] = {}
    #: Each file as printed: its resolved path, or "" when `keep` does not keep it.
    kept: dict[str, str] = {}
    blocks: list[_Explanation] = []
    verdicts: list[Finding] = []
    steps_seen: dict[tuple[str, str], FlowStep] = {}
    current: _Explanation | None = None
    edge = ""

    def path_of(file: str) -> str:
        path = resolved.get(file)
        if path is None:
            path = resolved[file] = resolve_path(file, cwd, mapping)
        return path

    for raw in compiler_lines(text):
        indent = raw.find(":   ")
        if indent >= 0:  # an indented flow line: only its explanation block needs it
            if current is not None:
                step_text = raw[indent + 1 :].strip()
                step = steps_seen.get((step_text, edge))  # a step seen before, in this flow
                if step is not None:
                    current.steps.append(step)
                else:
                    edge = _flow_line(step_text, edge, current, steps_seen, path_of)
            continue
        parts = raw.split(":", 3)
        if len(parts) == 4 and parts[3][:1] == " " and parts[2].isdigit() and parts[1].isdigit():
            file, line, col, body = parts[0], int(parts[1]), int(parts[2]), parts[3][1:]
        else:
            split = _split(raw)
            if split is None:
                continue
            file, line, col, body = split
        current = None
        path = kept.get(file)
        if path is None:
            path = "" if file[:1] == "<" else path_of(file)
            path = kept[file] = path if path and keep(path) else ""
        if not path:
            continue
        if body[-1:] == ":":
            match = _ESCAPE_HEADER.match(body)
            leak = None if match else _LEAK_HEADER.match(body)
            header = match or leak
            if header is not None:
                msg = Message(path, line, col, body)
                current = _Explanation(msg, header["subject"], header["fn"], leak is not None, [])
                if leak is not None:
                    current.to, current.derefs = leak["to"], int(leak["d"])
                blocks.append(current)
                edge = ""
                continue
        verdicts.append(_verdict(path, line, col, body))
    return merge_findings(verdicts, blocks)


def _flow_line(
    text: str,
    edge: str,
    block: _Explanation,
    seen: dict[tuple[str, str], FlowStep],
    path_of: Callable[[str], str],
) -> str:
    """Add one `from S (reason) at f.go:L:C` step (`text`, a flow line without its position)
    to `block`; returns the current flow edge.

    String methods, not regexes: flow lines are most of the output, so this is the hot path.
    """
    if text[:6] == "flow: ":
        edge = text[6:].rstrip(":")
        if " ← " not in edge:  # Go 1.24 writes `dst = src`
            edge = edge.replace(" = ", " ← ", 1)
        return edge
    if text[:5] != "from ":
        return edge
    # (the caller found no step seen before for this text and edge)
    head, sep, pos = text.rpartition(" at ")
    if not sep:
        head = text
    where = pos.rsplit(":", 2) if sep else []
    positioned = len(where) == 3 and where[1].isdigit() and where[2].isdigit()
    if positioned:
        file, line, col = path_of(where[0]), int(where[1]), int(where[2])
    else:  # no position, or `<autogenerated>:1`: the header's position stands in
        h = block.header
        file, line, col = h.file, h.line, h.col
    open_paren = head.rfind(" (")
    if open_paren < 0 or head[-1:] != ")":
        return edge
    subject, reason = head[5:open_paren], head[open_paren + 2 : -1]
    step = FlowStep(file, _point(line, col), subject, reason, edge)
    if positioned:
        seen[(text, edge)] = step
    block.steps.append(step)
    return edge


def merge_findings(verdicts: Iterable[Finding], blocks: Iterable[_Explanation]) -> list[Finding]:
    """Fold each explanation into the verdict it explains; drop exact duplicates.

    The verdicts are the parse's own, fresh objects: explained ones get their flow in place.

    An explanation whose verdict the compiler did not print (the implicit closure of a
    `defer f(x)` in a loop, a generic body instantiated elsewhere) is dropped: it is not a
    verdict, and attaching it to another one would show one allocation's flow under another.
    """
    unique: dict[tuple[str, Span, str], Finding] = {}
    for f in verdicts:
        unique.setdefault((f.file, f.span, f.message), f)
    by_pos: dict[tuple[str, Span], list[Finding]] = {}
    for f in unique.values():
        by_pos.setdefault((f.file, f.span), []).append(f)

    flows: dict[tuple[str, Span, str], list[FlowStep]] = {}
    functions: dict[tuple[str, Span, str], str] = {}
    unexplained: list[tuple[_Explanation, list[Finding]]] = []

    def attach(block: _Explanation, target: Finding) -> None:
        key = (target.file, target.span, target.message)
        flows.setdefault(key, []).extend(block.steps)
        if block.function:
            functions.setdefault(key, block.function)

    for block in blocks:
        here = by_pos.get((block.header.file, _point(block.header.line, block.header.col)), [])
        target = explained_verdict(block, here)
        if target is not None:
            attach(block, target)
        elif not block.is_leak:
            unexplained.append((block, here))
    explained = set(flows)
    for block, here in unexplained:
        # `v escapes to heap` explaining `"abc" escapes to heap`: the verdict prints the
        # constant the variable holds. Only the sole heap verdict there, if nothing else
        # explains it, can be meant.
        heap = [f for f in here if f.kind in _ESCAPE_TARGETS]
        if len(heap) == 1 and (heap[0].file, heap[0].span, heap[0].message) not in explained:
            attach(block, heap[0])
    for key, steps in flows.items():
        f = unique[key]  # built by this parse, not seen by anyone yet: completed in place
        f.flow = tuple(dict.fromkeys(steps))
        f.function = f.function or functions.get(key)
    # Fresh findings have no widened range (point is None): this orders as Finding.sort_key.
    return sorted(unique.values(), key=_fresh_order)


def _fresh_order(f: Finding) -> tuple[str, Span, str, str]:
    return (f.file, f.span, f.kind, f.message)


_ESCAPE_TARGETS = (Kind.ESCAPES_TO_HEAP, Kind.MOVED_TO_HEAP)
_LEAK_TARGETS = (
    Kind.LEAKING_PARAM,
    Kind.LEAKING_PARAM_CONTENT,
    Kind.MOVED_TO_HEAP,
    Kind.CAPTURE_BY_VALUE,
    Kind.CAPTURE_BY_REF,
)


def explained_verdict(block: _Explanation, here: Iterable[Finding]) -> Finding | None:
    """The verdict at the header's position that the header explains, if the compiler printed it.

    Escape headers explain `S escapes to heap` or `moved to heap: S` with the same subject S
    (`append(s, x)` explains `append escapes to heap`). Leak headers explain the leak of the
    same parameter with a compatible destination: `~rN` (or a named result) the
    `to result` leak, `{heap}` the plain leak (derefs=0) or the content leak (derefs>0), then
    `moved to heap: p` (the parameter itself lives on the heap) or its closure capture.
    """
    subject = block.subject
    if not block.is_leak:
        cands = [f for f in here if f.kind in _ESCAPE_TARGETS]
        for f in cands:
            if f.subject == subject:
                return f
        if subject.startswith("append("):
            for f in cands:
                if f.subject == "append":
                    return f
        return None
    cands = [f for f in here if f.kind in _LEAK_TARGETS and f.subject == subject]
    if not cands and "." in subject:  # inlined or instantiated code qualifies the parameter
        bare = subject.rsplit(".", 1)[1]
        cands = [f for f in here if f.kind in _LEAK_TARGETS and f.subject == bare]
    if not cands:
        return None
    to = block.to
    if not to.startswith("{"):
        result = to.rsplit(".", 1)[-1]
        for f in cands:
            if f.kind is Kind.LEAKING_PARAM and f.leak_to in (to, result):
                return f
    plain = [f for f in cands if f.kind is Kind.LEAKING_PARAM and f.leak_to == "{heap}"]
    content = [f for f in cands if f.kind is Kind.LEAKING_PARAM_CONTENT]
    moved = [f for f in cands if f.kind is Kind.MOVED_TO_HEAP]
    captures = [f for f in cands if f.kind in (Kind.CAPTURE_BY_VALUE, Kind.CAPTURE_BY_REF)]
    if block.derefs < 0:
        order = [moved, plain, content, captures]
    elif block.derefs == 0:
        order = [plain, content, moved, captures]
    else:
        order = [content, plain, moved, captures]
    for group in order:
        if len(group) == 1:
            return group[0]
        if group:  # one per instantiation of a generic function: only its name can tell
            return next((f for f in group if _same_function(f, block.function)), None)
    return None


def _same_function(verdict: Finding, function: str | None) -> bool:
    """Closures captured in two instantiations of one generic function print the same
    subject at the same place; the header's function (`New[go.shape.*uint8]`) tells them
    apart (verdicts qualify it: `pool.New[go.shape.*uint8]`). Go 1.24's headers name no
    function: such an explanation stays unattached rather than risk the wrong verdict."""
    name = verdict.function
    if not function or not name:
        return False
    return name == function or name.endswith("." + function)
