"""The sync.Pool doctor: pool findings (checks/), hit-rate measurement (measure.py)."""
