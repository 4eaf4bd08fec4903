"""The monitor: the pipeline plus the stages after it, wired in their order.

:class:`Monitor` builds a :class:`~otsec.pipeline.Pipeline` and subscribes, in this
order, the inventory, the detector, the baseline learner (when learning) and the sinks
to its events (connections, transactions, ARP, sweeps). ``otsec replay`` and
``otsec baseline learn`` (and, later, live capture) run captures through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otsec.baseline.learner import Learner
from otsec.baseline.store import Baseline, BaselineError, new_doc
from otsec.baseline.zones import ZonePolicy
from otsec.capture.pcapfile import PacketSource
from otsec.config import ConduitSpec, Settings, ZoneSpec
from otsec.detection.alerts import Alert
from otsec.detection.engine import AllowList, Detector
from otsec.detection.paths import walk
from otsec.detection.rules import RuleSpec
from otsec.events.types import Transaction, isotime
from otsec.flows.table import Flow
from otsec.inventory import oui
from otsec.inventory.assets import Inventory
from otsec.pipeline import FileReport, Pipeline, ProgressCallback
from otsec.sinks.ecs import alert_doc, anomaly_doc, anomaly_protocol, outcome, transaction_doc

if TYPE_CHECKING:  # pySigma is imported only when a rule pack is loaded (load_sigma)
    from otsec.detection.sigma import CompiledCorrelation, CompiledRule, SigmaEngine

AlertSink = Callable[[Alert], None]


def default_vendor() -> Callable[[bytes], str | None]:
    """The offline OUI lookup (netaddr's IEEE registry, Wireshark's manuf file)."""
    return oui.vendor


class Monitor:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        baseline: Baseline | None = None,
        learn: bool = False,
        alert_sinks: list[AlertSink] | None = None,
        event_sinks: list[Callable[[Transaction], None]] | None = None,
        anomaly_sinks: list[Callable[[dict[str, Any]], None]] | None = None,
        vendor: Callable[[bytes], str | None] | None = None,
        sigma: SigmaEngine | None = None,
    ) -> None:
        settings = settings or Settings()
        #: The zones come from the configuration (else from the baseline's policy).
        self._configured_zones = bool(settings.zones)
        if baseline is not None and not settings.zones:
            settings = with_policy(settings, baseline.doc.get("policy"))
        self.settings = settings
        self.pipeline = pipeline = Pipeline(settings)
        self.baseline = baseline
        zones = ZonePolicy(settings.zones, settings.conduits) if settings.zones else None
        self.inventory = Inventory(
            vendor=vendor if vendor is not None else default_vendor(),
            reference=baseline.assets if baseline is not None else None,
        )
        self.detector = Detector(
            baseline,
            settings.detection,
            self._alert,
            context=self.inventory.context,
            zones=zones,
            allow=AllowList(settings.allow),
            learning=learn,
        )
        self.inventory.on_change = self.detector.identity_changed
        self.learner = Learner(zones) if learn else None
        self.alert_sinks = list(alert_sinks or [])
        #: (rule id, severity) -> alerts raised (aggregates count once).
        self.alert_counts: dict[tuple[str, str], int] = {}
        #: Per capture: path, packets, first and last packet time.
        self.sources: list[dict[str, Any]] = []

        inv, det = self.inventory, self.detector
        pipeline.connection_handlers += [inv.connection, det.connection]
        pipeline.event_handlers += [inv.transaction, det.transaction]
        pipeline.arp_handlers += [inv.arp, det.arp]
        pipeline.tick_handlers.append(det.tick)
        if self.learner is not None:
            pipeline.connection_handlers.append(self.learner.connection)
            pipeline.event_handlers.append(self.learner.transaction)
        self.sigma: SigmaStage | None = None
        if sigma is not None and sigma.rules and not learn:
            self.sigma = SigmaStage(sigma, det)
            pipeline.event_handlers.append(self.sigma.transaction)
            pipeline.anomaly_handlers.append(self.sigma.anomaly)
        pipeline.event_handlers += event_sinks or []
        #: The capture being read (``log.file.path`` of anomaly documents).
        self.capture = ""
        self.anomaly_sinks = list(anomaly_sinks or [])
        if self.anomaly_sinks:
            pipeline.anomaly_handlers.append(self._anomaly)

    def _alert(self, alert: Alert) -> None:
        key = (alert.rule.id, alert.severity)
        self.alert_counts[key] = self.alert_counts.get(key, 0) + 1
        for sink in self.alert_sinks:
            sink(alert)
        if self.sigma is not None:
            self.sigma.alert(alert)

    def _anomaly(self, name: str, ts: float, flow: Flow | None, detail: str) -> None:
        doc = anomaly_doc(name, ts, detail, self.capture, flow)
        for sink in self.anomaly_sinks:
            sink(doc)

    def run(self, reader: PacketSource, progress: ProgressCallback | None = None) -> FileReport:
        p = self.pipeline
        self.capture = reader.name
        if self.sigma is not None:
            self.sigma.capture = reader.name
        report = p.run(reader, progress)
        first, last = report.first_ts, report.last_ts
        self.sources.append({
            "path": reader.name,
            "packets": report.packets,
            "first": isotime(first) if first is not None else None,
            "last": isotime(last) if last is not None else None,
        })  # fmt: skip
        return report

    def close(self) -> None:
        """End of input: flush flows (their last events) and the alert windows."""
        self.pipeline.close()
        self.detector.flush()

    def reload_baseline(self, baseline: Baseline) -> None:
        """Monitor against ``baseline`` from now on, without losing the run's state
        (``otsec sniff`` on SIGHUP). Its zone policy replaces the old baseline's unless
        the configuration names zones. BaselineError when the policy is invalid (nothing
        changed then)."""
        assert self.learner is None, "learning has no baseline to reload"
        det = self.detector
        if not self._configured_zones:
            bare = replace(self.settings, zones=(), conduits=())
            settings = with_policy(bare, baseline.doc.get("policy"))
            if (settings.zones, settings.conduits) != (self.settings.zones, self.settings.conduits):
                zones = ZonePolicy(settings.zones, settings.conduits) if settings.zones else None
                det.zones = zones if zones is not None and zones.active else None
                det.zone_checked.clear()
                self.settings = settings
        det.set_baseline(baseline)
        self.inventory.reference = baseline.assets
        self.baseline = baseline

    def reload_sigma(self, engine: SigmaEngine) -> None:
        """Evaluate ``engine``'s rules from now on (``otsec sniff`` on SIGHUP, when it was
        started with rules). The alerts raised so far stay counted; correlation windows
        start afresh with the new rules."""
        assert self.sigma is not None, "started without Sigma rules"
        self.sigma.set_engine(engine)

    def inventory_doc(self) -> dict[str, Any]:
        doc = self.inventory.to_doc()
        doc["sources"] = [s["path"] for s in self.sources]
        return doc

    def baseline_doc(self) -> dict[str, Any]:
        """The learned baseline (learning mode)."""
        assert self.learner is not None, "not learning"
        learner = self.learner
        assets = self.inventory_doc()["assets"]
        edges = learner.edge_docs(assets)
        violations = [
            {"client": k[0], "server": k[1], "transport": k[2], "port": k[3],
             "client_zone": cz, "server_zone": sz, "first_seen": isotime(ts)}
            for k, (cz, sz, ts) in sorted(learner.violations.items())
        ]  # fmt: skip
        p = self.pipeline
        doc = new_doc(
            assets,
            edges,
            self.sources,
            isotime(p.first_ts) if p.first_ts is not None else None,
            isotime(p.last_ts) if p.packets else None,
            p.packets,
            violations=violations,
        )
        doc["policy"] = policy_doc(self.settings)
        return doc


def policy_doc(settings: Settings) -> dict[str, Any]:
    """The zones and conduits in force while learning, kept in the baseline so that
    monitoring with it enforces the same policy (a --config with zones overrides it)."""
    return {
        "zones": [
            {"name": z.name, "networks": list(z.networks), "description": z.description}
            for z in settings.zones
        ],
        "conduits": [
            {
                "from": c.source,
                "to": c.destination,
                "protocols": list(c.protocols),
                "ports": list(c.ports),
            }
            for c in settings.conduits
        ],
    }


def with_policy(settings: Settings, policy: Any) -> Settings:
    """``settings`` with a baseline's zones and conduits (when it has any)."""
    if not isinstance(policy, dict) or not policy.get("zones"):
        return settings
    try:
        zones = tuple(
            ZoneSpec(str(z["name"]), tuple(str(n) for n in z["networks"]),
                     str(z.get("description", "")))
            for z in policy["zones"]
        )  # fmt: skip
        conduits = tuple(
            ConduitSpec(str(c["from"]), str(c["to"]), tuple(str(p) for p in c.get("protocols", [])),
                        tuple(int(p) for p in c.get("ports", [])))
            for c in policy.get("conduits", [])
        )  # fmt: skip
        ZonePolicy(zones, conduits)  # the networks must parse
    except (KeyError, TypeError, ValueError) as exc:
        raise BaselineError(f"the baseline's zone policy is invalid ({exc})") from None
    return replace(settings, zones=zones, conduits=conduits)


