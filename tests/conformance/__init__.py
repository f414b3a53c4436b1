"""Conformance of `escape-lsp check` with the compiler's own `-m=2` output, on real packages."""
