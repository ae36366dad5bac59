"""GitHub's official OpenAPI description, read as the judge of every request and reply of the fake.

The description (npm package @octokit/openapi, installed by .ci/install-openapi) is OpenAPI 3.0.3.
Its schemas are turned into JSON Schema draft 4 (the dialect OpenAPI 3.0 builds on) once per process:
`nullable: true` becomes a `null` type, `$ref`s become absolute so any schema validates on its own, and
objects that list their properties are closed, so an undocumented field in a request body (or in a
reply of the fake) is a violation instead of passing silently.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT4

from tests.conftest import in_ci

PINNED_VERSION = "23.0.2"
PACKAGE = Path.home() / ".cache" / "release-tooling" / "openapi" / "node_modules" / "@octokit" / "openapi"
# The plain file, not the .deref one: its $refs keep it five times smaller, and jsonschema follows them.
DESCRIPTION_FILE = PACKAGE / "generated" / "api.github.com.json"
ENV_VAR = "RELEASE_GITHUB_OPENAPI"

SPEC_URI = "urn:github-openapi"
# Where an operation is served, by the host of its `servers` entry; the fake serves each under a path prefix.
SERVER_PREFIXES = {"api": "", "uploads": "/uploads"}
# Replies of the fake that an operation does not document (401, 429, 5xx ...) are GitHub's error shapes.
ERROR_SCHEMA = {
    "anyOf": [{"$ref": f"{SPEC_URI}#/components/schemas/{name}"} for name in ("basic-error", "validation-error")]
}


class Violation(Exception):
    """A request (or a reply of the fake) that GitHub's description does not allow."""


def openapi_path() -> Path:
    """The description file: $RELEASE_GITHUB_OPENAPI, else the pinned package in the cache.

    Missing (or another version in the cache) fails the test under CI=true and skips it elsewhere.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        if Path(override).is_file():
            return Path(override)
        problem = f"{ENV_VAR}={override} is not a file"
    else:
        version = _installed_version()
        if version == PINNED_VERSION and DESCRIPTION_FILE.is_file():
            return DESCRIPTION_FILE
        found = f"version {version} is installed" if version else "it is not installed"
        problem = f"GitHub's OpenAPI description (@octokit/openapi {PINNED_VERSION}) is needed; {found}"
    message = f"{problem}: run .ci/install-openapi"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _installed_version() -> str | None:
    try:
        return str(json.loads((PACKAGE / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


# --- OpenAPI 3.0 schemas as JSON Schema draft 4 -------------------------------------------------


def to_json_schema(schema: Any, *, closed: bool = True) -> Any:
    """One OpenAPI schema object as draft-4 JSON Schema (see the module docstring).

    `closed` is False for the branches of an allOf: each lists only part of the properties, so closing
    one would refuse the others'.
    """
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        # OpenAPI 3.0 ignores a $ref's siblings; absolute, so that a schema taken out of the file resolves.
        return {"$ref": SPEC_URI + schema["$ref"]}
    out = dict(schema)
    for key in ("items", "not", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out[key] = to_json_schema(schema[key])
    if "properties" in schema:
        out["properties"] = {name: to_json_schema(sub) for name, sub in schema["properties"].items()}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            out[key] = [to_json_schema(sub) for sub in schema[key]]
    if "allOf" in schema:
        out["allOf"] = [to_json_schema(sub, closed=False) for sub in schema["allOf"]]
    if closed and "properties" in schema and "additionalProperties" not in schema and "allOf" not in schema:
        out["additionalProperties"] = False
    if schema.get("nullable") is True:
        out.pop("nullable")
        if "type" in out and not any(key in out for key in ("allOf", "anyOf", "oneOf")):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def _components_used_in_all_of(doc: Any) -> frozenset[str]:
    """Names of the component schemas that some allOf lists as a branch."""
    names: set[str] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            all_of = node.get("allOf")
            for branch in all_of if isinstance(all_of, list) else ():
                ref = branch.get("$ref", "") if isinstance(branch, dict) else ""
                if ref.startswith("#/components/schemas/"):
                    names.add(ref.rsplit("/", 1)[1])
            stack.extend(value for key, value in node.items() if key not in ("example", "examples"))
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(names)


def _convert_document(doc: Any, open_names: frozenset[str]) -> Any:
    """The description with every schema converted: component schemas and every `schema` member."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        return {
            key: (to_json_schema(value) if key == "schema" else walk(value))
            for key, value in node.items()
            if key not in ("example", "examples")
        }

    converted = walk({key: value for key, value in doc.items() if key != "components"})
    components = dict(doc.get("components", {}))
    schemas = components.pop("schemas", {})
    converted["components"] = walk(components)
    converted["components"]["schemas"] = {
        # A component that is an allOf branch somewhere stays open everywhere.
        name: to_json_schema(schema, closed=name not in open_names)
        for name, schema in schemas.items()
    }
    return converted


