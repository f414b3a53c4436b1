"""Raw compiler verdicts vs `escape-lsp check --format json --kinds all`, package by package.

The raw side is read here with its own small reader, independent of escape_lsp's parser: every
non-indented `file:line:col: text` line about a file of the module is a verdict unless it is an
explanation header (`… escapes to heap[ in F]:`, `parameter p leaks to D[ for F] with derefs=N:`),
whose indented `from … at …` lines are the flow the compiler printed for one verdict.

The checked side is the JSON contract (`report_data`), produced in-process by the same code the
CLI runs, with ranges converted back to byte columns.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from escape_lsp.analysis.check import CheckRequest, run_check
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.model import ALL_KINDS
from escape_lsp.findings.positions import Encoding, LineIndex
from escape_lsp.report.data import report_data

COLUMNS = (
    "verdicts",
    "missing",
    "made_up",
    "wrong_line",
    "no_position",
    "empty_flow",
    "foreign_flow",
    "other",
)
#: The columns that must be zero.
FAILURES = COLUMNS[1:-1]

_POSITIONED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<text>.*)$")
_ESCAPE_HEADER = re.compile(r"^(?P<subject>.+) escapes to heap(?: in .+)?:$")
_LEAK_HEADER = re.compile(
    r"^parameter (?P<subject>\S+) leaks to (?P<to>\{.*\}|\S+)(?: for (?P<fn>.+))?"
    r" with derefs=(?P<d>-?\d+):$"
)
_STEP = re.compile(r"^from (?P<message>.+) at (?P<file>[^:]+):(?P<line>\d+)(?::(?P<col>\d+))?$")

Pos = tuple[str, int, int]  # absolute file, 1-based line, 1-based byte column
Step = tuple[str, int, int, str]  # position + "subject (reason)"


# -- toolchains ---------------------------------------------------------------------------------


def machine_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("no go on PATH")
    return go


def toolchain_go(version: str) -> str:
    """The `go` binary of `version` (e.g. `go1.24.11`), fetched from the module proxy once.

    `GOTOOLCHAIN=<version> go version` downloads it into the module cache; its own `bin/go` is
    then run directly (with GOTOOLCHAIN=local) like any installed toolchain.
    """
    go = machine_go()
    env = {**os.environ, "GOTOOLCHAIN": version}
    out = subprocess.run([go, "version"], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"cannot fetch {version}: {out.stderr.strip()}")
    cache = subprocess.check_output([go, "env", "GOMODCACHE"], text=True).strip()
    found = sorted(Path(cache, "golang.org").glob(f"toolchain@v*-{version}.*/bin/go"))
    if not found:
        raise RuntimeError(f"{version} was fetched but its bin/go is not under {cache}")
    return str(found[0])


def go_version(go: str) -> str:
    return _go(go, "env", "GOVERSION").strip()


def _go(go: str, *args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
    return subprocess.run(
        [go, *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


# -- what to analyse ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Packages of one module analysed with the same extra compiler flags."""

    root: Path
    packages: tuple[str, ...]  # import paths
    gcflags: tuple[str, ...] = ()
    module: str = ""  # the module path; default: the first element of the import paths

    def dir(self, package: str) -> Path:
        module = self.module or package.split("/", 1)[0]
        return self.root / package[len(module) :].lstrip("/")


@dataclass
class Row:
    package: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    examples: list[str] = field(default_factory=list)

    def add(self, column: str, example: str | None = None) -> None:
        self.counts[column] += 1
        if example is not None and len(self.examples) < 12:
            self.examples.append(f"{column}: {example}")

    @property
    def failures(self) -> int:
        return sum(self.counts[c] for c in FAILURES)


def _go_line(go: str) -> str:
    major, minor = re.findall(r"go(\d+)\.(\d+)", go_version(go))[0]
    return f"go {major}.{minor}\n"


