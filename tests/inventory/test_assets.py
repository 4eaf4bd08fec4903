"""The inventory of the sample plant: what pcaps/README.md says each host is, the
inventory must find (MACs and vendors, roles from behaviour, services, identity from the
protocols with provenance), and a changed firmware is reported."""

from __future__ import annotations

from typing import Any

import pytest

from otsec.capture.pcapfile import open_capture
from otsec.config import Settings
from otsec.events.types import Transaction
from otsec.inventory.assets import Inventory
from otsec.inventory.oui import vendor
from otsec.monitor import Monitor
from tests.conftest import REPO

BASELINE = str(REPO / "pcaps" / "plant_baseline.pcap")
VLAN_IPV6 = str(REPO / "pcaps" / "plant_vlan_ipv6.pcap")


def _inventory(*paths: str) -> tuple[Monitor, dict[str, dict[str, Any]]]:
    monitor = Monitor(Settings(), vendor=vendor)
    for path in paths:
        with open_capture(path) as reader:
            monitor.run(reader)
    monitor.close()
    doc = monitor.inventory_doc()
    return monitor, {a["ip"]: a for a in doc["assets"]}


@pytest.fixture(scope="module")
def plant() -> dict[str, dict[str, Any]]:
    return _inventory(BASELINE)[1]


def test_every_host_of_the_plant_and_nothing_else(plant: dict[str, dict[str, Any]]) -> None:
    assert sorted(plant) == sorted([
        "10.1.0.53", "10.1.0.80", "10.20.1.1", "10.20.1.11", "10.20.1.12", "10.20.1.13",
        "10.20.1.20", "10.20.1.30", "10.20.1.40", "10.20.1.60", "10.20.1.101", "10.20.1.102",
        "10.20.1.103", "10.20.1.111", "10.20.1.112", "10.20.1.121", "10.20.1.122",
        "10.20.1.123",
    ])  # fmt: skip


def test_macs_and_vendors(plant: dict[str, dict[str, Any]]) -> None:
    assert plant["10.20.1.111"]["macs"] == ["00-1B-1B-6E-01-11"]
    assert plant["10.20.1.111"]["vendor"] == "Siemens AG"
    assert plant["10.20.1.121"]["vendor"] == "SCHWEITZER ENGINEERING"
    assert plant["10.20.1.20"]["vendor"] == "VMware, Inc."
    # IT servers behind the gateway: no MAC of their own, reached via gw-01
    assert plant["10.1.0.53"]["macs"] == [] and plant["10.1.0.53"]["vendor"] is None
    assert plant["10.1.0.53"]["via"] == ["00-1E-7A-4C-10-01"]
    assert plant["10.20.1.1"]["macs"] == ["00-1E-7A-4C-10-01"]


def test_roles_from_behaviour(plant: dict[str, dict[str, Any]]) -> None:
    roles = {ip: a["roles"] for ip, a in plant.items()}
    assert roles["10.20.1.101"] == ["modbus_server"]
    assert roles["10.20.1.111"] == ["s7_plc"]
    assert roles["10.20.1.121"] == ["dnp3_outstation"]
    assert roles["10.20.1.11"] == ["hmi_scada", "modbus_client"]
    assert roles["10.20.1.13"] == ["hmi_scada", "s7_client"]
    assert roles["10.20.1.20"] == ["historian", "modbus_client"]
    assert roles["10.20.1.40"] == ["dnp3_master", "hmi_scada"]
    assert "engineering_workstation" in roles["10.20.1.30"]
    assert roles["10.1.0.53"] == []


def test_services_served_and_used(plant: dict[str, dict[str, Any]]) -> None:
    assert {"transport": "tcp", "port": 502, "protocol": "modbus"} in plant["10.20.1.101"][
        "services"
    ]
    assert plant["10.1.0.53"]["services"] == [{"transport": "udp", "port": 53, "protocol": "dns"}]
    uses = plant["10.20.1.11"]["uses"]
    assert {"transport": "tcp", "port": 80, "protocol": "http"} in uses
    assert {"transport": "udp", "port": 53, "protocol": "dns"} in uses


def test_identity_with_provenance(plant: dict[str, dict[str, Any]]) -> None:
    s7 = plant["10.20.1.111"]["identity"]
    assert s7["order_number"][0]["value"] == "6ES7 315-2EH14-0AB0"
    assert s7["firmware_version"][0]["value"].startswith("V")
    fact = s7["order_number"][0]
    assert fact["protocol"] == "s7comm" and fact["source"].endswith("plant_baseline.pcap")
    assert isinstance(fact["packet"], int) and fact["seen"].startswith("2026-01-05T08:00:4")
    assert s7["rack"][0]["value"] == "0" and s7["slot"][0]["value"] == "2"
    mb = plant["10.20.1.101"]["identity"]
    assert mb["vendor_name"][0]["value"] == "Schneider Electric"
    assert mb["product_code"][0]["value"] == "BMX P34 2020"
    assert mb["revision"][0]["value"] == "v3.20"
    assert plant["10.20.1.121"]["identity"]["dnp3_address"][0]["value"] == "10"
    assert plant["10.20.1.40"]["identity"]["dnp3_address"][0]["value"] == "1"


def test_counts_and_times(plant: dict[str, dict[str, Any]]) -> None:
    plc = plant["10.20.1.101"]
    assert plc["packets_sent"] > 1000 and plc["packets_received"] > 1000
    assert plc["bytes_sent"] > plc["packets_sent"] * 54
    assert plc["first_seen"] < plc["last_seen"]


def test_vlans_and_ipv6_assets() -> None:
    _monitor, assets = _inventory(VLAN_IPV6)
    assert 10 in assets["10.20.1.101"]["vlans"]
    assert "fd00:20:1::101" in assets
    ips = list(assets)
    assert ips.index("10.20.1.101") < ips.index("fd00:20:1::101")  # IPv4 first


def test_a_changed_firmware_is_reported() -> None:
    changes: list[tuple[str, str, str, str]] = []

    def on_change(ip: str, field: str, old: str, new: str, _t: Transaction) -> None:
        changes.append((ip, field, old, new))

    reference = {"10.20.1.111": {"identity": {"firmware_version": [{"value": "V3.2.6"}]}}}
    monitor = Monitor(Settings())
    monitor.inventory.reference = reference
    monitor.inventory.on_change = on_change
    with open_capture(BASELINE) as reader:
        monitor.run(reader)
    monitor.close()
    assert changes and changes[0][:3] == ("10.20.1.111", "firmware_version", "V3.2.6")
    assert changes[0][3] != "V3.2.6"


def test_inventory_ignores_addresses_no_device_owns() -> None:
    inv = Inventory()
    assert inv.asset("255.255.255.255", 0.0) is None
    assert inv.asset("224.0.0.251", 0.0) is None
    assert inv.asset("0.0.0.0", 0.0) is None
    assert inv.asset("10.0.0.255", 0.0) is None
    assert inv.asset("10.0.0.7", 0.0) is not None
    assert inv.to_doc()["assets"][0]["ip"] == "10.0.0.7"
