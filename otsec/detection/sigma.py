"""Sigma rules inside the monitor: pySigma parses, otsec evaluates.

pySigma reads the rule files (YAML, modifiers, ``1 of``/``all of`` expansion, value
placeholders) and applies otsec's processing pipeline (``rules/pipelines/otsec.yml``: the
rules' field names mapped onto the fields of otsec's ECS documents, plus the conditions
that tie a logsource to its documents). :func:`compile_rule` turns each rule's condition
tree into a Python predicate once; :class:`SigmaEngine` runs the predicates of the rules
whose logsource fits a document over that document, the same ECS document the SIEM
receives, so a rule means the same in the sensor and in the SIEM.

Matching follows Sigma: strings compare case-insensitively (``|cased`` keeps case),
wildcards ``*`` and ``?``, ``|re`` is a case-sensitive regular expression searched in the
value, ``|cidr`` network containment, ``|gt``/``|gte``/``|lt``/``|lte`` numeric
comparison (numbers written as text are compared as numbers), ``|exists``, ``null`` for
a missing field. A field holding a list matches when any element does. Rule problems are
collected with their file and line; the other rules still load.

Correlation rules (Sigma 2.0) of type ``event_count`` and ``value_count`` with a ``gte``
or ``gt`` condition run over a sliding window of their ``timespan`` per ``group-by``
value: the alert goes out when the count is reached, and the group's window starts again.
Their base rules raise no alert of their own unless a correlation says ``generate: true``.
"""

from __future__ import annotations

import ipaddress
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.data import mitre_attack
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter
from sigma.plugins import InstalledSigmaPlugins
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)
from sigma.validation import SigmaValidator
from sigma.validators.base import SigmaRuleValidator

from otsec.detection.paths import walk

Doc = dict[str, Any]
Predicate = Callable[[Doc], bool]


class SigmaLoadError(Exception):
    """A rule or pipeline cannot be used (message names the file and line)."""


