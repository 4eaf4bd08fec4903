"""The detector: compares what the pipeline sees with the baseline and the policy.

It listens to the same events as the inventory (connections, transactions, ARP) and
raises, through the :class:`~otsec.detection.alerts.Aggregator`:

* baseline deviations: a new asset, a new edge (industrial, or IT to/from an OT asset),
  a new operation class or function code on a known edge, a write outside the address
  ranges written on that edge;
* policy: unauthorized write/control/program/mode/restart/configuration/firmware
  operations, dangerous commands (always; severity by who sent them), zone/conduit
  violations;
* reconnaissance: identity reads, function-code and device sweeps, network scans.

Per transaction one operation-level alert at most, the most specific one: a dangerous
command, else an unauthorized operation, else a new operation; a new write range and an
identity read are judged on their own. Once raised, a new asset, edge, operation or range
counts as known for the rest of the run. Operations on a connection are judged as the
connection's client acting on its server (an S7 PLC's download-block jobs belong to the
programming device's download).
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Callable
from typing import Any

from otsec.baseline.store import Baseline, EdgeKey, KnownEdge
from otsec.baseline.zones import ZonePolicy
from otsec.config import AllowRule, DetectionSettings
from otsec.detection import rules as R
from otsec.detection.alerts import Aggregator, Alert
from otsec.events.addresses import is_asset_address, mac_ecs
from otsec.events.ports import service_label
from otsec.events.regions import covered, merge_ranges, regions
from otsec.events.types import ENDED, Connection, Envelope, Transaction

#: Operation classes that need authorization (the baseline or the allow-list).
CONTROLLED_OPS = frozenset({
    "write", "control", "program_download", "program_upload", "program_delete",
    "mode_change", "restart", "configuration", "firmware",
})  # fmt: skip
#: Techniques per operation class, for unauthorized operations.
OP_TECHNIQUES = {
    "write": ("T0855", "T0836"),
    "control": ("T0855", "T0831"),
    "program_download": ("T0843",),
    "program_upload": ("T0845",),
    "program_delete": ("T0889",),
    "mode_change": ("T0858",),
    "restart": ("T0816",),
    "configuration": ("T0836",),
    "firmware": ("T0839",),
}
#: Dangerous command -> (techniques, what it does in words).
DANGEROUS_COMMANDS = {
    "plc_stop": (("T0858", "T0881"), "stops the PLC"),
    "program_download": (("T0843",), "downloads a program"),
    "program_upload": (("T0845",), "uploads the program"),
    "program_delete": (("T0809", "T0889"), "deletes program blocks"),
    "mode_change": (("T0858",), "changes the operating mode"),
    "cold_restart": (("T0816",), "cold-restarts the outstation"),
    "warm_restart": (("T0816",), "warm-restarts the outstation"),
    "stop_application": (("T0881",), "stops an application"),
    "disable_unsolicited": (("T0878",), "disables unsolicited reporting"),
    "delete_file": (("T0809",), "deletes a file"),
    "force_listen_only": (("T0814",), "forces the device into listen-only mode"),
    "restart_communications": (("T0816",), "restarts the device's communications"),
}
_DNP3_DANGEROUS = {
    "cold_restart": "cold_restart",
    "warm_restart": "warm_restart",
    "stop_appl": "stop_application",
    "disable_unsolicited": "disable_unsolicited",
    "delete_file": "delete_file",
}
_UMAS_DANGEROUS = frozenset({"program_download", "program_upload", "program_delete",
                             "mode_change"})  # fmt: skip


def dangerous_command(t: Transaction) -> str | None:
    """The dangerous command a transaction carries, or None."""
    rec = t.request
    if rec is None:
        return None
    proto = t.protocol
    op = t.operation
    if proto == "s7comm":
        if rec.function_name == "plc_stop":
            return "plc_stop"
        if op in ("program_download", "program_delete", "mode_change"):
            return op
        return None
    if proto == "dnp3":
        name: str = rec.function_name
        return _DNP3_DANGEROUS.get(name)
    if proto == "modbus":
        fc = rec.function
        if fc == 8:
            sub = getattr(rec, "sub_function", None)
            if sub == 4:
                return "force_listen_only"
            if sub == 1:
                return "restart_communications"
            return None
        if fc == 90 and op in _UMAS_DANGEROUS:
            return op
    return None


def _networks(texts: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(t, strict=False) for t in texts]


class AllowList:
    """The configuration's explicit authorizations."""

    def __init__(self, rules: tuple[AllowRule, ...]) -> None:
        self.rules = [
            (_networks(r.sources), _networks(r.targets), frozenset(r.operations)) for r in rules
        ]
        self._cache: dict[tuple[str, str, str], bool] = {}

    def allows(self, source: str, target: str, op: str) -> bool:
        if not self.rules:
            return False
        key = (source, target, op)
        hit = self._cache.get(key)
        if hit is None:
            hit = False
            try:
                s, t = ipaddress.ip_address(source), ipaddress.ip_address(target)
                valid = True
            except ValueError:
                valid = False
            if valid:
                for sources, targets, ops in self.rules:
                    if (
                        (op in ops or "*" in ops)
                        and any(s in n for n in sources)
                        and any(t in n for n in targets)
                    ):
                        hit = True
                        break
            if len(self._cache) < 65536:
                self._cache[key] = hit
        return hit


