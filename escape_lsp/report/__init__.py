"""Renderers shared by the CLI and the editor: one finding, its flow and its likely fix as
terminal text, JSON data and hover markdown. Everything a user reads about a finding is worded
here once."""
