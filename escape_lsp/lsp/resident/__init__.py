"""The resident server: `escape-lsp serve` as a thin client of a zygote that has the server
imported and forks one isolated server per editor (start-up without the ~0.6 s of imports).

`client.py` (what `serve` runs; stdlib only) → `wire.py` (the socket protocol) ← `zygote.py`
(the resident process; `warm.py` prepares what forked servers share). `install.py` names the
socket after the installed code, so a changed install never serves from an old process.
"""
