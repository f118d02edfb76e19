"""The API's OpenAPI document, and JSON request bodies checked against the schemas it declares."""

import json
import re
import reprlib
from functools import cache
from pathlib import Path

from flask import request
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

DOCUMENT_URI = "urn:digits:openapi.json"
DOCUMENT = json.loads(Path(__file__).with_name("openapi.json").read_text())
REGISTRY = Registry().with_resource(DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


SCHEMAS = "#/components/schemas/"


def inlined(node):
    """A schema with each reference to another schema of the document replaced by that schema
    (none refers back to itself): jsonschema would otherwise look each one up on every
    validation, for three-fifths of the time a request body takes to check. Words beside a reference
    (its `description`) are kept."""
    if isinstance(node, dict):
        if node.get("$ref", "").startswith(SCHEMAS):
            beside = {key: inlined(value) for key, value in node.items() if key != "$ref"}
            return {**inlined(DOCUMENT["components"]["schemas"][node["$ref"].removeprefix(SCHEMAS)]), **beside}
        return {key: inlined(value) for key, value in node.items()}
    if isinstance(node, list):
        return [inlined(value) for value in node]
    return node


def _type(validator, types, instance, schema):
    """jsonschema's `type`, quoting the value it refuses shortened: its own message quotes all of it, and a
    body's field may be a list of millions, which took longer to quote than the whole body to parse."""
    types = [types] if isinstance(types, str) else types
    if not any(validator.is_type(instance, kind) for kind in types):
        # reprlib sorts every key of an object before it shortens it to a few.
        large = isinstance(instance, dict) and len(instance) > reprlib.aRepr.maxdict
        quoted = f"an object of {len(instance):,} members" if large else reprlib.repr(instance)
        yield ValidationError(f"{quoted} is not of type {', '.join(map(repr, types))}")


def _pattern(validator, pattern, instance, schema):
    """jsonschema's `pattern`, saying what the value must be in the words of the schema's `title` where it has
    one: its own message quotes the regular expression, written for Python's `re` (the "(?!\\n)" that keeps "$"
    from matching before a final newline), which tells a person sending a label or an id little."""
    if validator.is_type(instance, "string") and not re.search(pattern, instance):
        what = f"is not {schema['title']}" if "title" in schema else f"does not match {pattern!r}"
        yield ValidationError(f"{reprlib.repr(instance)} {what}")


Validator = validators.extend(Draft202012Validator, {"type": _type, "pattern": _pattern})


@cache
def schema_validator(name: str) -> Draft202012Validator:
    return Validator(inlined(DOCUMENT["components"]["schemas"][name]))


MAX_DETAIL = 300
"""jsonschema's messages quote the value they refuse, which may be the whole body."""


def check_against_schema(name: str, value) -> None:
    """Raise BadRequest, saying what is wrong and where, unless `value` fits the named schema."""
    try:
        error = best_match(schema_validator(name).iter_errors(value))
    except RecursionError:
        raise BadRequest("The JSON is nested too deeply.") from None
    if error is not None:
        message = error.message if len(error.message) <= MAX_DETAIL else error.message[:MAX_DETAIL] + "..."
        where = "" if error.json_path == "$" else f" (at {error.json_path[:MAX_DETAIL]})"
        raise BadRequest(f"{message}{where}.")


def json_body(schema_name: str):
    """The request's JSON body, parsed and checked against a schema of the document."""
    if not request.is_json:
        raise UnsupportedMediaType(
            f"Send a JSON body with Content-Type: application/json, not {request.mimetype or 'none'}."
        )
    try:
        body = json.loads(request.get_data())
    except ValueError as error:
        raise BadRequest(f"The body is not valid JSON: {error}.") from None
    except RecursionError:
        raise BadRequest("The JSON is nested too deeply.") from None
    check_against_schema(schema_name, body)
    return body
