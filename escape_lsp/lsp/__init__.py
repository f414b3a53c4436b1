"""Layer 4: the LSP edge. Thin pygls handlers converting findings to lsprotocol types."""
