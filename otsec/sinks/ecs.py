"""The single mapping from otsec events to ECS documents.

Envelope fields follow the Elastic Common Schema (``@timestamp``, ``event.*``,
``source.*``, ``destination.*``, ``network.*``, ``log.*``); protocol fields live under
``ics.*``: the protocol-neutral ones (``ics.function``, ``ics.operation``,
``ics.access``, ``ics.target``, ``ics.address``, ``ics.values``, ``ics.transaction``) are
shared by every protocol, the specific ones sit under ``ics.<protocol>.*``.
``docs/schema.md`` documents every field and a test keeps the two in step.

Documents are deterministic: timestamps are packet time and ids are derived from the
content, so the same capture gives byte-identical output.
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any

from otsec.capture.decode import ip_text, split_key
from otsec.detection.alerts import Alert
from otsec.detection.rules import SEVERITIES, TECHNIQUES
from otsec.events.types import MATCHED, Transaction, isotime
from otsec.flows.table import Flow

SCHEMA_VERSION = "1"
_OUTCOME = {MATCHED: "success", "unanswered": "unknown", "unsolicited": "unknown",
            "no_response": "unknown", "observed": "unknown"}  # fmt: skip


timestamp = isotime


def _event_id(*parts: object) -> str:
    text = "|".join(str(p) for p in parts)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:20]


def outcome(t: Transaction) -> str:
    """``event.outcome`` of a transaction: failure (an error answer), success (answered)
    or unknown (no answer seen)."""
    return "failure" if _failed(t.response) else _OUTCOME[t.status]


def transaction_doc(t: Transaction) -> dict[str, Any]:
    """One ECS document per protocol exchange (request and response together)."""
    env = t.envelope
    rec = t.record
    req, resp = t.request, t.response
    failed = _failed(resp)
    event: dict[str, Any] = {
        "kind": "event",
        "category": ["network"],
        "type": ["protocol", "error"] if failed else ["protocol"],
        "action": f"{t.protocol}.{rec.function_name}",
        "dataset": f"otsec.{t.protocol}",
        "module": "otsec",
        "outcome": "failure" if failed else _OUTCOME[t.status],
        "id": _event_id(
            env.community_id,
            env.capture,
            t.request_packet,
            t.response_packet,
            getattr(rec, "tid", ""),
            *((rec.seq, rec.function) if t.protocol == "dnp3" else ()),
            # several S7 PDUs can share a packet: the PDU reference tells them apart
            *((rec.pdu_ref,) if t.protocol in ("s7comm", "s7comm_plus") else ()),
        ),
    }
    latency = t.latency
    if latency is not None:
        event["duration"] = round(latency * 1e9)
    network: dict[str, Any] = {
        "protocol": t.protocol,
        "transport": env.transport,
        "community_id": env.community_id,
    }
    if env.vlan:
        network["vlan"] = {"id": str(env.vlan & 0xFFF)}
        if env.vlan > 0xFFF:
            network["inner"] = {"vlan": {"id": str(env.vlan & 0xFFF)}}
            network["vlan"] = {"id": str(env.vlan >> 12)}
    ics: dict[str, Any] = {
        "function": {"code": rec.function, "name": rec.function_name},
        "operation": rec.operation,
        "access": rec.access,
        "target": rec.target,
    }
    where: Any = req if req is not None else resp
    if where.address is not None:
        address = {"start": where.address}
        if where.quantity is not None:
            address["count"] = where.quantity
        ics["address"] = address
    values = _values(req, resp)
    if values is not None:
        ics["values"] = list(values)
    transaction: dict[str, Any] = {"status": t.status}
    if t.request_packet is not None:
        transaction["request_packet"] = t.request_packet
    if t.response_packet is not None:
        transaction["response_packet"] = t.response_packet
    ics["transaction"] = transaction
    ics[t.protocol] = _protocol_fields(t)
    return {
        "@timestamp": timestamp(t.ts),
        "ecs": {"version": "8.11.0"},
        "event": event,
        "source": {"ip": env.client_ip, "port": env.client_port},
        "destination": {"ip": env.server_ip, "port": env.server_port},
        "network": network,
        "related": {"ip": sorted({env.client_ip, env.server_ip})},
        "ics": ics,
        "log": {"file": {"path": env.capture}},
    }


#: DNP3 IIN2 bits that say a request failed: function code not supported, object
#: unknown, parameter error, already executing (IIN = IIN1 << 8 | IIN2).
_DNP3_IIN_ERRORS = 0x0001 | 0x0002 | 0x0004 | 0x0010


def _failed(resp: Any) -> bool:
    """The response reports an error: a Modbus exception, an S7 header error class, a DNP3
    IIN error bit."""
    if resp is None:
        return False
    if getattr(resp, "exception_code", None) is not None:
        return True
    if getattr(resp, "protocol", "") == "dnp3":
        return bool(resp.iin is not None and resp.iin & _DNP3_IIN_ERRORS)
    return bool(getattr(resp, "error_class", None))


def _values(req: Any, resp: Any) -> Any:
    """Values written (from the request) or read (from the response)."""
    if req is not None and req.values is not None and req.access in ("write", "read_write"):
        return req.values
    if resp is not None and resp.values is not None:
        return resp.values
    if req is not None:
        return req.values
    return None


def _protocol_fields(t: Transaction) -> dict[str, Any]:
    rec = t.record
    out: dict[str, Any] = {}
    resp = t.response
    if t.protocol == "modbus":
        out["transaction_id"] = rec.tid
        out["unit_id"] = rec.unit
        if resp is not None and resp.exception_code is not None:
            out["exception"] = {"code": resp.exception_code, "name": resp.exception_name}
    elif t.protocol == "s7comm":
        out["pdu_reference"] = rec.pdu_ref
        out["rosctr"] = {"code": rec.rosctr, "name": rec.rosctr_name}
        if resp is not None and resp.error_class:
            out["error"] = {
                "class": resp.error_class, "code": resp.error_code, "name": resp.error_name,
            }  # fmt: skip
    elif t.protocol == "dnp3":
        out["sequence"] = rec.seq
        if t.extra:
            out.update(t.extra)  # master, outstation, confirms_packet
    if t.extra and t.protocol != "dnp3":
        out["connection"] = t.extra
    if t.request is not None:
        specific = t.request.specific()
        if specific:
            out["request"] = specific
    if t.response is not None:
        specific = t.response.specific()
        if specific:
            out["response"] = specific
    return out


def alert_doc(alert: Alert) -> dict[str, Any]:
    """One ECS alert document: the rule, ATT&CK for ICS, who and where, the triggering
    transaction's ``ics.*`` fields and both assets' inventory context."""
    event: dict[str, Any] = {
        "kind": "alert",
        "category": ["network", "intrusion_detection"],
        "type": ["info"],
        "action": alert.rule.id.removeprefix("otsec."),
        "dataset": "otsec.alert",
        "module": "otsec",
        "severity": SEVERITIES[alert.severity],
        "id": alert.id,
    }
    if alert.first_ts is not None:
        event["start"] = timestamp(alert.first_ts)
        event["end"] = timestamp(alert.last_ts if alert.last_ts is not None else alert.ts)
    source: dict[str, Any] = {"ip": alert.source_ip} if alert.source_ip else {}
    if alert.source_mac:
        source["mac"] = alert.source_mac
    doc: dict[str, Any] = {
        "@timestamp": timestamp(alert.ts),
        "ecs": {"version": "8.11.0"},
        "event": event,
        "rule": {
            "id": alert.rule.id,
            "name": alert.rule.name,
            "description": alert.rule.description,
            "ruleset": alert.rule.ruleset,
        },
        "threat": {
            "framework": "MITRE ATT&CK for ICS",
            "technique": {
                "id": list(alert.techniques),
                "name": [TECHNIQUES.get(t, t) for t in alert.techniques],
            },
        },
        "message": alert.message,
    }
    if source:
        doc["source"] = source
    if alert.destination_ip:
        destination: dict[str, Any] = {"ip": alert.destination_ip}
        if alert.destination_port is not None:
            destination["port"] = alert.destination_port
        doc["destination"] = destination
    network: dict[str, Any] = {}
    if alert.protocol:
        network["protocol"] = alert.protocol
    if alert.transport:
        network["transport"] = alert.transport
    if alert.community_id:
        network["community_id"] = alert.community_id
    if network:
        doc["network"] = network
    ips = {ip for ip in (alert.source_ip, alert.destination_ip) if ip}
    if ips:
        doc["related"] = {"ip": sorted(ips)}
    ics: dict[str, Any] = {}
    if alert.transaction is not None:
        ics = transaction_doc(alert.transaction)["ics"]
    info: dict[str, Any] = {"severity": alert.severity, "count": alert.count}
    if alert.subject:
        info["subject"] = alert.subject
    if alert.repeat_of:
        info["repeat_of"] = alert.repeat_of
    if alert.details:
        info["details"] = alert.details
    ics["alert"] = info
    if alert.source_context:
        ics["source_asset"] = alert.source_context
    if alert.destination_context:
        ics["destination_asset"] = alert.destination_context
    doc["ics"] = ics
    if alert.capture:
        doc["log"] = {"file": {"path": alert.capture}}
    return doc


def anomaly_protocol(name: str, flow: Flow | None) -> str | None:
    """``network.protocol`` of an anomaly document: the flow's protocol, or, without a
    flow, the industrial protocol the anomaly's name starts with."""
    if flow is not None:
        return flow.service or None
    prefix = name.split(".", 1)[0]
    return prefix if prefix in ("modbus", "s7comm", "dnp3") else None