#: Sigma levels -> otsec severities.
SIGMA_LEVELS = {"informational": "low", "low": "low", "medium": "medium", "high": "high",
                "critical": "critical"}  # fmt: skip
#: The rule pack, its processing pipeline and the ATT&CK for ICS data, beside the package.
RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
PIPELINE = RULES_DIR / "pipelines" / "otsec.yml"
ATTACK_BUNDLE = RULES_DIR / "attack" / "ics-attack.json"


_ABSENT = object()


def _exception_code(t: Transaction) -> Any:
    resp = t.response
    code = getattr(resp, "exception_code", None) if resp is not None else None
    return _ABSENT if code is None else code


def _extra(key: str) -> Callable[[Transaction], Any]:
    def get(t: Transaction) -> Any:
        extra = t.extra
        return extra.get(key, _ABSENT) if extra else _ABSENT

    return get


#: Fields of a transaction document read straight from the transaction (dotted path ->
#: accessor returning the value, or _ABSENT when the document would not carry it).
_CHEAP_FIELDS: dict[str, Callable[[Transaction], Any]] = {
    "event.dataset": lambda t: "otsec." + t.protocol,
    "network.protocol": lambda t: t.protocol,
    "ics.operation": lambda t: t.operation,
    "ics.access": lambda t: t.record.access,
    "ics.target": lambda t: t.record.target,
    "ics.function.code": lambda t: t.record.function,
    "ics.function.name": lambda t: t.record.function_name,
    "ics.transaction.status": lambda t: t.status,
    "event.outcome": outcome,
    "source.ip": lambda t: t.envelope.client_ip,
    "destination.ip": lambda t: t.envelope.server_ip,
    "destination.port": lambda t: t.envelope.server_port,
    "ics.modbus.exception.code": _exception_code,
    "ics.modbus.unit_id": lambda t: t.record.unit if t.protocol == "modbus" else _ABSENT,
    "ics.dnp3.master": _extra("master"),
    "ics.dnp3.outstation": _extra("outstation"),
}


