"""Every kind of source, by the name used in `sources.NAME.kind`. Plugins register here too.

Modules are imported only when a source of their kind is built, so a vendor client library (an extra)
is needed only by those who configure that kind; a missing one fails with an install hint there.
"""

from __future__ import annotations

import importlib

from incidentlens.errors import ConfigError
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.protocol import Source

# kind -> (module, class); the class takes a SourceConfig and checks its options.
SOURCE_KINDS: dict[str, tuple[str, str]] = {
    "files": ("incidentlens.sources.files", "FileSource"),
    "loki": ("incidentlens.sources.loki", "LokiSource"),
    "elasticsearch": ("incidentlens.sources.elasticsearch", "ElasticsearchSource"),
    "opensearch": ("incidentlens.sources.elasticsearch", "ElasticsearchSource"),
    "jaeger": ("incidentlens.sources.jaeger", "JaegerSource"),
    "tempo": ("incidentlens.sources.tempo", "TempoSource"),
    "kubernetes": ("incidentlens.sources.kubernetes", "KubernetesSource"),
    "argocd": ("incidentlens.sources.argocd", "ArgoCDSource"),
    "github": ("incidentlens.sources.github", "GitHubSource"),
    "prometheus": ("incidentlens.sources.prometheus", "PrometheusSource"),
    "clickhouse": ("incidentlens.sources.clickhouse", "ClickHouseSource"),
}


def build_source(config: SourceConfig) -> Source:
    """The source for one configured entry; an unknown kind is an error listing the known ones."""
    target = SOURCE_KINDS.get(config.kind)
    if target is None:
        known = ", ".join(sorted(SOURCE_KINDS))
        raise ConfigError(f"{config.where}: sources.{config.name}: unknown kind {config.kind!r} (known: {known})")
    module_name, class_name = target
    cls = getattr(importlib.import_module(module_name), class_name)
    source: Source = cls(config)
    return source
