#!/usr/bin/env bash
# `make demo`: run otsec on the bundled sample captures.
# Today: the packet path and Modbus decoding, with one ECS document per transaction in
# demo-out/; later stages add the baseline, detections and alert files as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
OTSEC=.venv/bin/otsec
OUT=${OTSEC_DEMO_OUT:-demo-out}
mkdir -p "$OUT"

shopt -s nullglob
captures=(pcaps/plant_baseline.pcap pcaps/plant_attack.pcap pcaps/plant_vlan_ipv6.pcap
          pcaps/modbus_functions.pcap)
for c in "${captures[@]}"; do
    [ -f "$c" ] || { echo "demo: $c is missing (run 'make pcaps')" >&2; exit 2; }
done

echo "== otsec replay: normal plant traffic =="
"$OTSEC" replay pcaps/plant_baseline.pcap --events "$OUT/baseline-events.jsonl"
echo
echo "== otsec replay: the same plant during an intrusion =="
"$OTSEC" replay pcaps/plant_attack.pcap --events "$OUT/attack-events.jsonl"
echo
echo "== writes and control operations seen during the intrusion (from $OUT/attack-events.jsonl) =="
grep -E '"access":"(write|read_write)"|"operation":"(mode_change|restart|program_download|program_upload|control)"' \
    "$OUT/attack-events.jsonl" | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(d["@timestamp"], d["source"]["ip"], "->", d["destination"]["ip"],
          d["event"]["action"], d["ics"]["operation"], d["event"]["outcome"])
' | head -40
echo
echo "== otsec replay: VLAN-tagged and IPv6 industrial traffic =="
"$OTSEC" replay pcaps/plant_vlan_ipv6.pcap
"$OTSEC" replay --json "${captures[@]}" > "$OUT/summary.json"
echo
echo "demo: machine-readable summary of the captures in $OUT/summary.json; one ECS document"
echo "      per transaction in $OUT/*-events.jsonl (fields: docs/schema.md)"
