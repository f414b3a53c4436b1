"""escape-lsp: the Go compiler's escape-analysis verdicts in your editor and in CI."""

__version__ = "0.1.0"