def std_module(
    go: str, root: Path, std: Iterable[str], module: str = "conformance"
) -> list[Target]:
    """Copies of std packages (build files, plus the std packages under them they import) as
    workspace code; imports of those inner packages are rewritten to the copies. One target
    per package, so each row counts everything its build printed."""
    goroot = Path(go_version_root(go))
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(f"module {module}\n\n{_go_line(go)}")
    packages = []
    for pkg in std:
        base = pkg.rsplit("/", 1)[-1]
        deps = _go(go, "list", "-deps", "-f", "{{.ImportPath}}", pkg, cwd=goroot / "src").split()
        inner = [d for d in deps if d == pkg or d.startswith(pkg + "/")]
        for dep in inner:
            dest = root / base / dep[len(pkg) :].lstrip("/")
            dest.mkdir(parents=True, exist_ok=True)
            for src in sorted((goroot / "src" / dep).glob("*.go")):
                if src.name.endswith("_test.go"):
                    continue
                text = src.read_text(encoding="utf-8").replace(f'"{pkg}/', f'"{module}/{base}/')
                (dest / src.name).write_text(text, encoding="utf-8")
        packages.append(f"{module}/{base}")
    return [Target(root, (p,)) for p in packages]


def go_version_root(go: str) -> str:
    return _go(go, "env", "GOROOT").strip()


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


