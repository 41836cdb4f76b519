"""A fast path for validation: checks plainly valid input against the same marshmallow schemas' fields
and validators at a fraction of marshmallow's cost, and returns None whenever anything is unusual so
that marshmallow itself runs and produces its messages. The rules are read from the schemas, so the
two cannot drift apart: anything this module does not understand falls back to marshmallow."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from marshmallow import fields as mf, validate

_FALLBACK = object()


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
            if "\x00" in value:
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
        if type(value) not in (int, float):
            return _FALLBACK
        value = float(value)
    elif kind is mf.AwareDateTime:
        if type(value) is not str:
            return _FALLBACK
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return _FALLBACK
        if value.tzinfo is None:
            return _FALLBACK
    elif kind is mf.Date:
        if type(value) is not str or len(value) != 10:
            return _FALLBACK
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return _FALLBACK
    elif kind is mf.UUID:
        if type(value) is not str:
            return _FALLBACK
        try:
            value = uuid.UUID(value)
        except ValueError:
            return _FALLBACK
    elif kind is mf.Dict and field.key_field is None and field.value_field is None:
        if type(value) is not dict:
            return _FALLBACK
    elif kind is mf.List and type(field.inner) is mf.Dict and field.inner.key_field is None:
        if type(value) is not list or any(type(item) is not dict for item in value):
            return _FALLBACK
    else:
        return _FALLBACK
    if field.validators and not _check_validators(field, value):
        return _FALLBACK
    return value


def fast_load(schema, data, partial: bool = False):
    """The loaded dict, or None to say 'let marshmallow decide'."""
    if type(data) is not dict:
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
