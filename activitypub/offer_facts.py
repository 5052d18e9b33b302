"""What the offer description says about one field, found by its dotted path.

Error messages take their bounds from here (``ride.seats_total`` → 1 and 100), and the web form
its inputs' type, ``min``/``max``/``maxlength``/``required``, choices, label and help.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from activitypub.offer_schema import MODELS
from models.offers import OfferKind


@dataclass(frozen=True)
class FieldFacts:
    path: str
    type: type | None  # int, float, str, bool, datetime; None for lists and choices
    required: bool  # along the whole path: an optional section makes its fields optional
    title: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    min_length: int | None = None
    choices: tuple[str, ...] = ()
    example: str = ""
    unit: str = ""


def _bare(annotation: Any) -> Any:
    """``Annotated[X, ...] | None`` → ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            annotation = args[0]
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _literal_values(annotation: Any) -> tuple[str, ...]:
    if get_origin(annotation) is Literal:
        return tuple(str(getattr(v, "value", v)) for v in get_args(annotation))
    return ()


def _facts(path: str, info: FieldInfo, annotation: Any, required: bool) -> FieldFacts:
    bounds: dict[str, Any] = {}
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            bounds["minimum"] = item.ge
        elif isinstance(item, annotated_types.Le):
            bounds["maximum"] = item.le
        elif isinstance(item, annotated_types.MaxLen):
            bounds["max_length"] = item.max_length
        elif isinstance(item, annotated_types.MinLen):
            bounds["min_length"] = item.min_length
    choices = _literal_values(annotation)
    if get_origin(annotation) is list:
        choices = _literal_values(get_args(annotation)[0])
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    scalar = annotation if annotation in (int, float, str, bool, datetime) else None
    return FieldFacts(
        path=path,
        type=scalar,
        required=required,
        title=info.title or "",
        description=info.description or "",
        choices=choices,
        example=str(info.examples[0]) if info.examples else "",
        unit=str(extra.get("x-unit", "")),
        **bounds,
    )


def field_facts(kind: OfferKind | str, path: str) -> FieldFacts | None:
    """The facts about ``path`` (``ride.waypoints.0.latitude``) in an offer of ``kind``; None
    when the description has no such field."""
    try:
        current: Any = MODELS[OfferKind(kind)]
    except ValueError:
        return None
    required = True
    info: FieldInfo | None = None
    for part in path.split("."):
        if part.isdigit():  # an item of a list: never required by itself
            if get_origin(current) is not list:
                return None
            current, required = get_args(current)[0], False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        required = required and info.is_required()
        current = _bare(info.annotation)
    return None if info is None else _facts(path, info, current, required)
