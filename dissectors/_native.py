"""Optional compiled packet path: load mypyc-built modules when they match the sources.

``make setup`` compiles the hot modules (the packet loop, flows, reassembly and every
dissector) with mypyc into ``build/native/`` (see ``scripts/build_native.py``), next to
a manifest holding a digest of the compiled sources and of every module they import. The
sources stay where they are and are never shadowed: at import, :func:`install` puts a
finder in front of ``sys.meta_path`` that hands out the compiled modules only when the
manifest matches this interpreter and the digest of the sources as they are now. Edit
one source file and the whole package runs as plain Python again until the next build
(all or nothing: compiled modules call each other directly, so a mix would run stale
code). ``OTSEC_PURE=1`` forces plain Python.

This lives in ``dissectors/`` because both packages install it and ``dissectors`` may
not import ``otsec``. Standard library only, like the rest of the package.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

#: The repository (or installed tree) holding ``otsec/`` and ``dissectors/``.
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("otsec", "dissectors")
MANIFEST_VERSION = 1


def native_dir() -> Path:
    """Where the compiled modules live (``OTSEC_NATIVE_DIR`` overrides)."""
    return Path(os.environ.get("OTSEC_NATIVE_DIR") or ROOT / "build" / "native")


def source_digest(files: Iterable[str], root: Path = ROOT) -> str:
    """SHA-256 over the path and content of the given source files (``root``-relative).

    The build lists the compiled modules and every module of both packages they import,
    directly or not: mypyc may inline their ``Final`` constants and relies on the shapes
    of their classes. Editing anything else (the CLI, sinks ...) keeps the build."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode())
        h.update(b"\0")
        try:
            h.update((root / rel).read_bytes())
        except OSError:
            h.update(b"\1missing")
        h.update(b"\0")
    return h.hexdigest()


def interpreter_tag() -> str:
    """What a compiled module is bound to: the extension suffix names the implementation,
    its version and the platform (``.cpython-311-x86_64-linux-gnu.so``)."""
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


class _Finder(importlib.abc.MetaPathFinder):
    """Hands out the compiled extension for the module names in the manifest."""

    def __init__(self, modules: dict[str, Path]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        so = self.modules.get(fullname)
        if so is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(so))
        return importlib.machinery.ModuleSpec(fullname, loader, origin=str(so))


class _State:
    #: Why the compiled modules are or are not in use (set by install()).
    status: str | None = None
    finder: _Finder | None = None


def install() -> str:
    """Put the compiled modules in use when they match; return the status line."""
    if _State.status is None:
        _State.status = _install()
    return _State.status


def _install() -> str:
    if os.environ.get("OTSEC_PURE", "") not in ("", "0"):
        return "pure Python (OTSEC_PURE is set)"
    modules, problem = current_build(native_dir())
    if modules is None:
        return f"pure Python ({problem})"
    _State.finder = _Finder(modules)
    sys.meta_path.insert(0, _State.finder)
    return f"compiled (mypyc, {len(modules) - 1} modules)"


def current_build(directory: Path) -> tuple[dict[str, Path] | None, str]:
    """The compiled modules (name -> file) in directory when they are a complete build of
    the sources as they are now for this interpreter, else None and why not."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "no compiled modules: make setup builds them"
    except (OSError, ValueError) as exc:
        return None, f"unreadable native manifest: {exc}"
    problem = _check(manifest)
    if problem:
        return None, problem
    modules = {name: directory / rel for name, rel in manifest["modules"].items()}
    if not all(path.is_file() for path in modules.values()):
        return None, "compiled modules incomplete: run make setup"
    return modules, ""


def _check(manifest: object) -> str | None:
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION:
        return "native manifest of another version: run make setup"
    if not isinstance(manifest.get("modules"), dict):
        return "native manifest without modules: run make setup"
    if manifest.get("interpreter") != interpreter_tag():
        return f"compiled for {manifest.get('interpreter')}, running {interpreter_tag()}"
    sources = manifest.get("sources")
    if not isinstance(sources, list) or manifest.get("digest") != source_digest(sources):
        return "compiled modules are older than the sources: run make setup"
    return None


def status() -> str:
    """The status line of :func:`install` (installing first if needed)."""
    return install()


def active() -> bool:
    """True when the compiled modules are in use."""
    install()
    return _State.finder is not None
