"""The command executor (an allow-listed argument list, no shell, with a timeout; disabled by default)
and `run_argv`, the one place outside git that starts a process (validation runs test commands with it)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentlens.errors import ConfigError, PolicyError
from incidentlens.model.approval import Approval
from incidentlens.model.enums import FixKind
from incidentlens.model.records import FixProposal
from incidentlens.workflow.config import Settings
from incidentlens.workflow.executors.base import ExecutionTarget, require_approval

# Always `fullmatch`: with `match`, `$` also matches before a final newline ("cart\n" passed).
_SAFE_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/=@-]*")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_KEYS = frozenset({"enabled", "timeout_seconds", "actions"})


@dataclass(frozen=True, slots=True)
class CommandRun:
    argv: tuple[str, ...]
    exit_code: int | None
    timed_out: bool
    duration_s: float
    output: str


def run_argv(argv: Sequence[str], *, cwd: Path, timeout_s: float, env: Mapping[str, str] | None = None) -> CommandRun:
    """Run an argument list (never a shell string) with a timeout; stdout and stderr merged."""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"command {argv[0]!r} was not found (from {' '.join(argv)})") from None
    except subprocess.TimeoutExpired as exc:
        output = exc.output.decode("utf-8", "replace") if isinstance(exc.output, bytes) else ""
        return CommandRun(
            tuple(argv), None, True, time.monotonic() - started, output + f"\n[timed out after {timeout_s:g} s]"
        )
    return CommandRun(
        tuple(argv), proc.returncode, False, time.monotonic() - started, proc.stdout.decode("utf-8", "replace")
    )


@dataclass(frozen=True, slots=True)
class CommandSettings:
    enabled: bool
    timeout_seconds: float
    actions: Mapping[str, tuple[str, ...]]


def command_settings(settings: Settings) -> CommandSettings:
    """`executors.command`: {enabled: false, timeout_seconds: 60, actions: {restart: [argv with {service}]}}."""
    raw = settings.section("executors").get("command") or {}
    where = f"{settings.path or 'settings'}: executors.command"
    if not isinstance(raw, Mapping) or set(map(str, raw)) - _KEYS:
        raise ConfigError(f"{where}: must be a mapping with enabled, timeout_seconds and actions")
    actions: dict[str, tuple[str, ...]] = {}
    for name, argv in (raw.get("actions") or {}).items():
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv):
            raise ConfigError(f"{where}.actions.{name}: must be an argument list, not a shell string")
        actions[str(name)] = tuple(argv)
    timeout = raw.get("timeout_seconds", 60)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{where}: 'timeout_seconds' must be a positive number")
    return CommandSettings(enabled=raw.get("enabled") is True, timeout_seconds=float(timeout), actions=actions)


def command_for(proposal: FixProposal, config: CommandSettings) -> tuple[str, ...]:
    """The allow-listed argv for the proposal's action, placeholders filled from its action spec."""
    if not config.enabled:
        raise PolicyError("the command executor is disabled: set executors.command.enabled: true in the settings")
    if proposal.kind not in (FixKind.OPERATION, FixKind.CONFIG_ROLLBACK) or proposal.diff:
        raise PolicyError(f"{proposal.id} is a {proposal.kind} with a diff: use the git_branch executor")
    action = proposal.action.get("action", "")
    template = config.actions.get(action)
    if template is None:
        allowed = ", ".join(sorted(config.actions)) or "none configured"
        raise PolicyError(
            f"action {action!r} of {proposal.id} is not allow-listed (executors.command.actions: {allowed})"
        )
    argv: list[str] = []
    for arg in template:

        def fill(m: re.Match[str]) -> str:
            value = proposal.action.get(m.group(1), "")
            if not _SAFE_VALUE.fullmatch(value):
                raise PolicyError(f"{proposal.id}: value {value!r} for {{{m.group(1)}}} is not a plain name")
            return value

        argv.append(_PLACEHOLDER.sub(fill, arg))
    return tuple(argv)


class CommandExecutor:
    name = "command"
    once_per_approval_set = True

    def preflight(self, target: ExecutionTarget) -> None:
        command_for(target.proposal, command_settings(target.settings))

    def run(self, target: ExecutionTarget, approval: Approval) -> dict[str, Any]:
        require_approval(approval, target.proposal)
        config = command_settings(target.settings)
        argv = command_for(target.proposal, config)
        ran = run_argv(argv, cwd=Path.cwd(), timeout_s=config.timeout_seconds)
        result: dict[str, Any] = {
            "argv": list(argv),
            "exit_code": ran.exit_code,
            "timed_out": ran.timed_out,
            "duration_s": round(ran.duration_s, 3),
            "output_tail": ran.output[-4_000:],
        }
        if ran.exit_code != 0:
            result["error"] = f"`{' '.join(argv)}` " + (
                "timed out" if ran.timed_out else f"exited with {ran.exit_code}"
            )
        return result
