"""Header detection with a confidence and general variable typing, on hand-written lines of many log styles."""

from __future__ import annotations

import pytest

from incidentlens.analyze.templates import WILDCARD, Masker, MinerConfig, TemplateMiner, split_header
from incidentlens.analyze.templates.headers import MessageExtractor
from incidentlens.analyze.templates.miner import SCAN_WINDOW


@pytest.mark.parametrize(
    ("line", "message", "logger"),
    [
        # syslog with a host, several stamps and a program with a pid further along
        ("- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session closed for root",
         "session closed for root", "crond(pam_unix)"),
        ("- 1131566461 2005.11.09 adm1 Nov 9 12:01:01 local@adm1 /usr/sbin/gmetad[1682]: no answer from [c4]",
         "no answer from [c4]", "/usr/sbin/gmetad"),
        ("Jul  1 09:01:05 laptop-10-1-2-3 com.example.Scheduler[43]: Thermal pressure state: 1",
         "Thermal pressure state: 1", "com.example.Scheduler"),
        # a bracketed time, a program and a dash separator
        ("[10.30 16:49:06] browser.exe - proxy.example.org:5070 open through proxy", "proxy.example.org:5070 open "
         "through proxy", "browser.exe"),
        ("[10.30 16:49:07] browser.exe *64 - host.example.org:443 close, 12 bytes sent", "host.example.org:443 "
         "close, 12 bytes sent", "browser.exe"),
        # level, a dotted logger without colon, one bracketed request context
        ("api.log.1 2017-05-16 00:00:00.008 25746 INFO svc.api.server [req-3ea4052c - - -] 10.1.1.1 GET /v2",
         "10.1.1.1 GET /v2", "svc.api.server"),
        ("2017-05-16 00:00:04.500 2931 INFO svc.compute.manager [req-3e - -] [instance: b9] VM Started",
         "[instance: b9] VM Started", "svc.compute.manager"),
        # glog / klog
        ("I1203 17:48:58.123456       1 controller.go:123] Starting workers count=5", "Starting workers count=5",
         "controller.go:123"),
        # Python logging: stamp - logger - LEVEL - message
        ("2024-01-02 03:04:05,678 - myapp.module - WARNING - Disk usage at 91%", "Disk usage at 91%", None),
        ("12:00:01.123 [pool-1-thread-3] DEBUG com.x.Y - cache miss for key 42", "cache miss for key 42", "com.x.Y"),
        # no header at all: nothing is taken
        ("Connection reset by peer", "Connection reset by peer", None),
        ('time="2024-01-02T03:04:05Z" level=info msg="done"', 'time="2024-01-02T03:04:05Z" level=info msg="done"',
         None),
    ],
)  # fmt: skip
def test_headers_of_several_styles(line: str, message: str, logger: str | None) -> None:
    fields, got = split_header(line)
    assert got == message
    assert fields.logger == logger
    assert MessageExtractor().message(line) == message


def test_confidence_decides_how_much_is_cut() -> None:
    line = "[10.30 16:49:06] browser.exe - proxy.example.org:5070 open through proxy"
    sure, message = split_header(line)
    assert 0.5 <= sure.confidence < 0.8 and message.startswith("proxy.example.org")
    # unsure of the `name -` field, a stricter caller keeps it in the message and cuts the stamp only
    strict, kept = split_header(line, min_confidence=0.8)
    assert kept == "browser.exe - proxy.example.org:5070 open through proxy"
    assert strict.confidence >= 0.8 and strict.timestamp == "[10.30 16:49:06]"
    assert MessageExtractor(min_confidence=0.8).message(line) == kept
    # above every rule's confidence, the whole line is the message
    nothing, whole = split_header(line, min_confidence=0.99)
    assert whole == line and nothing.confidence == 0.0


def test_a_leading_level_word_without_stamp_is_less_sure() -> None:
    fields, message = split_header("Error: could not open file config.yaml")
    assert message == "could not open file config.yaml" and fields.confidence < 0.8
    assert split_header("Error: could not open file config.yaml", min_confidence=0.8)[1].startswith("Error:")


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("lifetime 00:01 after 12:01:01.5", "lifetime <*> after <*>"),
        ("took 250ms then 1.5s then 1h30m", "took <*> then <*> then <*>"),
        ("connect to proxy.example.co.uk:5070 failed", "connect to <*> failed"),
        ("at Foo.java:42", "at Foo.java:<*>"),  # one dot: a source position keeps its file name
        ("token a1b2c3d4e5f6g7h8z9 issued", "token <*> issued"),
        ("from 10.0.0.1:22 and /10.0.0.2", "from <*> and <*>"),
        ("block 0x7fff5a and ff00aa11", "block <*> and <*>"),
        ("read /var/log/app.log and C:\\tmp\\x.txt", "read <*> and <*>"),
        ("user=root size=4.5 KB ok=true", "user=root size=<*> ok=<*>"),
        ("id 123e4567-e89b-12d3-a456-426614174000 done", "id <*> done"),
    ],
)
def test_variables_are_typed_the_same_way_everywhere(message: str, masked: str) -> None:
    assert Masker().mask(message) == masked


def test_upper_case_keywords_stay_wording() -> None:
    miner = TemplateMiner()
    ids = [miner.add(f'10.0.0.{i} "{verb} /v2/x HTTP/1.1" status: 200').template_id
           for i, verb in enumerate(["GET", "POST", "DELETE", "PUT", "GET"])]  # fmt: skip
    assert ids[0] == ids[4] and len(set(ids)) == 4
    words = TemplateMiner()
    ids = [words.add(f"Invalid user {name} from 10.0.0.1").template_id for name in ["bob", "alice", "carol", "dave"]]
    assert len({words.resolve(i) for i in ids}) == 1  # lower-case names at one position are values
    assert words.template(words.resolve(ids[0])).text == f"Invalid user {WILDCARD} from {WILDCARD}"


def test_sibling_values_setting_is_used() -> None:
    strict = TemplateMiner(MinerConfig(sibling_values=5))
    ids = [strict.add(f"Invalid user {name} from 10.0.0.1").template_id for name in ["bob", "alice", "carol"]]
    assert len({strict.resolve(i) for i in ids}) == 3


def test_state_keeps_the_accuracy_settings() -> None:
    miner = TemplateMiner(MinerConfig(similarity=0.7, sibling_values=4, header_confidence=0.65))
    miner.add("hello world 1")
    config = TemplateMiner.from_json(miner.to_json()).config
    assert (config.similarity, config.sibling_values, config.header_confidence) == (0.7, 4, 0.65)


def test_a_cut_never_takes_the_only_words_of_the_message() -> None:
    assert split_header("2024-01-02 03:04:05 ERROR java.lang.OutOfMemoryError")[1] == "java.lang.OutOfMemoryError"
    assert split_header("[10.30 16:49:06] shutdown -")[1] == "shutdown -"


def test_junk_does_not_push_a_template_in_use_out_of_reach() -> None:
    miner = TemplateMiner()
    first = miner.add("7 request served in 12 ms").template_id
    for i in range(3 * SCAN_WINDOW):
        miner.add(f"{i} junk{i % 7}x q{i}z w{i}y k{i}v v{i}u")  # same length, a variable first word
        if i % 50 == 0:
            assert miner.add(f"{i} request served in {i} ms").template_id == first
    assert miner.add("9 request served in 3 ms").template_id == first
