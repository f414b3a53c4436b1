"""`escape-lsp check` in CI: SARIF against the official schema, baselines, --since, --fail-on."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import jsonschema
import yaml

from escape_lsp.cli import _parser
from escape_lsp.findings.model import DEFAULT_KINDS, Kind
from escape_lsp.report.sarif import RULES
from tests.conftest import WriteModule
from tests.test_cli import check

SCHEMA = Path(__file__).resolve().parent / "data" / "sarif" / "sarif-schema-2.1.0.json"

UNICODE = """
package u

var Sink any

func F() {
\t_ = "中文😀"; 名 := 1; Sink = &名
}

func G(s []int, i int) int {
\treturn s[i] /* 😀 */ //gcassert:bce
}
"""


def test_every_kind_has_its_own_rule_text() -> None:
    assert [k for k in Kind if k not in RULES] == []


def test_sarif_validates_and_has_exact_utf16_columns(gomod: WriteModule) -> None:
    root = gomod({"u/u.go": UNICODE})
    proc = check("--format", "sarif", "./...", cwd=root)
    assert proc.returncode == 1, proc.stderr  # the violated directive fails the run
    log = json.loads(proc.stdout)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)

    (run,) = log["runs"]
    assert log["version"] == "2.1.0" and run["columnKind"] == "utf16CodeUnits"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.as_uri() + "/"
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    # one rule per kind shown (the default kinds, in their order), then the directives
    assert ids == [k.value for k in Kind if k in DEFAULT_KINDS] + ["gcassert-bce"]
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["defaultConfiguration"]["level"]

    moved, violation = run["results"]
    assert moved["ruleId"] == "moved-to-heap" and rules[moved["ruleIndex"]]["id"] == "moved-to-heap"
    assert moved["level"] == "warning"
    assert moved["message"]["text"].startswith("moved to heap: 名 (in F)")
    location = moved["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "u/u.go", "uriBaseId": "%SRCROOT%"}
    # \t(1) _ = "(5) 中文(2) 😀(2 UTF-16 units) "; (3): 名 is the 14th unit.
    assert location["region"] == {"startLine": 6, "startColumn": 14, "endLine": 6, "endColumn": 15}
    related = [r["physicalLocation"]["region"] for r in moved["relatedLocations"]]
    assert related[0] == {"startLine": 6, "startColumn": 29, "endLine": 6, "endColumn": 31}  # &名
    assert related[-1] == {"startLine": 6, "startColumn": 22, "endLine": 6, "endColumn": 31}
    steps = moved["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["location"]["physicalLocation"]["region"] for s in steps] == related
    assert len(moved["partialFingerprints"]["escapeLsp/v1"]) == 32

    assert violation["ruleId"] == "gcassert-bce" and violation["level"] == "error"
    assert violation["message"]["text"] == (
        "//gcassert:bce: a bounds check remains at s[i] (Found IsInBounds)"
    )
    region = violation["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 10, "startColumn": 2, "endLine": 10, "endColumn": 13}


ESCAPES = """
package e

type T struct{ n int }

func New(n int) *T {
\tt := T{n: n}
\treturn &t
}

func Keep(p *int) { global = p }

