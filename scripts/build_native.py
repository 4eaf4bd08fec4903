"""Compile otsec's packet path with mypyc into build/native/ (run by ``make setup``).

    python scripts/build_native.py            # build when the sources changed, else nothing
    python scripts/build_native.py --force    # build anyway
    python scripts/build_native.py --check    # exit 1 when the build is missing or stale

The hot modules (the packet loop, capture reading and decoding, flows, reassembly,
pairing, every dissector, and the inventory, baseline learning and detection that see
every transaction) are plain, mypy-strict Python; mypyc turns them into C
extensions that run the same code about 1.7x faster. The sources are copied to a scratch
folder and compiled there, so nothing is written next to them and an edited source is
never shadowed by an old build: ``dissectors/_native.py`` loads the compiled modules only
while the manifest's digest matches the sources (else everything runs as plain Python).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dissectors import _native  # noqa: E402  (after the path is set)

#: What gets compiled: package-relative globs; __init__ files and the loader stay Python.
COMPILED = (
    "otsec/pipeline.py",
    "otsec/capture/*.py",
    "otsec/flows/*.py",
    "otsec/events/*.py",
    "otsec/inventory/assets.py",
    "otsec/inventory/identity.py",
    "otsec/baseline/learner.py",
    "otsec/baseline/zones.py",
    "otsec/detection/alerts.py",
    "otsec/detection/engine.py",
    "otsec/detection/rules.py",
    "dissectors/*.py",
    "dissectors/*/*.py",
)
EXCLUDED = {"__init__.py", "_native.py"}
#: Plain Python on purpose: live capture hands C-extension (pcapy) and scapy objects
#: around, which mypyc's run-time type checks reject, and its per-packet work is one
#: tuple per frame.
EXCLUDED_PATHS = {"otsec/capture/live.py"}
GROUP = "otsec_native"


def compiled_sources(root: Path) -> list[str]:
    found: set[str] = set()
    for pattern in COMPILED:
        for path in root.glob(pattern):
            rel = path.relative_to(root).as_posix()
            if path.name not in EXCLUDED and rel not in EXCLUDED_PATHS:
                found.add(rel)
    return sorted(found)


def import_closure(root: Path, sources: list[str]) -> list[str]:
    """The given sources and every module of both packages they import, transitively
    (package ``__init__`` files included: importing a submodule runs them)."""
    seen: set[str] = set()
    todo = list(sources)
    while todo:
        rel = todo.pop()
        if rel in seen or not (root / rel).is_file():
            continue
        seen.add(rel)
        parts = Path(rel).with_suffix("").parts
        for i in range(1, len(parts)):  # the packages on the way
            todo.append("/".join(parts[:i]) + "/__init__.py")
        tree = ast.parse((root / rel).read_text(encoding="utf-8"), rel)
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] in _native.PACKAGES:
                    base = name.replace(".", "/")
                    todo += [base + ".py", base + "/__init__.py"]
    return sorted(seen)


def current(directory: Path) -> bool:
    """True when directory holds a build of exactly these sources for this interpreter
    (and of the sources this script selects today: a changed selection rebuilds)."""
    if _native.current_build(directory)[0] is None:
        return False
    try:
        built = json.loads((directory / "manifest.json").read_text())["sources"]
    except (OSError, ValueError, KeyError):
        return False
    wanted = import_closure(REPO, compiled_sources(REPO))
    return sorted(built) == sorted(wanted)


def build(directory: Path) -> int:
    try:  # build-time only tools, from the dev extras
        from mypyc.build import mypycify  # noqa: PLC0415
        from setuptools import setup  # noqa: PLC0415
    except ImportError as exc:
        print(f"build_native: cannot compile ({exc}); install the dev extras", file=sys.stderr)
        return 2
    started = time.monotonic()
    directory.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="otsec-native-", dir=directory.parent) as tmp:
        scratch = Path(tmp)
        src = scratch / "src"
        for package in _native.PACKAGES:
            shutil.copytree(REPO / package, src / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.so"))  # fmt: skip
        sources = compiled_sources(src)
        closure = import_closure(src, sources)
        digest = _native.source_digest(closure, src)
        out = scratch / "out"
        cwd = Path.cwd()
        os.chdir(src)
        try:
            args = ["--quiet", "build_ext", "--build-lib", str(out), "--build-temp", str(scratch)]
            modules = mypycify(sources, opt_level="3", group_name=GROUP)
            setup(name="otsec-native", ext_modules=modules, script_args=args)
        except SystemExit as exc:  # setuptools reports failures by exiting
            print(f"build_native: compilation failed ({exc})", file=sys.stderr)
            return 1
        finally:
            os.chdir(cwd)
        suffix = _native.interpreter_tag()
        modules: dict[str, str] = {}
        for rel in sources:
            name = rel[: -len(".py")].replace("/", ".")
            modules[name] = rel[: -len(".py")] + suffix
        modules[f"{GROUP}__mypyc"] = f"{GROUP}__mypyc{suffix}"
        missing = [rel for rel in modules.values() if not (out / rel).is_file()]
        if missing:
            print(f"build_native: the build lacks {', '.join(missing)}", file=sys.stderr)
            return 1
        manifest = {
            "version": _native.MANIFEST_VERSION,
            "interpreter": suffix,
            "digest": digest,
            "sources": closure,
            "modules": modules,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        # swap the finished build in: a failed build leaves the previous one untouched
        old = scratch / "old"
        if directory.exists():
            directory.rename(old)
        out.rename(directory)
    took = time.monotonic() - started
    print(f"build_native: compiled {len(sources)} modules with mypyc in {took:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="build even when up to date")
    ap.add_argument("--check", action="store_true", help="only say whether the build is current")
    args = ap.parse_args(argv)
    directory = _native.native_dir()
    if args.check:
        ok = current(directory)
        print("build_native: up to date" if ok else "build_native: missing or stale")
        return 0 if ok else 1
    if not args.force and current(directory):
        print("build_native: compiled modules are up to date")
        return 0
    return build(directory)


if __name__ == "__main__":
    sys.exit(main())