def escape_tests(go: str, root: Path, tests_dir: Path) -> tuple[list[Target], list[Skipped]]:
    """Go's `// errorcheck` escape tests, one package each, compiled with their header's flags
    (`-0` and `-m` stand for the optimised `-m=2` build escape-lsp runs anyway)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(f"module esc\n\n{_go_line(go)}")
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    skipped: list[Skipped] = []
    for src in sorted(tests_dir.glob("escape*.go")):
        text = src.read_text(encoding="utf-8")
        header = text.splitlines()[0] if text else ""
        if not header.startswith("// errorcheck"):
            continue
        name = src.stem
        if re.search(r'^\s*(import\s+)?"internal/', text, re.M):
            skipped.append(Skipped(name, "imports a std-internal package"))
            continue
        flags = tuple(f for f in header.split()[2:] if f not in ("-0",) and not f.startswith("-m"))
        (root / name).mkdir(exist_ok=True)
        (root / name / src.name).write_text(text, encoding="utf-8")
        # An assembly file lets bodyless declarations compile, as in the errorcheck runner.
        (root / name / "empty.s").write_text("")
        groups[flags].append(f"esc/{name}")
    every = [p for pkgs in groups.values() for p in pkgs]
    listed = json.loads(
        "["
        + _go(go, "list", "-e", "-json=ImportPath,Error,GoFiles", *every, cwd=root)
        .strip()
        .replace("}\n{", "},{")
        + "]"
    )
    broken = {p["ImportPath"]: p["Error"]["Err"] for p in listed if p.get("Error")}
    broken.update(
        (p["ImportPath"], "build constraints exclude all Go files")
        for p in listed
        if not p.get("Error") and not p.get("GoFiles")
    )
    targets = []
    for flags, pkgs in sorted(groups.items()):
        ok = []
        for p in pkgs:
            if p in broken:
                skipped.append(Skipped(p.split("/")[-1], broken[p].splitlines()[0]))
            else:
                ok.append(p)
        if ok:
            targets.append(Target(root, tuple(ok), flags))
    return targets, skipped


# -- the raw side -------------------------------------------------------------------------------


def raw_output(go: str, target: Target) -> tuple[str, set[str]]:
    """The compiler's text for the target's packages, and the packages that did not build."""
    flags = " ".join(["-m=2", *target.gcflags])
    argv = [go, "build", "-json", "-o", os.devnull]
    argv += [f"-gcflags={p}={flags}" for p in target.packages]
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
    proc = subprocess.run(
        [*argv, *target.packages], cwd=target.root, env=env, capture_output=True, text=True
    )
    text: list[str] = []
    failed: set[str] = set()
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("Action") == "build-output":
            text.append(event.get("Output", ""))
        elif event.get("Action") == "build-fail":
            failed.add(str(event.get("ImportPath", "")).split(" ")[0])
    return "".join(text), failed


@dataclass
class Header:
    pos: Pos
    subject: str
    leak: bool
    to: str = ""
    derefs: int = 0
    function: str = ""
    steps: list[Step] = field(default_factory=list)


def read_raw(text: str, root: Path) -> tuple[dict[Pos, set[str]], list[Header]]:
    """Verdicts (position -> texts) and explanation headers about files under `root`."""
    verdicts: dict[Pos, set[str]] = defaultdict(set)
    headers: list[Header] = []
    current: Header | None = None
    base = str(root)
    for raw in text.splitlines():
        m = _POSITIONED.match(raw)
        if m is None:
            continue
        body = m["text"]
        if body.startswith("  "):
            step = _STEP.match(body.strip())
            if current is not None and step is not None:
                file = _abs(step["file"], root)
                col = int(step["col"] or 0)
                if step["file"].startswith("<"):
                    file, line, col = current.pos
                else:
                    line = int(step["line"])
                current.steps.append((file, line, col, step["message"]))
            continue
        current = None
        if m["file"].startswith("<"):
            continue
        file = _abs(m["file"], root)
        if not file.startswith(base + os.sep):
            continue
        pos = (file, int(m["line"]), int(m["col"]))
        escape = _ESCAPE_HEADER.match(body) if body.endswith(":") else None
        leak = _LEAK_HEADER.match(body) if body.endswith(":") and escape is None else None
        if escape is not None:
            current = Header(pos, escape["subject"], False)
        elif leak is not None:
            current = Header(
                pos, leak["subject"], True, leak["to"], int(leak["d"]), leak["fn"] or ""
            )
        if current is not None:
            headers.append(current)
            continue
        verdicts[pos].add(body)
    return verdicts, headers


def _abs(path: str, root: Path) -> str:
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(root, path))


def owner(header: Header, texts: set[str]) -> str | None:
    """The verdict text at the header's position that the header explains (the fidelity rules:
    same subject; `~rN` -> the `to result` leak, `{heap}` -> the plain or content leak, then
    `moved to heap`, then the closure capture), or None when the compiler printed none."""
    s = header.subject
    if not header.leak:
        for text in (f"{s} escapes to heap", f"moved to heap: {s}"):
            if text in texts:
                return text
        if s.startswith("append(") and "append escapes to heap" in texts:
            return "append escapes to heap"
        return None
    names = [s] if s in _params(texts) or "." not in s else [s.rsplit(".", 1)[1]]
    p = names[0]
    if not header.to.startswith("{"):
        for to in (header.to, header.to.rsplit(".", 1)[-1]):
            for text in texts:
                if re.fullmatch(
                    rf"leaking param: {re.escape(p)} to result {re.escape(to)} level=\d+", text
                ):
                    return text
    plain, content = f"leaking param: {p}", f"leaking param content: {p}"
    order = [plain, content] if header.derefs <= 0 else [content, plain]
    if header.derefs < 0:
        order.insert(0, f"moved to heap: {p}")
    for text in [*order, f"moved to heap: {p}"]:
        if text in texts:
            return text
    captures = [
        m
        for m in (
            re.fullmatch(rf"(.+) capturing by (?:value|ref): {re.escape(p)} \(.*\)", t)
            for t in sorted(texts)
        )
        if m
    ]
    if len(captures) == 1:
        return captures[0][0]
    for m in captures:  # two instantiations of one generic function: the header names which
        if header.function and (m[1] == header.function or m[1].endswith("." + header.function)):
            return m[0]
    return None


def _params(texts: set[str]) -> set[str]:
    out = set()
    for text in texts:
        m = re.match(r"^(?:leaking param(?: content)?|moved to heap): (\S+)", text)
        if m:
            out.add(m[1])
        m = re.match(r".+ capturing by (?:value|ref): (\S+) \(", text)
        if m:
            out.add(m[1])
    return out


# -- the checked side ---------------------------------------------------------------------------


@dataclass
class Checked:
    file: str
    start: tuple[int, int]  # 1-based line, 1-based byte column
    end: tuple[int, int]  # exclusive
    kind: str
    message: str
    flow: list[tuple[str, tuple[int, int], tuple[int, int], str]]
    inlined_from: str | None

    def contains(self, line: int, col: int) -> bool:
        if self.start == self.end:
            return self.start == (line, col)
        return self.start <= (line, col) < self.end


def checked(go: str, target: Target) -> tuple[list[Checked], list[str]]:
    """`escape-lsp check --format json --kinds all <dirs>` for the target, in-process."""
    dirs = sorted({str(target.dir(p)) for p in target.packages})
    settings = AnalysisSettings(gcflags=target.gcflags)
    report = asyncio.run(run_check(CheckRequest(tuple(dirs), settings, go)))
    data = report_data(report, ALL_KINDS)
    indexes: dict[str, LineIndex | None] = {}

    def to_bytes(file: str, pos: dict[str, int]) -> tuple[int, int]:
        if file not in indexes:
            indexes[file] = LineIndex(Path(file).read_bytes()) if Path(file).is_file() else None
        index = indexes[file]
        line = pos["line"]
        col = (
            index.byte_column(line, pos["character"], Encoding.UTF16) if index else pos["character"]
        )
        return line + 1, col + 1

    out = []
    for f in data["findings"]:  # type: ignore[union-attr]
        flow = [
            (
                s["file"],
                to_bytes(s["file"], s["range"]["start"]),
                to_bytes(s["file"], s["range"]["end"]),
                s["message"],
            )
            for s in f["flow"]
        ]
        out.append(
            Checked(
                f["file"],
                to_bytes(f["file"], f["range"]["start"]),
                to_bytes(f["file"], f["range"]["end"]),
                f["kind"],
                f["message"],
                flow,
                f.get("inlined_from"),
            )
        )
    blocked = [b["package"] for b in data["blocked"]]  # type: ignore[union-attr]
    return out, blocked


# -- the comparison -----------------------------------------------------------------------------


def compare(
    verdicts: dict[Pos, set[str]], headers: list[Header], findings: list[Checked], row: Row
) -> None:
    """Count, for one package, how `findings` differ from the compiler's verdicts."""
    by_text: dict[tuple[str, str], list[Checked]] = defaultdict(list)
    for f in findings:
        by_text[(f.file, f.message)].append(f)
        if f.kind == "other":
            row.add("other", f"{f.file}:{f.start[0]}: {f.message}")
    wanted: dict[tuple[str, str], list[Pos]] = defaultdict(list)
    for pos, texts in verdicts.items():
        for text in texts:
            wanted[(pos[0], text)].append(pos)
    row.counts["verdicts"] += sum(len(v) for v in wanted.values())

    pairs: list[tuple[Pos, str, Checked]] = []
    for key, positions in wanted.items():
        pool = list(by_text.pop(key, []))
        left: list[Pos] = []
        for pos in sorted(positions):
            inside = [f for f in pool if f.contains(pos[1], pos[2])]
            if inside:
                best = min(inside, key=lambda f: (f.end[0] - f.start[0], f.end[1] - f.start[1]))
                pool.remove(best)
                pairs.append((pos, key[1], best))
            else:
                left.append(pos)
        for pos in left:
            where = f"{pos[0]}:{pos[1]}:{pos[2]}: {key[1]}"
            same_line = [f for f in pool if f.start[0] <= pos[1] <= f.end[0]]
            if same_line:
                pool.remove(same_line[0])
                row.add("no_position", where)
                pairs.append((pos, key[1], same_line[0]))
            elif pool:
                f = pool.pop(0)
                row.add("wrong_line", f"{where} (range starts at line {f.start[0]})")
                pairs.append((pos, key[1], f))
            else:
                row.add("missing", where)
        for f in pool:
            row.add("made_up", f"{f.file}:{f.start[0]}:{f.start[1]}: {f.message}")
    for leftover in by_text.values():
        for f in leftover:
            row.add("made_up", f"{f.file}:{f.start[0]}:{f.start[1]}: {f.message}")

    blocks: dict[Pos, list[tuple[Header, str | None]]] = defaultdict(list)
    for h in headers:
        blocks[h.pos].append((h, owner(h, verdicts.get(h.pos, set()))))
    for pos, text, f in pairs:
        here = blocks.get(pos, [])
        own = {s for h, o in here if o == text for s in h.steps}
        unowned = {s for h, o in here if o is None for s in h.steps}
        where = f"{pos[0]}:{pos[1]}:{pos[2]}: {text}"
        if own and not f.flow:
            row.add("empty_flow", where)
            continue
        allowed = own | unowned
        for file, start, end, message in f.flow:
            fits = [
                s for s in allowed if s[0] == file and s[3] == message and _within(s, start, end)
            ]
            if not fits:
                row.add("foreign_flow", f"{where}: step {message} at {file}:{start[0]}")
                break


