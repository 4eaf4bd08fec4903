"""CEF and LEEF 2.0 formatting of alert documents: exact lines, escaping, severities,
missing fields, and hostile text that must never split a field."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsec import __version__
from otsec.sinks.cef import cef_message, leef_message

V = __version__


def alert(**overrides: Any) -> dict[str, Any]:
    """One alert document shaped like otsec.sinks.ecs.alert_doc output."""
    doc: dict[str, Any] = {
        "@timestamp": "2026-01-06T15:00:25.407696Z",
        "ecs": {"version": "8.11.0"},
        "event": {
            "kind": "alert",
            "category": ["network", "intrusion_detection"],
            "type": ["info"],
            "action": "policy.dangerous_command",
            "dataset": "otsec.alert",
            "module": "otsec",
            "severity": 73,
            "id": "a6cd1e69837f34326090",
        },
        "rule": {
            "id": "otsec.policy.dangerous_command",
            "name": "Dangerous command",
            "description": "A command that stops a controller.",
            "ruleset": "otsec-builtin",
        },
        "threat": {
            "framework": "MITRE ATT&CK for ICS",
            "technique": {
                "id": ["T0858", "T0881"],
                "name": ["Change Operating Mode", "Service Stop"],
            },
        },
        "message": "10.20.1.30 stops the PLC on 10.20.1.111 (s7comm plc_stop)",
        "source": {"ip": "10.20.1.30", "port": 49152, "mac": "54-EE-75-3A-30-30"},
        "destination": {"ip": "10.20.1.111", "port": 102},
        "network": {"protocol": "s7comm", "transport": "tcp", "community_id": "1:x="},
        "ics": {
            "function": {"code": 41, "name": "plc_stop"},
            "transaction": {"status": "matched", "request_packet": 1, "response_packet": 2},
            "alert": {"severity": "high", "count": 1, "subject": "plc_stop"},
        },
    }
    for path, value in overrides.items():
        node = doc
        *parents, last = path.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return doc


# a small CEF parser, independent of the formatter


def _unescape(text: str, table: dict[str, str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            assert i + 1 < len(text), f"dangling backslash in {text!r}"
            nxt = text[i + 1]
            assert nxt in table, f"unknown escape \\{nxt} in {text!r}"
            out.append(table[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """(7 header fields, unescaped) and the extension as a dict (unescaped values)."""
    assert line.startswith("CEF:0|")
    fields: list[str] = []
    cur: list[str] = []
    i = 0
    while len(fields) < 7:
        assert i < len(line), f"fewer than 8 header fields in {line!r}"
        ch = line[i]
        if ch == "\\":
            assert line[i + 1] in "\\|", f"bad header escape in {line!r}"
            cur.append(line[i + 1])
            i += 2
        elif ch == "|":
            fields.append("".join(cur))
            cur = []
            i += 1
        else:
            assert ch not in "\r\n"
            cur.append(ch)
            i += 1
    ext = line[i:]
    assert "\n" not in ext and "\r" not in ext
    equals: list[int] = []
    j = 0
    while j < len(ext):
        if ext[j] == "\\":
            j += 2
            continue
        if ext[j] == "=":
            equals.append(j)
        j += 1
    pairs: dict[str, str] = {}
    table = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
    previous = -1
    for n, eq in enumerate(equals):
        start = ext.rfind(" ", 0, eq) + 1
        assert start > previous, f"unescaped '=' inside a value: {ext!r}"
        key = ext[start:eq]
        assert re.fullmatch(r"[A-Za-z0-9]+", key), f"bad key {key!r} in {ext!r}"
        end = ext.rfind(" ", eq, equals[n + 1]) if n + 1 < len(equals) else len(ext)
        assert key not in pairs
        pairs[key] = _unescape(ext[eq + 1 : end], table)
        previous = eq
    return fields, pairs


def parse_leef(line: str) -> tuple[list[str], dict[str, str]]:
    """(6 header fields) and the ^-separated attributes."""
    parts = line.split("|")
    assert len(parts) == 7, f"a value split the LEEF header: {line!r}"
    assert parts[5] == "^"
    assert "\n" not in line and "\r" not in line
    attributes: dict[str, str] = {}
    for item in parts[6].split("^"):
        key, sep, value = item.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z]+", key), f"bad attribute {item!r}"
        assert key not in attributes
        attributes[key] = value
    return parts[:6], attributes


# exact lines


def test_cef_exact_line() -> None:
    assert cef_message(alert()) == (
        f"CEF:0|otsec|otsec|{V}|otsec.policy.dangerous_command|Dangerous command|8|"
        "rt=1767711625407 src=10.20.1.30 spt=49152 smac=54:EE:75:3A:30:30 dst=10.20.1.111 "
        "dpt=102 proto=tcp app=s7comm act=plc_stop cat=policy.dangerous_command cnt=1 "
        "externalId=a6cd1e69837f34326090 cs1Label=mitreTechniques cs1=T0858,T0881 "
        "msg=10.20.1.30 stops the PLC on 10.20.1.111 (s7comm plc_stop)"
    )


def test_leef_exact_line() -> None:
    assert leef_message(alert()) == (
        f"LEEF:2.0|otsec|otsec|{V}|otsec.policy.dangerous_command|^|"
        "devTime=Jan 06 2026 15:00:25.407 UTC^devTimeFormat=MMM dd yyyy HH:mm:ss.SSS z^"
        "cat=policy.dangerous_command^sev=8^src=10.20.1.30^srcPort=49152^"
        "srcMAC=54:EE:75:3A:30:30^dst=10.20.1.111^dstPort=102^proto=tcp^app=s7comm^"
        "action=plc_stop^ruleName=Dangerous command^severity=high^count=1^"
        "externalId=a6cd1e69837f34326090^mitreTechniques=T0858,T0881^"
        "msg=10.20.1.30 stops the PLC on 10.20.1.111 (s7comm plc_stop)"
    )


def test_aggregate_carries_start_end_and_count() -> None:
    doc = alert(
        event__start="2026-01-05T14:00:45.007045Z",
        event__end="2026-01-05T14:00:45.599528Z",
        ics__alert__count=17,
    )
    _, ext = parse_cef(cef_message(doc))
    assert (ext["start"], ext["end"], ext["cnt"]) == ("1767621645007", "1767621645599", "17")
    assert parse_leef(leef_message(doc))[1]["count"] == "17"


# escaping


def test_cef_header_escaping() -> None:
    doc = alert(rule__id="a|b\\c", rule__name="x|y\\z=w\nv\rq\tt")
    line = cef_message(doc)
    assert line.startswith(f"CEF:0|otsec|otsec|{V}|a\\|b\\\\c|x\\|y\\\\z=w v q t|8|")
    header, _ = parse_cef(line)
    assert header[4:6] == ["a|b\\c", "x|y\\z=w v q t"]


def test_cef_extension_escaping() -> None:
    doc = alert(message="a|b\\c=d\ne\rf\tg ^ h")
    line = cef_message(doc)
    assert line.endswith("msg=a|b\\\\c\\=d\\ne\\rf g ^ h")
    assert parse_cef(line)[1]["msg"] == "a|b\\c=d\ne\rf g ^ h"


def test_cef_extension_value_that_looks_like_a_key() -> None:
    doc = alert(message="x dst=6.6.6.6 cnt=999")
    _, ext = parse_cef(cef_message(doc))
    assert ext["dst"] == "10.20.1.111" and ext["cnt"] == "1"
    assert ext["msg"] == "x dst=6.6.6.6 cnt=999"


def test_leef_separators_and_newlines_are_replaced() -> None:
    doc = alert(rule__id="r|1^2", message="a^b|c\nd\re=f\\g", rule__name="n^m")
    header, attrs = parse_leef(leef_message(doc))
    assert header[4] == "r 1 2"
    assert attrs["msg"] == "a b c d e=f\\g"
    assert attrs["ruleName"] == "n m"


def test_non_ascii_passes_through() -> None:
    doc = alert(rule__name="Überwachung ✓", message="Ventil öffnet — 温度")
    header, ext = parse_cef(cef_message(doc))
    assert header[5] == "Überwachung ✓" and ext["msg"] == "Ventil öffnet — 温度"
    assert parse_leef(leef_message(doc))[1]["msg"] == "Ventil öffnet — 温度"


def test_control_characters_become_spaces() -> None:
    doc = alert(rule__name="a\x00b\x1bc\x7fd", message="e\x00f")
    header, ext = parse_cef(cef_message(doc))
    assert header[5] == "a b c d" and ext["msg"] == "e f"


# length limits


def test_cef_header_fields_are_capped() -> None:
    doc = alert(rule__id="i" * 5000, rule__name="n" * 5000)
    header, _ = parse_cef(cef_message(doc))
    assert len(header[4]) == 1023 and len(header[5]) == 512


def test_cef_caps_never_split_an_escape() -> None:
    doc = alert(rule__name="|" * 600, message="=" * 2000)
    line = cef_message(doc)
    header, ext = parse_cef(line)
    assert header[5] == "|" * 256  # 512 characters escaped
    assert ext["msg"] == "=" * 511  # 1022 escaped characters fit in 1023
    doc = alert(rule__name="a" + "\\" * 600)
    header, _ = parse_cef(cef_message(doc))
    assert header[5] == "a" + "\\" * 255


def test_leef_values_are_capped() -> None:
    _, attrs = parse_leef(leef_message(alert(message="m" * 10000)))
    assert attrs["msg"] == "m" * 4000


# severities


@pytest.mark.parametrize(
    ("severity", "score"), [("low", 3), ("medium", 5), ("high", 8), ("critical", 10)]
)
def test_severity_mapping(severity: str, score: int) -> None:
    doc = alert(ics__alert__severity=severity)
    assert parse_cef(cef_message(doc))[0][6] == str(score)
    assert parse_leef(leef_message(doc))[1]["sev"] == str(score)


def test_severity_falls_back_to_event_severity() -> None:
    doc = alert(ics__alert__severity=None, event__severity=99)
    assert parse_cef(cef_message(doc))[0][6] == "10"
    doc = alert(ics__alert__severity=None, event__severity=None)
    assert parse_cef(cef_message(doc))[0][6] == "Unknown"
    assert "sev" not in parse_leef(leef_message(doc))[1]


# missing fields


def test_alert_without_destination_transaction_or_network() -> None:
    doc = alert(destination=None, network=None, ics__function=None, ics__transaction=None)
    doc["source"].pop("port")
    _, ext = parse_cef(cef_message(doc))
    assert list(ext) == [
        "rt",
        "src",
        "smac",
        "cat",
        "cnt",
        "externalId",
        "cs1Label",
        "cs1",
        "msg",
    ]
    _, attrs = parse_leef(leef_message(doc))
    assert {"dst", "dstPort", "proto", "app", "action", "srcPort"}.isdisjoint(attrs)


def test_minimal_document() -> None:
    doc: dict[str, Any] = {"rule": {"id": "r", "name": "n"}}
    assert cef_message(doc) == f"CEF:0|otsec|otsec|{V}|r|n|Unknown|"
    assert leef_message(doc) == f"LEEF:2.0|otsec|otsec|{V}|r|^|ruleName=n"
    assert cef_message({}) == f"CEF:0|otsec|otsec|{V}|||Unknown|"


def test_odd_types_do_not_raise() -> None:
    doc = alert(source="10.0.0.1", ics__alert="high", message=["a", None, 3], **{"@timestamp": 5})
    _, ext = parse_cef(cef_message(doc))
    assert ext["msg"] == "a,3" and "rt" not in ext and "src" not in ext
    parse_leef(leef_message(doc))


def test_formatters_do_not_modify_the_document() -> None:
    doc = alert(message="a=b|c")
    before = copy.deepcopy(doc)
    cef_message(doc)
    leef_message(doc)
    assert doc == before


# hostile text, any text


def _header_expected(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]", " ", text)


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=700), message=st.text(max_size=1500), rule_id=st.text(max_size=40))
def test_any_text_keeps_the_cef_structure(name: str, message: str, rule_id: str) -> None:
    doc = alert(rule__name=name, message=message, rule__id=rule_id)
    header, ext = parse_cef(cef_message(doc))
    assert header[:4] == ["CEF:0", "otsec", "otsec", V]
    assert header[4] == _header_expected(rule_id)
    expected_name = _header_expected(name)
    assert expected_name.startswith(header[5])
    escaped_len = len(expected_name) + expected_name.count("|") + expected_name.count("\\")
    if escaped_len <= 512:
        assert header[5] == expected_name
    assert header[6] == "8"
    assert ext["dst"] == "10.20.1.111" and ext["cnt"] == "1"
    expected_msg = re.sub(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]", " ", message)
    if expected_msg:
        assert expected_msg.startswith(ext["msg"])
        if len(expected_msg) <= 1023 // 2:
            assert ext["msg"] == expected_msg
    else:
        assert "msg" not in ext


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=300), message=st.text(max_size=300), rule_id=st.text(max_size=40))
def test_any_text_keeps_the_leef_structure(name: str, message: str, rule_id: str) -> None:
    doc = alert(rule__name=name, message=message, rule__id=rule_id)
    header, attrs = parse_leef(leef_message(doc))
    assert header[4] == re.sub(r"[\x00-\x1f\x7f|^]", " ", rule_id)
    assert attrs["dst"] == "10.20.1.111"
    assert attrs.get("msg", "") == re.sub(r"[\x00-\x1f\x7f|^]", " ", message)
