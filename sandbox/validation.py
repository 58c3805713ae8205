"""Request validation from KuCoin's OpenAPI request schemas (standard library only).

A field that the operation does not declare, a value of the wrong JSON type, a value outside its
enum or bounds, or a missing required field is refused with 400100 naming the field, as KuCoin's
parameter check does. Query parameters that repeat a path variable are allowed: the official SDK
sends them (kucoin-api.md 1.2). ``null`` counts as "not sent" (clients differ in how they omit).
A route's ``lenient`` names fields whose enum and required checks are skipped (documented
exceptions, e.g. permissions accepted in any case).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from . import openapi
from .errors import param_error


def _type_ok(value, typ: str | None) -> bool:
    if typ is None:
        return True
    if typ == "string":
        return isinstance(value, str)
    if typ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ == "boolean":
        return isinstance(value, bool)
    if typ == "array":
        return isinstance(value, list)
    if typ == "object":
        return isinstance(value, dict)
    return True


def _check_value(value, schema: dict, name: str, lenient: tuple) -> None:
    typ = schema.get("type")
    if not _type_ok(value, typ):
        raise param_error(f"{name} must be {typ}" if typ else f"{name} is invalid")
    short = name.split(".")[-1].split("[")[0]
    if "enum" in schema and short not in lenient and value not in schema["enum"]:
        raise param_error(f"{name} is invalid, must be one of {', '.join(map(str, schema['enum']))}")
    if typ == "string":
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise param_error(f"{name} length must be at most {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise param_error(f"{name} length must be at least {schema['minLength']}")
    if typ in ("integer", "number"):
        if "maximum" in schema and value > schema["maximum"]:
            raise param_error(f"{name} must be at most {schema['maximum']}")
        if "minimum" in schema and value < schema["minimum"]:
            raise param_error(f"{name} must be at least {schema['minimum']}")
    if typ == "array":
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise param_error(f"{name} must have at most {schema['maxItems']} items")
        items = schema.get("items") or {}
        for i, v in enumerate(value):
            _check_value(v, items, f"{name}[{i}]", lenient)
    if typ == "object" and "properties" in schema:
        _check_object(value, schema, name + ".", lenient)


def _check_object(obj: dict, schema: dict, prefix: str, lenient: tuple) -> None:
    props = schema.get("properties") or {}
    for k, v in obj.items():
        if k not in props:
            raise param_error(f"{prefix}{k} is not a recognised parameter")
        if v is None:
            continue
        _check_value(v, props[k], prefix + k, lenient)
    for k in schema.get("required") or ():
        if k not in lenient and obj.get(k) is None:
            raise param_error(f"{prefix}{k} is required")


def _coerce_query(text: str, schema: dict, name: str):
    typ = schema.get("type")
    try:
        if typ == "integer":
            return int(text)
        if typ == "number":
            Decimal(text)
            return float(text)
        if typ == "boolean":
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
    except (ValueError, InvalidOperation):
        raise param_error(f"{name} must be {typ}") from None
    return text


def validate_request(req, route) -> None:
    op = route.spec
    if op is None:
        return
    lenient = route.lenient
    params = op.get("parameters") or []
    query_params = {p["name"]: p for p in params if p.get("in") == "query"}
    path_names = {p["name"] for p in params if p.get("in") == "path"} | set(route.param_names)
    seen = set()
    for name, text in req.query:
        p = query_params.get(name)
        if p is None:
            if name in path_names:
                continue
            raise param_error(f"{name} is not a recognised parameter")
        seen.add(name)
        schema = p.get("schema") or {}
        value = _coerce_query(text, schema, name)
        if schema.get("type") != "array":
            _check_value(value, schema, name, lenient)
    for name, p in query_params.items():
        if p.get("required") and name not in seen and name not in lenient:
            raise param_error(f"{name} is required")
    if req.method in ("POST", "PUT", "PATCH"):
        schema = openapi.request_body_schema(op)
        if schema is None:
            return
        body = req.body
        if body is None:
            body = {} if schema.get("type") == "object" else None
        if schema.get("type") == "object":
            if not isinstance(body, dict):
                raise param_error("request body must be a JSON object")
            _check_object(body, schema, "", lenient)
        elif schema.get("type") == "array":
            if not isinstance(body, list):
                raise param_error("request body must be a JSON array")
            _check_value(body, schema, "body", lenient)
