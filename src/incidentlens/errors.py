"""The one exception tree; `cli/` maps it to exit codes and `web/` to problem responses.

IncidentLensError
├── InputError            user input we cannot use (exit 2)
│   ├── FormatError        a file's content is not any format we read, or wholly unreadable
│   ├── ConfigError        a configuration file or option is invalid
│   └── TransitionError    an incident or hypothesis step the lifecycle does not allow now
├── StoreError            a telemetry or workflow store failed (exit 3)
│   └── AuditIntegrityError  the audit chain does not verify: an entry was changed, removed or added (exit 7)
├── RepositoryError       git failed or the path is not a usable repository (exit 4)
├── SourceError           a telemetry source (Prometheus, Loki, ...) could not answer (exit 8)
├── ModelError            the configured language model could not answer usably (exit 8; never in the decision path)
├── PolicyError           an action was refused by the approval gate (exit 5)
└── PermissionDeniedError the acting user lacks the role an action needs (exit 6)
"""

from __future__ import annotations


class IncidentLensError(Exception):
    """Root of every error IncidentLens raises on purpose."""

    exit_code = 1


class InputError(IncidentLensError):
    exit_code = 2


class FormatError(InputError):
    """A file could not be read as any supported format; names the file, position and reason."""

    def __init__(self, path: str, reason: str, *, line: int | None = None, offset: int | None = None):
        self.path = path
        self.reason = reason
        self.line = line
        self.offset = offset
        where = path
        if line is not None:
            where += f":{line}"
        elif offset is not None:
            where += f" (byte {offset})"
        super().__init__(f"{where}: {reason}")


class ConfigError(InputError):
    exit_code = 2


class TransitionError(InputError):
    """A lifecycle step that is not allowed from the incident's current state (e.g. closing before resolving)."""

    exit_code = 2


class StoreError(IncidentLensError):
    exit_code = 3


class AuditIntegrityError(StoreError):
    """The audit chain failed verification; the message names the first bad seq and why."""

    exit_code = 7


class RepositoryError(IncidentLensError):
    exit_code = 4


class SourceError(IncidentLensError):
    """A live source failed: unreachable, refused, timed out or answered garbage. The message never holds
    credentials (URLs are redacted). `status` and `headers` are the backend's answer when it gave one (None and
    empty when it did not answer at all), so a source can tell an expired page token or a rate limit apart."""

    exit_code = 8

    def __init__(self, message: str, *, status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class ModelError(IncidentLensError):
    """The optional language model failed: unreachable, timed out, refused, over budget or answered garbage.
    Callers that have deterministic text fall back to it; only `incidentlens ask` has nothing to fall back on."""

    exit_code = 8


class PolicyError(IncidentLensError):
    exit_code = 5


class PermissionDeniedError(IncidentLensError):
    """The acting user holds none of the roles the action needs."""

    exit_code = 6
