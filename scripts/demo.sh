#!/usr/bin/env bash
# `make demo`: run otsec on the bundled sample captures.
# Today that is the packet path (decode, flows, reassembly); later stages add the
# baseline, detections and alert files to this script as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
OTSEC=.venv/bin/otsec
OUT=${OTSEC_DEMO_OUT:-demo-out}
mkdir -p "$OUT"

shopt -s nullglob
captures=(pcaps/plant_baseline.pcap pcaps/plant_attack.pcap pcaps/plant_vlan_ipv6.pcap)
for c in "${captures[@]}"; do
    [ -f "$c" ] || { echo "demo: $c is missing (run 'make pcaps')" >&2; exit 2; }
done

echo "== otsec replay: normal plant traffic =="
"$OTSEC" replay pcaps/plant_baseline.pcap
echo
echo "== otsec replay: the same plant during an intrusion =="
"$OTSEC" replay pcaps/plant_attack.pcap
echo
echo "== otsec replay: VLAN-tagged and IPv6 industrial traffic =="
"$OTSEC" replay pcaps/plant_vlan_ipv6.pcap
"$OTSEC" replay --json "${captures[@]}" > "$OUT/summary.json"
echo
echo "demo: machine-readable summary of all three captures in $OUT/summary.json"
