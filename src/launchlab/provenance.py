"""Code version of a cycle: the git commit of the checkout, when there is one."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit(folder: Path | None = None) -> str:
    """The commit hash of the checkout holding ``folder`` (``unknown`` outside git), ``+dirty`` if modified."""
    folder = folder or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")