def anomaly_doc(
    name: str, ts: float, detail: str, capture: str, flow: Flow | None = None
) -> dict[str, Any]:
    """One ECS document per protocol anomaly (``event.dataset: otsec.anomaly``): what
    Sigma rules of category ``anomaly`` look at."""
    protocol = anomaly_protocol(name, flow)
    doc: dict[str, Any] = {
        "@timestamp": timestamp(ts),
        "ecs": {"version": "8.11.0"},
        "event": {
            "kind": "event",
            "category": ["network"],
            "type": ["info"],
            "action": name,
            "dataset": "otsec.anomaly",
            "module": "otsec",
            "id": _event_id(name, ts, capture, detail, flow.fid if flow is not None else 0),
        },
    }
    if flow is not None:
        o, r, op, rp, _vlan = split_key(flow.key)
        doc["source"] = {"ip": ip_text(o), "port": op}
        doc["destination"] = {"ip": ip_text(r), "port": rp}
        network = {"transport": flow.transport_name, "community_id": flow.community_id}
        if protocol:
            network["protocol"] = protocol
        doc["network"] = network
        doc["related"] = {"ip": sorted({ip_text(o), ip_text(r)})}
    elif protocol:
        doc["network"] = {"protocol": protocol}
    anomaly: dict[str, Any] = {"name": name}
    if detail:
        anomaly["detail"] = detail
    doc["ics"] = {"anomaly": anomaly}
    if capture:
        doc["log"] = {"file": {"path": capture}}
    return doc