var global *int
"""


def test_baseline_survives_inserted_lines_and_catches_one_new_escape(
    gomod: WriteModule,
) -> None:
    root = gomod({"e/e.go": ESCAPES})
    path = root / "e" / "e.go"
    written = check("--write-baseline", "base.json", "--fail-on", "new", cwd=root)
    assert written.returncode == 1  # nothing to compare with: every finding is new
    entries = json.loads((root / "base.json").read_text())["findings"]
    assert {e["message"] for e in entries} == {"moved to heap: t", "leaking param: p"}

    moved = ESCAPES.replace(
        "package e\n", "package e\n\n// A comment.\n\nfunc Other() int {\n\treturn 1\n}\n"
    )
    path.write_text(moved.lstrip("\n"))
    same = check("--baseline", "base.json", "--fail-on", "new", "./...", cwd=root)
    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout == ""
    assert "0 new heap allocations, 0 gone (vs baseline base.json)" in same.stderr

    grown = moved.replace("\treturn 1\n", "\tx := 1\n\tglobal = &x\n\treturn 1\n")
    path.write_text(grown.lstrip("\n"))
    new = check("--baseline", "base.json", "--fail-on", "new", "--format", "json", cwd=root)
    assert new.returncode == 1, new.stderr
    (only,) = json.loads(new.stdout)["findings"]
    assert only["message"] == "moved to heap: x" and only["range"]["start"]["line"] == 5
    assert "1 new heap allocation, 0 gone" in new.stderr
    assert check("--baseline", "base.json", cwd=root).returncode == 0  # --fail-on none
    assert check("--fail-on", "any", cwd=root).returncode == 1

    missing = check("--baseline", "nope.json", cwd=root)
    assert missing.returncode == 2 and "baseline nope.json does not exist" in missing.stderr


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def test_since_compares_with_a_git_revision_without_touching_the_tree(
    gomod: WriteModule,
) -> None:
    root = gomod(
        {"e/e.go": ESCAPES, "e/other.go": "package e\n\nfunc Box(v int) any { return v }\n"}
    )
    _git(root, "init", "-q")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    path = root / "e" / "e.go"
    # One allocation gone (New returns a value), one new one (a second escaping local).
    edited = ESCAPES.replace("\tt := T{n: n}\n\treturn &t\n", "\treturn &T{n: n}\n").replace(
        "func Keep(p *int) { global = p }", "func Keep(p *int) { global = p; y := 2; global = &y }"
    )
    path.write_text(edited.lstrip("\n"))
    status = _git(root, "status", "--porcelain")

    proc = check("--since", "HEAD", "--fail-on", "new", cwd=root)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [
        "e/e.go:6:9: escapes-to-heap: &T{...} escapes to heap (in New)",
        "e/e.go:9:33: moved-to-heap: moved to heap: y (in Keep)",
    ]
    assert "2 new heap allocations, 1 gone (vs HEAD (" in proc.stderr
    assert _git(root, "status", "--porcelain") == status
    assert not (root / ".git" / "worktrees").exists()
    assert path.read_text() == edited.lstrip("\n")

    unchanged = check("--since", "HEAD~0", "--fail-on", "new", ".", cwd=root / "e")
    assert unchanged.returncode == 1  # same edit, run from a subdirectory: still found
    bad = check("--since", "no-such-rev", cwd=root)
    assert bad.returncode == 2 and "--since no-such-rev: no such revision" in bad.stderr


ROOT = Path(__file__).resolve().parent.parent


def _check_commands(text: str) -> list[list[str]]:
    """`escape-lsp check …` invocations in a shell script, words split as the shell would."""
    out = []
    for line in text.splitlines():
        if "escape-lsp check" in line:
            words = shlex.split(line.split(">")[0].strip().removeprefix("escape-lsp "))
            out.append(words)
    return out


def test_integration_files_use_real_options() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {"id", "name", "entry", "language"} <= set(hook) and hook["language"] == "python"
    argv = shlex.split(hook["entry"].removeprefix("escape-lsp ")) + hook["args"]
    ns = _parser().parse_args(argv)
    assert ns.fail_on == "new" and ns.baseline == ".escape-lsp-baseline.json"

    workflow = yaml.safe_load((ROOT / "editors" / "ci" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["escape-analysis"]["steps"]
    assert any(
        str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif") for s in steps
    )
    script = "\n".join(str(s.get("run", "")) for s in steps)
    commands = _check_commands(script)
    assert len(commands) == 2
    pr, push = (_parser().parse_args(words) for words in commands)
    assert pr.format == push.format == "sarif"
    assert pr.since == "$BASE" and pr.fail_on == "new" and push.since is None
