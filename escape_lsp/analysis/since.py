"""`check --since REV`: the same analysis of the tree as it was at a git revision.

The revision is exported with `git archive` into a private temp directory outside the user's
tree (which is never written) and analysed there with the same patterns, relative to the same
place in the repository, so its findings fingerprint like the current ones.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace

from escape_lsp.analysis.check import CheckReport, CheckRequest, run_check
from escape_lsp.gotool import git
from escape_lsp.gotool.tempdir import private_subdir


@dataclass(frozen=True)
class Revision:
    rev: str
    commit: str
    report: CheckReport
    #: False when the working directory did not exist at that revision.
    existed: bool


async def check_revision(rev: str, request: CheckRequest) -> Revision:
    """The request's analysis of the tree as it was at `rev`."""
    here = os.path.realpath(request.cwd or os.getcwd())
    top = git.toplevel(here)
    commit = git.resolve(top, rev)
    tmp = private_subdir("since-")
    try:
        tree = os.path.join(tmp, "tree")
        os.mkdir(tree)
        git.export(top, commit, tree)
        old_cwd = os.path.normpath(os.path.join(tree, os.path.relpath(here, top)))
        if not os.path.isdir(old_cwd):
            return Revision(rev, commit, CheckReport(cwd=old_cwd), existed=False)
        old_patterns = tuple(_moved(p, top, tree) for p in request.patterns)
        report = await run_check(replace(request, patterns=old_patterns, cwd=old_cwd))
        return Revision(rev, commit, report, existed=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _moved(pattern: str, top: str, tree: str) -> str:
    """Absolute paths into the repository point into the exported tree instead."""
    if not os.path.isabs(pattern):
        return pattern
    real = os.path.realpath(pattern.removesuffix("/..."))
    if real != top and not real.startswith(top + os.sep):
        return pattern
    moved = os.path.join(tree, os.path.relpath(real, top))
    return moved + "/..." if pattern.endswith("/...") else moved
