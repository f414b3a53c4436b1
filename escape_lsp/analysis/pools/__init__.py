"""The sync.Pool doctor: pool findings (checks.py), hit-rate measurement (measure.py)."""
