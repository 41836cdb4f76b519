"""A fast path for validation: checks plainly valid input against the same marshmallow schemas' fields
and validators at a fraction of marshmallow's cost, and returns None whenever anything is unusual so
that marshmallow itself runs and produces its messages. The rules are read from the schemas, so the
two cannot drift apart: anything this module does not understand falls back to marshmallow."""
from __future__ import annotations

import math
import re
from datetime import date, datetime

from marshmallow import ValidationError, fields as mf, validate

_FALLBACK = object()
MAX_INT64 = 2 ** 63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_text(value: str) -> bool:
    """NUL (PostgreSQL text cannot hold it) or an unpaired surrogate ("\\ud800" in JSON: not UTF-8, so the
    database driver fails the whole batch on it)."""
    return "\x00" in value or _SURROGATE.search(value) is not None


def finite_json(value, _depth: int = 0) -> None:
    """Validator for free-form JSON fields (checkpoints, data): no NaN or infinities, no integer beyond
    64 bits, at most 32 levels deep. PostgreSQL's JSON refuses NaN and the rest breaks readers; a value
    here that the database refused would fail the device's whole batch on every retry."""
    if _depth > 32:
        raise ValidationError("Nested too deeply (at most 32 levels).")
    if type(value) is float:
        if not math.isfinite(value):
            raise ValidationError("NaN and infinities are not numbers JSON can carry.")
    elif type(value) is int:
        if abs(value) > MAX_INT64:
            raise ValidationError(f"Number out of range (at most {MAX_INT64}).")
    elif type(value) is str:
        if unstorable_text(value):
            raise ValidationError("Must not contain NUL characters or unpaired surrogates.")
    elif type(value) is dict:
        for key, item in value.items():
            finite_json(key, _depth + 1)
            finite_json(item, _depth + 1)
    elif type(value) is list:
        for item in value:
            finite_json(item, _depth + 1)


def _check_validators(field, value) -> bool:
    validators = field.validators
    for validator in validators:
        if isinstance(validator, validate.Length):
            if (validator.min is not None and len(value) < validator.min) or (
                    validator.max is not None and len(value) > validator.max) or validator.equal is not None:
                return False
        elif isinstance(validator, validate.OneOf):
            if value not in validator.choices:
                return False
        elif isinstance(validator, validate.Range):
            if (validator.min is not None and value < validator.min) or (
                    validator.max is not None and value > validator.max) or not (
                    validator.min_inclusive and validator.max_inclusive):
                return False
        elif getattr(validator, "__name__", "") == "no_nul":
            if unstorable_text(value):
                return False
        elif validator is finite_json:
            try:
                finite_json(value)
            except ValidationError:
                return False
        else:
            return False
    return True


def _value(field, value):
    if value is None:
        return None if field.allow_none else _FALLBACK
    kind = type(field)
    if kind is mf.String:
        if type(value) is not str:
            return _FALLBACK
    elif kind is mf.Integer:
        if type(value) is not int:
            return _FALLBACK
    elif kind is mf.Float:
        if type(value) not in (int, float) or (type(value) is int and abs(value) > MAX_INT64):
            return _FALLBACK
        value = float(value)
        if not math.isfinite(value):  # NaN passes Range; the schema refuses it (allow_nan=False): decline
            return _FALLBACK
        if field.allow_nan is not False:
            return _FALLBACK  # a field that would take NaN is the schema's business, not ours
    elif kind in (mf.AwareDateTime, mf.Date, mf.UUID):
        # Parsing dates is where Python and marshmallow disagree most (ISO weeks, compact forms, offsets
        # like +08, non-ASCII digits, a trailing newline): the canonical forms devices send are parsed here
        # (a strict subset both accept alike); anything else goes through the field's own parser.
        if type(value) is not str:
            return _FALLBACK
        canonical = _CANONICAL.get(kind)
        try:
            if canonical is not None and canonical[0].fullmatch(value):
                value = canonical[1](value)
            else:
                value = field.deserialize(value)
        except (ValidationError, ValueError):
            return _FALLBACK
        if field.validators and not _check_validators(field, value):
            return _FALLBACK
        return value
    elif kind is mf.Dict and field.key_field is None and field.value_field is None:
        if type(value) is not dict:
            return _FALLBACK
    elif kind is mf.List and type(field.inner) is mf.Dict and field.inner.key_field is None:
        if type(value) is not list or any(type(item) is not dict for item in value):
            return _FALLBACK
        if field.inner.validators and not all(_check_validators(field.inner, item) for item in value):
            return _FALLBACK
    else:
        return _FALLBACK
    if field.validators and not _check_validators(field, value):
        return _FALLBACK
    return value


def _aware(text: str):
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("naive")
    return parsed


_CANONICAL = {
    mf.AwareDateTime: (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
                                  r"(?:Z|[+-][0-9]{2}:[0-9]{2})"), _aware),
    mf.Date: (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), date.fromisoformat),
}


def has_hooks(schema) -> bool:
    """pre/post_load, validates_schema or @validates: rules the fast path cannot see; it declines."""
    return any(getattr(schema, "_hooks", {}).values())


def fast_load(schema, data, partial: bool = False):
    """The loaded dict, or None to say 'let marshmallow decide'. Whenever it returns a dict, that dict equals
    what `schema.load(data)` returns (tests/security/test_fastcheck_property.py proves it)."""
    if type(data) is not dict or has_hooks(schema):
        return None
    declared = schema.fields
    loaded = {}
    for key, raw in data.items():
        field = declared.get(key)
        if field is None or field.data_key not in (None, key):
            return None
        value = _value(field, raw)
        if value is _FALLBACK:
            return None
        loaded[field.attribute or key] = value
    if not partial:
        for name, field in declared.items():
            if field.required and name not in data:
                return None
    return loaded
