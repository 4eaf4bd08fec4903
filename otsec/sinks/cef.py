"""CEF and LEEF 2.0 lines for alert documents (the MSG part of a syslog message).

Both formatters take one ECS alert document (``otsec.sinks.ecs.alert_doc``) and cope with
missing optional fields and with any text in the values: CEF escapes its separators, LEEF
replaces them, so a value can never split a header field or an attribute. Control
characters other than CEF's escaped newline and carriage return become spaces.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from otsec import __version__

VENDOR = "otsec"
PRODUCT = "otsec"

#: ics.alert.severity -> CEF severity (0-10) and LEEF sev (1-10)
SEVERITY_SCORE = {"low": 3, "medium": 5, "high": 8, "critical": 10}

# CEF header length limits (characters, after escaping)
_VENDOR_MAX = 63
_VERSION_MAX = 31
_CLASS_MAX = 1023
_NAME_MAX = 512
# extension value limits (ArcSight dictionary lengths)
_CEF_LIMITS = {"msg": 1023, "act": 63, "app": 31, "proto": 31, "cat": 1023, "cs1": 4000}
_DEFAULT_LIMIT = 1023
_LEEF_VALUE_MAX = 4000

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CEF_EXT_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")  # all but \n and \r
_HEADER_ESCAPES = {"\\": "\\\\", "|": "\\|"}
_EXT_ESCAPES = {"\\": "\\\\", "=": "\\=", "\n": "\\n", "\r": "\\r"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LEEF_DELIMITER = "^"
LEEF_TIME_FORMAT = "MMM dd yyyy HH:mm:ss.SSS z"


def field(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a document, or None when any part is missing."""
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _text(value: Any) -> str:
    """A field value as text ("" for None, comma-joined for lists)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value if v is not None)
    return str(value)


def _escaped(value: str, table: dict[str, str], limit: int) -> str:
    """``value`` escaped with ``table``, cut to ``limit`` characters without splitting an
    escape sequence."""
    out: list[str] = []
    size = 0
    for ch in value:
        piece = table.get(ch, ch)
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def severity_score(doc: dict[str, Any]) -> int | None:
    """0-10 score of an alert: from ics.alert.severity, else from event.severity (21-99)."""
    name = field(doc, "ics.alert.severity")
    if isinstance(name, str) and name in SEVERITY_SCORE:
        return SEVERITY_SCORE[name]
    number = field(doc, "event.severity")
    if isinstance(number, int | float) and not isinstance(number, bool):
        return max(0, min(10, round(number / 10)))
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _epoch_ms(value: Any) -> str:
    when = _parse_time(value)
    if when is None:
        return ""
    return str((when - _EPOCH) // timedelta(milliseconds=1))


def _mac(value: Any) -> str:
    """A MAC address in colon form (otsec writes them hyphenated)."""
    return _text(value).replace("-", ":")


def _cef_header(value: Any, limit: int) -> str:
    return _escaped(_CONTROL.sub(" ", _text(value)), _HEADER_ESCAPES, limit)


def _cef_value(key: str, value: Any) -> str:
    text = _CEF_EXT_CONTROL.sub(" ", _text(value))
    return _escaped(text, _EXT_ESCAPES, _CEF_LIMITS.get(key, _DEFAULT_LIMIT))


def _port(value: Any) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _class_id(doc: dict[str, Any]) -> Any:
    """The event class: an alert's rule id; a document without a rule (a sensor document)
    has ``<dataset>.<action>``, such as ``otsec.sensor.capture-drops``."""
    dataset, action = field(doc, "event.dataset"), field(doc, "event.action")
    if "rule" in doc or not (dataset and action):
        return field(doc, "rule.id")
    return f"{dataset}.{action}"


def cef_message(doc: dict[str, Any]) -> str:
    """One CEF:0 line for an alert document."""
    score = severity_score(doc)
    header = [
        "CEF:0",
        _cef_header(VENDOR, _VENDOR_MAX),
        _cef_header(PRODUCT, _VENDOR_MAX),
        _cef_header(__version__, _VERSION_MAX),
        _cef_header(_class_id(doc), _CLASS_MAX),
        _cef_header(field(doc, "rule.name" if "rule" in doc else "message"), _NAME_MAX),
        "Unknown" if score is None else str(score),
    ]
    techniques = _text(field(doc, "threat.technique.id"))
    pairs: list[tuple[str, Any]] = [
        ("rt", _epoch_ms(field(doc, "@timestamp"))),
        ("start", _epoch_ms(field(doc, "event.start"))),
        ("end", _epoch_ms(field(doc, "event.end"))),
        ("src", field(doc, "source.ip")),
        ("spt", _port(field(doc, "source.port"))),
        ("smac", _mac(field(doc, "source.mac"))),
        ("dst", field(doc, "destination.ip")),
        ("dpt", _port(field(doc, "destination.port"))),
        ("proto", field(doc, "network.transport")),
        ("app", field(doc, "network.protocol")),
        ("act", field(doc, "ics.function.name")),
        ("cat", field(doc, "event.action")),
        ("cnt", field(doc, "ics.alert.count")),
        ("externalId", field(doc, "event.id")),
        ("cs1Label", "mitreTechniques" if techniques else None),
        ("cs1", techniques),
        ("msg", field(doc, "message")),
    ]
    extension = " ".join(
        f"{key}={_cef_value(key, value)}" for key, value in pairs if _text(value) != ""
    )
    return "|".join(header) + "|" + extension


def _leef_field(value: Any, limit: int) -> str:
    """A LEEF header field or attribute value: separators and control characters become
    spaces, so the value cannot split a field."""
    text = _CONTROL.sub(" ", _text(value)).replace("|", " ").replace(LEEF_DELIMITER, " ")
    return text[:limit]


def _leef_time(value: Any) -> str:
    when = _parse_time(value)
    if when is None:
        return ""
    when = when.astimezone(UTC)
    millis = when.microsecond // 1000
    return f"{_MONTHS[when.month - 1]} {when:%d %Y %H:%M:%S}.{millis:03d} UTC"


def leef_message(doc: dict[str, Any]) -> str:
    """One LEEF:2.0 line for an alert document, attributes separated by ``^``."""
    header = [
        "LEEF:2.0",
        _leef_field(VENDOR, _VENDOR_MAX),
        _leef_field(PRODUCT, _VENDOR_MAX),
        _leef_field(__version__, _VERSION_MAX),
        _leef_field(_class_id(doc), _CLASS_MAX),
        LEEF_DELIMITER,
    ]
    dev_time = _leef_time(field(doc, "@timestamp"))
    score = severity_score(doc)
    attributes: list[tuple[str, Any]] = [
        ("devTime", dev_time),
        ("devTimeFormat", LEEF_TIME_FORMAT if dev_time else None),
        ("cat", field(doc, "event.action")),
        ("sev", None if score is None else max(1, score)),
        ("src", field(doc, "source.ip")),
        ("srcPort", _port(field(doc, "source.port"))),
        ("srcMAC", _mac(field(doc, "source.mac"))),
        ("dst", field(doc, "destination.ip")),
        ("dstPort", _port(field(doc, "destination.port"))),
        ("proto", field(doc, "network.transport")),
        ("app", field(doc, "network.protocol")),
        ("action", field(doc, "ics.function.name")),
        ("ruleName", field(doc, "rule.name")),
        ("severity", field(doc, "ics.alert.severity")),
        ("count", field(doc, "ics.alert.count")),
        ("externalId", field(doc, "event.id")),
        ("mitreTechniques", field(doc, "threat.technique.id")),
        ("msg", field(doc, "message")),
    ]
    body = LEEF_DELIMITER.join(
        f"{key}={_leef_field(value, _LEEF_VALUE_MAX)}"
        for key, value in attributes
        if _text(value) != ""
    )
    return "|".join(header) + "|" + body
