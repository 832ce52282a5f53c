"""The template miner: masking, canonical text, grouping rules, memory bounds, JSON state, header splitting."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentlens.analyze.templates import (
    DEFAULT_RULES,
    Masker,
    MinerConfig,
    TemplateMiner,
    split_header,
)
from incidentlens.analyze.templates.headers import MessageExtractor
from incidentlens.analyze.templates.render import canonical, extract_parameters
from incidentlens.errors import FormatError

mask = Masker().mask


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Invalid user admin from 173.234.31.186", "Invalid user admin from <*>"),
        ("Received block blk_-1608999687919862906 of size 91178", "Received block blk_<*> of size <*>"),
        ("src: /10.250.19.102:54106 dest: /10.250.19.102:50010", "src: <*> dest: <*>"),
        ("jk2_init() Found child 6725 in scoreboard slot 10", "jk2_init() Found child <*> in scoreboard slot <*>"),
        ("workerEnv.init() ok /etc/httpd/conf/workers2.properties", "workerEnv.init() ok <*>"),
        ("session 0x14ed93111f20027 closed", "session <*> closed"),
        ("GET https://example.com/a?b=1 done", "GET <*> done"),
        ("request 123e4567-e89b-12d3-a456-426614174000 failed", "request <*> failed"),
        ("at Wed Jun 29 14:44:35 2005 from x", "at <*> from x"),
        ("started 2024-01-02T03:04:05.678Z ok", "started <*> ok"),
        ("opt-in: False", "opt-in: <*>"),
        ("Retrying connect to server: msra-sa-41:9000.", "Retrying connect to server: <*>."),
        ("latency 12ms over 3.5 s", "latency <*> over <*> s"),
        ("name=com.android.phone, uid=1001", "name=<*>, uid=<*>"),
        ("Loaded C:\\Windows\\winsxs\\x.dll", "Loaded <*>"),
    ],
)
def test_masking_rules(message: str, expected: str) -> None:
    assert mask(message) == expected


def test_rules_are_named_and_ordered() -> None:
    names = [rule.name for rule in DEFAULT_RULES]
    assert names.index("url") < names.index("path") < names.index("number")
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("tokens", "text"),
    [
        (["block", "blk_<*>", "done"], "block <*> done"),
        (["node-<*>", "up"], "node-<*> up"),
        (["core.<*>"], "core.<*>"),
        (["v<*>.<*>.<*>"], "<*>"),
        (["<*><*>", "x"], "<*> x"),
        (["<*>:<*>"], "<*>:<*>"),
        (["(uid=<*>)"], "(uid=<*>)"),
    ],
)
def test_canonical_text_follows_label_conventions(tokens: list[str], text: str) -> None:
    assert canonical(tokens) == text


def test_groups_messages_that_differ_in_variables_and_extracts_parameters() -> None:
    miner = TemplateMiner()
    first = miner.add("Connection closed by 10.0.0.1 port 22")
    second = miner.add("Connection closed by 10.0.0.2 port 2222")
    assert first.is_new and not second.is_new
    assert first.template_id == second.template_id
    assert second.template == "Connection closed by <*> port <*>"
    assert second.parameters == ("10.0.0.2", "2222")
    assert miner.templates()[0].count == 2


def test_constant_words_at_one_position_stay_apart_until_they_look_variable() -> None:
    miner = TemplateMiner()
    failed = miner.add("Failed password for root from 1.2.3.4 port 22 ssh2").template_id
    accepted = miner.add("Accepted password for root from 1.2.3.4 port 22 ssh2").template_id
    assert failed != accepted  # first word differs: different events
    users = [miner.add(f"Invalid user {name} from 1.2.3.4").template_id for name in ("webmaster", "test")]
    assert users[0] != users[1]  # two words are not yet evidence of a variable
    third = miner.add("Invalid user admin from 1.2.3.4")
    assert third.template == "Invalid user <*> from <*>"
    # the earlier templates were folded into the survivor: their ids resolve to it
    assert {miner.resolve(i) for i in users} == {third.template_id}
    assert miner.template(third.template_id).count == 3


def test_key_value_words_are_variables() -> None:
    miner = TemplateMiner()
    ids = miner.add_many(["login user=root tty=ssh", "login user=guest tty=ssh"])
    assert ids[0] == ids[1]
    assert miner.template(ids[0]).text == "login user=<*> tty=ssh"


def test_add_many_matches_add_and_counts_every_line() -> None:
    messages = [f"job {i % 7} finished in {i} ms" for i in range(50)] + ["disk full on /dev/sda1"] * 5
    fast = TemplateMiner()
    ids = fast.add_many(messages)
    slow = TemplateMiner()
    assert ids == [slow.add(m).template_id for m in messages]
    assert sum(t.count for t in fast.templates()) == len(messages)
    assert [t.text for t in fast.templates()] == ["job <*> finished in <*> ms", "disk full on <*>"]


def test_template_cap_sends_new_shapes_to_the_catch_all_template() -> None:
    miner = TemplateMiner(MinerConfig(max_templates=2))
    ids = miner.add_many(["alpha beta gamma", "one two", "x y z w v", "p q r s t u"])
    assert len(set(ids)) == 3
    overflow = miner.template(ids[2])
    assert overflow.text == "<*>" and overflow.count == 2
    assert sum(t.count for t in miner.templates()) == 4


def test_cache_bound_keeps_ids_stable() -> None:
    miner = TemplateMiner(MinerConfig(max_cache_entries=3))
    messages = [f"worker {i} ready" for i in range(20)]
    assert len(set(miner.add_many(messages + messages))) == 1
    assert len(miner._cache) <= 3


def test_huge_line_is_cut_not_held() -> None:
    miner = TemplateMiner()
    started = time.perf_counter()
    result = miner.add("x" * 10_000_000)
    assert time.perf_counter() - started < 2.0
    assert len(miner.template(result.template_id).text) <= MinerConfig().max_message_chars


def test_garbage_lines_are_mined_without_failing() -> None:
    raw = b"\x00\x01binary\xff\xfe junk\r\n" + bytes(range(256))
    lines = [
        raw.decode("utf-8", errors="surrogateescape"),
        raw.decode("utf-8", errors="replace"),
        "",
        "   ",
        "2024-01-02 03:04:05 ERROR app.X: " + "y" * 10_000_000,
    ]
    miner = TemplateMiner()
    ids = miner.add_lines(lines + lines)
    assert len(ids) == 10 and ids[:5] == ids[5:]
    assert sum(t.count for t in miner.templates()) == 10
    assert all(len(key) <= MinerConfig().max_message_chars for key in miner._cache)
    assert miner.add_lines([]) == []


def test_state_round_trip_is_json_and_continues_identically() -> None:
    messages = [f"user u{i} logged in from 10.0.0.{i}" for i in range(5)] + ["Failed password for a", "x y"]
    miner = TemplateMiner()
    miner.add_many(messages)
    data = miner.to_json()
    assert orjson.loads(data)["format"] == "incidentlens.template-miner"
    restored = TemplateMiner.from_json(data)
    assert [(t.id, t.text, t.count) for t in restored.templates()] == [
        (t.id, t.text, t.count) for t in miner.templates()
    ]
    more = ["user u9 logged in from 10.0.0.9", "brand new event here"]
    assert restored.add_many(more) == miner.add_many(more)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "document"),
        (b'{"format": "pickle"}', "format"),
        (
            b'{"format": "incidentlens.template-miner", "version": 1, "config": {"rules": ["evil"]}}',
            "unknown masking rules",
        ),
        (
            b'{"format": "incidentlens.template-miner", "version": 1, "config": {"rules": [], "similarity": 0.5,'
            b' "max_templates": 10, "max_cache_entries": 10, "max_message_chars": 10}, "next_id": 2,'
            b' "templates": [{"id": "1", "tokens": [], "count": 0}]}',
            "templates[0].id",
        ),
    ],
)
def test_bad_state_is_a_format_error_naming_the_field(document: bytes, reason: str) -> None:
    with pytest.raises(FormatError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        TemplateMiner.from_json(document)


@pytest.mark.parametrize(
    ("line", "message", "level", "logger"),
    [
        ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 done", "PacketResponder 1 done",
         "INFO", "dfs.DataNode$PacketResponder"),
        ("2015-10-18 18:01:47,978 INFO [main] org.a.B: Created app", "Created app", "INFO", "org.a.B"),
        ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok", "workerEnv.init() ok", "notice", None),
        ("[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden",
         "[client 1.2.3.4] Directory index forbidden", "error", None),
        ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown", "check pass; user unknown",
         None, "sshd(pam_unix)"),
        ("03-17 16:13:38.811  1702  2395 D WindowManager: freeze done", "freeze done", "D", "WindowManager"),
        ("2016-09-28 04:30:30, Info                  CBS    Loaded stack", "Loaded stack", "Info", "CBS"),
        ("2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:2181:FastLeaderElection@774] - Notification: 3",
         "Notification: 3", "INFO", None),
        ("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579", "onStandStepChanged 3579", None,
         "Step_LSC"),
        ("- 1117838570 2005.06.03 R02-M1-N0 2005-06-03-15.42.50.675872 R02-M1-N0 RAS APP FATAL ciod: failed",
         "ciod: failed", "FATAL", None),
        ("134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component unavailable",
         "Component unavailable", None, None),
        ("plain message without header", "plain message without header", None, None),
        ("", "", None, None),
    ],
)  # fmt: skip
def test_split_header_finds_the_message(line: str, message: str, level: str | None, logger: str | None) -> None:
    fields, got = split_header(line + "\r\n")
    assert got == message
    assert fields.level == level
    assert fields.logger == logger


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=80), max_size=8))
def test_extractor_equals_split_header_and_never_fails(lines: list[str]) -> None:
    extractor = MessageExtractor()
    for line in lines + lines:
        _, message = split_header(line)
        assert extractor.message(line) == message
        assert message == "" or message in line


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=30))
def test_miner_invariants_on_any_text(messages: list[str]) -> None:
    miner = TemplateMiner()
    ids = miner.add_many(messages)
    assert sum(t.count for t in miner.templates()) == len(messages)
    by_message: dict[str, int] = {}
    for message, template_id in zip(messages, ids, strict=True):
        assert by_message.setdefault(message, template_id) == template_id
        assert isinstance(miner.parameters(template_id, message), tuple)
    assert TemplateMiner.from_json(miner.to_json()).templates() == miner.templates()


def test_parameters_of_a_message_that_does_not_fit_are_empty() -> None:
    assert extract_parameters("a <*> b", "zzz") == ()
    assert extract_parameters("a <*> b", "a  1   b") == ("1",)


def test_extractor_matches_split_header_on_real_logs(shared_data: Path) -> None:
    extractor = MessageExtractor()
    for path in sorted((shared_data / "loghub-2k").glob("*/*.log")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:500]
        for line in lines:
            assert extractor.message(line) == split_header(line)[1], f"{path.name}: {line}"
