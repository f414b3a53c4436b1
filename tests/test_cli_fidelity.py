"""`escape-lsp check` on what users type: import paths outside the workspace, patterns that
match nothing, and allocations inside inlined calls (JSON `inlined_from`, text output)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import WriteModule
from tests.test_cli import check

INLINED = """
package p

import "errors"

func Missing() error { return errors.New("missing Level") }
"""


def test_inlined_allocations_name_the_call(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": INLINED})
    proc = check("--format", "json", "./...", cwd=root)
    assert proc.returncode == 0, proc.stderr
    (f,) = [
        f
        for f in json.loads(proc.stdout)["findings"]
        if f["message"] == "&errors.errorString{...} escapes to heap"
    ]
    line = INLINED.splitlines()[5]
    start = line.index("errors.New")
    assert f["inlined_from"] == "errors.New"
    assert f["range"] == {
        "start": {"line": 4, "character": start},
        "end": {"line": 4, "character": start + len('errors.New("missing Level")')},
    }
    text = check("./...", cwd=root).stdout
    assert "escapes to heap (in Missing) inside inlined call to errors.New" in text


def test_patterns_outside_the_workspace_or_matching_nothing_exit_2(
    gomod: WriteModule, tmp_path: Path
) -> None:
    dep = tmp_path / "dep"
    (dep / "d").mkdir(parents=True)
    (dep / "go.mod").write_text("module example.com/dep\n\ngo 1.24\n")
    (dep / "d" / "d.go").write_text("package d\n\nfunc P() *int { x := 1; return &x }\n")
    root = gomod(
        {
            "go.mod": "module example.com/m\n\ngo 1.24\n\nrequire example.com/dep v0.0.0\n\n"
            "replace example.com/dep => ../dep\n",
            "p/p.go": 'package p\n\nimport "example.com/dep/d"\n\nvar X = d.P()\n',
            "empty/README": "no Go here\n",
            "bad dir/b.go": "package bad\n",
        },
        sub="m",
    )
    std = check("strings", cwd=root)
    assert std.returncode == 2 and "strings is in the standard library" in std.stderr
    dependency = check("example.com/dep/d", cwd=root)
    assert dependency.returncode == 2
    assert "in the dependency example.com/dep" in dependency.stderr, dependency.stderr
    nothing = check("example.com/m/nope/...", cwd=root)
    assert nothing.returncode == 2 and "matches no package in the workspace" in nothing.stderr
    empty = check("./empty", cwd=root)
    assert empty.returncode == 2 and "no Go package there" in empty.stderr
    assert "go says no Go files in" in empty.stderr, empty.stderr  # go's own reason
    spaced = check("./bad dir", cwd=root)  # no import path can hold a space
    assert spaced.returncode == 2, spaced.stderr
    assert "malformed import path" in spaced.stderr and "invalid char ' '" in spaced.stderr
    ok = check("example.com/m/...", cwd=root)
    assert ok.returncode == 0 and ok.stderr == "", ok.stderr
    assert "Traceback" not in std.stderr + dependency.stderr + nothing.stderr + empty.stderr
    assert "Traceback" not in spaced.stderr


def test_a_package_go_cannot_place_under_a_pattern_is_reported_blocked(
    gomod: WriteModule, tmp_path: Path
) -> None:
    """`./...` over a directory no import path can name: go lists it with an error and no
    directory (`go build ./...` fails there). The other packages are analysed; that one is
    reported blocked with go's reason, also when the package graph comes from the on-disk memo
    (the second run)."""
    root = gomod({"good/g.go": "package good\n\nfunc F() *int { x := 1; return &x }\n"})
    (root / "bad dir").mkdir()
    (root / "bad dir" / "b.go").write_text("package bad\n\nfunc G() int { return 1 }\n")
    env = {"ESCAPE_LSP_CACHE": str(tmp_path / "memo")}
    for _ in range(2):
        proc = check("--format", "json", "./...", cwd=root, env=env)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert [f["message"] for f in data["findings"]] == ["moved to heap: x"]
        (blocked,) = data["blocked"]
        assert blocked["package"].endswith("/bad dir"), blocked
        assert "malformed import path" in json.dumps(blocked), blocked
    text = check("./...", cwd=root, env=env).stdout
    assert "/bad dir: escape analysis blocked: malformed import path" in text, text
    assert check("./good", cwd=root, env=env).stdout.count("blocked") == 0
