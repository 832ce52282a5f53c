"""Store errors beyond the shared tree: callers catch StoreError, or NotFoundError to answer 404."""

from __future__ import annotations

from incidentlens.errors import StoreError


class NotFoundError(StoreError):
    """A requested incident (or other row) does not exist in the workflow database."""