_EXC = "ics.modbus.exception.code"
#: Fields a transaction's kind fixes (SigmaStage memoises rules on them).
_KIND_FIELDS = frozenset({"event.dataset", "network.protocol", "ics.operation", "ics.access",
                          "ics.target", "ics.function.code", "ics.function.name",
                          "ics.transaction.status", "event.outcome", _EXC})  # fmt: skip


class LazyTransactionDoc:
    """A transaction's ECS document as the Sigma matcher reads it (``path in doc``,
    ``doc[path]`` with dotted paths): the fields of :data:`_CHEAP_FIELDS` come straight
    from the transaction, and the full document is built only when a rule asks for
    another field."""

    __slots__ = ("_full", "_values", "t")

    def __init__(self, t: Transaction) -> None:
        self.t = t
        self._full: dict[str, Any] | None = None
        self._values: dict[str, Any] = {}

    def _get(self, path: str) -> Any:
        values = self._values
        if path in values:
            return values[path]
        cheap = _CHEAP_FIELDS.get(path)
        if cheap is not None:
            value = cheap(self.t)
        else:
            if self._full is None:
                self._full = transaction_doc(self.t)
            value = _walk(self._full, path)
        values[path] = value
        return value

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self._get(path) is not _ABSENT

    def key(self, paths: tuple[str, ...]) -> tuple[Any, ...]:
        """The values at ``paths`` (a list's first element; None when absent): a
        correlation's group."""
        out = []
        for path in paths:
            value = self._get(path)
            if isinstance(value, list):
                value = value[0] if value else None
            out.append(None if value is _ABSENT else value)
        return tuple(out)

    def __getitem__(self, path: str) -> Any:
        value = self._get(path)
        if value is _ABSENT:
            raise KeyError(path)
        return value