def _within(step: Step, start: tuple[int, int], end: tuple[int, int]) -> bool:
    point = (step[1], step[2])
    return start == end == point or start <= point < end


def run_target(go: str, target: Target, rows: dict[str, Row], skipped: list[Skipped]) -> None:
    """Compare one target's packages; adds one row per package to `rows`. Packages the
    compiler itself refuses (a debug flag this version lacks) go to `skipped`."""
    text, failed = raw_output(go, target)
    findings, blocked = checked(go, target)
    verdicts, headers = read_raw(text, target.root)
    for pkg in target.packages:
        pdir = str(target.dir(pkg)) + os.sep
        if pkg in failed:
            errors = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
            skipped.append(Skipped(pkg, errors[0] if errors else "does not build"))
            continue
        row = rows.setdefault(pkg, Row(pkg))
        if pkg in blocked:
            row.add("missing", f"{pkg}: escape-lsp reports it blocked, the compiler built it")
            continue

        def ours(file: str, pdir: str = pdir) -> bool:
            # One package: all it printed counts (generic code of packages under it, too).
            return len(target.packages) == 1 or (
                file.startswith(pdir) and os.sep not in file[len(pdir) :]
            )

        mine = {p: t for p, t in verdicts.items() if ours(p[0])}
        compare(
            mine,
            [h for h in headers if ours(h.pos[0])],
            [f for f in findings if ours(f.file)],
            row,
        )


