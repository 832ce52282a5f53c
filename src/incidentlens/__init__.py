"""IncidentLens: deterministic-first, evidence-backed incident investigation."""

__version__ = "0.1.0"
__all__ = ["__version__"]
