#!/usr/bin/env bash
# `make demo`: the main job on the bundled sample captures. Learn the sample plant's
# baseline from normal traffic, replay a different stretch of normal operation (no
# alert), replay the attack captures (alerts on the console and in demo-out/alerts.jsonl),
# and show the inventory.
set -euo pipefail
cd "$(dirname "$0")/.."
OTSEC=.venv/bin/otsec
OUT=${OTSEC_DEMO_OUT:-demo-out}
export COLUMNS=${COLUMNS:-160}   # rich tables in a pipe or a log: wide enough to read
mkdir -p "$OUT"
rm -f "$OUT/alerts.jsonl"

for c in pcaps/plant_baseline.pcap pcaps/plant_normal.pcap pcaps/plant_attack.pcap; do
    [ -f "$c" ] || { echo "demo: $c is missing (run 'make pcaps')" >&2; exit 2; }
done

echo "== 1. learn the baseline from 5 minutes of normal operation (zones: baselines/plant.toml) =="
"$OTSEC" baseline learn pcaps/plant_baseline.pcap --config baselines/plant.toml \
    -o "$OUT/plant-baseline.json" --no-progress
"$OTSEC" baseline show "$OUT/plant-baseline.json"
echo
echo "== 2. a different stretch of normal operation: no alert expected (built-in detections"
echo "      and the Sigma pack of rules/, with the plant's allow-lists from baselines/plant.toml) =="
"$OTSEC" replay --config baselines/plant.toml --baseline "$OUT/plant-baseline.json" \
    --alerts "$OUT/normal-alerts.jsonl" --no-progress --json pcaps/plant_normal.pcap | python3 -c '
import json, sys
s = json.load(sys.stdin)
n, a = s["packets"], s["alerts"]["total"]
print(f"plant_normal.pcap: {n:,} packets, {a} alerts")'
echo
echo "== 3. the attack captures (pcaps/attacks/*.md say what each one does) =="
for c in pcaps/attacks/*.pcap; do
    name=$(basename "$c" .pcap)
    echo "-- $name: $(awk 'NR > 1 && NF { print; exit }' "pcaps/attacks/$name.md")"
    "$OTSEC" replay --config baselines/plant.toml --baseline "$OUT/plant-baseline.json" \
        --alerts "$OUT/$name.alerts.jsonl" --no-progress --json "$c" > "$OUT/$name.summary.json" 2>/dev/null || true
    python3 - "$OUT/$name.alerts.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    a = d["ics"]["alert"]
    if "repeat_of" in a:
        continue
    print(f"   {a['severity'].upper():<8} {d['rule']['name']}: {d['message']}")
PY
    cat "$OUT/$name.alerts.jsonl" >> "$OUT/alerts.jsonl"
done
echo
echo "== 4. the whole intrusion of plant_attack.pcap, as the console shows it =="
"$OTSEC" replay --config baselines/plant.toml --baseline "$OUT/plant-baseline.json" \
    --alerts "$OUT/plant_attack.alerts.jsonl" --inventory "$OUT/inventory.json" --no-progress pcaps/plant_attack.pcap \
    > "$OUT/plant_attack.console.txt"
sed -n '/^otsec replay/q;p' "$OUT/plant_attack.console.txt"   # the alert lines (the summary follows)
cat "$OUT/plant_attack.alerts.jsonl" >> "$OUT/alerts.jsonl"
echo
echo "== 5. the asset inventory after the intrusion =="
"$OTSEC" inventory show "$OUT/inventory.json"
echo
echo "demo: $(wc -l < "$OUT/alerts.jsonl") ECS alert documents in $OUT/alerts.jsonl (fields:"
echo "      docs/schema.md, rules: docs/detections.md, docs/sigma.md); inventory in $OUT/inventory.json"
echo "      (also: otsec inventory show $OUT/inventory.json --csv)"
