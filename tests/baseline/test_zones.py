"""Zones and conduits: membership by the most specific network, conduit matching, and the
zone settings in the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsec.baseline.zones import ZonePolicy
from otsec.config import ConduitSpec, ConfigError, ZoneSpec, load

ZONES = (
    ZoneSpec("enterprise", ("10.1.0.0/16",)),
    ZoneSpec("supervisory", ("10.20.1.0/24",)),
    ZoneSpec("control", ("10.20.1.96/27", "10.20.1.130/32")),
)
CONDUITS = (
    ConduitSpec("supervisory", "control", ("modbus", "s7comm", "dnp3")),
    ConduitSpec("supervisory", "enterprise", ("dns", "http")),
    ConduitSpec("enterprise", "supervisory", (), (443,)),
)


def test_most_specific_network_wins() -> None:
    policy = ZonePolicy(ZONES, CONDUITS)
    assert policy.zone_of("10.20.1.101") == "control"
    assert policy.zone_of("10.20.1.130") == "control"
    assert policy.zone_of("10.20.1.11") == "supervisory"
    assert policy.zone_of("10.1.0.80") == "enterprise"
    assert policy.zone_of("192.168.9.9") is None
    assert policy.zone_of("garbage") is None


def test_conduits_by_protocol_and_port() -> None:
    policy = ZonePolicy(ZONES, CONDUITS)
    assert policy.check("10.20.1.11", "10.20.1.101", "modbus", 502).allowed
    assert not policy.check("10.20.1.11", "10.20.1.101", "ssh", 22).allowed
    assert policy.check("10.20.1.11", "10.1.0.53", "dns", 53).allowed
    assert policy.check("10.1.0.80", "10.20.1.20", "https", 443).allowed
    verdict = policy.check("10.1.0.80", "10.20.1.103", "ssh", 22)
    assert not verdict.allowed
    assert (verdict.client_zone, verdict.server_zone) == ("enterprise", "control")
    # conduits have a direction
    assert not policy.check("10.20.1.101", "10.20.1.11", "modbus", 502).allowed
    # inside one zone, and outside every zone, nothing is judged
    assert policy.check("10.20.1.11", "10.20.1.12", "smb", 445).allowed
    assert policy.check("192.168.1.1", "10.20.1.101", "ssh", 22).allowed


def test_zones_from_the_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(
        '[zones.enterprise]\nnetworks = ["10.1.0.0/16"]\n'
        '[zones.control]\nnetworks = "10.20.1.96/27"\ndescription = "PLCs"\n'
        '[[conduits]]\nfrom = "enterprise"\nto = "control"\nprotocols = ["https"]\n'
        "ports = [443]\n"
        "[detection]\naggregation_window = 60\n"
        '[[detection.allow]]\nsources = ["10.20.1.30"]\ntargets = ["10.20.1.96/27"]\n'
        'operations = ["program_download"]\n'
    )
    settings = load(path)
    assert [z.name for z in settings.zones] == ["control", "enterprise"]
    assert settings.zones[0].networks == ("10.20.1.96/27",)
    assert settings.conduits == (ConduitSpec("enterprise", "control", ("https",), (443,)),)
    assert settings.detection.aggregation_window == 60.0
    assert settings.allow[0].sources == ("10.20.1.30/32",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[zones.a]\nnetworks = ["10.0.0.0/33"]\n', "not an address or network"),
        ("[zones.a]\ncidr = 1\n", "takes networks and description"),
        ('[zones.a]\nnetworks = ["10.0.0.0/8"]\n[[conduits]]\nfrom = "a"\nto = "b"\n', "no zone b"),
        ('[[conduits]]\nfrom = "a"\n', "needs from and to"),
        ('[[detection.allow]]\nsources = ["10.0.0.1"]\n', "needs exactly sources"),
        ("[detection]\nscan_targets = 0\n", "must be positive"),
    ],
)
def test_bad_zone_settings_are_refused_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(path)
