"""Progress display for long ingests: a rich bar on a terminal, silent otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from incidentlens.cli.app import err
from incidentlens.ingest.runner import ProgressCallback


@contextmanager
def ingest_progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    if not enabled or not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def update(path: Path, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=path.name)

        yield update
