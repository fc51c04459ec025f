"""Job summaries: a command's Markdown summary appended to `$GITHUB_STEP_SUMMARY` when GitHub
Actions sets it, and to any file named with `--summary`, so a CI job page shows the verdicts."""

from __future__ import annotations

import os
from pathlib import Path

from harness.targets.errors import ConfigurationError

GITHUB_SUMMARY = "GITHUB_STEP_SUMMARY"


def summary_paths(explicit: Path | None) -> list[Path]:
    """Where to append: `--summary PATH` and `$GITHUB_STEP_SUMMARY`, each once."""
    paths = [explicit] if explicit else []
    if env := os.environ.get(GITHUB_SUMMARY):
        paths.append(Path(env))
    unique: list[Path] = []
    for path in paths:
        if path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


def append_summary(markdown: str, explicit: Path | None) -> list[Path]:
    """Append `markdown` to every summary file; return those written. Appending, not
    overwriting: several steps of one job share GitHub's file."""
    written = []
    for path in summary_paths(explicit):
        try:
            with path.open("a", encoding="utf-8") as out:
                out.write(markdown.rstrip("\n") + "\n\n")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write the job summary to {path} ({exc.strerror})",
                "check --summary or $GITHUB_STEP_SUMMARY",
            ) from None
        written.append(path)
    return written
