"""Layer 1: access to the go command (toolchain, package graph, builds)."""
