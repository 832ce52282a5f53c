"""What the Prometheus source queries, found from the backend itself in three steps:

1. `GET /api/v1/label/__name__/values` (match[] = every known family's marker names, narrowed to the
   services on each label that may name them): which known families have series in the window;
2. `POST /api/v1/series` once per present family name (`limit`, capped at `max_series` each, so one huge
   family cannot crowd out the others): which label names its services, which services, which labels exist;
3. `GET /api/v1/label/__name__/values` on those services: their other series names, the resource-like
   ones first, at most `max_extra_metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from incidentlens.analyze.metrics import RESOURCE_KINDS, MetricKind, metric_kind
from incidentlens.errors import SourceError
from incidentlens.sources.http import HttpClient
from incidentlens.sources.prometheus_options import PrometheusOptions
from incidentlens.sources.promql import (
    Catalog,
    PlannedQuery,
    Timing,
    alternation,
    extra_queries,
    family_queries,
    found_family,
    matcher,
    quote,
    resource_queries,
    selector,
)
from incidentlens.sources.promql_families import (
    APP_LABELS,
    EDGE_FAMILIES,
    REQUEST_FAMILIES,
    RESOURCES,
    RequestFamily,
    Resource,
    is_extra_candidate,
    known_names,
)
from incidentlens.sources.protocol import SourceQuery, SourceReport

Spec = RequestFamily | Resource
MAX_WARNINGS = 5  # distinct server warnings noted in one report


def note_warnings(answer: Mapping[str, Any], report: SourceReport) -> None:
    """The server's `warnings` (a partial answer, a truncated result) as notes, each once, a few at most."""
    for warning in answer.get("warnings") or ():
        note = f"server warning: {warning}"
        if note not in report.notes and sum(n.startswith("server warning") for n in report.notes) < MAX_WARNINGS:
            report.notes.append(note)


