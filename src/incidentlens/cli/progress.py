"""Progress display for long work: a rich bar (ingest) or status line (investigate) on a terminal, silent
otherwise so piped output stays clean."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.markup import escape
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

        def update(path: Path, done: int, total: int, *, rows: int = 0) -> None:
            description = f"{path.name}: {rows:,} rows" if rows else path.name
            bar.update(task, completed=done, total=total, description=description)

        yield update


@contextmanager
def status_progress(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A one-line status on stderr that each progress message replaces (sources, analysis, code location)."""
    if not enabled or not err.is_terminal:
        yield _silent
        return
    with err.status("investigating") as status:

        def update(message: str) -> None:
            status.update(escape(message))

        yield update


def _silent(_: str) -> None:
    """Progress nobody watches."""
