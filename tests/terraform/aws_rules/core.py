"""The plan index, the rule registry and the helpers every service module shares."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tests.java_regex import compiled

# -- the plan -----------------------------------------------------------------------------


class _Unknown:
    """A value Terraform will only know after apply."""

    def __repr__(self) -> str:
        return "(known after apply)"


UNKNOWN: Any = _Unknown()


@dataclass
class Resource:
    """One managed resource as it will be after the apply (or as it was, for ``before``)."""

    address: str
    type: str
    module: str  # "" for the root, else e.g. "module.invoker[0]"
    actions: tuple[str, ...]
    after: dict[str, Any]
    unknown: Any
    before: dict[str, Any] | None

    def get(self, *path: str | int) -> Any:
        """The planned value at ``path`` (attribute, then list index / map key), UNKNOWN, or None."""
        value: Any = self.after
        unknown: Any = self.unknown
        for key in path:
            if unknown is True:
                return UNKNOWN
            unknown = _step(unknown, key)
            value = _step(value, key)
        if unknown is True:
            return UNKNOWN
        return value

    def known(self, *path: str | int) -> bool:
        return self.get(*path) is not UNKNOWN

    @property
    def replaced(self) -> bool:
        return "create" in self.actions and "delete" in self.actions

    def sibling(self, local_address: str) -> str:
        """Full address of a resource of the same module ("aws_x.this[0]" -> "module.m.aws_x.this[0]")."""
        return f"{self.module}.{local_address}" if self.module else local_address


def _step(node: Any, key: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int):
        return node[key] if 0 <= key < len(node) else None
    return None


class Plan:
    """Index over ``terraform show -json`` of a saved plan."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self._resources: list[Resource] = []
        # Data sources: read during the plan (prior state) or, when they depend on what the
        # apply creates, in resource_changes with action "read" and partly unknown values.
        self._data: dict[str, Resource] = {}
        for rc in doc.get("resource_changes", []):
            actions = tuple(rc["change"]["actions"])
            if actions == ("delete",) or rc.get("mode") not in ("managed", "data"):
                continue
            res = Resource(
                address=rc["address"],
                type=rc["type"],
                module=rc.get("module_address", ""),
                actions=actions,
                after=rc["change"].get("after") or {},
                unknown=rc["change"].get("after_unknown") or {},
                before=rc["change"].get("before"),
            )
            if rc["mode"] == "data":
                self._data[res.address] = res
            else:
                self._resources.append(res)
        self._prior: list[dict[str, Any]] = []
        prior = (doc.get("prior_state") or {}).get("values", {}).get("root_module")
        if prior:
            self._walk_state(prior)

    def _walk_state(self, module: dict[str, Any]) -> None:
        for r in module.get("resources", []):
            if r.get("mode") == "managed":
                self._prior.append(r)
            elif r.get("mode") == "data" and r["address"] not in self._data:
                module_address = module.get("address", "")
                self._data[r["address"]] = Resource(
                    r["address"], r["type"], module_address, ("read",), r.get("values") or {}, {}, None
                )
        for child in module.get("child_modules", []):
            self._walk_state(child)

    def data(self, address: str) -> Resource | None:
        """A data source by full address, as the apply will see it."""
        return self._data.get(address)

    def resources(self, *types: str) -> list[Resource]:
        return [r for r in self._resources if not types or r.type in types]

    def resource(self, address: str) -> Resource | None:
        return next((r for r in self._resources if r.address == address), None)

    def prior(self, *types: str) -> list[dict[str, Any]]:
        """Resources of the state the plan starts from (``address``, ``type``, ``values``)."""
        return [r for r in self._prior if not types or r["type"] in types]

    def references(self, res: Resource, *path: str | int) -> list[str]:
        """Full addresses of the resources the configuration expression at ``path`` refers to."""
        config = self._config_module(res.module)
        local = re.sub(r"\[[^\]]*\]$", "", res.address[len(res.module) + 1 :] if res.module else res.address)
        for r in (config or {}).get("resources", []):
            if r["address"] == local:
                node: Any = r.get("expressions", {})
                for key in path:
                    node = _step(node, key)
                refs = (node or {}).get("references", []) if isinstance(node, dict) else []
                # ["aws_x.this[0].name", "aws_x.this[0]", "aws_x.this"]: keep resource addresses
                out = []
                for ref in refs:
                    m = re.match(r"^((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+(?:\[[^\]]+\])?)", ref)
                    if m and not ref.startswith(("var.", "local.", "module.", "each.", "count.")):
                        out.append(res.sibling(m.group(1)))
                return sorted(set(out), key=len, reverse=True)
        return []

    def _config_module(self, module_address: str) -> dict[str, Any] | None:
        node = self.doc.get("configuration", {}).get("root_module", {})
        for name in re.findall(r"module\.([^.\[]+)", module_address):
            node = node.get("module_calls", {}).get(name, {}).get("module")
            if node is None:
                return None
        return node


# -- rules --------------------------------------------------------------------------------

Check = Iterator[tuple[str, str | None]]  # (address, None) = looked at and fine; (address, message) = broken


def verdict(address: str, problems: Iterable[str | None]) -> tuple[str, str | None]:
    """One resource's result: its problems joined, or None when it has none."""
    found = [p for p in problems if p]
    return address, "; ".join(found) if found else None


@dataclass(frozen=True)
class Rule:
    id: str
    statement: str
    source: str
    check: Callable[[Plan], Check]


