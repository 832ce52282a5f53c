"""`incidentlens simulate`: realistic incident bundles with ground truth."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.table import Table

from incidentlens.cli.app import app, err, out
from incidentlens.errors import InputError


@app.command()
def simulate(
    fault: str | None = typer.Option(None, "--fault", help="Fault scenario (see --list)."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same bundle."),
    out_dir: Path | None = typer.Option(None, "--out", help="Folder to write the bundle into."),
    scale: float = typer.Option(1.0, "--scale", help="Traffic multiplier (benchmarks use large values)."),
    trace_sample: float = typer.Option(1.0, "--trace-sample", help="Share of traces kept (head sampling)."),
    services: int | None = typer.Option(
        None, "--services", min=1, max=6, help="Rollout faults: how many services roll (default: from the seed)."
    ),
    list_faults: bool = typer.Option(False, "--list", help="List the fault scenarios."),
    as_json: bool = typer.Option(False, "--json", help="Print the list or the truth as JSON."),
) -> None:
    """Write an incident bundle (traces, logs, metrics, alert, changes, git repo) and its truth.json.

    The `rollout_*` faults write a rolling update instead: per-pod and per-call-edge metrics, one deploy event
    per step, an SLO alert; exactly one new version is defective (none for `rollout_none`).
    """
    from incidentlens.simulate import DEFAULT_FAULT, FAULTS
    from incidentlens.simulate import simulate as run
    from incidentlens.simulate.rollout import simulate_rollout
    from incidentlens.simulate.rollout_plan import ROLLOUT_FAULTS

    catalogue = {n: f.description for n, f in FAULTS.items()} | {n: f.description for n, f in ROLLOUT_FAULTS.items()}
    if list_faults:
        if as_json:
            out.print_json(orjson.dumps(catalogue).decode())
            return
        table = Table("fault", "description")
        for name, description in catalogue.items():
            table.add_row(name + (" (default)" if name == DEFAULT_FAULT else ""), description)
        out.print(table)
        return
    if out_dir is None:
        raise InputError("--out DIR is required to write a bundle")
    name = fault or DEFAULT_FAULT
    if name not in catalogue:
        raise InputError(f"unknown fault {name!r}; choose one of: {', '.join(catalogue)}")
    if name in ROLLOUT_FAULTS:
        rollout = simulate_rollout(name, seed=seed, out=out_dir, services=services)
        if as_json:
            out.print_json((out_dir / "truth.json").read_text())
        else:
            err.print(
                f"wrote {out_dir} (rolling update of {', '.join(rollout.rolled)}; defective: "
                + (f"{rollout.service} {rollout.version})" if rollout.service else "none)")
            )
        return
    if services is not None:
        raise InputError("--services applies to the rollout_* faults only")
    if scale <= 0:
        raise InputError("--scale must be positive")
    try:
        truth = run(name, seed=seed, out=out_dir, scale=scale, trace_sample=trace_sample)
    except OSError as exc:  # a full disk or a read-only folder: say where, not a traceback
        where = exc.filename or out_dir
        raise InputError(
            f"cannot write the bundle to {where}: {exc.strerror or exc} (what was written is partial)"
        ) from None
    if as_json:
        out.print_json((out_dir / "truth.json").read_text())
    else:
        err.print(f"wrote {out_dir} (fault {truth.fault}, root cause {truth.service or 'none'})")