Context = Callable[[str], dict[str, Any] | None]


class DistinctWindow:
    """Distinct items seen within a sliding window of packet time (amortised O(1))."""

    __slots__ = ("counts", "items", "span")

    def __init__(self, span: float) -> None:
        self.span = span
        self.items: deque[tuple[float, Any]] = deque()
        self.counts: dict[Any, int] = {}

    def add(self, ts: float, item: Any) -> int:
        """Add an item; return how many distinct items the window now holds."""
        items, counts = self.items, self.counts
        items.append((ts, item))
        counts[item] = counts.get(item, 0) + 1
        limit = ts - self.span
        while items and (items[0][0] < limit or len(items) > 4096):
            _ts, old = items.popleft()
            n = counts[old] - 1
            if n:
                counts[old] = n
            else:
                del counts[old]
        return len(counts)

    def distinct(self) -> list[Any]:
        return sorted(self.counts)


class Detector:
    def __init__(
        self,
        baseline: Baseline | None,
        settings: DetectionSettings,
        emit: Callable[[Alert], None],
        *,
        context: Context | None = None,
        zones: ZonePolicy | None = None,
        allow: AllowList | None = None,
        learning: bool = False,
    ) -> None:
        #: Without a baseline only the rules that need none run: dangerous commands,
        #: zones, scans and identity changes.
        self.judged = baseline is not None
        self.baseline = baseline if baseline is not None else Baseline.empty()
        self.settings = settings
        self.emit = emit
        self.aggregator = Aggregator(settings.aggregation_window, self._emit)
        self.context = context
        self.zones = zones if zones is not None and zones.active else None
        self.allow = allow or AllowList(())
        #: Learning: only the zone policy and network scans are reported (there is no
        #: baseline yet; a scan in a capture being learned deserves a look).
        self.learning = learning
        self.known_assets: set[str] = set()
        #: OT assets: those that spoke an industrial protocol in the baseline or this run.
        self.ot_assets: set[str] = set()
        #: Every address judged already (known, or raised as new in this run).
        self.seen_assets: set[str] = set()
        self._know(self.baseline)
        self.run_edges: set[EdgeKey] = set()
        self.zone_checked: set[tuple[str, str, str, int]] = set()
        self.run_ops: set[tuple[EdgeKey, str]] = set()
        self.run_writes: dict[tuple[EdgeKey, str], list[list[int]]] = {}
        # reconnaissance state: per source, (ts, what) in the window
        self._scan_tries: dict[str, DistinctWindow] = {}
        self._fc_sweep: dict[tuple[str, str], DistinctWindow] = {}
        self._server_sweep: dict[str, DistinctWindow] = {}
        self._addr_sweep: dict[tuple[str, str], DistinctWindow] = {}
        #: flow id * 2 + swapped -> (operation, function) pairs already judged clean there.
        self._clean: dict[int, set[tuple[str, int]]] = {}

    def _know(self, baseline: Baseline) -> None:
        """Add the assets and edges of ``baseline`` to what is known."""
        known = self.known_assets
        known.update(baseline.assets)
        for (client, server, _t, _p), edge in baseline.edges.items():
            known.update((client, server))
            if edge.protocol in _ICS_PROTOCOLS:
                self.ot_assets.update((client, server))
        self.seen_assets.update(known)

    def set_baseline(self, baseline: Baseline) -> None:
        """Judge from now on against ``baseline`` (a reloaded or newly reviewed file).

        What this run raised already stays raised: an asset, edge or operation reported
        as new is not reported again, whatever the new file says. Assets and edges the old
        file knew and the new one does not are judged again when next seen, and verdicts
        cached per flow are dropped."""
        raised = self.seen_assets - self.known_assets
        self.judged = True
        self.baseline = baseline
        self.known_assets = set()
        self.seen_assets = raised
        self._know(baseline)
        self._clean.clear()

    # -- events ----------------------------------------------------------------------

    def tick(self, now: float) -> None:
        self.aggregator.tick(now)

    def flush(self) -> None:
        self.aggregator.flush()

    def arp(self, ts: float, ip: str, sha: bytes, _vlan: int) -> None:
        self._asset(ip, ts, mac_ecs(sha), "announced itself with ARP", "", None)

    def connection(self, c: Connection) -> None:
        if c.again:  # judged when it was first reported
            return
        ts = c.first_ts
        if c.client_packets:
            mac = mac_ecs(c.client_mac) if c.client_mac else None
            self._asset(c.client_ip, ts, mac, f"opened {c.transport}/{c.server_port} to "
                        f"{c.server_ip}", c.capture, None)  # fmt: skip
        if c.server_packets:
            mac = mac_ecs(c.server_mac) if c.server_mac else None
            self._asset(c.server_ip, ts, mac, f"answered on {c.transport}/{c.server_port}",
                        c.capture, None)  # fmt: skip
        key = (c.client_ip, c.server_ip, c.transport, c.server_port)
        protocol = service_label(c.transport, c.server_port, c.service)
        if c.conversation:
            if self.zones is not None and key not in self.zone_checked:
                self._zone(key, protocol, ts, c, None)
            if self.judged and not self.learning and c.service is None:
                ot = c.client_ip in self.ot_assets or c.server_ip in self.ot_assets
                if ot and key not in self.baseline.edges and key not in self.run_edges:
                    self.run_edges.add(key)
                    self._new_edge(key, protocol, ts, c, None)
        elif c.phase == ENDED and c.transport == "tcp" and c.client_packets:
            self._scan_try(c)

    def transaction(self, t: Transaction) -> None:
        env = t.envelope
        rec = t.request
        fkey = env.flow_id * 2 + (1 if env.swapped else 0)
        if rec is not None and t.response is not None:
            clean = self._clean.get(fkey)
            if clean is not None and (t.operation, rec.function) in clean:
                return  # this exchange was judged on this flow already: nothing to say
        ts = t.ts
        key = env.connection_key()
        client, server = key[0], key[1]
        proto = t.protocol
        seen = self.seen_assets
        if t.request is not None and env.client_ip not in seen:
            self._asset(env.client_ip, ts, None, f"sent {proto} requests", env.capture, t)
        if t.response is not None and env.server_ip not in seen:
            self._asset(env.server_ip, ts, None, f"answered {proto}", env.capture, t)
        ot = self.ot_assets
        if client not in ot:
            ot.add(client)
        if server not in ot:
            ot.add(server)
        if self.zones is not None and key not in self.zone_checked:
            self._zone(key, proto, ts, env, t)
        if self.learning:
            return
        known = self.baseline.edges.get(key)
        if not self.judged:
            if rec is not None:
                op = t.operation
                if op in _DANGER_OPS:
                    command = dangerous_command(t)
                    if command is not None:
                        self._dangerous(t, key, command, op, False)
                if known is None or rec.function not in known.functions:
                    self._sweep(t, key, known)
                if t.response is not None and op not in _DANGER_OPS:
                    self._mark_clean(fkey, op, rec.function)
            return
        if known is None and key not in self.run_edges:
            self.run_edges.add(key)
            self._new_edge(key, proto, ts, env, t)
        if rec is None:
            return
        op = t.operation
        authorized = known is not None and op in known.operations
        if not authorized and self.allow.rules:
            authorized = self.allow.allows(client, server, op)
        command = dangerous_command(t) if op in _DANGER_OPS else None
        if command is not None:
            self._dangerous(t, key, command, op, authorized)
        elif op in CONTROLLED_OPS and not authorized:
            self._unauthorized(t, key, op)
        elif known is not None and (
            op not in known.operations or rec.function not in known.functions
        ):
            self._new_operation(t, key, known, op)
        if authorized and known is not None and op in CONTROLLED_OPS:
            self._write_ranges(t, key, known)
        if op == "identify" and not authorized:
            self._identity_read(t, key)
        if known is None or rec.function not in known.functions:
            self._sweep(t, key, known)
        elif (
            t.response is not None
            and op in known.operations
            and op not in CONTROLLED_OPS
            and op not in _DANGER_OPS
            and op != "identify"
        ):
            # everything about this exchange is known: later ones on this flow are skipped
            self._mark_clean(fkey, op, rec.function)

    def _mark_clean(self, fkey: int, op: str, function: int) -> None:
        clean = self._clean.get(fkey)
        if clean is None:
            if len(self._clean) >= 65536:
                self._clean.clear()
            clean = self._clean[fkey] = set()
        clean.add((op, function))

    def identity_changed(self, ip: str, field: str, old: str, new: str, t: Transaction) -> None:
        """The inventory saw a device report a different identity value."""
        env = t.envelope
        self._raise(
            R.IDENTITY_CHANGED, t.ts,
            f"{ip} now reports {field} {new!r} (was {old!r}): firmware or module changed",
            source_ip=ip, subject=field, protocol=t.protocol, transport=env.transport,
            community_id=env.community_id, transaction=t, capture=env.capture,
            details={"field": field, "old": old, "new": new},
        )  # fmt: skip

    # -- rules -----------------------------------------------------------------------

    def _asset(
        self, ip: str, ts: float, mac: str | None, how: str, capture: str, t: Transaction | None
    ) -> None:
        if ip in self.seen_assets:
            return
        self.seen_assets.add(ip)
        if self.learning or not self.judged or not is_asset_address(ip):
            return
        named = f"{ip} ({mac})" if mac else ip
        self._raise(
            R.NEW_ASSET, ts, f"{named} {how}, unknown to the baseline", source_ip=ip,
            source_mac=mac, capture=capture, transaction=t,
        )  # fmt: skip

    def _new_edge(
        self, key: EdgeKey, protocol: str, ts: float, where: Connection | Envelope,
        t: Transaction | None,
    ) -> None:  # fmt: skip
        client, server, transport, port = key
        what = "industrial" if protocol in _ICS_PROTOCOLS else "IT"  # "an IT", "an industrial"
        self._raise(
            R.NEW_EDGE, ts,
            f"{client} -> {server} {protocol} {transport}/{port}: an {what} connection the "
            f"baseline does not know",
            source_ip=client, destination_ip=server, destination_port=port, protocol=protocol,
            transport=transport, community_id=where.community_id, capture=where.capture,
            transaction=t,
        )  # fmt: skip

    def _zone(
        self, key: EdgeKey, protocol: str, ts: float, where: Connection | Envelope,
        t: Transaction | None,
    ) -> None:  # fmt: skip
        if self.zones is None or key in self.zone_checked:
            return
        self.zone_checked.add(key)
        client, server, transport, port = key
        verdict = self.zones.check(client, server, protocol, port)
        if verdict.allowed:
            return
        self._raise(
            R.ZONE_VIOLATION, ts,
            f"{protocol} {transport}/{port} from zone {verdict.client_zone} ({client}) to zone "
            f"{verdict.server_zone} ({server}): no conduit allows it",
            source_ip=client, destination_ip=server, destination_port=port, protocol=protocol,
            transport=transport, community_id=where.community_id, capture=where.capture,
            transaction=t,
            details={"source_zone": verdict.client_zone, "destination_zone": verdict.server_zone},
        )  # fmt: skip

    def _dangerous(
        self, t: Transaction, key: EdgeKey, command: str, op: str, authorized: bool
    ) -> None:
        client, server = key[0], key[1]
        if not self.judged:
            severity, who = "high", "no baseline to authorize it"
        elif authorized:
            severity, who = "medium", "authorized source"
        elif client in self.known_assets:
            severity, who = "high", "known source not authorized for it"
        else:
            severity, who = "critical", "unknown source"
        techniques, words = DANGEROUS_COMMANDS[command]
        name = t.request.function_name if t.request is not None else command
        self._raise_tx(
            R.DANGEROUS, t, key,
            f"{client} {words} on {server} ({t.protocol} {name}; {who})",
            subject=command, severity=severity, techniques=techniques,
            details={"command": command, "operation": op, "authorized": authorized},
        )  # fmt: skip

    def _unauthorized(self, t: Transaction, key: EdgeKey, op: str) -> None:
        client, server = key[0], key[1]
        name = t.request.function_name if t.request is not None else op
        severity = "high" if client in self.known_assets else "critical"
        self._raise_tx(
            R.UNAUTHORIZED, t, key,
            f"{client} is not authorized for {op} on {server} ({t.protocol} {name})",
            subject=op, severity=severity,
            techniques=OP_TECHNIQUES.get(op, R.UNAUTHORIZED.techniques),
            details={"operation": op},
        )  # fmt: skip

    def _new_operation(self, t: Transaction, key: EdgeKey, known: KnownEdge, op: str) -> None:
        rec = t.request
        assert rec is not None
        fc = rec.function
        if op not in known.operations:
            subject, what = f"operation:{op}", f"operation {op} ({rec.function_name})"
        elif fc not in known.functions:
            subject, what = f"function:{fc}", f"function code {fc} ({rec.function_name})"
        else:
            return
        if (key, subject) in self.run_ops:
            return
        self.run_ops.add((key, subject))
        self._raise_tx(
            R.NEW_OPERATION, t, key,
            f"New {what} from {key[0]} to {key[1]} {t.protocol}",
            subject=subject, details={"operation": op, "function": fc},
        )  # fmt: skip

    def _write_ranges(self, t: Transaction, key: EdgeKey, known: KnownEdge) -> None:
        for access, space, first, last in regions(t.protocol, t.request):
            if access != "write":
                continue
            if covered(known.writes.get(space, _EMPTY), first, last):
                continue
            seen = self.run_writes.get((key, space))
            if seen is not None and covered(seen, first, last):
                continue
            self.run_writes[(key, space)] = merge_ranges([*(seen or ()), [first, last]])
            where = f"{space} {first}" if first == last else f"{space} {first}-{last}"
            self._raise_tx(
                R.NEW_WRITE_RANGE, t, key,
                f"{key[0]} wrote {where} on {key[1]}, never written on this edge",
                subject=space, details={"space": space, "first": first, "last": last},
            )  # fmt: skip

    def _identity_read(self, t: Transaction, key: EdgeKey) -> None:
        name = t.request.function_name if t.request is not None else "identify"
        self._raise_tx(
            R.IDENTITY_READ, t, key,
            f"{key[0]} read the identity of {key[1]} ({t.protocol} {name})",
            subject=t.protocol,
        )  # fmt: skip

    def _sweep(self, t: Transaction, key: EdgeKey, known: KnownEdge | None) -> None:
        """Function codes beyond the baseline's on one device, reads of many addresses on
        an edge the baseline does not know (or with function codes it does not know), or
        requests to many devices on unknown edges, within the reconnaissance window."""
        s = self.settings
        ts = t.ts
        client, server = key[0], key[1]
        rec = t.request
        assert rec is not None
        fcs = self._fc_sweep.get((client, server))
        if fcs is None:
            fcs = self._fc_sweep[(client, server)] = DistinctWindow(s.recon_window)
        n = fcs.add(ts, rec.function)
        if n >= s.scan_functions:
            self._raise_tx(
                R.ICS_SCAN, t, key,
                f"{client} swept {n} function codes on {server} ({t.protocol})",
                subject="function_codes", details={"function_codes": fcs.distinct()},
            )  # fmt: skip
        if t.operation == "read":
            reads = regions(t.protocol, rec)
            if reads:
                window = self._addr_sweep.get((client, server))
                if window is None:
                    window = self._addr_sweep[(client, server)] = DistinctWindow(s.recon_window)
                for _access, space, first, _last in reads:
                    n = window.add(ts, (space, first))
                if n >= s.scan_addresses:
                    self._raise_tx(
                        R.ICS_SCAN, t, key,
                        f"{client} read {n} different addresses on {server} ({t.protocol})",
                        subject="addresses", details={"addresses": n},
                    )  # fmt: skip
        if known is None and self.judged:
            servers = self._server_sweep.get(client)
            if servers is None:
                servers = self._server_sweep[client] = DistinctWindow(s.recon_window)
            n = servers.add(ts, server)
            if n >= s.scan_servers:
                self._raise_tx(
                    R.ICS_SCAN, t, (client, "", key[2], 0),
                    f"{client} sent industrial requests to {n} devices it never talked to",
                    subject="devices", details={"devices": servers.distinct()},
                )  # fmt: skip

    def _scan_try(self, c: Connection) -> None:
        s = self.settings
        tries = self._scan_tries.get(c.client_ip)
        if tries is None:
            tries = self._scan_tries[c.client_ip] = DistinctWindow(s.recon_window)
        if tries.add(c.first_ts, (c.server_ip, c.server_port)) < s.scan_targets:
            return
        targets = tries.distinct()
        hosts = sorted({h for h, _p in targets})
        ports = sorted({p for _h, p in targets})
        self._raise(
            R.NETWORK_SCAN, c.first_ts,
            f"{c.client_ip} tried {len(targets)} host:port pairs without a conversation "
            f"({len(hosts)} hosts, ports {', '.join(map(str, ports[:10]))})",
            source_ip=c.client_ip, subject="tcp", transport="tcp", capture=c.capture,
            details={"hosts": hosts[:64], "ports": ports[:64], "tries": len(targets)},
        )  # fmt: skip

    # -- raising ---------------------------------------------------------------------

    def _raise_tx(
        self, rule: R.RuleSpec, t: Transaction, key: EdgeKey, message: str, *,
        subject: str = "", severity: str | None = None,
        techniques: tuple[str, ...] | None = None, details: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        env = t.envelope
        self._raise(
            rule, t.ts, message, source_ip=key[0], destination_ip=key[1],
            destination_port=key[3] or None, protocol=t.protocol, transport=env.transport,
            community_id=env.community_id if key[1] else None, subject=subject,
            severity=severity, techniques=techniques, details=details, transaction=t,
            capture=env.capture,
        )  # fmt: skip

    def _raise(
        self, rule: R.RuleSpec, ts: float, message: str, *, source_ip: str,
        destination_ip: str = "", destination_port: int | None = None,
        protocol: str | None = None, transport: str | None = None,
        community_id: str | None = None, subject: str = "", severity: str | None = None,
        techniques: tuple[str, ...] | None = None, details: dict[str, Any] | None = None,
        transaction: Transaction | None = None, capture: str = "",
        source_mac: str | None = None,
    ) -> None:  # fmt: skip
        packet = None
        if transaction is not None:
            packet = transaction.request_packet or transaction.response_packet
        alert = Alert(
            rule=rule,
            severity=severity or rule.severity,
            techniques=techniques or rule.techniques,
            ts=ts,
            message=message,
            source_ip=source_ip,
            destination_ip=destination_ip,
            destination_port=destination_port,
            protocol=protocol,
            transport=transport,
            community_id=community_id,
            subject=subject,
            source_mac=source_mac,
            transaction=transaction,
            details=details or {},
            capture=capture,
            packet=packet,
        )
        self.aggregator.add(alert)

    def raise_alert(self, alert: Alert) -> None:
        """An alert from another detection (a Sigma rule): aggregated and enriched like the
        built-in ones."""
        self.aggregator.add(alert)

    def _emit(self, alert: Alert) -> None:
        """An alert leaves the aggregator: add both assets' inventory context (only now,
        so repeats folded into a window never pay for it)."""
        ctx = self.context
        if ctx is not None and alert.repeat_of is None:
            alert.source_context = ctx(alert.source_ip)
            if alert.destination_ip:
                alert.destination_context = ctx(alert.destination_ip)
            if alert.source_mac is None and alert.source_context:
                alert.source_mac = alert.source_context.get("mac")
        self.emit(alert)


_ICS_PROTOCOLS = frozenset({"modbus", "s7comm", "s7comm_plus", "dnp3"})
#: Operation classes a dangerous command can have (the others need no closer look).
_DANGER_OPS = frozenset({"mode_change", "program_download", "program_delete", "program_upload",
                         "restart", "configuration", "file"})  # fmt: skip
_EMPTY: list[list[int]] = []
