"""Validate LINE Messaging API request bodies against LINE's official OpenAPI 3.0 spec.

Only the subset of OpenAPI 3.0 / JSON Schema used by ``messaging-api.yml`` is implemented,
so the simulator needs no third-party JSON-schema dependency.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SPEC_FILENAME = "messaging-api.yml"
SPEC_DIR_ENV = "LINE_OPENAPI_DIR"
MAX_ERRORS = 20
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARAM_SEGMENT = re.compile(r"^\{[^/{}]+\}$")
# A URI only has to carry a scheme: LINE accepts https:, http:, tel:, line: and more.
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ENUM_PREVIEW = 10


def default_spec_path() -> Path:
    """Return the spec location, honouring the LINE_OPENAPI_DIR override."""
    override = os.environ.get(SPEC_DIR_ENV)
    if override:
        return Path(override) / SPEC_FILENAME
    return Path(__file__).resolve().parents[2] / "shared" / "line-openapi" / SPEC_FILENAME


@dataclass(frozen=True)
class Operation:
    """One HTTP operation of the spec and the JSON schema of its request body."""

    method: str
    template: str
    operation_id: str
    request_schema: dict | None = field(default=None, compare=False, hash=False)
    body_required: bool = False


class _Errors:
    """Ordered, de-duplicated error list that stops growing at a limit."""

    def __init__(self, limit: int = MAX_ERRORS):
        self._items: dict[str, None] = {}
        self._limit = limit

    @property
    def full(self) -> bool:
        """Whether no further errors will be recorded."""
        return len(self._items) >= self._limit

    def add(self, path: str, message: str) -> None:
        """Record ``<path>: <message>`` unless the limit is reached."""
        if not self.full:
            self._items.setdefault(f"{path or '(root)'}: {message}")

    def as_list(self) -> list[str]:
        """Return the recorded errors in insertion order."""
        return list(self._items)


class SpecValidator:
    """Request-body validator backed by one parsed copy of the OpenAPI document."""

    def __init__(self, spec_path: Path | None = None):
        self.spec_path = Path(spec_path) if spec_path else default_spec_path()
        with self.spec_path.open("rb") as fh:
            self.spec: dict = yaml.load(fh, Loader=_Loader)
        self._refs: dict[str, dict] = {}
        self._routes = _build_routes(self.spec.get("paths") or {})

    # -- operations ------------------------------------------------------------------------

    def find_operation(self, method: str, path: str) -> Operation | None:
        """Return the operation serving ``method path``; literal templates beat parameters."""
        path = path.split("?", 1)[0]
        if len(path) > 1:
            path = path.rstrip("/")
        for pattern, op in self._routes.get(method.lower(), ()):
            if pattern.fullmatch(path):
                return op
        return None

    def validate_request(self, method: str, path: str, body: object | None) -> list[str]:
        """Validate a decoded JSON request body; return error strings (empty when valid)."""
        op = self.find_operation(method, path)
        if op is None:
            return [f"unknown operation {method.upper()} {path}"]
        if op.request_schema is None:
            return []
        if body is None:
            return ["body: is required"] if op.body_required else []
        return self._run(op.request_schema, body)

    def validate_schema(self, schema_name: str, value: object) -> list[str]:
        """Validate ``value`` against ``#/components/schemas/<schema_name>``."""
        return self._run(self.resolve(f"#/components/schemas/{schema_name}"), value)

    # -- schema machinery ------------------------------------------------------------------

    def resolve(self, ref: str) -> dict:
        """Resolve a local ``#/...`` JSON pointer, caching the result."""
        cached = self._refs.get(ref)
        if cached is not None:
            return cached
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported: {ref}")
        node: Any = self.spec
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or key not in node:
                raise KeyError(f"unresolvable $ref {ref}")
            node = node[key]
        self._refs[ref] = node
        return node

    def _run(self, schema: dict, value: object) -> list[str]:
        """Validate ``value`` from the document root and return the collected errors."""
        errors = _Errors()
        self._check(schema, value, "", errors)
        return errors.as_list()

    def _check(
        self, schema: dict, value: object, path: str, errors: _Errors, subtype: dict | None = None
    ) -> None:
        """Validate ``value`` at ``path`` against ``schema``, appending to ``errors``.

        ``subtype`` is the schema whose ``allOf`` led here. A base schema reached that way must
        not dispatch on its discriminator again, or Message -> TextMessage -> Message would loop.
        """
        if errors.full:
            return
        while "$ref" in schema:
            schema = self.resolve(schema["$ref"])
        if value is None and schema.get("nullable"):
            return
        if not _check_type(schema, value, path, errors):
            return
        tagged = "discriminator" in schema and isinstance(value, dict)
        if tagged and not self._discriminate(schema, value, path, errors, subtype):
            return
        _check_scalar_keywords(schema, value, path, errors)
        if isinstance(value, dict):
            self._check_object(schema, value, path, errors)
        elif isinstance(value, list):
            self._check_array(schema, value, path, errors)
        for sub in schema.get("allOf", ()):
            self._check(sub, value, path, errors, subtype=schema)
        # With a discriminator, oneOf/anyOf merely list the subtypes it already selects from.
        if "discriminator" not in schema:
            self._check_alternatives(schema, value, path, errors)

    def _discriminate(
        self, base: dict, value: dict, path: str, errors: _Errors, subtype: dict | None
    ) -> bool:
        """Apply ``base``'s discriminator; return whether its own keywords still need checking."""
        if subtype is not None:
            self._check_tag(base, value, path, errors, subtype)
            return True
        target = self._select_subtype(base, value, path, errors)
        if target is None:
            return False
        if target is base:  # a self-mapping would otherwise recurse forever
            return True
        self._check(target, value, path, errors)
        # LINE's subtypes re-include the base via allOf, which then checks its keywords.
        return not self._extends(target, base)

    def _select_subtype(self, schema: dict, value: dict, path: str, errors: _Errors) -> dict | None:
        """Return the subtype schema the discriminator names, or record why there is none."""
        prop = schema["discriminator"]["propertyName"]
        prop_path = _join(path, prop)
        if prop not in value:
            errors.add(prop_path, "is required")
            return None
        tag = value[prop]
        target = self._discriminator_target(schema, tag)
        if target is None:
            mapping = schema["discriminator"].get("mapping")
            hint = f" (expected one of {', '.join(mapping)})" if mapping else ""
            errors.add(prop_path, f"unknown value {tag!r}{hint}")
            return None
        return self.resolve(target)

    def _check_tag(
        self, base: dict, value: dict, path: str, errors: _Errors, subtype: dict
    ) -> None:
        """Check the tag names ``subtype`` when a subtype is validated directly (carousel items)."""
        prop = base["discriminator"]["propertyName"]
        mapping = base["discriminator"].get("mapping") or {}
        tags = [tag for tag, ref in mapping.items() if self.resolve(ref) is subtype]
        if tags and prop in value and value[prop] not in tags:
            expected = " or ".join(repr(tag) for tag in tags)
            errors.add(_join(path, prop), f"expected {expected}, got {value[prop]!r}")

    def _extends(self, subtype: dict, base: dict) -> bool:
        """Whether ``subtype`` lists ``base`` as a ``$ref`` member of its allOf."""
        refs = (sub.get("$ref") for sub in subtype.get("allOf", ()))
        return any(ref is not None and self.resolve(ref) is base for ref in refs)

    def _discriminator_target(self, schema: dict, tag: object) -> str | None:
        """Map a discriminator value to a schema ref, or None when it is not allowed."""
        if not isinstance(tag, str):
            return None
        mapping = schema["discriminator"].get("mapping")
        if mapping is not None:
            return mapping.get(tag)
        # Without an explicit mapping OpenAPI uses the component schema name itself.
        implicit = f"#/components/schemas/{tag}"
        return implicit if tag in self.spec.get("components", {}).get("schemas", {}) else None

    def _check_object(self, schema: dict, value: dict, path: str, errors: _Errors) -> None:
        """Apply required / properties / additionalProperties to an object value."""
        for name in schema.get("required") or ():
            if name not in value:
                errors.add(_join(path, name), "is required")
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if errors.full:
                return
            if key in props:
                self._check(props[key], item, _join(path, key), errors)
            elif extra is False:
                errors.add(_join(path, key), "unexpected property")
            elif isinstance(extra, dict):
                self._check(extra, item, _join(path, key), errors)

    def _check_array(self, schema: dict, value: list, path: str, errors: _Errors) -> None:
        """Apply minItems / maxItems / items to an array value."""
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.add(path, f"at least {_count(schema['minItems'], 'item')}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.add(path, f"at most {_count(schema['maxItems'], 'item')}")
        items = schema.get("items")
        if items is None:
            return
        for index, item in enumerate(value):
            if errors.full:
                return
            self._check(items, item, f"{path}[{index}]", errors)

    def _check_alternatives(self, schema: dict, value: object, path: str, errors: _Errors) -> None:
        """Apply anyOf / oneOf by validating each branch in isolation."""
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if not branches:
                continue
            matches = sum(1 for sub in branches if self._matches(sub, value))
            if matches == 0:
                errors.add(path, f"does not match any allowed schema ({keyword})")
            elif keyword == "oneOf" and matches > 1:
                errors.add(path, f"matches {matches} schemas, expected exactly one (oneOf)")

    def _matches(self, schema: dict, value: object) -> bool:
        """Whether ``value`` validates against ``schema`` without errors."""
        errors = _Errors(limit=1)
        self._check(schema, value, "", errors)
        return not errors.full


@functools.cache
def default_validator() -> SpecValidator:
    """Return the process-wide validator so the 6k-line spec is parsed only once."""
    return SpecValidator()


# -- helpers -------------------------------------------------------------------------------


def _build_routes(paths: dict) -> dict[str, list[tuple[re.Pattern[str], Operation]]]:
    """Compile path templates per method, most literal templates first."""
    routes: dict[str, list[tuple[tuple[int, ...], re.Pattern[str], Operation]]] = {}
    for template, item in paths.items():
        pattern, rank = _compile_template(template)
        for method in HTTP_METHODS:
            raw = item.get(method)
            if isinstance(raw, dict):
                op = _make_operation(method, template, raw)
                routes.setdefault(method, []).append((rank, pattern, op))
    # A literal segment outranks a parameter at the first position where templates differ.
    return {
        method: [(pattern, op) for _, pattern, op in sorted(entries, key=lambda e: e[0])]
        for method, entries in routes.items()
    }


def _compile_template(template: str) -> tuple[re.Pattern[str], tuple[int, ...]]:
    """Turn ``/a/{id}/b`` into a regex plus a rank tuple (1 per parameter segment)."""
    parts, rank = [], []
    for segment in template.strip("/").split("/"):
        is_param = bool(_PARAM_SEGMENT.match(segment))
        parts.append("[^/]+" if is_param else re.escape(segment))
        rank.append(int(is_param))
    return re.compile("/" + "/".join(parts)), tuple(rank)


def _make_operation(method: str, template: str, raw: dict) -> Operation:
    """Build an Operation, keeping only a JSON request body schema."""
    body = raw.get("requestBody") or {}
    json_media = (body.get("content") or {}).get("application/json") or {}
    schema = json_media.get("schema")
    return Operation(
        method=method.upper(),
        template=template,
        operation_id=raw.get("operationId", ""),
        request_schema=schema,
        body_required=bool(body.get("required")) and schema is not None,
    )


def _join(path: str, key: str) -> str:
    """Append an object key to a JSON path."""
    return f"{path}.{key}" if path else key


def _count(n: int, noun: str) -> str:
    """Format ``n`` with a naively pluralised noun."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _json_type(value: object) -> str:
    """Name the JSON type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_type(value: object, expected: str) -> bool:
    """Whether ``value`` is an instance of the OpenAPI ``type`` ``expected``."""
    actual = _json_type(value)
    if expected == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


def _check_type(schema: dict, value: object, path: str, errors: _Errors) -> bool:
    """Check ``type`` (and null without ``nullable``); False stops further checks."""
    expected = schema.get("type")
    if expected is None:
        if value is None:
            errors.add(path, "must not be null")
            return False
        return True
    if _is_type(value, expected):
        return True
    errors.add(path, f"expected {expected}, got {_json_type(value)}")
    return False


def _check_scalar_keywords(schema: dict, value: object, path: str, errors: _Errors) -> None:
    """Apply enum, string and numeric constraints."""
    if "enum" in schema and value not in schema["enum"]:
        errors.add(path, f"must be one of {_enum_preview(schema['enum'])}")
    if isinstance(value, str):
        _check_string(schema, value, path, errors)
    elif _json_type(value) in ("integer", "number"):
        _check_number(schema, value, path, errors)


def _enum_preview(values: list) -> str:
    """Render allowed values compactly; some spec enums have ~90 entries."""
    shown = ", ".join(repr(v) for v in values[:_ENUM_PREVIEW])
    return f"[{shown}, ...]" if len(values) > _ENUM_PREVIEW else f"[{shown}]"


def _check_string(schema: dict, value: str, path: str, errors: _Errors) -> None:
    """Apply minLength / maxLength / pattern / format to a string."""
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.add(path, f"at least {_count(schema['minLength'], 'character')}")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.add(path, f"at most {_count(schema['maxLength'], 'character')}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.add(path, f"does not match pattern {schema['pattern']!r}")
    if schema.get("format") == "uri" and not _URI_SCHEME.match(value):
        errors.add(path, "must be an absolute URI")


def _check_number(schema: dict, value: float, path: str, errors: _Errors) -> None:
    """Apply minimum / maximum, including OpenAPI 3.0's boolean exclusive forms."""
    if "minimum" in schema:
        low, exclusive = schema["minimum"], schema.get("exclusiveMinimum") is True
        if value < low or (exclusive and value == low):
            errors.add(path, f"must be {'>' if exclusive else '>='} {low}")
    if "maximum" in schema:
        high, exclusive = schema["maximum"], schema.get("exclusiveMaximum") is True
        if value > high or (exclusive and value == high):
            errors.add(path, f"must be {'<' if exclusive else '<='} {high}")
