"""Which service a Prometheus label set belongs to."""

from __future__ import annotations


def test_edge_series_belong_to_the_service_that_serves_the_call() -> None:
    from incidentlens.ingest.prometheus import service_from_labels

    istio = {"source_workload": "frontend", "destination_workload": "cart", "job": "kubernetes-pods"}
    assert service_from_labels(istio) == "cart"
    assert service_from_labels({"client": "frontend", "server": "payment"}) == "payment"
    assert service_from_labels({"service": "checkout", "destination_workload": "cart"}) == "checkout"
