"""The sync fast path agrees with marshmallow (hole 7): for every writable collection, whatever JSON a
device sends, `fast_load` either declines (None) or returns exactly what `schema.load` returns. It must
never accept what the schema refuses (NaN, infinities, huge numbers, odd date formats)."""
from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from marshmallow import ValidationError, fields as mf, validates_schema

from sync.fastcheck import fast_load
from sync.schemas import FIELD_SCHEMAS, PARTIAL_SCHEMAS

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.sampled_from([0, -1, 2 ** 31, 2 ** 63, 2 ** 64, 10 ** 400]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0]),
    st.text(max_size=12), st.sampled_from(["", "\x00", "a\x00b", "x" * 301, "x" * 5001]),
)
DATE_TEXTS = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-30", "2026-W48-1", "20261130", "2026-1-5", "2026-02-30", "2026-11-30T00:00:00",
                     "9999-12-31", "0001-01-01", " 2026-11-30", "2026-11-30 "]),
)
DATETIME_TEXTS = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-30T12:00:00+08:00", "2026-11-30T12:00:00+08", "2026-11-30 12:00:00Z",
                     "2026-11-30T12:00:00Z", "2026-11-30T12:00:00.1234567+00:00", "20261130T120000Z",
                     "2026-11-30T12:00:00", "9999-12-31T23:00:00+00:00", "2026-11-30T24:00:00+00:00",
                     "2026-11-30T12:00+00:00", "2026-11-30"]),
)
UUID_TEXTS = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
                       st.uuids().map(lambda u: u.hex), st.sampled_from(["not-a-uuid", "{%s}" % uuid.uuid4()]))
JSON = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                    max_leaves=8)


def _value_for(field):
    kinds = [JSON]
    if isinstance(field, mf.Date):
        kinds.append(DATE_TEXTS)
    elif isinstance(field, mf.DateTime):
        kinds.append(DATETIME_TEXTS)
    elif isinstance(field, mf.UUID):
        kinds.append(UUID_TEXTS)
    elif isinstance(field, mf.String) and field.validators:
        choices = [c for v in field.validators for c in getattr(v, "choices", [])]
        if choices:
            kinds.append(st.sampled_from(choices))
    elif isinstance(field, mf.List):
        kinds.append(st.lists(st.dictionaries(st.text(max_size=3), JSON, max_size=3), max_size=3))
    elif isinstance(field, (mf.Float, mf.Integer)):
        kinds.append(st.integers(min_value=-200, max_value=200) | st.floats(min_value=-200, max_value=200))
    return st.one_of(*kinds)


def _documents(schema):
    names = sorted(schema.fields)
    return st.fixed_dictionaries({}, optional={name: _value_for(schema.fields[name]) for name in names}).flatmap(
        lambda doc: st.one_of(st.just(doc), st.dictionaries(st.sampled_from(["extra", "id", "ticket"]), JSON,
                                                            max_size=1).map(lambda more: {**doc, **more})))


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


CASES = [(name, partial) for name in sorted(FIELD_SCHEMAS) for partial in (False, True)]


@pytest.mark.parametrize("name,partial", CASES)
def test_fast_path_equals_schema_or_declines(name, partial):
    schema = PARTIAL_SCHEMAS[name] if partial else FIELD_SCHEMAS[name]

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_documents(schema))
    def check(document):
        fast = fast_load(schema, document, partial=partial)
        if fast is None:
            return  # declined: marshmallow decides, with its messages
        try:
            loaded = schema.load(document)
        except ValidationError as exc:
            raise AssertionError(f"fast path accepted what the schema refuses: {document!r} → {exc.messages}")
        assert loaded.keys() == fast.keys(), (document, loaded, fast)
        for key in loaded:
            assert _same(loaded[key], fast[key]), (key, document, loaded[key], fast[key])

    check()


@pytest.mark.parametrize("document", [
    {"latitude": math.nan}, {"latitude": math.inf}, {"longitude": -math.inf}, {"latitude": 10 ** 400},
    {"last_inspected_at": "2026-11-30T12:00:00+08"}, {"last_inspected_at": "20261130T120000Z"},
])
def test_values_the_schema_refuses_are_never_fast_accepted(document):
    schema = PARTIAL_SCHEMAS["sites"]
    assert fast_load(schema, document, partial=True) is None or _loads(schema, document)


def _loads(schema, document) -> bool:
    try:
        schema.load(document)
    except ValidationError:
        return False
    return True


def test_fast_path_declines_when_a_schema_has_hooks():
    class Hooked(type(FIELD_SCHEMAS["sites"])):
        @validates_schema
        def _rule(self, data, **_):
            raise ValidationError("a rule only the schema knows")

    document = {"area_id": 1, "address": "映月路1号"}
    assert fast_load(FIELD_SCHEMAS["sites"], document) is not None
    assert fast_load(Hooked(), document) is None


ENVELOPE_CHANGE = st.fixed_dictionaries({}, optional={
    "op_id": st.one_of(st.text(max_size=70), st.just("op-1"), JSON_SCALARS),
    "collection": st.one_of(st.sampled_from(["patrols", "sites", "incidents", "areas", "nope"]), JSON_SCALARS),
    "id": st.one_of(UUID_TEXTS, JSON_SCALARS),
    "op": st.one_of(st.sampled_from(["put", "delete", "PUT"]), JSON_SCALARS),
    "fields": st.one_of(st.dictionaries(st.text(max_size=5), JSON, max_size=3), JSON_SCALARS),
    "hlc": st.one_of(st.sampled_from(["18c5f0a8e00-0-d1", "x", "18c5f0a8e00-0-"]), JSON_SCALARS),
})
ENVELOPES = st.fixed_dictionaries({}, optional={
    "device_id": st.one_of(st.text(max_size=70), JSON_SCALARS), "schema_version": JSON_SCALARS,
    "cursor": st.one_of(st.none(), st.text(max_size=10), JSON_SCALARS),
    "limit": st.one_of(st.integers(min_value=-5, max_value=6000), JSON_SCALARS),
    "changes": st.one_of(st.lists(ENVELOPE_CHANGE, max_size=3), JSON_SCALARS),
})


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(ENVELOPES)
def test_fast_envelope_equals_schema_or_declines(body):
    """The request envelope's fast path (sync/service._fast_envelope) obeys the same law."""
    from sync.service import REQUEST_SCHEMA, _fast_envelope
    fast = _fast_envelope(body)
    if fast is None:
        return
    try:
        loaded = REQUEST_SCHEMA.load(body)
    except ValidationError as exc:
        raise AssertionError(f"fast envelope accepted what the schema refuses: {body!r} → {exc.messages}")
    fast_changes = [{k: v for k, v in c.items() if k != "clock"} for c in fast["changes"]]
    assert {**fast, "changes": fast_changes} == loaded


def test_a_well_formed_envelope_takes_the_fast_path():
    from sync.service import REQUEST_SCHEMA, _fast_envelope
    body = {"device_id": "d1", "schema_version": 1, "cursor": None, "limit": 10, "changes": [
        {"op_id": "o1", "collection": "sites", "id": str(uuid.uuid4()), "op": "put", "fields": {"x": 1},
         "hlc": "18c5f0a8e00-0-d1"}]}
    fast = _fast_envelope(body)
    assert fast is not None
    assert {**fast, "changes": [{k: v for k, v in c.items() if k != "clock"} for c in fast["changes"]]} == \
        REQUEST_SCHEMA.load(body)
