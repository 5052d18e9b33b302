"""Models built from rows of some of their columns (``.only(...)``), without Tortoise's slow path.

Tortoise's ``Model._init_from_db`` first tries every column of the model and, at the first one
a partial row lacks, starts again column by column, building two sets of the model's fields for
each row: two thirds of a search's Python time went to building the few hundred rows its walk
reads. Here the way each column is converted is worked out once per set of columns, and a row
is then a dictionary filled in one pass. The objects are what ``_init_from_db`` makes of the
same row: saved, partial unless every column is there, each value converted by its field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from tortoise.models import Model

Converter = Callable[[Any], Any] | None
Plan = tuple[tuple[str, str, Converter], ...]

M = TypeVar("M", bound=Model)

_plans: dict[tuple[type[Model], str, tuple[str, ...]], Plan] = {}
"""By model, database dialect (which decides the values its driver converts) and columns."""


def _unless_none(kind: type) -> Callable[[Any], Any]:
    return lambda value: None if value is None else kind(value)


def _plan(model: type[Model], columns: tuple[str, ...]) -> Plan:
    """For each column the model has: its column, attribute and conversion (None: the
    driver's value as it is), as ``_init_from_db`` converts it."""
    meta = model._meta
    native = {key for key, _, _ in meta.db_native_fields}
    default = {key: field for key, _, field in meta.db_default_fields}
    plan: list[tuple[str, str, Converter]] = []
    for key in columns:
        field = meta.fields_map.get(key)
        if field is None:
            continue  # an annotation: _init_from_db leaves it out too
        convert: Converter
        if key in native:
            convert = None
        elif key in default:
            convert = _unless_none(default[key].field_type)
        else:
            convert = field.to_python_value
        plan.append((key, meta.fields_db_projection_reverse.get(key, key), convert))
    return tuple(plan)


def partial_rows(model: type[M], rows: Sequence[Mapping[str, Any]]) -> list[M]:
    """``model`` objects of ``rows`` (each with the same columns, some of the model's)."""
    if not rows:
        return []
    meta = model._meta
    key = (model, meta.db.capabilities.dialect, tuple(rows[0].keys()))
    plan = _plans.get(key)
    if plan is None:
        plan = _plans[key] = _plan(model, key[2])
    generated = meta.db_pk_column not in meta.generated_db_fields
    partial = len(plan) < len(meta.db_fields)
    return [_built(model, plan, row, partial, generated) for row in rows]


def _built(
    model: type[M],
    plan: Iterable[tuple[str, str, Converter]],
    row: Mapping[str, Any],
    partial: bool,
    generated: bool,
) -> M:
    instance = model.__new__(model)
    values = instance.__dict__
    values["_partial"] = partial
    values["_saved_in_db"] = True
    values["_custom_generated_pk"] = generated
    values["_await_when_save"] = {}
    for key, attribute, convert in plan:
        value = row[key]
        values[attribute] = value if convert is None else convert(value)
    return instance
