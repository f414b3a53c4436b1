"""Starts the escape-lsp server bundled with the extension, on the extension's own libraries.

The extension runs `python -I -S serve.py serve`: isolated mode and no site-packages, so nothing
installed in that interpreter (or PYTHONPATH) can shadow the bundled packages in ../libs.
Written for old interpreters too, so that one too old for the bundle gets a clear message.
"""

import json
import os
import sys

LIBS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libs")


def main():
    with open(os.path.join(LIBS, "bundle.json")) as fh:
        pythons = json.load(fh)["pythons"]
    here = "{}.{}".format(*sys.version_info[:2])
    if sys.implementation.name != "cpython" or here not in pythons:
        sys.stderr.write(
            "escape-lsp: the bundled server runs on CPython {}; {} is {} {}. Set "
            "escapeLsp.server.pythonPath to one of those.\n".format(
                ", ".join(pythons), sys.executable, sys.implementation.name, here
            )
        )
        return 2
    sys.path.insert(0, LIBS)
    from escape_lsp.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
