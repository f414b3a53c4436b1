"""What `go list` reads of a Go file (`listing_part`): the same end as go/parser's ImportsOnly
mode on std's own files, `//go:embed` lines when the file imports "embed", and the whole file
whenever the reader is unsure."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from escape_lsp.gotool.file_header import listing_part
from escape_lsp.gotool.toolchain import find_toolchain

IMPORTS_END = Path(__file__).parent / "data" / "imports_end" / "main.go"


def test_the_part_ends_where_go_parser_stops_on_std_files(tmp_path: Path) -> None:
    """Every .go file of a few std directories (cgo preambles, build constraints, named, dot
    and blank imports, long license headers): cut exactly where go/parser stops reading."""
    src = Path(find_toolchain().goroot) / "src"
    files = sorted(
        str(p)
        for d in ("net", "os", "runtime/cgo", "go/build", "embed", "embed/internal/embedtest")
        for p in (src / d).glob("*.go")
    )
    assert len(files) > 300
    out = subprocess.run(
        ["go", "run", str(IMPORTS_END)],
        input="\n".join(files),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    ends = dict(line.rsplit("\t", 1) for line in out.splitlines())
    assert len(ends) == len(files)
    cut = embedding = 0
    for path in files:
        data, end = Path(path).read_bytes(), int(ends[path])
        part = listing_part(data)
        if end < 0:
            assert part == data, path
        elif b'"embed"' in data[:end]:  # (or a comment there quoting it: more, never less)
            directives = [
                ln.strip() for ln in data.splitlines() if ln.lstrip().startswith(b"//go:embed")
            ]
            assert part.startswith(data[:end]), path
            assert [
                ln.split(b":", 1)[1].strip() for ln in part[end:].splitlines()[1:]
            ] == directives
            embedding += bool(directives)
        else:
            assert part == data[:end], path
            cut += part != data
    assert cut > len(files) // 2 and embedding


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ('package p\n\nimport "fmt"\n\nfunc F() {}\n', 'package p\n\nimport "fmt"'),
        ("//go:build linux\n\npackage p\n\nvar x = 1\n", "//go:build linux\n\npackage p"),
        (  # comments holding a `)` or a string inside the list do not end it
            'package p\n\nimport (\n\t// a ) "x"\n\tf "fmt"\n\t. `os`\n\t_ "unsafe"; "io"\n)\nvar x',
            'package p\n\nimport (\n\t// a ) "x"\n\tf "fmt"\n\t. `os`\n\t_ "unsafe"; "io"\n)',
        ),
        (  # cgo's preamble lies before `import "C"`: it is part of what go reads
            'package p\n\n/*\n#include <stdio.h>\n*/\nimport "C"\n\nfunc F() {}\n',
            'package p\n\n/*\n#include <stdio.h>\n*/\nimport "C"',
        ),
        ('package p; import "a"; import "b"; func F() {}', 'package p; import "a"; import "b"'),
    ],
)
def test_the_part_of_a_file(text: str, part: str) -> None:
    assert listing_part(text.encode()) == part.encode()


def test_a_file_importing_embed_adds_its_numbered_directives() -> None:
    """go reads a file importing "embed" for its `//go:embed` lines and their positions: a
    directive's edit or move changes the part, an edit elsewhere on the same lines does not."""
    text = 'package p\n\nimport _ "embed"\n\n//go:embed a.txt\nvar s string\n\nvar n = 1\n'
    part = listing_part(text.encode())
    assert part == b'package p\n\nimport _ "embed"\n4://go:embed a.txt'
    assert listing_part(text.replace("n = 1", "n = 2").encode()) == part
    assert listing_part(text.replace("a.txt", "b.txt").encode()) != part
    assert listing_part(text.replace("\n//go:embed", "\n\n//go:embed").encode()) != part
    assert listing_part(b"package p\n\nimport `embed`\n") == b"package p\n\nimport `embed`"


@pytest.mark.parametrize(
    "text",
    [
        'package p\n\nimport "math" /* no newline */ , "x"\n',  # go reports a syntax error
        'package p\n\nimport (\n\t"fmt"\n',  # an unterminated list
        'package p\n\nimport "fmt\n',  # an unterminated string
        "package p\n\n/* an unterminated comment\n",
        "// no package clause\nfunc F() {}\n",
        "package p\n\nimport fmt\n",  # no path
    ],
)
def test_the_whole_file_when_unsure(text: str) -> None:
    assert listing_part(text.encode()) == text.encode()