@dataclass(frozen=True)
class Finding:
    rule: str
    address: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.address}: {self.message} (source: {self.source})"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, set[str]] = field(default_factory=dict)

    def for_rule(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule_id]

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self.findings) or "no findings"


RULES: list[Rule] = []


def rule(rule_id: str, statement: str, source: str) -> Callable[[Callable[[Plan], Check]], Callable[[Plan], Check]]:
    def register(fn: Callable[[Plan], Check]) -> Callable[[Plan], Check]:
        assert all(r.id != rule_id for r in RULES), rule_id
        RULES.append(Rule(rule_id, statement, source, fn))
        return fn

    return register


def evaluate(doc: dict[str, Any] | Plan, rules: list[Rule] | None = None) -> Report:
    plan = doc if isinstance(doc, Plan) else Plan(doc)
    report = Report()
    for r in rules if rules is not None else RULES:
        seen = report.checked.setdefault(r.id, set())
        for address, message in r.check(plan):
            seen.add(address)
            if message is not None:
                report.findings.append(Finding(r.id, address, message, r.source))
    return report


# -- shared constraints -------------------------------------------------------------------


@cache
def _shape(service: str, name: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service).shape_for(name)


@cache
def _member(service: str, operation: str, member: str) -> Any:
    import botocore.session

    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    assert shape is not None, operation
    return shape.members[member]


def _doc(shape: Any) -> str:
    """A shape's documentation as plain text (the API reference's wording, without its markup)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shape.documentation or "")).strip()


def _string_problem(value: str, shape: Any, what: str) -> str | None:
    """The botocore shape's pattern / min / max, applied (boto3 itself skips the pattern)."""
    meta = shape.metadata
    if "max" in meta and len(value) > meta["max"]:
        return f"{what} {value!r} is {len(value)} characters, over the API's maximum of {meta['max']}"
    if "min" in meta and len(value) < meta["min"]:
        return f"{what} {value!r} is shorter than the API's minimum of {meta['min']} characters"
    # The pattern is in Java's syntax: read as tests/botocore_shapes.py reads it (tests/java_regex.py).
    if "pattern" in meta and compiled(meta["pattern"]).fullmatch(value) is None:
        return f"{what} {value!r} does not match the API's pattern {meta['pattern']}"
    return None


def _policy(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text:
        return None
    return json.loads(text)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return _as_list(policy.get("Statement"))


def _service_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        return list(_as_list(principal.get("Service")))
    return []


def _one_or_list(values: list[Any]) -> Any:
    """As aws_iam_policy_document writes a list: one value alone; unknown values as ""."""
    out = ["" if v is None else v for v in values]
    return out[0] if len(out) == 1 else out


def _rendered(statement: dict[str, Any]) -> dict[str, Any]:
    """An aws_iam_policy_document statement block as the IAM JSON the data source will write."""
    out: dict[str, Any] = {"Sid": statement["sid"]} if statement.get("sid") else {}
    out["Effect"] = statement.get("effect") or "Allow"
    for key, name in (("actions", "Action"), ("not_actions", "NotAction")):
        if statement.get(key):
            out[name] = _one_or_list(statement[key])
    for key, name in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        blocks = statement.get(key) or []
        if blocks and all(b.get("type") == "*" for b in blocks):
            out[name] = "*"
        elif blocks:
            out[name] = {b.get("type"): _one_or_list(b.get("identifiers") or []) for b in blocks}
    for key, name in (("resources", "Resource"), ("not_resources", "NotResource")):
        if statement.get(key):
            out[name] = _one_or_list(statement[key])
    conditions: dict[str, dict[str, Any]] = {}
    for c in statement.get("condition") or []:
        conditions.setdefault(c.get("test") or "", {})[c.get("variable") or ""] = _one_or_list(c.get("values") or [])
    if conditions:
        out["Condition"] = conditions
    return out


def _policy_document(plan: Plan, res: Resource, attr: str) -> tuple[dict[str, Any] | None, bool]:
    """The policy at ``attr`` and whether it is exact.

    Known JSON is exact. JSON that an aws_iam_policy_document renders only at apply (it names
    an ARN the apply creates) is rebuilt from the data source's statements in the plan, with
    unknown values empty: its statements, actions and condition keys are right, and its size
    is a lower bound.
    """
    text = res.get(attr)
    if isinstance(text, str):
        return _policy(text), True
    if text is not UNKNOWN:
        return None, False
    for address in plan.references(res, attr):
        data = plan.data(address)
        if data is None or data.type != "aws_iam_policy_document":
            continue
        if data.get("source_policy_documents") or data.get("override_policy_documents"):
            return None, False  # merged from other documents: the statements here are not all of it
        statements = [_rendered(s) for s in _as_list(data.get("statement")) if isinstance(s, dict)]
        return {"Version": data.get("version") or "2012-10-17", "Statement": statements}, False
    return None, False


SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths")


def _has_source_condition(statement: dict[str, Any]) -> bool:
    for _operator, keys in (statement.get("Condition") or {}).items():
        if any(k.lower() in SOURCE_KEYS for k in keys):
            return True
    return False


def _services_without_source(policy: dict[str, Any]) -> list[str]:
    """The service principals each Allow statement lets in with no source condition (one entry per statement)."""
    return [
        ", ".join(_service_principals(s))
        for s in _statements(policy)
        if s.get("Effect") == "Allow" and _service_principals(s) and not _has_source_condition(s)
    ]
