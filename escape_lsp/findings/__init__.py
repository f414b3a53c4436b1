"""Layer 2: compiler output to typed findings (pure; no go command, no LSP)."""
