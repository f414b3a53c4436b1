"""The server's answer to `initialize`, without pygls: what a first publish sends
(`lsp/first_publish.py`) before the server is imported.

pygls builds the answer from the features the server registers and, for this server, three
client capabilities: the position encoding (the client's first choice among UTF-8, UTF-16 and
UTF-32, else UTF-16), and `willSave` and `willSaveWaitUntil` of its text synchronization
(the server registers neither: pygls answers `false` for each the client states, and leaves
out each it does not). The capabilities are kept in `initialize_answer.json`, written from the
real server's answer by `python -m escape_lsp.lsp.first_answer`; `tests/test_first_publish.py`
compares the two for real editors' capabilities, so a new feature cannot go unnoticed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from escape_lsp import __version__

ANSWER_FILE = os.path.join(os.path.dirname(__file__), "initialize_answer.json")
ENCODINGS = ("utf-8", "utf-16", "utf-32")
#: `off`: a spawned server answers everything through pygls (how the answer file is written).
FIRST_PUBLISH_ENV = "ESCAPE_LSP_FIRST_PUBLISH"
#: The first publish's head start records (`gotool/head_start.py`) are keyed by the working
#: directory, the go variables and this.
HEAD_START_KEY = ("serve", "first-publish")


def wanted() -> bool:
    """Whether a spawned server may publish first (`lsp/first_publish.py`)."""
    return os.environ.get(FIRST_PUBLISH_ENV, "").lower() != "off"


def position_encoding(capabilities: Any) -> str:
    general = capabilities.get("general") if isinstance(capabilities, dict) else None
    offered = general.get("positionEncodings") if isinstance(general, dict) else None
    for name in offered if isinstance(offered, list) else ():
        if name in ENCODINGS:
            return str(name)
    return "utf-16"


def answer(params: dict[str, Any]) -> dict[str, Any] | None:
    """The result pygls would send for these `initialize` params; None without the file."""
    try:
        with open(ANSWER_FILE, encoding="utf-8") as fh:
            capabilities = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(capabilities, dict):
        return None
    client = params.get("capabilities")
    capabilities["positionEncoding"] = position_encoding(client)
    sync = client.get("textDocument") if isinstance(client, dict) else None
    sync = sync.get("synchronization") if isinstance(sync, dict) else None
    for key in ("willSave", "willSaveWaitUntil"):
        if isinstance(sync, dict) and sync.get(key) is not None:
            capabilities["textDocumentSync"][key] = False
    return {
        "capabilities": capabilities,
        "serverInfo": {"name": "escape-lsp", "version": __version__},
    }


def ask_server(params: dict[str, Any]) -> dict[str, Any]:
    """The real server's answer to `initialize` with `params` (a server of this install, with
    no first publish), then `shutdown` and `exit`."""
    import subprocess

    from escape_lsp.lsp.framing import frame  # here: this module is read before go starts

    env = {**os.environ, FIRST_PUBLISH_ENV: "off", "ESCAPE_LSP_RESIDENT": "off"}
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    stdin = b"".join(frame(json.dumps(m).encode()) for m in messages)
    argv = [sys.executable, "-m", "escape_lsp", "serve", "--no-resident"]
    done = subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=60, check=False)
    out = done.stdout
    while out:
        head, _, rest = out.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
        message = json.loads(rest[:length])
        out = rest[length:]
        if message.get("id") == 1 and "result" in message:
            return dict(message["result"])
    raise RuntimeError(f"the server did not answer initialize: {done.stderr.decode()[-2000:]}")


def main() -> int:
    """Write `initialize_answer.json` from the real server's answer."""
    result = ask_server({"processId": None, "rootUri": None, "capabilities": {}})
    capabilities = result["capabilities"]
    capabilities.pop("positionEncoding", None)
    with open(ANSWER_FILE, "w", encoding="utf-8") as fh:
        json.dump(capabilities, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"wrote {ANSWER_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
