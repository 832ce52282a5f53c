"""The privacy firewall: what it replaces, that pseudonyms are stable and reversible only locally, that clean
telemetry stays readable, and that each maintained detector is measured against our own rules."""

from __future__ import annotations

import pytest
from tests.assist.corpus import clean_lines, corpus, leaked

from incidentlens.assist.firewall import Firewall
from incidentlens.assist.settings import Detector

DEFAULT = (Detector.PATTERNS, Detector.DETECT_SECRETS)


def test_the_default_detectors_keep_in_every_planted_secret_and_personal_datum() -> None:
    items = corpus(seed=41, per_family=8)  # a seed the rules were not written against
    leaks = [(i.family, s) for i in items for s in i.secrets if leaked(s, Firewall(DEFAULT).redact(i.text))]
    assert leaks == []


def test_clean_telemetry_is_left_readable() -> None:
    fw = Firewall(DEFAULT)
    changed = [line for line in clean_lines(seed=9) if fw.redact(line) != line]
    assert changed == []


def test_pseudonyms_are_stable_counted_by_kind_and_reidentified_locally() -> None:
    fw = Firewall(DEFAULT, names=["Acme Corp", "db-prod-eu1"])
    text = "alice@corp.example paid; alice@corp.example again from 203.0.113.9 for Acme Corp on db-prod-eu1"
    out = fw.redact(text)
    assert out == "[EMAIL_1] paid; [EMAIL_1] again from [IP_1] for [NAME_1] on [NAME_2]"
    assert fw.counts == {"EMAIL": 2, "IP": 1, "NAME": 2}
    answer = "[EMAIL_1] hit [NAME_2]; [EMAIL_9] is unknown"
    assert fw.reidentify(answer) == "alice@corp.example hit db-prod-eu1; [EMAIL_9] is unknown"


def test_a_secret_keeps_its_key_readable_and_urls_keep_their_host() -> None:
    fw = Firewall(DEFAULT)
    assert fw.redact("password=hunter2secret") == "password=[SECRET_1]"
    assert fw.redact("postgres://app:s3cretpw@db:5432/x") == "postgres://app:[PASSWORD_1]@db:5432/x"


def test_overlapping_findings_merge_so_no_part_survives() -> None:
    fw = Firewall(DEFAULT)
    token = "ghp_" + "a1B2c3D4e5" * 4
    out = fw.redact(f"GITHUB_TOKEN={token}")
    assert token[4:] not in out and out.count("[") == 1


def test_ids_times_and_hashes_are_not_personal_data() -> None:
    fw = Firewall(DEFAULT)
    line = (
        "ev-trace-error-cda67d43c8 trace 9adc55eefc4002985ed8ec4b92cd3bb2 at 1794130233131097165 "
        "commit 759ef3fa4ba0fdbb3d56e82b9945a0e0bd49f24f v1.4.3 2026-11-08T09:30:23Z"
    )
    assert fw.redact(line) == line


def test_a_trusted_local_model_may_see_text_unredacted() -> None:
    fw = Firewall(DEFAULT, enabled=False)
    assert fw.redact("alice@corp.example") == "alice@corp.example" and not fw.counts


def test_presidio_runs_offline_over_a_blank_pipeline_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("presidio_analyzer", reason="the llm-presidio extra is not installed")
    import socket

    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    fw = Firewall((Detector.PRESIDIO,))
    out = fw.redact("call +1 415 555 0132 from 198.51.100.23, IBAN DE89370400440532013000")
    assert "0132" not in out and "198.51.100.23" not in out and "DE89" not in out
    assert attempts == []  # no model download, no public-suffix list
