"""The rule pack for the SIEM: pySigma's Elasticsearch backends with otsec's pipeline.

``otsec rules export --target lucene|esql|eql [--format ...]`` converts every rule of the
given folders into the SIEM's query language, including Elastic's detection-rule NDJSON
(``--format siem_rule_ndjson``). Fully offline: the ATT&CK data the detection-rule formats
want comes from the ATT&CK for ICS bundle in ``rules/attack/``, never from the network.
The pipeline is the one the sensor evaluates with, so a query and the sensor's rule mean
the same (``docs/sigma.md`` says where Lucene and Sigma semantics differ and how the pack
stays clear of it). The SOC can run the same conversion itself::

    sigma convert -t lucene -p rules/pipelines/otsec.yml rules/
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sigma.backends.elasticsearch.elasticsearch_eql import EqlBackend
from sigma.backends.elasticsearch.elasticsearch_esql import ESQLBackend
from sigma.backends.elasticsearch.elasticsearch_lucene import LuceneBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.types import SigmaNumber

from otsec.detection.sigma import SigmaLoadError, load_pipeline, rule_files, use_offline_attack


class OtsecEqlBackend(EqlBackend):
    """pySigma's EQL backend with numbers compared as numbers. The stock backend writes
    ``field:8`` and ``field like~ (5, 6)``, and Elasticsearch's EQL accepts ``:`` and
    ``like~`` on strings only, so a rule on a numeric field (``ics.function.code``) would
    fail in the SIEM. Numbers become ``field == 8`` and ``field in (5, 6)``; strings keep
    the case-insensitive operators Sigma asks for."""

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return f"{self.escape_and_quote_field(cond.field)} == {cond.value}"

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        values = [a for a in cond.args if isinstance(a, ConditionFieldEqualsValueExpression)]
        if (
            isinstance(cond, ConditionOR)
            and len(values) == len(cond.args)
            and all(isinstance(a.value, SigmaNumber) for a in values)
        ):
            field = self.escape_and_quote_field(values[0].field)  # one field: the caller checks
            return f"{field} in ({', '.join(str(a.value) for a in values)})"
        return super().convert_condition_as_in_expression(cond, state)


BACKENDS: dict[str, Any] = {
    "lucene": LuceneBackend, "esql": ESQLBackend, "eql": OtsecEqlBackend,
}  # fmt: skip
#: logsource -> the data streams its documents live in (for the Lucene SIEM rules).
INDEXES = {
    ("ics", None): ["logs-otsec.modbus-*", "logs-otsec.s7comm-*", "logs-otsec.dnp3-*"],
    (None, "modbus"): ["logs-otsec.modbus-*"],
    (None, "s7comm"): ["logs-otsec.s7comm-*"],
    (None, "dnp3"): ["logs-otsec.dnp3-*"],
    ("anomaly", None): ["logs-otsec.anomaly-*"],
    ("baseline", None): ["logs-otsec.alert-*"],
}


def formats(target: str) -> dict[str, str]:
    """The output formats a target offers (name -> description)."""
    backend = BACKENDS.get(target)
    if backend is None:
        raise SigmaLoadError(f"unknown target {target!r}: choose one of {', '.join(BACKENDS)}")
    return dict(backend.formats)


def export(
    paths: Iterable[str | Path], pipeline_path: str | Path, attack_bundle: str | Path,
    target: str, fmt: str = "default",
) -> tuple[list[str], list[str], list[str]]:  # fmt: skip
    """(converted rules, problems, skipped): one output string per rule (per query for the
    plain formats, on one line), problems as 'file: message', and the rules the target
    cannot express (correlations in Lucene) as 'file: message'."""
    if fmt not in formats(target):
        raise SigmaLoadError(f"target {target} has no format {fmt!r}: {', '.join(formats(target))}")
    out: list[str] = []
    problems: list[str] = []
    skipped: list[str] = []
    pipeline = load_pipeline(pipeline_path)
    loaded: list[tuple[SigmaRule | SigmaCorrelationRule, Path]] = []
    for path in rule_files(paths):
        try:
            collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"),
                                                   resolve_references=False)  # fmt: skip
        except (OSError, SigmaError, ValueError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        loaded += [
            (r, path) for r in collection.rules if isinstance(r, SigmaRule | SigmaCorrelationRule)
        ]
    # correlations name their base rules across files; a base rule a correlation does
    # not let generate alerts is not a SIEM rule of its own
    everything = SigmaCollection([r for r, _p in loaded], resolve_references=False)
    with tempfile.TemporaryDirectory(prefix="otsec-attack-") as cache:
        use_offline_attack(attack_bundle, cache)
        for rule, path in loaded:
            try:
                if isinstance(rule, SigmaCorrelationRule):
                    rule.resolve_rule_references(everything)
                    if target == "lucene":
                        skipped.append(f"{path}: {rule.title}: Lucene has no correlations; "
                                       "export this rule with --target esql or eql")  # fmt: skip
            except SigmaError as exc:
                problems.append(f"{path}: {type(exc).__name__}: {exc}")
        for rule, path in loaded:
            if isinstance(rule, SigmaRule) and not rule._output:
                continue
            if isinstance(rule, SigmaCorrelationRule) and (
                target == "lucene" or not rule.referenced_rules
            ):
                continue
            try:
                converted = _convert(rule, pipeline, target, fmt)
            except (SigmaError, ValueError, KeyError, RuntimeError, NotImplementedError) as exc:
                problems.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            # multi-line queries (ES|QL and EQL correlations) on one line: one rule per line
            out += [c.replace("\n", " ") for c in converted]
    return out, problems, skipped


def _convert(
    rule: SigmaRule | SigmaCorrelationRule, pipeline: ProcessingPipeline, target: str, fmt: str
) -> list[str]:
    """One rule with its own backend (the Lucene SIEM rules take the rule's index as a
    backend option); the backend combines the pipeline into a fresh one per conversion. A
    correlation is converted with the base rules it names."""
    options: dict[str, Any] = {}
    if target == "lucene" and isinstance(rule, SigmaRule):
        ls = rule.logsource
        options["index_names"] = INDEXES.get((ls.category, ls.service), ["logs-otsec.*-*"])
    backend = BACKENDS[target](processing_pipeline=pipeline, **options)
    rules: list[SigmaRule | SigmaCorrelationRule | SigmaFilter] = [rule]
    if isinstance(rule, SigmaCorrelationRule):
        rules += [ref.rule for ref in rule.referenced_rules]
    result = backend.convert(SigmaCollection(rules, resolve_references=False), fmt)
    if isinstance(result, list):
        return [r if isinstance(r, str) else _json(r) for r in result]
    return [result if isinstance(result, str) else _json(result)]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
