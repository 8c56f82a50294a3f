"""Validate LINE Messaging API request bodies against LINE's official OpenAPI 3.0 spec.

An OpenAPI 3.0 schema is JSON Schema draft 4 plus a few keywords, so `jsonschema`
does the validating. This module adds what OpenAPI has on top, as LINE's spec
uses it: `nullable`, integers written as `20.0`, `format: uri` (any scheme), and
`discriminator` on a base schema whose subtypes include it through `allOf`. The
spec is compiled once: each base becomes a dispatch on its tag and keeps its own
keywords apart, so a subtype checks them without dispatching again. Validators
are built once per operation or schema; errors read `path: message`.
"""

from __future__ import annotations

import functools
import operator
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators

SPEC_FILENAME = "messaging-api.yml"
SPEC_DIR_ENV = "LINE_OPENAPI_DIR"
MAX_ERRORS = 20
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARAM_SEGMENT = re.compile(r"^\{[^/{}]+\}$")
# A URI only has to carry a scheme: LINE accepts https:, http:, tel:, line: and more.
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ENUM_PREVIEW = 10
_SCHEMAS = "#/components/schemas/"


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


class SpecValidator:
    """Request-body validator backed by one parsed copy of the OpenAPI document."""

    def __init__(self, spec_path: Path | None = None):
        self.spec_path = Path(spec_path) if spec_path else default_spec_path()
        with self.spec_path.open("rb") as fh:
            self.spec: dict = yaml.load(fh, Loader=_Loader)
        self._routes = _build_routes(self.spec.get("paths") or {})
        self._compiler = _Compiler(self.spec)
        self._validators: dict[int, Any] = {}  # one per schema validated against

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
        return self._run(self.resolve(_SCHEMAS + _escape(schema_name)), value)

    def resolve(self, ref: str) -> dict:
        """Resolve a local ``#/...`` JSON pointer in the spec as written."""
        return _resolve(self.spec, ref)

    def _run(self, schema: dict, value: object) -> list[str]:
        """Validate ``value`` against ``schema``; at most MAX_ERRORS errors, in order."""
        validator = self._validators.get(id(schema))
        if validator is None:
            validator = _Validator(self._compiler.compile(schema), format_checker=_FORMATS)
            self._validators[id(schema)] = validator
        errors: dict[str, None] = {}  # ordered and de-duplicated
        for error in validator.iter_errors(value):
            errors.setdefault(f"{_path(error)}: {_message(error)}")
            if len(errors) >= MAX_ERRORS:
                break
        return list(errors)


@functools.cache
def default_validator() -> SpecValidator:
    """Return the process-wide validator so the 6k-line spec is parsed only once."""
    return SpecValidator()


# -- what OpenAPI 3.0 adds to JSON Schema draft 4 ---------------------------------------


def _type(validator, expected: str, instance, schema: dict) -> Iterator[ValidationError]:
    """``type``, letting null through where the schema is ``nullable``."""
    if instance is None and schema.get("nullable") is True:
        return
    if not validator.is_type(instance, expected):
        yield ValidationError(f"expected {expected}, got {_json_type(instance)}")


def _enum(validator, allowed: list, instance, schema: dict) -> Iterator[ValidationError]:
    """``enum``, unless ``type`` (or ``nullable``) already answered for this value."""
    if instance is None and schema.get("nullable") is True:
        return
    if "type" in schema and not validator.is_type(instance, schema["type"]):
        return
    if instance not in allowed:
        yield ValidationError(f"must be one of {_enum_preview(allowed)}")


def _required(validator, names: list, instance, schema: dict) -> Iterator[ValidationError]:
    """``required``, each missing property reported at its own path."""
    if isinstance(instance, dict):
        for name in names:
            if name not in instance:
                yield ValidationError("is required", path=[name])


def _additional(validator, extra, instance, schema: dict) -> Iterator[ValidationError]:
    """``additionalProperties``, each unexpected property reported at its own path."""
    if not isinstance(instance, dict):
        return
    known = schema.get("properties") or {}
    for key, item in instance.items():
        if key in known:
            continue
        if extra is False:
            yield ValidationError("unexpected property", path=[key])
        elif isinstance(extra, dict):
            yield from validator.descend(item, extra, path=key)