@dataclass
class Discovery:
    """One load's discovery: the backend, the window and what has been found so far."""

    http: HttpClient
    api: str  # "/api/v1" under the path prefix
    options: PrometheusOptions
    query: SourceQuery
    report: SourceReport
    where: str  # "prometheus source 'prom'" for errors
    capped: set[str] = field(default_factory=set)  # names whose series discovery hit max_series

    def plan(self, t: Timing) -> list[PlannedQuery]:
        """The queries for every known family present in the window, then for the services' other series."""
        o = self.options
        specs: tuple[Spec, ...] = (*REQUEST_FAMILIES, *EDGE_FAMILIES, *RESOURCES)
        present = set(self._names([m for s in specs for m in s.markers], {lb for s in specs for lb in _labels(s, o)}))
        catalog = Catalog(self._series(specs, present), present)
        planned: list[PlannedQuery] = []
        notes: list[str] = []
        app_labels: list[str] = []
        services: set[str] = set()
        for spec in specs:
            found = found_family(spec, catalog, o.service_label, self.query.services)
            if found is None:
                continue
            scope = self.query.services or (sorted(found.services) if _name(spec) in self.capped else ())
            if isinstance(spec, Resource):
                planned.append(resource_queries(spec, found, t, services=scope, extra=o.matchers))
                notes.append(f"{spec.metric} ({len(found.services)} containers)")
            else:
                group = "edges" if spec in EDGE_FAMILIES else "requests"
                planned += family_queries(
                    spec, found, catalog, t, services=scope, quantiles=o.quantiles, extra=o.matchers, group=group
                )
                notes.append(f"{spec.key} by {found.label} ({len(found.services)} services)")
                if spec.service_labels == APP_LABELS:
                    app_labels.append(found.label)
            services |= found.services
        self.report.notes.append("found: " + ("; ".join(notes) or "no known metric family in the window"))
        self.report.services.extend(sorted(services - set(self.report.services)))
        if o.max_extra_metrics:
            label = o.service_label or (max(set(app_labels), key=app_labels.count) if app_labels else "job")
            narrowed = list(self.query.services) or sorted(services)
            planned += self._extras(label, narrowed, {q.name for q in planned}, t)
        return planned

    def _names(self, markers: Sequence[str], labels: set[str]) -> list[str]:
        """The marker names that have series in the window (of the wanted services, when narrowed)."""
        names = f"__name__=~{quote(alternation(markers))}"
        services = self.query.services
        scopes = [matcher(label, services) for label in sorted(labels)] if services else [""]
        params = {"match[]": [selector("", names, s, self.options.matchers) for s in scopes], **self._range()}
        return [str(n) for n in self._list("GET", "label/__name__/values", params)]

    def _series(self, specs: Sequence[Spec], present: set[str]) -> list[Mapping[str, str]]:
        """The series of each present family name (its requests counter or container metric), capped per name."""
        labels_of: dict[str, set[str]] = {}
        for spec in specs:
            if _name(spec) in present:
                labels_of.setdefault(_name(spec), set()).update(_labels(spec, self.options))
        out: list[Mapping[str, str]] = []
        cap = self.options.max_series
        for name, labels in sorted(labels_of.items()):
            services = self.query.services
            scopes = [matcher(label, services) for label in sorted(labels)] if services else [""]
            form = {
                "match[]": [selector(name, s, self.options.matchers) for s in scopes],
                **self._range(),
                "limit": str(cap + 1),  # honoured by Prometheus >= 2.51 and VictoriaMetrics; others send all
            }
            series = [s for s in self._list("POST", "series", form) if isinstance(s, dict)]
            if len(series) > cap:
                self.capped.add(name)
                self.report.truncated.append(
                    f"{name}: series discovery capped at {cap} (max_series); only their services were queried"
                )
                series = series[:cap]
            out.extend(series)
        return out

    def _extras(self, label: str, services: Sequence[str], planned: set[str], t: Timing) -> list[PlannedQuery]:
        """Other series names of the services, resource-like ones first (the analysis weighs those most)."""
        scope = matcher(label, services) if services else f'{label}!=""'
        params = {"match[]": selector("", scope, self.options.matchers), **self._range()}
        try:
            names = self._list("GET", "label/__name__/values", params)
        except SourceError as exc:
            self.report.errors.append(f"extra series names: {exc}")
            return []
        known = known_names()
        wanted = sorted(
            (str(n) for n in names if is_extra_candidate(str(n), known) and str(n) not in planned),
            key=lambda n: (_priority(n), n),
        )
        cap = self.options.max_extra_metrics
        if len(wanted) > cap:
            self.report.truncated.append(
                f"extra metrics capped at {cap} of {len(wanted)} series names (max_extra_metrics)"
            )
        return extra_queries(wanted[:cap], label, t, services=services, extra=self.options.matchers)

    def _list(self, method: str, path: str, params: Mapping[str, Any]) -> list[Any]:
        if method == "GET":
            answer = self.http.get_json(f"{self.api}/{path}", params)
        else:
            answer = self.http.post_form(f"{self.api}/{path}", params)
        data = answer.get("data") if isinstance(answer, dict) and answer.get("status") == "success" else None
        if not isinstance(data, list):
            raise SourceError(f"{self.where}: {self.api}/{path} answered without a list")
        note_warnings(answer, self.report)
        return data

    def _range(self) -> dict[str, str]:
        window = self.query.window
        return {"start": f"{window.start_ns / 1e9:.3f}", "end": f"{window.end_ns / 1e9:.3f}"}


def _name(spec: Spec) -> str:
    return spec.requests if isinstance(spec, RequestFamily) else spec.metric


def _labels(spec: Spec, options: PrometheusOptions) -> set[str]:
    """Labels that may name the services of `spec` (the `service_label` option for application series)."""
    if options.service_label and spec.service_labels == APP_LABELS:
        return {options.service_label}
    return set(spec.service_labels)


def _priority(name: str) -> int:
    kind = metric_kind(name)
    return 0 if kind in RESOURCE_KINDS else 2 if kind is MetricKind.OTHER else 1
