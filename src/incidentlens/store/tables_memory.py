"""Tables of the incident memory: one fingerprint per resolved incident (see `memory/`).

Imported by the migration environment so `Base.metadata` describes them; rows are replaced when an
incident is indexed again (the memory is derived from the ledger, which stays untouched).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidentlens.model.enums import FaultKind
from incidentlens.store.tables import Base
from incidentlens.store.types import EnumText, UtcDateTime


class MemoryEntryRecord(Base):
    """The fingerprint of one resolved or closed incident, with its root cause kept in columns for stats."""

    __tablename__ = "memory_entries"
    __table_args__ = (sa.Index("ix_memory_entries_cause", "service", "fault"),)

    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), primary_key=True)
    # The investigation whose symptoms were indexed (the latest one when the incident was indexed).
    investigation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("investigations.id"), nullable=True)
    service: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    fault: Mapped[FaultKind | None] = mapped_column(EnumText(FaultKind), nullable=True)
    confirmed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    fingerprint: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    indexed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
