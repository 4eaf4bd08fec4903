"""Sigma inside the monitor: the evaluator's semantics (modifiers, conditions, case, lists,
missing fields), the rule pack (every rule loads, every rule's examples match and do not
match as written), problems reported as file:line, and Sigma alerts end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.processing.pipeline import ProcessingPipeline

from otsec.cli import main
from otsec.detection.sigma import (
    CompiledCorrelation,
    CompiledRule,
    compile_rule,
    load_pipeline,
    load_rules,
)
from tests.conftest import REPO

RULES = REPO / "rules"
PIPELINE = RULES / "pipelines" / "otsec.yml"

# rule detection -> (documents that must match, documents that must not)
CONFORMANCE: list[tuple[str, dict[str, Any], list[Any], list[Any]]] = [
    ("equality is case-insensitive", {"s": {"name": "Plc_Stop"}, "condition": "s"},
     [{"name": "plc_stop"}, {"name": "PLC_STOP"}], [{"name": "plc_stop2"}, {}]),
    ("wildcards", {"s": {"name": "write*register?"}, "condition": "s"},
     [{"name": "write_single_registers"}, {"name": "WRITE registerS"}], [{"name": "write_coil"}]),
    ("contains", {"s": {"name|contains": "restart"}, "condition": "s"},
     [{"name": "cold_RESTART"}], [{"name": "stop"}]),
    ("startswith list", {"s": {"name|startswith": ["open_", "delete_"]}, "condition": "s"},
     [{"name": "delete_file"}], [{"name": "file_delete"}]),
    ("endswith", {"s": {"name|endswith": "_file"}, "condition": "s"},
     [{"name": "delete_file"}], [{"name": "file_delete"}]),
    ("contains all", {"s": {"msg|contains|all": ["a", "b"]}, "condition": "s"},
     [{"msg": "xaxbx"}], [{"msg": "xax"}]),
    ("re is case-sensitive and searched", {"s": {"name|re": "(cold|warm)_restart"},
                                           "condition": "s"},
     [{"name": "x_warm_restart"}], [{"name": "WARM_RESTART"}]),
    ("cidr", {"s": {"ip|cidr": ["10.20.1.96/27", "fd00::/8"]}, "condition": "s"},
     [{"ip": "10.20.1.101"}, {"ip": "fd00:20:1::101"}], [{"ip": "10.20.1.11"}, {"ip": "x"}]),
    ("numeric comparisons, numbers as text", {"s": {"n|gt": 10, "m|lte": 5}, "condition": "s"},
     [{"n": 11, "m": 5}, {"n": "16", "m": "1"}], [{"n": 10, "m": 1}, {"n": 11, "m": 6}]),
    ("integer list", {"s": {"fc": [5, 6, 15, 16]}, "condition": "s"},
     [{"fc": 16}, {"fc": "6"}], [{"fc": 3}]),
    ("null and exists", {"a": {"x": None}, "b": {"y|exists": True}, "condition": "a and b"},
     [{"y": 1}], [{"x": 1, "y": 1}, {}]),
    ("cased", {"s": {"name|cased": "PLC"}, "condition": "s"}, [{"name": "PLC"}],
     [{"name": "plc"}]),
    ("1 of / not", {"sel_a": {"a": 1}, "sel_b": {"b": 1}, "filter": {"c": 1},
                    "condition": "1 of sel_* and not filter"},
     [{"a": 1}, {"b": 1}], [{"a": 1, "c": 1}, {"d": 1}]),
    ("all of", {"sel_a": {"a": 1}, "sel_b": {"b": 1}, "condition": "all of sel_*"},
     [{"a": 1, "b": 1}], [{"a": 1}]),
    ("parentheses", {"a": {"a": 1}, "b": {"b": 1}, "c": {"c": 1},
                     "condition": "(a or b) and not c"},
     [{"b": 1}], [{"b": 1, "c": 1}]),
    ("nested paths and lists", {"s": {"related.ip": "10.0.0.2"}, "condition": "s"},
     [{"related": {"ip": ["10.0.0.1", "10.0.0.2"]}}, {"related.ip": "10.0.0.2"}],
     [{"related": {"ip": ["10.0.0.1"]}}]),
    ("list of maps is an or", {"s": [{"a": 1}, {"b": 2}], "condition": "s"},
     [{"b": 2}], [{"a": 2}]),
]  # fmt: skip


def _compile(detection: dict[str, Any]) -> Any:
    rule_yaml = yaml.safe_dump({
        "title": "conformance", "id": "00000000-0000-4000-8000-000000000001",
        "logsource": {"product": "test"}, "detection": detection,
    })  # fmt: skip
    rule = SigmaCollection.from_yaml(rule_yaml).rules[0]
    ProcessingPipeline().apply(rule)
    return compile_rule(rule, "conformance.yml")


@pytest.mark.parametrize(("name", "detection", "match", "nomatch"), CONFORMANCE,
                         ids=[c[0] for c in CONFORMANCE])  # fmt: skip
def test_conformance(name: str, detection: dict[str, Any], match: list[Any],
                     nomatch: list[Any]) -> None:  # fmt: skip
    rule = _compile(detection)
    for doc in match:
        assert rule.match(doc), doc
    for doc in nomatch:
        assert not rule.match(doc), doc


@pytest.fixture(scope="module")
def pack() -> dict[str, Any]:
    report = load_rules([RULES], load_pipeline(PIPELINE))
    assert report.errors == []
    return {r.id: r for r in [*report.rules, *report.correlations]}


def _fires(corr: CompiledCorrelation, bases: list[Any], spec: dict[str, Any]) -> bool:
    """Feed a correlation a sequence: ``count`` documents, one every ``every`` seconds,
    cycling through ``docs``; the ones its base rules match are counted."""
    corr.windows.clear()
    fired = False
    for i in range(spec["count"]):
        doc = spec["docs"][i % len(spec["docs"])]
        if any(b.match(doc) for b in bases) and corr.add(1_767_600_000 + i * spec["every"], doc):
            fired = True
    corr.windows.clear()
    return fired


def test_every_rule_has_examples_that_hold(pack: dict[str, Any]) -> None:
    tested = set()
    for path in sorted((RULES / "tests").glob("*.yml")):
        spec = yaml.safe_load(path.read_text())
        rule = pack[spec["rule"]]
        assert spec["match"] and spec["nomatch"], path
        if isinstance(rule, CompiledCorrelation):
            bases = [b for b in pack.values() if rule in getattr(b, "correlations", ())]
            assert bases, path
            for seq in spec["match"]:
                assert _fires(rule, bases, seq), (path.name, seq["count"], seq["every"])
            for seq in spec["nomatch"]:
                assert not _fires(rule, bases, seq), (path.name, seq["count"], seq["every"])
        else:
            for doc in spec["match"]:
                assert rule.match(doc), (path.name, doc)
            for doc in spec["nomatch"]:
                assert not rule.match(doc), (path.name, doc)
        tested.add(spec["rule"])
    assert tested == set(pack), f"rules without examples: {set(pack) - tested}"


def test_every_rule_is_complete(pack: dict[str, Any]) -> None:
    for rule in pack.values():
        r = rule.rule
        assert r.id and r.level and r.status and r.description and r.falsepositives, r.title
        if isinstance(rule, CompiledCorrelation) or rule.alerts:
            assert rule.techniques, f"{r.title}: no attack.t08xx tag"
        else:  # a base rule that only feeds correlations raises nothing of its own
            assert rule.correlations and r.level.name.lower() == "informational", r.title
        assert all(t.startswith("T08") for t in rule.techniques)
        if isinstance(rule, CompiledRule):
            assert r.logsource.product == "otsec"


def test_problems_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "unmapped.yml").write_text(
        "title: unmapped\nid: 00000000-0000-4000-8000-000000000002\n"
        "logsource: {product: otsec, service: modbus}\ndetection:\n  sel:\n"
        "    no_such_field: 1\n  condition: sel\n"
    )
    (tmp_path / "broken.yml").write_text("title: [unclosed\n")
    (tmp_path / "good.yml").write_text((RULES / "s7comm" / "plc_stop.yml").read_text())
    report = load_rules([tmp_path], load_pipeline(PIPELINE))
    assert [r.rule.title for r in report.rules] == ["S7 PLC stop"]  # the others still load
    assert any(e.startswith(f"{tmp_path / 'unmapped.yml'}:6:") and "no_such_field" in e
               for e in report.errors)  # fmt: skip
    assert any(e.startswith(f"{tmp_path / 'broken.yml'}:") for e in report.errors)


def test_rules_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check"]) == 0
    assert "0 problems" in capsys.readouterr().out
    bad = tmp_path / "bad.yml"
    bad.write_text((RULES / "s7comm" / "plc_stop.yml").read_text()
                   .replace("attack.t0858", "attack.t9999"))  # fmt: skip
    assert main(["rules", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:" in out and "ATTACK" in out


def test_sigma_alerts_end_to_end(tmp_path: Path) -> None:
    alerts = tmp_path / "a.jsonl"
    capture = REPO / "pcaps" / "attacks" / "attack_rogue_s7_stop.pcap"
    assert main(["replay", "--no-progress", "--quiet", "--rules", "default", "--baseline",
                 str(REPO / "baselines" / "plant.json"), "--alerts", str(alerts),
                 str(capture)]) == 0  # fmt: skip
    docs = [json.loads(line) for line in alerts.read_text().splitlines()]
    sigma = {d["rule"]["name"]: d for d in docs if d["rule"]["ruleset"] == "otsec-sigma"}
    stop = sigma["S7 PLC stop"]
    assert stop["rule"]["id"] == "4d1d54de-0c4a-451e-99dc-5ea5850e0755"
    assert stop["ics"]["alert"]["severity"] == "critical"
    assert stop["threat"]["technique"]["id"] == ["T0858", "T0881"]
    assert stop["source"]["ip"] == "10.20.1.66" and stop["ics"]["function"]["code"] == 41
    # the built-in alert is itself an event Sigma rules of category "baseline" look at
    assert "Dangerous command from an unknown source" in sigma
    assert "Controller operating mode changed" in sigma


@pytest.mark.parametrize("target", ["lucene", "esql", "eql"])
@pytest.mark.parametrize("fmt", ["default", "siem_rule_ndjson"])
def test_every_rule_exports_offline(
    target: str, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """No network: a download attempt would fail the conversion."""
    import urllib.request

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise OSError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    out = tmp_path / "out.txt"
    assert main(["rules", "export", "--target", target, "--format", fmt, "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    report = load_rules([RULES], load_pipeline(PIPELINE))
    # SIEM rules: every rule that alerts (base rules of correlations only feed them), and
    # the correlations where the target can express them (not Lucene)
    alerting = [r for r in report.rules if r.alerts]
    correlations = report.correlations if target != "lucene" else []
    assert len(lines) == len(alerting) + len(correlations) and report.correlations
    if target != "lucene":
        storm = next(line for line in lines if "otsec.modbus" in line and "failure" in line)
        assert ("stats event_count" in storm) if target == "esql" else ("sequence by" in storm)
    if fmt == "siem_rule_ndjson":
        rules = [json.loads(line) for line in lines]
        stop = next(r for r in rules if r["rule_id"] == "4d1d54de-0c4a-451e-99dc-5ea5850e0755")
        assert stop["severity"] == "critical" and stop["license"] == "Apache-2.0"
        names = {t["technique"][0]["name"] for t in stop["threat"]}
        assert names == {"Change Operating Mode", "Service Stop"}
    else:
        assert any("otsec.s7comm" in line and "41" in line for line in lines)
    err = capsys.readouterr().err
    assert "0 problems" in err
    assert ("3 skipped" in err) == (target == "lucene")


def test_guards_never_hide_a_match(pack: dict[str, Any]) -> None:
    """The guards (field values a match needs) let the monitor skip rules, and the lazy
    document builds the full one only for fields it cannot read off the transaction: over
    every transaction of the coverage captures, every rule gives the same answer on the
    lazy and the full document, and a rule that matches is admitted by its guards."""
    from otsec.capture.pcapfile import open_capture
    from otsec.monitor import LazyTransactionDoc, Monitor
    from otsec.sinks.ecs import transaction_doc

    stop = pack["4d1d54de-0c4a-451e-99dc-5ea5850e0755"]
    assert ("ics.function.code", frozenset({41.0})) in stop.guards
    s7 = {"event.dataset": "otsec.s7comm", "ics.s7comm.rosctr.name": "job"}
    assert stop.admits({**s7, "ics.function.code": 41})
    assert not stop.admits({**s7, "ics.function.code": 4}) and not stop.admits(s7)
    monitor = Monitor()
    checked = matched = 0

    def check(t: Any) -> None:
        nonlocal checked, matched
        doc = transaction_doc(t)
        lazy = LazyTransactionDoc(t)
        for rule in pack.values():
            checked += 1
            full = rule.match(doc)
            assert rule.match(lazy) == full, (rule.rule.title, doc["event"]["action"])
            if full:
                matched += 1
                assert rule.admits(lazy), (rule.rule.title, doc["event"]["action"])

    monitor.pipeline.event_handlers.append(check)
    for name in ("modbus_functions", "s7_functions", "dnp3_functions", "plant_attack"):
        with open_capture(str(REPO / "pcaps" / f"{name}.pcap")) as reader:
            monitor.run(reader)
    monitor.close()
    assert matched > 50 and checked > 10_000


def test_eql_compares_numbers_as_numbers(tmp_path: Path) -> None:
    """Elasticsearch's EQL takes ``:`` and ``like~`` on strings only: numbers must come
    out as ``==`` and ``in``, strings keep the case-insensitive operators."""
    from otsec.detection.sigma_export import export

    rule = tmp_path / "r.yml"
    rule.write_text(
        "title: numbers and strings\nid: 0e0a6c3c-7c39-4a55-9d0c-2f7a1c1e9b01\n"
        "status: test\nlevel: low\nlogsource: {product: otsec, service: modbus}\n"
        "detection:\n  fc: {function_code: [5, 6, 15]}\n  one: {unit_id: 0}\n"
        "  op: {operation: [write, 'program_*']}\n  condition: fc and one and op\n"
    )
    (query,), problems, _ = export([rule], PIPELINE, RULES / "attack" / "ics-attack.json", "eql")
    assert not problems
    assert "ics.function.code in (5, 6, 15)" in query and "ics.modbus.unit_id == 0" in query
    assert 'ics.operation like~ ("write", "program_*")' in query
    out, problems, _ = export([RULES], PIPELINE, RULES / "attack" / "ics-attack.json", "eql")
    assert not problems and out
    for line in out:
        assert not re.search(r"(:|like~ \()\s*-?\d", line), line


def _correlation(tmp_path: Path, correlation: str) -> Any:
    (tmp_path / "c.yml").write_text(
        "title: base\nid: 00000000-0000-4000-8000-00000000000a\nname: base_write\n"
        "status: test\nlevel: informational\nlogsource: {product: otsec, category: ics}\n"
        "detection:\n  sel: {access: write}\n  condition: sel\n---\n"
        "title: counted\nid: 00000000-0000-4000-8000-00000000000b\nstatus: test\n"
        "level: medium\ncorrelation:\n  rules: [base_write]\n" + correlation
    )
    return load_rules([tmp_path], load_pipeline(PIPELINE))


def test_value_count_counts_distinct_values(tmp_path: Path) -> None:
    report = _correlation(tmp_path, "  type: value_count\n  group-by: [src_ip]\n"
                          "  timespan: 10s\n  condition: {field: dst_ip, gt: 2}\n")  # fmt: skip
    assert not report.errors
    (corr,) = report.correlations
    (base,) = report.rules
    assert base.correlations == [corr] and not base.alerts and corr.value_field == "destination.ip"

    def doc(dst: str) -> dict[str, Any]:
        return {"source": {"ip": "10.0.0.9"}, "destination": {"ip": dst}}

    assert corr.add(0.0, doc("10.0.0.1")) is None
    assert corr.add(1.0, doc("10.0.0.1")) is None  # the same device again
    assert corr.add(2.0, doc("10.0.0.2")) is None
    assert corr.add(20.0, doc("10.0.0.3")) is None  # the first two fell out of the window
    assert corr.add(21.0, doc("10.0.0.4")) is None
    assert corr.add(22.0, doc("10.0.0.5")) == (("10.0.0.9",), 3)
    assert corr.add(23.0, doc("10.0.0.6")) is None  # the group's window starts again


@pytest.mark.parametrize(("correlation", "message"), [
    ("  type: temporal\n  group-by: [src_ip]\n  timespan: 1m\n", "temporal is not evaluated"),
    ("  type: event_count\n  timespan: 1m\n  condition: {lt: 5}\n", "conditions gte and gt"),
])  # fmt: skip
def test_unsupported_correlations_are_named(tmp_path: Path, correlation: str, message: str) -> None:
    report = _correlation(tmp_path, correlation)
    assert report.rules and not report.correlations
    (error,) = report.errors
    assert error.startswith(f"{tmp_path / 'c.yml'}:") and message in error, error
    assert report.rules[0].alerts  # no correlation took the base rule's alerts


def test_correlation_names_a_missing_rule(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text(
        "title: counted\nid: 00000000-0000-4000-8000-00000000000c\nstatus: test\n"
        "level: medium\ncorrelation:\n  type: event_count\n  rules: [nowhere]\n"
        "  timespan: 1m\n  condition: {gte: 3}\n"
    )
    report = load_rules([tmp_path], load_pipeline(PIPELINE))
    assert not report.correlations and "nowhere" in report.errors[0]
