"""Quick-fix builders: mechanical edits for common escape patterns, found on the syntax tree.

Builders only propose; `verify.py` proves each proposal with the real compiler (it builds, the
targeted finding is gone, and heap allocations drop) before an editor ever sees it.
"""
