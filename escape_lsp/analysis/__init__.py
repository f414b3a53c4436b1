"""Layer 3: the incremental engine, explanations, sync.Pool checks and quick-fix builders."""
