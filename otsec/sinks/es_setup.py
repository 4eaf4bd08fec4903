"""Elasticsearch index templates for otsec's documents (``otsec es setup``).

The mappings come from docs/schema.md, the one list of every field otsec emits with its
type: ``python -m otsec.sinks.es_setup`` regenerates ``es_mappings.json`` beside this
module from it, and a test fails when the two differ. Strings the page does not list map
to ``keyword`` (a dynamic template), so an unexpected field is still searchable exactly.

Templates:
- ``otsec@mappings``: a component template with those mappings;
- ``logs-otsec``: data streams ``logs-otsec.*-*`` (priority 501, above the built-in
  ``logs-*-*`` template at 100, as Elastic advises for overlapping patterns);
- ``otsec-assets``: the fleet inventory index ``otsec-assets-*`` (a plain index: assets
  are replaced by id, not appended);
- with plain indices (servers without data streams): ``otsec`` for ``otsec-*``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

MAPPINGS_FILE = Path(__file__).with_name("es_mappings.json")
SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([a-z_]+)\s*\|")
#: docs/schema.md types -> Elasticsearch field types.
_TYPES = {"keyword": "keyword", "long": "long", "double": "double", "ip": "ip",
          "date": "date", "boolean": "boolean"}  # fmt: skip
COMPONENT = "otsec@mappings"
PRIORITY = 501


def documented_fields(text: str) -> dict[str, str]:
    """field -> type from the tables of docs/schema.md."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _ROW.match(line)
        if m and m.group(2) in _TYPES:
            out[m.group(1)] = m.group(2)
    return out


def mappings_from(fields: dict[str, str]) -> dict[str, Any]:
    """Elasticsearch mappings: nested ``properties`` for dotted field names."""
    root: dict[str, Any] = {}
    for name, typ in sorted(fields.items()):
        node = root
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {}).setdefault("properties", {})
        leaf: dict[str, Any] = {"type": _TYPES[typ]}
        if typ == "keyword":
            leaf["ignore_above"] = 1024
        node.setdefault(parts[-1], {}).update(leaf)
    return {
        "dynamic_templates": [
            {
                "strings_as_keyword": {
                    "match_mapping_type": "string",
                    "mapping": {"type": "keyword", "ignore_above": 1024},
                }
            }
        ],
        "properties": root,
    }


def mappings() -> dict[str, Any]:
    """The shipped mappings (es_mappings.json)."""
    result: dict[str, Any] = json.loads(MAPPINGS_FILE.read_text(encoding="utf-8"))
    return result


def templates(*, data_streams: bool = True) -> dict[str, Any]:
    """name -> body of the index templates (component templates under ``_component``)."""
    out: dict[str, Any] = {
        "_component": {COMPONENT: {"template": {"mappings": mappings()}}},
        "otsec-assets": {
            "index_patterns": ["otsec-assets-*"], "priority": PRIORITY + 1,
            "composed_of": [COMPONENT],
            "_meta": {"managed_by": "otsec", "description": "otsec fleet asset inventory"},
        },
    }  # fmt: skip
    if data_streams:
        out["logs-otsec"] = {
            "index_patterns": ["logs-otsec.*-*"], "priority": PRIORITY, "data_stream": {},
            "composed_of": ["logs@settings", COMPONENT],
            "ignore_missing_component_templates": ["logs@settings"],
            "_meta": {"managed_by": "otsec", "description": "otsec alerts and events"},
        }  # fmt: skip
    else:
        out["otsec"] = {
            "index_patterns": ["otsec-*"], "priority": PRIORITY, "composed_of": [COMPONENT],
            "_meta": {"managed_by": "otsec", "description": "otsec alerts and events"},
        }  # fmt: skip
    return out


def install(client: Any, *, data_streams: bool = True) -> list[str]:
    """Put the component and index templates; returns what was installed."""
    done = []
    bodies = templates(data_streams=data_streams)
    for name, body in bodies.pop("_component").items():
        client.cluster.put_component_template(name=name, **body)
        done.append(f"component template {name}")
    for name, body in bodies.items():
        client.indices.put_index_template(name=name, **body)
        done.append(f"index template {name} ({', '.join(body['index_patterns'])})")
    return done


def main() -> int:
    """Regenerate es_mappings.json from docs/schema.md."""
    fields = documented_fields(SCHEMA_DOC.read_text(encoding="utf-8"))
    text = json.dumps(mappings_from(fields), indent=1, sort_keys=True) + "\n"
    MAPPINGS_FILE.write_text(text, encoding="utf-8")
    sys.stdout.write(f"{MAPPINGS_FILE}: {len(fields)} fields\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