def _walk(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (a list when it is several), _ABSENT when missing."""
    found = walk(doc, path)
    if found is None:
        return _ABSENT
    return found if len(found) > 1 else found[0]


def _transaction_alert(t: Transaction) -> Callable[[RuleSpec, str], Alert]:
    """Builds the alert of a Sigma rule that matched a transaction."""

    def build(spec: RuleSpec, how: str) -> Alert:
        env = t.envelope
        client, server, transport, port = env.connection_key()
        return Alert(
            rule=spec, severity=spec.severity, techniques=spec.techniques, ts=t.ts,
            message=f"{client} -> {server} {t.protocol} {t.record.function_name} ({how})",
            source_ip=client, destination_ip=server, destination_port=port,
            protocol=t.protocol, transport=transport, community_id=env.community_id,
            transaction=t, capture=env.capture, packet=t.request_packet or t.response_packet,
        )  # fmt: skip

    return build


class SigmaStage:
    """Sigma rules over the ECS documents of transactions, anomalies and the built-in
    alerts; a match is an alert like the built-in ones (aggregated, with context)."""

    def __init__(self, engine: SigmaEngine, detector: Detector) -> None:
        self.engine = engine
        self.detector = detector
        self._specs: dict[str, RuleSpec] = {}
        self._by_kind: dict[tuple[Any, ...], list[tuple[CompiledRule, bool]]] = {}
        self.capture = ""

    def set_engine(self, engine: SigmaEngine) -> None:
        """Replace the rules; the work counters carry over."""
        old = self.engine
        engine.documents += old.documents
        engine.evaluated += old.evaluated
        engine.skipped += old.skipped
        self.engine = engine
        self._specs.clear()
        self._by_kind.clear()

    def _spec(self, rule: CompiledRule | CompiledCorrelation) -> RuleSpec:
        spec = self._specs.get(rule.id)
        if spec is None:
            spec = self._specs[rule.id] = RuleSpec(
                rule.id, rule.rule.title, SIGMA_LEVELS.get(rule.level, "medium"),
                rule.techniques, rule.rule.description or "", ruleset="otsec-sigma",
            )  # fmt: skip
        return spec

    def transaction(self, t: Transaction) -> None:
        rules = self.engine.rules_for("ics", t.protocol)
        if not rules:
            return
        self.engine.documents += 1
        rec = t.record
        op = t.operation
        # What a transaction of this kind can match, from the fields every transaction has
        # (memoised: a plant repeats a few kinds all day). A rule that reads only those
        # fields is decided for the whole kind; the others are kept when their guards on
        # those fields admit them, and are judged on the transaction's document.
        kind = (t.protocol, op, rec.access, rec.target, rec.function, rec.function_name,
                _exception_code(t), t.status, outcome(t))  # fmt: skip
        todo = self._by_kind.get(kind)
        if todo is None:
            todo = self._kind(t, rules)
            if len(self._by_kind) >= 4096:
                self._by_kind.clear()
            self._by_kind[kind] = todo
        if not todo:
            self.engine.skipped += len(rules)
            return
        doc = LazyTransactionDoc(t)
        engine = self.engine
        alert: Callable[[RuleSpec, str], Alert] | None = None
        for rule, decided in todo:
            if not decided:
                if not rule.admits(doc):
                    engine.skipped += 1
                    continue
                engine.evaluated += 1
                if not rule.match(doc):  # type: ignore[arg-type]  # a mapping by dotted path
                    continue
            if alert is None:
                alert = _transaction_alert(t)
            self._matched(rule, doc, t.ts, alert)
        engine.skipped += len(rules) - len(todo)

    def _kind(self, t: Transaction, rules: list[CompiledRule]) -> list[tuple[CompiledRule, bool]]:
        """(rule, decided) for a kind of transaction: decided rules matched on the kind's
        fields alone; undecided ones still need the document."""
        known = {path: _CHEAP_FIELDS[path](t) for path in _KIND_FIELDS}
        # the kind's part of the document (a field it lacks is absent)
        flat = {k: v for k, v in known.items() if v is not _ABSENT}
        if known[_EXC] is _ABSENT:
            if t.protocol == "modbus":
                known[_EXC] = None  # no guard on it can admit
            else:
                del known[_EXC]
        todo: list[tuple[CompiledRule, bool]] = []
        for rule in rules:
            if not rule.admits_partly(known):
                continue
            read = rule.fields
            if read is not None and read <= _KIND_FIELDS:
                if rule.match(flat):
                    todo.append((rule, True))
            else:
                todo.append((rule, False))
        return todo

    def _matched(
        self, rule: CompiledRule, doc: Any, ts: float, alert: Callable[[RuleSpec, str], Alert]
    ) -> None:
        """A rule matched ``doc``: its alert (unless it only feeds correlations), and the
        alert of every correlation whose count it completes. ``alert(spec, how)`` builds
        the alert for a rule; ``how`` ends its message."""
        if rule.alerts:
            spec = self._spec(rule)
            self.detector.raise_alert(alert(spec, f"Sigma: {spec.name}"))
        for corr in rule.correlations:
            key = doc.key(corr.group_by) if isinstance(doc, LazyTransactionDoc) else None
            fired = corr.add(ts, doc, key)
            if fired is None:
                continue
            group, n = fired
            spec = self._spec(corr)
            span = f"{corr.span:g} s"
            what = "events" if corr.kind == "event_count" else f"distinct {corr.value_field}"
            out = alert(spec, f"{n} {what} within {span}; Sigma: {spec.name}")
            out.subject = "correlation"
            out.details = {"events": n, "timespan": corr.span,
                           "group": [str(v) for v in group if v is not None]}  # fmt: skip
            self.detector.raise_alert(out)

    def anomaly(self, name: str, ts: float, flow: Flow | None, detail: str) -> None:
        # the rules are picked before the document is built (most anomalies concern none)
        service = anomaly_protocol(name, flow)
        known = {"event.dataset": "otsec.anomaly", "ics.anomaly.name": name}
        rules = [r for r in self.engine.rules_for("anomaly", service) if r.admits_partly(known)]
        if not rules:
            return
        self.engine.documents += 1
        doc = anomaly_doc(name, ts, detail, self.capture, flow)
        src = doc.get("source", {}).get("ip", "")
        dst = doc.get("destination", {})
        network = doc.get("network", {})
        capture = self.capture
        for rule in rules:
            self.engine.evaluated += 1
            if not rule.match(doc):
                continue
            self._matched(rule, doc, ts, lambda spec, how: Alert(
                rule=spec, severity=spec.severity, techniques=spec.techniques, ts=ts,
                message=f"{name}" + (f" ({detail})" if detail else "")
                + (f" on {src} -> {dst.get('ip')}" if src else "") + f" ({how})",
                source_ip=src, destination_ip=dst.get("ip", ""),
                destination_port=dst.get("port"), protocol=service,
                transport=network.get("transport"), community_id=network.get("community_id"),
                subject=name, details={"anomaly": name}, capture=capture,
            ))  # fmt: skip

    def alert(self, alert: Alert) -> None:
        if alert.rule.ruleset != "otsec-builtin" or alert.repeat_of is not None:
            return
        doc = alert_doc(alert)
        self.engine.documents += 1
        for rule in self.engine.matches(doc, "baseline", None):
            self._matched(rule, doc, alert.ts, lambda spec, how: Alert(
                rule=spec, severity=spec.severity, techniques=spec.techniques, ts=alert.ts,
                message=f"{alert.message} ({how})", source_ip=alert.source_ip,
                destination_ip=alert.destination_ip, destination_port=alert.destination_port,
                protocol=alert.protocol, transport=alert.transport,
                community_id=alert.community_id, subject=alert.rule.id,
                transaction=alert.transaction, capture=alert.capture, packet=alert.packet,
            ))  # fmt: skip


def load_sigma(paths: list[str | Path], variables: dict[str, list[str]] | None = None
               ) -> tuple[SigmaEngine, list[str]]:  # fmt: skip
    """The rule pack(s) compiled with otsec's pipeline; problems as 'file:line: ...'."""
    from otsec.detection.sigma import (  # noqa: PLC0415 (pySigma only when rules are used)
        SigmaEngine,
        load_pipeline,
        load_rules,
    )

    pipeline = load_pipeline(PIPELINE, variables)
    report = load_rules(paths, pipeline)
    return SigmaEngine(report.rules, report.correlations), report.errors
