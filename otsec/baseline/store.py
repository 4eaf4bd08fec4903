"""Baseline files: versioned JSON, written atomically, sorted and stable so that two
learnings diff line by line, and refused with a clear message when corrupt.

A baseline file holds the learned inventory (``assets``) and the learned graph
(``edges``); :class:`Baseline` is the loaded form: the networkx graph plus the indexes
the detection stage looks edges and assets up in.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx

from otsec.baseline.render import validate
from otsec.events.regions import merge_ranges

BASELINE_VERSION = 1
EdgeKey = tuple[str, str, str, int]


class BaselineError(Exception):
    """A baseline file cannot be used (one-line message naming the file)."""


@dataclass(frozen=True, slots=True)
class KnownEdge:
    """What detection needs of one baseline edge."""

    protocol: str
    operations: frozenset[str]
    functions: frozenset[int]
    #: space -> merged, sorted inclusive ranges written.
    writes: dict[str, list[list[int]]]


class Baseline:
    """A loaded baseline document."""

    def __init__(self, doc: dict[str, Any], path: str = "") -> None:
        self.doc = doc
        self.path = path
        self.graph = to_graph(doc)
        self.assets: dict[str, dict[str, Any]] = {
            ip: data["asset"] for ip, data in self.graph.nodes(data=True) if data.get("asset")
        }
        self.edges: dict[EdgeKey, KnownEdge] = {}
        for client, server, _key, data in self.graph.edges(keys=True, data=True):
            e = data["edge"]
            self.edges[(client, server, e["transport"], int(e["port"]))] = KnownEdge(
                protocol=e["protocol"],
                operations=frozenset(e.get("operations", {})),
                functions=frozenset(int(fc) for fc in e.get("functions", {})),
                writes={s: merge_ranges(r) for s, r in e.get("writes", {}).items()},
            )

    @classmethod
    def empty(cls) -> Baseline:
        return cls(new_doc([], [], [], None, None, 0))


def new_doc(
    assets: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    sources: list[dict[str, Any]],
    first: str | None,
    last: str | None,
    packets: int,
    created: str | None = None,
    violations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "otsec_baseline": BASELINE_VERSION,
        "created": created or datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "learned": {"first_seen": first, "last_seen": last, "packets": packets},
        "sources": sources,
        "assets": assets,
        "edges": edges,
        "violations": violations or [],
    }


def to_graph(doc: dict[str, Any]) -> nx.MultiDiGraph[str]:
    """The document as a graph: nodes by IP (``asset``), edges keyed ``transport/port``."""
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for asset in doc.get("assets", []):
        g.add_node(asset["ip"], asset=asset)
    for e in doc.get("edges", []):
        for ip in (e["client"], e["server"]):
            if ip not in g:
                g.add_node(ip, asset=None)
        g.add_edge(e["client"], e["server"], key=f"{e['transport']}/{e['port']}", edge=e)
    return g


# -- files ---------------------------------------------------------------------------


def read_json(path: str | Path, kind: str = "baseline") -> Any:
    """A JSON file's content; BaselineError naming the file and the problem otherwise."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{name}: no such {kind} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{name}: cannot read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{name}: not a valid {kind} (corrupt JSON at line {exc.lineno} column "
            f"{exc.colno}: {exc.msg})"
        ) from None


def load(path: str | Path) -> Baseline:
    """Read and check a baseline file; BaselineError with a clear message otherwise."""
    name = str(path)
    doc = read_json(path)
    if not isinstance(doc, dict) or "otsec_baseline" not in doc:
        raise BaselineError(f"{name}: not an otsec baseline file (no otsec_baseline version)")
    version = doc["otsec_baseline"]
    if version != BASELINE_VERSION:
        raise BaselineError(
            f"{name}: baseline format version {version!r}; this otsec reads version "
            f"{BASELINE_VERSION} (learn it again with this version)"
        )
    problems = check(doc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BaselineError(f"{name}: invalid baseline: {problems[0]}{more}")
    try:
        return Baseline(doc, name)
    except (KeyError, TypeError, ValueError) as exc:
        raise BaselineError(f"{name}: invalid baseline ({type(exc).__name__}: {exc})") from None


def check(doc: dict[str, Any]) -> list[str]:
    """Structural problems of a baseline document (empty when it is usable)."""
    return validate(doc)


def save(doc: dict[str, Any], path: str | Path) -> None:
    """Write atomically: a temporary file beside the target, fsync'd, then renamed."""
    target = Path(path)
    text = dumps(doc)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        os.fchmod(fd, 0o666 & ~_umask())
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise BaselineError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def dumps(doc: Any) -> str:
    """Stable, diff-friendly JSON: keys sorted, one item per line, short lists of scalars
    (and ranges) on one line."""
    return _dump(doc, 0) + "\n"


def _inline(value: Any) -> bool:
    if not isinstance(value, list):
        return False
    return all(
        not isinstance(v, (dict, list))
        or (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v))
        for v in value
    )


def _dump(value: Any, level: int) -> str:
    pad = "  " * (level + 1)
    end = "  " * level
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dump(value[k], level + 1)}"
            for k in sorted(value)
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if _inline(value):
            return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        return "[\n" + ",\n".join(pad + _dump(v, level + 1) for v in value) + "\n" + end + "]"
    return json.dumps(value, ensure_ascii=False)
