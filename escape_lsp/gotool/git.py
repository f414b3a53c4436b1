"""Reading an old revision for `check --since`: `git archive` into a private directory.

Only read-only git commands run in the user's repository (`rev-parse`, `archive`): no
worktree is added, no index or ref is touched.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile

from escape_lsp.gotool.toolchain import ToolchainError


class GitError(ToolchainError):
    """git is missing, the directory is not in a repository, or the revision is unknown."""


def _git(args: list[str], cwd: str, timeout: float = 120.0) -> str:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise GitError("--since needs git, but `git` was not found on PATH") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} failed: {exc}") from None
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout.strip()


def toplevel(cwd: str) -> str:
    """The root of the git work tree holding `cwd`."""
    try:
        return os.path.realpath(_git(["rev-parse", "--show-toplevel"], cwd))
    except GitError:
        raise GitError(f"{cwd} is not inside a git repository (needed for --since)") from None


def resolve(top: str, rev: str) -> str:
    """The commit `rev` names; a clear error when it names none."""
    if rev.startswith("-"):
        raise GitError(f"--since {rev}: not a revision")
    try:
        return _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top)
    except GitError:
        raise GitError(f"--since {rev}: no such revision in {top}") from None


def export(top: str, commit: str, dest: str) -> None:
    """Write the tree of `commit` (tracked files, as `git archive` gives them) under `dest`."""
    with tempfile.TemporaryFile() as tar:
        try:
            proc = subprocess.run(
                ["git", "archive", "--format=tar", commit],
                cwd=top,
                stdout=tar,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GitError(f"git archive failed: {exc}") from None
        if proc.returncode != 0:
            raise GitError(f"git archive failed: {proc.stderr.decode(errors='replace').strip()}")
        tar.seek(0)
        with tarfile.open(fileobj=tar) as archive:
            archive.extractall(dest, filter="data")