#: event.type of each sensor action (docs/schema.md, "Sensor documents").
SENSOR_ACTIONS = {
    "capture-started": "start", "capture-stopped": "end", "status": "info",
    "capture-drops": "info", "baseline-reloaded": "change", "baseline-reload-failed": "info",
    "rules-reloaded": "change", "rules-reload-failed": "info",
}  # fmt: skip


def sensor_doc(
    action: str, ts: float, message: str, sensor: dict[str, Any], obs: dict[str, Any],
    severity: str = "low",
) -> dict[str, Any]:  # fmt: skip
    """One ECS document about the sensor itself (``event.dataset: otsec.sensor``): capture
    started or stopped, kernel drops, a baseline or rules reloaded, and the periodic status
    (``event.kind: metric``) whose counters say the sensor is alive and sees traffic."""
    return {
        "@timestamp": timestamp(ts),
        "ecs": {"version": "8.11.0"},
        "event": {
            "kind": "metric" if action == "status" else "event",
            "category": ["host"],
            "type": [SENSOR_ACTIONS[action]],
            "action": action,
            "dataset": "otsec.sensor",
            "module": "otsec",
            "severity": SEVERITIES[severity],
            "id": _event_id("sensor", obs.get("name"), action, repr(ts), message),
        },
        "message": message,
        "observer": obs,
        "ics": {"sensor": sensor},
    }