# --- operations and path matching ----------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One documented operation, with its parameters' $refs resolved."""

    operation_id: str
    method: str
    template: str
    server: str
    path_params: Mapping[str, Any]  # name -> parameter object
    query_params: Mapping[str, Any]
    request_body: Any  # the requestBody object, or None
    responses: Mapping[str, Any]  # status (or "default") -> response object


@dataclass(frozen=True)
class Route:
    """One path template of one server, as a regex with its parameter names in order."""

    server: str
    template: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    specificity: tuple[int, ...]  # per segment, 0 literal and 1 parameter: smaller sorts first
    operations: Mapping[str, Operation]  # upper-case method -> operation


def _route_pattern(template: str, multi_segment: set[str]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names = tuple(re.findall(r"\{([^}]+)\}", template))
    regex = ""
    for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
        regex += re.escape(literal)
        if name:
            # A multi-segment parameter (git refs: "tags/v1.0") spans slashes.
            regex += "(.+)" if name in multi_segment else "([^/]+)"
    return re.compile(regex + "$"), names


def _server_of(operation: Mapping[str, Any]) -> str:
    servers = operation.get("servers") or [{"url": "https://api.github.com"}]
    host = re.sub(r"^[a-z]+://", "", servers[0]["url"]).split(".", 1)[0]
    return host if host in SERVER_PREFIXES else "api"


class Description:
    """GitHub's REST API description: finds the operation of a request and judges requests and replies."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version = str(raw.get("info", {}).get("version", "?"))
        self.doc = _convert_document(raw, _components_used_in_all_of(raw))
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT4.create_resource(self.doc))
        self.routes = sorted(self._routes(), key=lambda route: (route.specificity, route.template))
        # By the schema's id; the schema is kept with its validator so that its id is never reused.
        self._validators: dict[int, tuple[Any, jsonschema.Draft4Validator]] = {}

    def resolve(self, node: Any) -> Any:
        """Follow a "#/..." $ref (parameters, responses, headers) inside the description."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"].removeprefix(SPEC_URI)
            node = self.doc
            for part in ref.removeprefix("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _routes(self) -> list[Route]:
        routes = []
        for template, item in self.doc["paths"].items():
            shared = [self.resolve(param) for param in item.get("parameters", [])]
            by_server: dict[str, dict[str, Operation]] = {}
            multi: set[str] = set()
            for method, raw_op in item.items():
                if method == "parameters" or not isinstance(raw_op, dict):
                    continue
                params = {(p["in"], p["name"]): p for p in shared}
                params.update({(p["in"], p["name"]): p for p in map(self.resolve, raw_op.get("parameters", []))})
                multi |= {name for (where, name), p in params.items() if where == "path" and p.get("x-multi-segment")}
                op = Operation(
                    operation_id=raw_op["operationId"],
                    method=method.upper(),
                    template=template,
                    server=_server_of(raw_op),
                    path_params={name: p for (where, name), p in params.items() if where == "path"},
                    query_params={name: p for (where, name), p in params.items() if where == "query"},
                    request_body=self.resolve(raw_op.get("requestBody")),
                    responses=raw_op.get("responses", {}),
                )
                by_server.setdefault(op.server, {})[op.method] = op
            pattern, names = _route_pattern(template, multi)
            specificity = tuple(int(segment.startswith("{")) for segment in template.split("/"))
            routes += [Route(server, template, pattern, names, specificity, ops) for server, ops in by_server.items()]
        return routes

    # --- requests ---

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation a request goes to, and its path parameters; Violation when none is documented."""
        prefixed = (name for name, prefix in SERVER_PREFIXES.items() if prefix and path.startswith(prefix + "/"))
        server = next(prefixed, "api")
        server_path = path.removeprefix(SERVER_PREFIXES[server])
        matched = [(route, found) for route in self.routes if (found := route.pattern.match(server_path))]
        here = [(route, found) for route, found in matched if route.server == server]
        for route, found in here:
            if method in route.operations:
                values = (unquote(value) for value in found.groups())
                return route.operations[method], dict(zip(route.names, values, strict=True))
        elsewhere = [route for route, _ in matched if route.server != server and method in route.operations]
        if elsewhere:
            route = elsewhere[0]
            raise Violation(
                f"{method} {route.template} ({route.operations[method].operation_id}) is served by the "
                f"{route.server} host, not the {server} host: use the URL GitHub hands out (upload_url)"
            )
        if here:
            documented = ", ".join(sorted({m for route, _ in here for m in route.operations}))
            raise Violation(f"{method} is not documented for {here[0][0].template} (documented: {documented})")
        raise Violation(f"no documented path matches {path}")

    def check_params(self, op: Operation, path_params: Mapping[str, str], query: Mapping[str, list[str]]) -> None:
        """Path and query parameters: documented, required ones present, values of the documented type."""
        for name, value in path_params.items():
            self._check_value(op, op.path_params[name], value)
        for name, values in query.items():
            param = op.query_params.get(name)
            if param is None:
                raise Violation(f"{op.operation_id}: query parameter {name!r} is not documented")
            if len(values) > 1:
                raise Violation(f"{op.operation_id}: query parameter {name!r} is given {len(values)} times")
            self._check_value(op, param, values[0])
        missing = [name for name, param in op.query_params.items() if param.get("required") and name not in query]
        if missing:
            raise Violation(f"{op.operation_id}: required query parameter {missing[0]!r} is missing")

    def _check_value(self, op: Operation, param: Mapping[str, Any], text: str) -> None:
        schema = param.get("schema", {})
        value = _typed(text, schema)
        error = best_match(self._validator(schema).iter_errors(value))
        if error is not None:
            raise Violation(f"{op.operation_id}: {param['in']} parameter {param['name']}={text!r}: {error.message}")

    def check_body(self, op: Operation, content_type: str, body: bytes) -> Any:
        """The request body: a documented media type, and JSON that validates; returns the parsed JSON."""
        documented = (op.request_body or {}).get("content", {})
        if not body:
            if (op.request_body or {}).get("required"):
                raise Violation(f"{op.operation_id}: the request body is required")
            return None
        if not documented:
            raise Violation(f"{op.operation_id}: takes no request body, got {len(body)} bytes")
        media = content_type.split(";", 1)[0].strip().lower()
        if "application/json" not in documented:
            # Raw data (release assets): GitHub takes the asset's own media type, which it requires.
            if not media:
                raise Violation(f"{op.operation_id}: a Content-Type header is required for raw data")
            return None
        if media != "application/json":
            raise Violation(f"{op.operation_id}: the body must be application/json, not {media or 'untyped'}")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise Violation(f"{op.operation_id}: the body is not JSON: {exc}") from None
        self._check_schema(documented["application/json"]["schema"], data, f"{op.operation_id} request body")
        return data

    # --- replies ---

    def check_reply(self, op: Operation, status: int, data: Any) -> None:
        """A reply of the fake: a documented status (errors may use GitHub's error shapes) and schema."""
        response = self.resolve(op.responses.get(str(status)) or op.responses.get("default"))
        if response is None:
            if status < 400:
                raise Violation(f"{op.operation_id}: the fake replied {status}, which is not documented")
            schema = ERROR_SCHEMA
        else:
            content = response.get("content", {})
            if "application/json" not in content:
                return  # documented without a body schema (204, some 422s)
            schema = content["application/json"]["schema"]
        self._check_schema(schema, data, f"{op.operation_id} reply {status}")

    def minimal(self, schema: Any) -> Any:
        """The smallest value a schema allows: required members only, null where nullable, empty or zero.

        The fake fills the many members of a large reply (a repository) this way and sets those that matter.
        """
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [self.resolve(branch) for branch in schema[key]]
                return None if {"type": "null"} in branches else self.minimal(branches[0])
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for branch in schema["allOf"]:
                merged |= self.minimal(branch)
            return merged
        types = schema.get("type")
        kind = types if isinstance(types, str) else next(t for t in types or ["object"] if t != "null")
        if isinstance(types, list) and "null" in types:
            return None
        if "enum" in schema:
            return schema["enum"][0]
        empty = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": []}
        if kind in empty:
            return empty[kind]
        properties = schema.get("properties", {})
        return {name: self.minimal(properties[name]) for name in schema.get("required", []) if name in properties}

    def _check_schema(self, schema: Any, data: Any, what: str) -> None:
        error = best_match(self._validator(schema).iter_errors(data))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(top)"
            raise Violation(f"{what}: at {where}: {error.message}")

    def _validator(self, schema: Any) -> jsonschema.Draft4Validator:
        key = id(schema)
        if key not in self._validators:
            self._validators[key] = (schema, jsonschema.Draft4Validator(schema, registry=self.registry))
        return self._validators[key][1]


def _typed(text: str, schema: Mapping[str, Any]) -> Any:
    """A parameter's text as the documented type, so that jsonschema can judge it; left as text if it is not."""
    types = schema.get("type")
    kinds = types if isinstance(types, list) else [types]
    if "integer" in kinds and re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if "number" in kinds and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        return float(text)
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    if "array" in kinds:
        return text.split(",")
    return text


@functools.cache
def load_description(path: Path) -> Description:
    """The description at `path`, converted once per process (it takes a few seconds)."""
    return Description(json.loads(path.read_text(encoding="utf-8")))
