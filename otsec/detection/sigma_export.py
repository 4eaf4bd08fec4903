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
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from otsec.detection.sigma import SigmaLoadError, load_pipeline, rule_files, use_offline_attack

BACKENDS: dict[str, Any] = {"lucene": LuceneBackend, "esql": ESQLBackend, "eql": EqlBackend}
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
) -> tuple[list[str], list[str]]:  # fmt: skip
    """(converted rules, problems): one output string per rule (per query for the plain
    formats), problems as 'file: message'."""
    if fmt not in formats(target):
        raise SigmaLoadError(f"target {target} has no format {fmt!r}: {', '.join(formats(target))}")
    out: list[str] = []
    problems: list[str] = []
    pipeline = load_pipeline(pipeline_path)
    with tempfile.TemporaryDirectory(prefix="otsec-attack-") as cache:
        use_offline_attack(attack_bundle, cache)
        for path in rule_files(paths):
            try:
                collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"))
            except (OSError, SigmaError, ValueError) as exc:
                problems.append(f"{path}: {exc}")
                continue
            for rule in collection.rules:
                if not isinstance(rule, SigmaRule):
                    continue
                try:
                    out += _convert(rule, pipeline, target, fmt)
                except (SigmaError, ValueError, KeyError, RuntimeError) as exc:
                    problems.append(f"{path}: {type(exc).__name__}: {exc}")
    return out, problems


def _convert(rule: SigmaRule, pipeline: ProcessingPipeline, target: str, fmt: str) -> list[str]:
    """One rule with its own backend (the Lucene SIEM rules take the rule's index as a
    backend option); the backend combines the pipeline into a fresh one per conversion."""
    ls = rule.logsource
    options: dict[str, Any] = {}
    if target == "lucene":
        options["index_names"] = INDEXES.get((ls.category, ls.service), ["logs-otsec.*-*"])
    backend = BACKENDS[target](processing_pipeline=pipeline, **options)
    result = backend.convert(SigmaCollection([rule]), fmt)
    if isinstance(result, list):
        return [r if isinstance(r, str) else _json(r) for r in result]
    return [result if isinstance(result, str) else _json(result)]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