def _discriminator(validator, spec: dict, instance, schema: dict) -> Iterator[ValidationError]:
    """A base schema's dispatch: its tag names the subtype the value must match."""
    if not isinstance(instance, dict):
        yield from validator.descend(instance, spec["own"])  # says what the type should be
        return
    prop = spec["propertyName"]
    if prop not in instance:
        yield ValidationError("is required", path=[prop])
        return
    tag = instance[prop]
    target = spec["mapping"].get(tag) if isinstance(tag, str) else None
    if target is None:
        hint = f" (expected one of {', '.join(spec['mapping'])})" if spec["explicit"] else ""
        yield ValidationError(f"unknown value {tag!r}{hint}", path=[prop])
        return
    yield from validator.descend(instance, target)
    # LINE's subtypes include the base through allOf, which checks its keywords.
    if id(target) not in spec["extended_by"]:
        yield from validator.descend(instance, spec["own"])


def _tag(validator, spec: dict, instance, schema: dict) -> Iterator[ValidationError]:
    """A subtype validated directly (carousel items): its tag must name it."""
    prop, tags = spec["propertyName"], spec["tags"]
    if isinstance(instance, dict) and prop in instance and instance[prop] not in tags:
        expected = " or ".join(repr(tag) for tag in tags)
        yield ValidationError(f"expected {expected}, got {instance[prop]!r}", path=[prop])


_Validator = validators.create(
    meta_schema=Draft4Validator.META_SCHEMA,
    validators={
        **Draft4Validator.VALIDATORS,
        "type": _type,
        "enum": _enum,
        "required": _required,
        "additionalProperties": _additional,
        "x-discriminator": _discriminator,
        "x-tag": _tag,
    },
    # OpenAPI's integer is JSON's: 20.0 is one (draft 4 alone would refuse it).
    type_checker=Draft4Validator.TYPE_CHECKER.redefine(
        "integer",
        lambda _checker, value: (
            (isinstance(value, int) and not isinstance(value, bool))
            or (isinstance(value, float) and value.is_integer())
        ),
    ),
    # Compiled schemas hold no $ref (see _Compiler): every keyword applies.
    applicable_validators=operator.methodcaller("items"),
)
_FORMATS = FormatChecker(formats=())
_FORMATS.checks("uri")(lambda value: not isinstance(value, str) or bool(_URI_SCHEME.match(value)))