def table(rows: Iterable[Row], title: str) -> str:
    rows = list(rows)
    width = max([len(r.package) for r in rows] + [len(title)])
    head = f"{title:<{width}}  " + " ".join(f"{c:>12}" for c in COLUMNS)
    lines = [head]
    total = Row("total")
    for r in rows:
        lines.append(f"{r.package:<{width}}  " + " ".join(f"{r.counts[c]:>12}" for c in COLUMNS))
        for c in COLUMNS:
            total.counts[c] += r.counts[c]
    lines.append(f"{'total':<{width}}  " + " ".join(f"{total.counts[c]:>12}" for c in COLUMNS))
    return "\n".join(lines)


def go_tests_dir(go: str) -> Path | None:
    """Go's own `test/` directory: the toolchain's, else the machine's (toolchains fetched from
    the module proxy ship without it)."""
    for candidate in (go, machine_go()):
        path = Path(go_version_root(candidate)) / "test"
        if path.is_dir() and any(path.glob("escape*.go")):
            return path
    return None


STD = ("encoding/json", "text/template/parse")


def conform(go: str, work: Path, std: Iterable[str] = STD) -> tuple[list[Row], list[Skipped]]:
    """Every harness package for one toolchain: the std copies and Go's escape tests."""
    rows: dict[str, Row] = {}
    skipped: list[Skipped] = []
    for target in std_module(go, work / "std", std):
        run_target(go, target, rows, skipped)
    test_dir = go_tests_dir(go)
    if test_dir is None:
        skipped.append(Skipped("go/test", "no $GOROOT/test with escape*.go"))
    else:
        targets, more = escape_tests(go, work / "esc", test_dir)
        skipped += more
        for target in targets:
            run_target(go, target, rows, skipped)
    return list(rows.values()), skipped


def report(rows: list[Row], skipped: list[Skipped], title: str) -> str:
    lines = [table(rows, title)]
    lines += [f"  skipped {s.name}: {s.reason}" for s in skipped]
    lines += [f"  {r.package} {e}" for r in rows for e in r.examples]
    return "\n".join(lines)