def _rule_id(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """A rule's UUID (its title when it has none)."""
    return str(rule.id) if rule.id else rule.title


def _rule_level(rule: SigmaRule | SigmaCorrelationRule) -> str:
    return rule.level.name.lower() if rule.level else "medium"


def _attack(rule: SigmaRule | SigmaCorrelationRule) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(ATT&CK technique ids such as T0858, tactic tags) from a rule's attack.* tags."""
    attack = [t.name for t in rule.tags if t.namespace == "attack"]
    techniques = tuple(f"T{name[1:].upper()}" for name in attack if _is_technique(name))
    return techniques, tuple(name for name in attack if not _is_technique(name))


@dataclass(slots=True)
class CompiledRule:
    rule: SigmaRule
    path: str
    match: Predicate
    #: logsource (product, category, service) the rule applies to.
    logsource: tuple[str | None, str | None, str | None]
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    #: Conditions every match must meet: (field, values it may have), values folded as
    #: :func:`fold` does. A caller that knows a field's value cheaply can skip the rule
    #: without building the document.
    guards: tuple[tuple[str, frozenset[Any]], ...] = ()
    #: A match is an alert (False for the base rules of correlations without ``generate``).
    alerts: bool = True
    #: Correlations that count this rule's matches.
    correlations: list[CompiledCorrelation] = field(default_factory=list)
    #: Every document field the condition reads (None: it searches keywords anywhere).
    fields: frozenset[str] | None = None

    def admits_partly(self, known: dict[str, Any]) -> bool:
        """False when a guard on a field of ``known`` rules a match out (guards on other
        fields are not looked at)."""
        for path, allowed in self.guards:
            if path in known:
                value = known[path]
                if value is None or fold(value) not in allowed:
                    return False
        return True

    def admits(self, known: Any) -> bool:
        """False when a guard rules a match out from the ``known`` field values (a mapping
        by dotted path; a path it does not hold rules nothing out... unless the guard
        needs a value there)."""
        for path, allowed in self.guards:
            if path not in known:
                return False
            value = known[path]
            if isinstance(value, list):
                if not any(fold(v) in allowed for v in value):
                    return False
            elif fold(value) not in allowed:
                return False
        return True

    @property
    def id(self) -> str:
        return _rule_id(self.rule)

    @property
    def level(self) -> str:
        return _rule_level(self.rule)


#: Groups a correlation keeps windows for; when there are more, the windows start again.
MAX_GROUPS = 65_536


@dataclass(slots=True)
class CompiledCorrelation:
    """An ``event_count`` or ``value_count`` correlation over its base rules' matches."""

    rule: SigmaCorrelationRule
    path: str
    #: ``event_count`` or ``value_count``.
    kind: str
    #: Document fields the windows are kept per (the rule's ``group-by``, mapped).
    group_by: tuple[str, ...]
    #: Window length in seconds.
    span: float
    #: The alert goes out when the count reaches this.
    threshold: int
    #: value_count: the field whose distinct values are counted.
    value_field: str | None = None
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    #: group -> event times (event_count) or value -> last time (value_count).
    windows: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return _rule_id(self.rule)

    @property
    def level(self) -> str:
        return _rule_level(self.rule)

    def group(self, doc: Any) -> tuple[Any, ...]:
        """The group-by values of a document (None for a field it lacks)."""
        return tuple(_first(doc, path) for path in self.group_by)

    def add(
        self, ts: float, doc: Any, key: tuple[Any, ...] | None = None
    ) -> tuple[tuple[Any, ...], int] | None:
        """Count a base rule's match at packet time ``ts``: (group, count) when the count
        reaches the threshold within the window, else None. ``key`` is the document's
        group when the caller read it already."""
        if key is None:
            key = self.group(doc)
        windows = self.windows
        window = windows.get(key)
        start = ts - self.span
        if self.kind == "event_count":
            if window is None:
                if len(windows) >= MAX_GROUPS:
                    windows.clear()
                window = windows[key] = deque()
            window.append(ts)
            while window[0] < start:
                window.popleft()
            n = len(window)
        else:
            value = _first(doc, self.value_field or "")
            if value is None:
                return None
            if window is None:
                if len(windows) >= MAX_GROUPS:
                    windows.clear()
                window = windows[key] = {}
            window[fold(value)] = ts
            n = len(window)
            if n >= self.threshold:
                for old in [v for v, t in window.items() if t < start]:
                    del window[old]
                n = len(window)
        if n < self.threshold:
            return None
        del windows[key]
        return key, n


def _first(doc: Any, path: str) -> Any:
    """A field's value (its first element when a list), None when missing."""
    values = _values(doc, path)
    return values[0] if values else None


@dataclass(slots=True)
class LoadReport:
    rules: list[CompiledRule] = field(default_factory=list)
    correlations: list[CompiledCorrelation] = field(default_factory=list)
    #: "file:line: message" per problem.
    errors: list[str] = field(default_factory=list)


# -- field access --------------------------------------------------------------------


def _values(doc: Doc, path: str) -> list[Any] | None:
    """The values at a dotted path (a flat key first); None when absent."""
    if path in doc:
        v = doc[path]
        return v if isinstance(v, list) else [v]
    return walk(doc, path)


def _any(path: str, test: Callable[[Any], bool]) -> Predicate:
    def match(doc: Doc) -> bool:
        values = _values(doc, path)
        if values is None:
            return False
        return any(test(v) for v in values)

    return match


# -- leaves --------------------------------------------------------------------------


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _string_test(value: SigmaString) -> Callable[[Any], bool]:
    cased = isinstance(value, SigmaCasedString)
    if value.contains_special():
        pattern = "".join(
            ".*" if p is SpecialChars.WILDCARD_MULTI
            else "." if p is SpecialChars.WILDCARD_SINGLE
            else re.escape(str(p))
            for p in value.s
        )  # fmt: skip
        rx = re.compile(pattern, re.DOTALL if cased else re.DOTALL | re.IGNORECASE)
        return lambda v: not isinstance(v, dict | list) and rx.fullmatch(_text(v)) is not None
    text = value.to_plain()
    if cased:
        return lambda v: not isinstance(v, dict | list) and _text(v) == text
    folded = text.casefold()
    number = _as_number(text)

    def test(v: Any) -> bool:
        if isinstance(v, bool):
            return text.casefold() == str(v).casefold()
        if isinstance(v, int | float):
            return number is not None and float(v) == number
        return isinstance(v, str) and v.casefold() == folded

    return test


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _leaf(path: str, value: Any, where: str) -> Predicate:
    if isinstance(value, SigmaNull):
        return lambda doc: _values(doc, path) in (None, [None])
    if isinstance(value, SigmaExists):
        present = value.exists
        return lambda doc: (_values(doc, path) is not None) == present
    if isinstance(value, SigmaBool):
        b = value.boolean
        return _any(path, lambda v: v is b)
    if isinstance(value, SigmaNumber):
        n = float(value.number)
        return _any(path, lambda v: _as_number(v) == n)
    if isinstance(value, SigmaCompareExpression):
        n = float(value.number.number)
        op = value.op
        if op == CompareOperators.GT:
            return _any(path, lambda v: (x := _as_number(v)) is not None and x > n)
        if op == CompareOperators.GTE:
            return _any(path, lambda v: (x := _as_number(v)) is not None and x >= n)
        if op == CompareOperators.LT:
            return _any(path, lambda v: (x := _as_number(v)) is not None and x < n)
        return _any(path, lambda v: (x := _as_number(v)) is not None and x <= n)
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= {
                SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
                SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
                SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
            }[flag]
        rx = re.compile(value.regexp.to_plain(), flags)
        return _any(
            path, lambda v: not isinstance(v, dict | list) and rx.search(_text(v)) is not None
        )
    if isinstance(value, SigmaCIDRExpression):
        net = value.network

        def inside(v: Any) -> bool:
            try:
                return ipaddress.ip_address(str(v)) in net
            except ValueError:
                return False

        return _any(path, inside)
    if isinstance(value, SigmaFieldReference):
        other = value.field
        return lambda doc: (
            (a := _values(doc, path)) is not None
            and (b := _values(doc, other)) is not None
            and any(x == y for x in a for y in b)
        )
    if isinstance(value, SigmaString):
        if value.contains_placeholder():
            raise SigmaLoadError(f"{where}: placeholder {value} has no value (pipeline vars)")
        return _any(path, _string_test(value))
    raise SigmaLoadError(f"{where}: value type {type(value).__name__} is not supported")


def _keyword(value: Any, where: str) -> Predicate:
    """A value without a field: matches when any string value of the document does."""
    if not isinstance(value, SigmaString):
        raise SigmaLoadError(f"{where}: keyword of type {type(value).__name__} not supported")
    test = _string_test(value)

    def walk(v: Any) -> bool:
        if isinstance(v, dict):
            return any(walk(x) for x in v.values())
        if isinstance(v, list):
            return any(walk(x) for x in v)
        return test(v)

    return walk


def compile_condition(node: Any, where: str) -> Predicate:
    """A pySigma condition tree as one predicate."""
    if isinstance(node, ConditionAND):
        parts = [compile_condition(a, where) for a in node.args]
        return lambda doc: all(p(doc) for p in parts)
    if isinstance(node, ConditionOR):
        parts = [compile_condition(a, where) for a in node.args]
        return lambda doc: any(p(doc) for p in parts)
    if isinstance(node, ConditionNOT):
        inner = compile_condition(node.args[0], where)
        return lambda doc: not inner(doc)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _leaf(node.field, node.value, where)
    if isinstance(node, ConditionValueExpression):
        return _keyword(node.value, where)
    raise SigmaLoadError(f"{where}: condition element {type(node).__name__} not supported")


def fold(value: Any) -> Any:
    """A value as guards compare it: numbers as floats, text case-folded."""
    if isinstance(value, bool):
        return str(value).casefold()
    if isinstance(value, int | float):
        return float(value)
    return str(value).casefold()


def necessary(node: Any) -> dict[str, frozenset[Any]]:
    """field -> the literal values a document must hold for ``node`` to match (only what
    plain equalities imply; anything else constrains nothing)."""
    if isinstance(node, ConditionAND):
        out: dict[str, frozenset[Any]] = {}
        for arg in node.args:
            for field_, values in necessary(arg).items():
                out[field_] = out[field_] & values if field_ in out else values
        return out
    if isinstance(node, ConditionOR):
        parts = [necessary(arg) for arg in node.args]
        if not parts:
            return {}
        common = set(parts[0]).intersection(*parts[1:])
        return {f: frozenset().union(*(p[f] for p in parts)) for f in common}
    if isinstance(node, ConditionFieldEqualsValueExpression):
        value = node.value
        if isinstance(value, SigmaNumber):
            return {node.field: frozenset({float(value.number)})}
        if (
            isinstance(value, SigmaString)
            and not isinstance(value, SigmaCasedString)
            and not value.contains_special()
            and not value.contains_placeholder()
        ):
            text = value.to_plain()
            number = _as_number(text)
            return {node.field: frozenset({text.casefold()} | ({number} if number is not None
                                                                 else set()))}  # fmt: skip
    return {}


def compile_rule(rule: SigmaRule, path: str) -> CompiledRule:
    """A rule (the pipeline applied) as a predicate over documents."""
    where = f"{path}:{_line(rule)}"
    if getattr(rule.detection, "timeframe", None) is not None:
        raise SigmaLoadError(f"{where}: rules with a timeframe are not evaluated here")
    trees = [c.parse() for c in rule.detection.parsed_condition]
    conditions = [compile_condition(tree, where) for tree in trees]
    guards = tuple(sorted(necessary(trees[0]).items())) if len(trees) == 1 else ()
    match = conditions[0] if len(conditions) == 1 else lambda d: any(c(d) for c in conditions)
    ls = rule.logsource
    techniques, tactics = _attack(rule)
    read: set[str] | None = set()
    for tree in trees:
        found = fields_read(tree)
        read = None if found is None or read is None else read | found
    fields = None if read is None else frozenset(read)
    return CompiledRule(rule, path, match, (ls.product, ls.category, ls.service), techniques,
                        tactics, guards, fields=fields)  # fmt: skip


def fields_read(node: Any) -> set[str] | None:
    """The document fields a condition tree reads; None when it searches keywords in any
    field."""
    if isinstance(node, ConditionAND | ConditionOR | ConditionNOT):
        out: set[str] = set()
        for arg in node.args:
            found = fields_read(arg)
            if found is None:
                return None
            out |= found
        return out
    if isinstance(node, ConditionFieldEqualsValueExpression):
        value = node.value
        extra = {value.field} if isinstance(value, SigmaFieldReference) else set()
        return {node.field} | extra
    return None


#: Correlation condition operators the sensor evaluates -> threshold from the count.
_THRESHOLDS = {SigmaCorrelationConditionOperator.GTE: 0, SigmaCorrelationConditionOperator.GT: 1}


def compile_correlation(rule: SigmaCorrelationRule, path: str) -> CompiledCorrelation:
    """A correlation rule (the pipeline applied, references resolved) for the sensor."""
    where = f"{path}:{_line(rule)}"
    kinds = {SigmaCorrelationType.EVENT_COUNT: "event_count",
             SigmaCorrelationType.VALUE_COUNT: "value_count"}  # fmt: skip
    kind = kinds.get(rule.type)
    if kind is None:
        name = rule.type.name.lower()
        raise SigmaLoadError(
            f"{where}: correlation type {name} is not evaluated in the sensor "
            "(event_count and value_count are)"
        )
    cond = rule.condition
    if not isinstance(cond, SigmaCorrelationCondition) or cond.op not in _THRESHOLDS:
        raise SigmaLoadError(
            f"{where}: the sensor evaluates correlation conditions gte and gt "
            "(it alerts when a count is reached, not when a window closes)"
        )
    value_field: str | None = None
    if kind == "value_count":
        if not isinstance(cond.fieldref, str):
            raise SigmaLoadError(f"{where}: a value_count correlation needs one condition field")
        value_field = cond.fieldref
    for ref in rule.rules or []:
        if not isinstance(ref.rule, SigmaRule):
            raise SigmaLoadError(f"{where}: correlations of correlations are not evaluated in "
                                 f"the sensor ({ref.reference})")  # fmt: skip
    return CompiledCorrelation(
        rule, path, kind, tuple(rule.group_by or ()), float(rule.timespan.seconds),
        cond.count + _THRESHOLDS[cond.op], value_field, *_attack(rule),
    )  # fmt: skip


def _is_technique(name: str) -> bool:
    return len(name) >= 5 and name[0] in "tT" and name[1:5].isdigit()


def _line(rule: SigmaRule | SigmaCorrelationRule) -> int:
    """Line of the rule's title in its file (1 when unknown)."""
    raw = getattr(rule, "source", None)
    location = getattr(raw, "location", None) if raw is not None else None
    if location is not None and getattr(location, "line", None):
        return int(location.line)
    return 1


# -- loading -------------------------------------------------------------------------


def load_pipeline(
    path: str | Path, variables: dict[str, list[str]] | None = None
) -> ProcessingPipeline:
    """otsec's processing pipeline; ``variables`` fill its placeholders (allow-lists)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        pipeline = ProcessingPipeline.from_yaml(text)
    except (OSError, SigmaError, ValueError) as exc:
        raise SigmaLoadError(f"{path}: cannot load the processing pipeline ({exc})") from None
    if variables:
        pipeline.vars.update(variables)
    return pipeline


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every ``*.yml``/``*.yaml`` under the given files and folders, sorted; files under a
    ``pipelines`` folder are not rules."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += [
                f for f in sorted(p.rglob("*")) if f.suffix in (".yml", ".yaml")
                and not {"pipelines", "tests", "attack"} & set(f.relative_to(p).parts)
            ]  # fmt: skip
        elif p.exists():
            out.append(p)
        else:
            raise SigmaLoadError(f"{p}: no such rule file or folder")
    return out


def load_rules(paths: Iterable[str | Path], pipeline: ProcessingPipeline) -> LoadReport:
    """Load, apply the pipeline, compile; problems are collected per file, the other rules
    still load. Correlations may name base rules of any loaded file (by name or id)."""
    report = LoadReport()
    seen: dict[str, str] = {}
    pending: list[tuple[SigmaCorrelationRule, Path, str]] = []
    for path in rule_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
            collection = SigmaCollection.from_yaml(text, collect_errors=True,
                                                   resolve_references=False)  # fmt: skip
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(exc, "problem", None) or "invalid YAML"
            report.errors.append(f"{path}:{line}: invalid YAML: {problem}")
            continue
        except (OSError, UnicodeDecodeError, SigmaError, ValueError) as exc:
            report.errors.append(f"{path}:1: {exc}")
            continue
        for error in collection.errors:
            report.errors.append(f"{path}:{find_line(text, str(error))}: {error}")
        for rule in collection.rules:
            if isinstance(rule, SigmaCorrelationRule):
                pending.append((rule, path, text))
                continue
            if rule.errors:
                for error in rule.errors:
                    report.errors.append(f"{path}:{find_line(text, str(error))}: {error}")
                continue
            try:
                pipeline.apply(rule)
                compiled = compile_rule(rule, str(path))
            except (SigmaError, SigmaLoadError, ValueError, AttributeError, re.error) as exc:
                report.errors.append(f"{path}:{find_line(text, str(exc), 'detection:')}: {exc}")
                continue
            if _claim(compiled.id, rule, path, seen, report):
                report.rules.append(compiled)
    if pending:
        _load_correlations(pending, pipeline, report, seen)
    return report


def _claim(
    rid: str, rule: SigmaRule | SigmaCorrelationRule, path: Path, seen: dict[str, str],
    report: LoadReport,
) -> bool:  # fmt: skip
    """Take a rule id for ``path``; a second rule with an id already taken is an error."""
    if rid in seen:
        report.errors.append(f"{path}:{_line(rule)}: duplicate rule id {rid} ({seen[rid]})")
        return False
    seen[rid] = str(path)
    return True


def _load_correlations(
    pending: list[tuple[SigmaCorrelationRule, Path, str]], pipeline: ProcessingPipeline,
    report: LoadReport, seen: dict[str, str],
) -> None:  # fmt: skip
    """Resolve each correlation's references against every loaded rule, then compile it
    and tie it to its base rules."""
    by_rule = {id(c.rule): c for c in report.rules}
    rules: list[SigmaRule | SigmaCorrelationRule | SigmaFilter] = [c.rule for c in report.rules]
    rules += [r for r, _p, _t in pending]
    everything = SigmaCollection(rules, resolve_references=False)
    for rule, path, text in pending:
        try:
            rule.resolve_rule_references(everything)
            pipeline.apply(rule)
            compiled = compile_correlation(rule, str(path))
        except (SigmaError, SigmaLoadError, ValueError, AttributeError) as exc:
            report.errors.append(f"{path}:{find_line(text, str(exc), 'correlation:')}: {exc}")
            continue
        if not _claim(compiled.id, rule, path, seen, report):
            continue
        report.correlations.append(compiled)
        for ref in rule.referenced_rules:
            base = by_rule.get(id(ref.rule))
            if base is not None:
                base.correlations.append(compiled)
                if not rule.generate:
                    base.alerts = False


def find_line(text: str, message: str, default: str = "title:") -> int:
    """The line a problem is about: the first line naming a word the message quotes (a
    field, a tag, a detection), else the ``default`` key's line, else 1."""
    words = re.findall(r"[A-Za-z_][\w.|-]{2,}", message.rsplit(":", 1)[-1])
    lines = text.splitlines()
    for word in words:
        for i, line in enumerate(lines, 1):
            if re.search(rf"(^|[\s'\"-]){re.escape(word)}([\s:'\"|]|$)", line):
                return i
    for i, line in enumerate(lines, 1):
        if line.startswith(default):
            return i
    return 1


# -- evaluation ----------------------------------------------------------------------


class SigmaEngine:
    """Runs compiled rules over documents, by logsource."""

    def __init__(
        self, rules: list[CompiledRule], correlations: list[CompiledCorrelation] | None = None
    ) -> None:
        self.rules = rules
        #: The correlations over these rules (each base rule lists its own).
        self.correlations = list(correlations or [])
        #: (category, service) of a document kind -> the rules that apply.
        self._by_source: dict[tuple[str | None, str | None], list[CompiledRule]] = {}
        #: Documents offered to the rules (transactions, anomalies, built-in alerts).
        self.documents = 0
        self.evaluated = 0
        #: Rule evaluations a guard made unnecessary.
        self.skipped = 0

    def rules_for(self, category: str | None, service: str | None) -> list[CompiledRule]:
        key = (category, service)
        found = self._by_source.get(key)
        if found is None:
            found = self._by_source[key] = [
                r for r in self.rules
                if r.logsource[0] in (None, "otsec")
                and r.logsource[1] in (None, category)
                and r.logsource[2] in (None, service)
            ]  # fmt: skip
        return found

    def matches(self, doc: Doc, category: str | None, service: str | None) -> list[CompiledRule]:
        out = []
        for rule in self.rules_for(category, service):
            self.evaluated += 1
            if rule.match(doc):
                out.append(rule)
        return out


# -- offline ATT&CK data and validation ----------------------------------------------

#: Validators that need data from the internet (D3FEND) are not run; ATT&CK tags are
#: checked against the ATT&CK for ICS bundle shipped in rules/attack/.
ONLINE_VALIDATORS = frozenset({"d3_fendtag"})


def use_offline_attack(bundle: str | Path, cache_dir: str | Path) -> None:
    """Point pySigma's ATT&CK data at otsec's bundle, cached in a folder of its own (so
    that pySigma never downloads, and an enterprise cache never answers instead)."""
    mitre_attack.set_cache_dir(str(cache_dir))
    mitre_attack.set_url(str(bundle))
    mitre_attack.clear_cache()


def validate(paths: Iterable[str | Path]) -> list[str]:
    """pySigma's validators over the rule files: 'file:line: validator: description'."""
    plugins = InstalledSigmaPlugins.autodiscover()
    found: dict[str, Any] = plugins.validators  # pySigma types it loosely
    validators: list[type[SigmaRuleValidator]] = [
        cls for name, cls in sorted(found.items()) if name not in ONLINE_VALIDATORS
    ]
    validator = SigmaValidator(validators)
    out: list[str] = []
    for path in rule_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
            collection = SigmaCollection.from_yaml(
                text, collect_errors=True, resolve_references=False
            )
        except (OSError, UnicodeDecodeError, SigmaError, ValueError, yaml.YAMLError):
            continue  # load_rules reports it
        rules = [r for r in collection.rules if not isinstance(r, SigmaRule) or not r.errors]
        # pySigma types validate_rules for SigmaRule; its validators take correlations too
        checked = validator.validate_rules(iter(rules))  # type: ignore[arg-type]
        issues = list(checked) + list(validator.finalize())
        for issue in issues:
            name = type(issue).__name__
            key = "tags:" if "Tag" in name else "title:"
            line = find_line(text, " ".join(f"{k} {v}" for k, v in vars(issue).items()
                                            if isinstance(v, str)), key)  # fmt: skip
            out.append(f"{path}:{line}: {name}: {issue.description}")
    return out