class _Compiler:
    """The spec as jsonschema runs it, built once.

    Each `$ref` becomes the schema it names (the same object wherever it is named,
    so recursive schemas become cycles and nothing is looked up while validating).
    A base schema with a discriminator becomes an `x-discriminator` keyword that
    picks the subtype by tag; its own keywords are kept apart, and a subtype's
    `allOf: [$ref base]` names those instead (with an `x-tag` check of its tag), so
    Message -> TextMessage -> Message does not dispatch again.
    """

    def __init__(self, spec: dict):
        self.spec = spec
        self.schemas = (spec.get("components") or {}).get("schemas") or {}
        self.bases = {name for name, schema in self.schemas.items() if "discriminator" in schema}
        self.extended_by: dict[str, set[str]] = {name: set() for name in self.bases}
        for name, schema in self.schemas.items():
            for part in schema.get("allOf") or ():
                base = _schema_name(part.get("$ref"))
                if base in self.bases:
                    self.extended_by[base].add(name)
        self._names = {id(schema): name for name, schema in self.schemas.items()}
        self._done: dict[int, dict] = {}
        self._own: dict[str, dict] = {}

    def compile(self, node: dict) -> dict:
        """The schema jsonschema runs for `node` (built once)."""
        while "$ref" in node:  # draft 4: a $ref's siblings are ignored
            node = _resolve(self.spec, node["$ref"])
        done = self._done.get(id(node))
        if done is not None:
            return done
        compiled: dict = {}
        self._done[id(node)] = compiled  # before recursing: schemas refer to themselves
        if "discriminator" in node:
            compiled["x-discriminator"] = self._dispatch(node)
        else:
            compiled.update(self._keywords(node, self._names.get(id(node))))
        return compiled

    def _keywords(self, node: dict, name: str | None = None) -> dict:
        """A schema's keywords with their subschemas compiled (`name`: a component's)."""
        out = dict(node)
        for key, value in node.items():
            if key == "properties":
                out[key] = {prop: self.compile(sub) for prop, sub in value.items()}
            elif key in ("items", "not") or (
                key == "additionalProperties" and value not in (True, False)
            ):
                out[key] = self.compile(value)
            elif key == "allOf":
                out[key] = [self._part(sub, name) for sub in value]
            elif key in ("anyOf", "oneOf"):
                out[key] = [self.compile(sub) for sub in value]
        return out

    def _part(self, part: dict, subtype: str | None) -> dict:
        """An allOf member; naming a base: its own keywords, and a check of the tag."""
        base = _schema_name(part.get("$ref"))
        if base not in self.bases:
            return self.compile(part)
        discriminator = self.schemas[base]["discriminator"]
        ref = _SCHEMAS + _escape(subtype or "")
        tags = [tag for tag, target in self._mapping(discriminator).items() if target == ref]
        if not tags:
            return self.own(base)
        check = {"propertyName": discriminator["propertyName"], "tags": tags}
        return {"allOf": [self.own(base)], "x-tag": check}

    def own(self, base: str) -> dict:
        """A base schema's keywords without its discriminator."""
        if base not in self._own:
            self._own[base] = {}
            keywords = {k: v for k, v in self.schemas[base].items() if k != "discriminator"}
            self._own[base].update(self._keywords(keywords))
        return self._own[base]

    def _dispatch(self, node: dict) -> dict:
        """The `x-discriminator` keyword of a base schema: tag -> subtype, and the rest."""
        discriminator = node["discriminator"]
        base = self._names[id(node)]
        targets = {}
        for tag, ref in self._mapping(discriminator).items():
            name = _schema_name(ref)
            targets[tag] = self.own(base) if name == base else self.compile({"$ref": ref})
        return {
            "propertyName": discriminator["propertyName"],
            "mapping": targets,
            "explicit": "mapping" in discriminator,
            "own": self.own(base),
            "extended_by": {id(self.compile(self.schemas[n])) for n in self.extended_by[base]}
            | {id(self.own(base))},
        }

    def _mapping(self, discriminator: dict) -> dict[str, str]:
        """Tag -> schema ref; without a mapping OpenAPI uses the component schema's name."""
        if "mapping" in discriminator:
            return discriminator["mapping"]
        return {name: _SCHEMAS + _escape(name) for name in self.schemas}


def _resolve(spec: dict, ref: str) -> dict:
    """Resolve a local ``#/...`` JSON pointer."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref is supported: {ref}")
    node: Any = spec
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"unresolvable $ref {ref}")
        node = node[key]
    return node


def _schema_name(ref: str | None) -> str | None:
    return ref[len(_SCHEMAS) :] if ref and ref.startswith(_SCHEMAS) else None


# -- errors --------------------------------------------------------------------------------


def _path(error: ValidationError) -> str:
    """``messages[0].contents.body`` for the error's place in the document."""
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "(root)"


def _message(error: ValidationError) -> str:
    """The error in the simulator's words (ours as written, jsonschema's reworded)."""
    kind, expected, schema = error.validator, error.validator_value, error.schema
    if kind in ("minItems", "maxItems"):
        return f"{'at least' if kind == 'minItems' else 'at most'} {_count(expected, 'item')}"
    if kind in ("minLength", "maxLength"):
        bound = "at least" if kind == "minLength" else "at most"
        return f"{bound} {_count(expected, 'character')}"
    if kind == "pattern":
        return f"does not match pattern {expected!r}"
    if kind == "format":
        return "must be an absolute URI" if expected == "uri" else f"must be a valid {expected}"
    if kind in ("minimum", "maximum"):
        exclusive = schema.get("exclusiveMinimum" if kind == "minimum" else "exclusiveMaximum")
        sign = (">" if kind == "minimum" else "<") + ("" if exclusive is True else "=")
        return f"must be {sign} {expected}"
    if kind in ("anyOf", "oneOf"):
        if error.context:
            return f"does not match any allowed schema ({kind})"
        return f"matches more than one schema, expected exactly one ({kind})"
    return error.message


def _escape(key: str) -> str:
    """A key as a JSON pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


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


def _enum_preview(values: list) -> str:
    """Render allowed values compactly; some spec enums have ~90 entries."""
    shown = ", ".join(repr(v) for v in values[:_ENUM_PREVIEW])
    return f"[{shown}, ...]" if len(values) > _ENUM_PREVIEW else f"[{shown}]"


# -- routes --------------------------------------------------------------------------------


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