def observer(name: str, interface: str | None = None) -> dict[str, Any]:
    """``observer.*``: the sensor that saw the traffic (and its capture interface)."""
    from otsec import __version__  # noqa: PLC0415 (the package imports this module)

    out: dict[str, Any] = {
        "name": name, "hostname": socket.gethostname(), "type": "ids", "vendor": "otsec",
        "product": "otsec", "version": __version__,
    }  # fmt: skip
    if interface:
        out["ingress"] = {"interface": {"name": interface}}
    return out


def asset_id(ip: str, namespace: str = "default") -> str:
    """A stable id per asset: the same address in the same namespace (site) is one asset
    whichever sensor reports it."""
    return _event_id("asset", namespace, ip)


#: Identity fields of an asset document (the newest value of each; docs/schema.md).
_IDENTITY = frozenset({
    "vendor_name", "vendor_url", "product_name", "product_code", "model_name", "revision",
    "major_minor_revision", "user_application_name", "firmware_version", "hardware_version",
    "boot_loader_version", "order_number", "hardware_order_number", "module_name",
    "module_type_name", "module_version", "plc_name", "plant_designation", "location",
    "device_name", "serial_number", "rack", "slot", "dnp3_address",
})  # fmt: skip


def asset_doc(
    asset: dict[str, Any], *, namespace: str = "default", obs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One ECS document per asset of the inventory (``event.kind: asset``), for the fleet
    inventory index: upserted by :func:`asset_id`, so the newest view of an asset
    replaces the older one, whichever sensor sent it."""
    ip = asset["ip"]
    identity = {
        field: facts[0]["value"]
        for field, facts in asset.get("identity", {}).items()
        if facts and field in _IDENTITY
    }
    services = [f"{s['protocol']} {s['transport']}/{s['port']}" for s in asset["services"]]
    uses = [f"{s['protocol']} {s['transport']}/{s['port']}" for s in asset["uses"]]
    ics: dict[str, Any] = {
        "roles": asset["roles"], "services": services, "uses": uses,
        "first_seen": asset["first_seen"], "last_seen": asset["last_seen"],
        "packets_sent": asset["packets_sent"], "packets_received": asset["packets_received"],
        "bytes_sent": asset["bytes_sent"], "bytes_received": asset["bytes_received"],
    }  # fmt: skip
    if asset.get("vendor"):
        ics["mac_vendor"] = asset["vendor"]
    if asset.get("via"):
        ics["via"] = asset["via"]
    if asset.get("vlans"):
        ics["vlans"] = [str(v) for v in asset["vlans"]]
    if identity:
        ics["identity"] = identity
    host: dict[str, Any] = {"ip": [ip]}
    if asset["macs"]:
        host["mac"] = asset["macs"]
    name = identity.get("plc_name") or identity.get("product_name")
    if name:
        host["name"] = name
    doc: dict[str, Any] = {
        "@timestamp": asset["last_seen"],
        "ecs": {"version": "8.11.0"},
        "event": {
            "kind": "asset", "category": ["host"], "type": ["info"],
            "dataset": "otsec.asset", "module": "otsec", "id": asset_id(ip, namespace),
        },
        "host": host,
        "related": {"ip": [ip]},
        "ics": {"asset": ics},
    }  # fmt: skip
    if obs is not None:
        doc["observer"] = obs
    return doc
