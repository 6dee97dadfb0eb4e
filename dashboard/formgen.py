"""HTML forms generated from the pydantic form models (`models.forms`), and the way back:
posted fields -> the nested dict the model validates. Labels are the models' Danish titles."""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from models.forms import get_form

FieldKind = Literal["text", "textarea", "number", "date", "datetime", "checkbox", "select", "lines", "group"]
EXTRA_ROWS = 2
LONG_TEXT = 300


@dataclass
class FieldSpec:
    name: str
    """Posted name: 'fokus', 'kontaktpersoner.0.email'."""
    label: str
    kind: FieldKind
    required: bool
    options: list[str] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    rows: list[list[FieldSpec]] = field(default_factory=list)
    """For groups: one list of sub-fields per row."""
    min_rows: int = 0


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _base_type(annotation: Any) -> Any:
    """`Annotated[str, ...]` -> str."""
    while get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):
        annotation = get_args(annotation)[0]
    return annotation


def _max_length(info: FieldInfo, annotation: Any) -> int | None:
    for meta in list(info.metadata) + list(getattr(annotation, "__metadata__", ())):
        if isinstance(meta, MaxLen):
            return int(meta.max_length)
        length = getattr(meta, "max_length", None)
        if isinstance(length, int):
            return length
    return None


def _kind(annotation: Any, info: FieldInfo) -> tuple[FieldKind, list[str], Any]:
    """(kind, options, item model for groups)."""
    base = _base_type(annotation)
    if get_origin(base) is list:
        (item,) = get_args(base)
        item_base = _base_type(item)
        if isinstance(item_base, type) and issubclass(item_base, BaseModel):
            return "group", [], item_base
        return "lines", [], None
    if get_origin(base) is Literal:
        return "select", [str(a) for a in get_args(base)], None
    if base is bool:
        return "checkbox", [], None
    if base is int:
        return "number", [], None
    if base is datetime:
        return "datetime", [], None
    if base is date:
        return "date", [], None
    length = _max_length(info, annotation)
    return ("textarea" if length is None or length > LONG_TEXT else "text"), [], None


def _specs(model: type[BaseModel], prefix: str, values: dict[str, Any]) -> list[FieldSpec]:
    specs = []
    for name, info in model.model_fields.items():
        annotation, optional = _unwrap_optional(info.annotation)
        kind, options, item_model = _kind(annotation, info)
        full = f"{prefix}{name}"
        spec = FieldSpec(
            name=full,
            label=info.title or name,
            kind=kind,
            required=info.is_required() and not optional and kind != "checkbox",
            options=options,
        )
        value = values.get(name)
        if kind == "group":
            items = value if isinstance(value, list) else []
            spec.min_rows = int(
                next((getattr(m, "min_length", 0) for m in info.metadata if hasattr(m, "min_length")), 0)
            )
            count = max(len(items) + EXTRA_ROWS, spec.min_rows + EXTRA_ROWS, 3)
            spec.rows = [
                _specs(
                    item_model,
                    f"{full}.{i}.",
                    items[i] if i < len(items) and isinstance(items[i], dict) else {},
                )
                for i in range(count)
            ]
        elif kind == "lines":
            spec.value = "\n".join(str(v) for v in value) if isinstance(value, list) else (value or "")
        elif kind == "checkbox":
            spec.value = bool(value) if value is not None else bool(info.default is True)
        else:
            spec.value = "" if value is None else value
            if value is None and info.default not in (None, "") and not info.is_required():
                spec.value = info.default
        specs.append(spec)
    return specs


def form_fields(kind: str, values: dict[str, Any] | None = None) -> list[FieldSpec]:
    return _specs(get_form(kind), "", values or {})


def _all_specs(specs: list[FieldSpec]) -> dict[str, FieldSpec]:
    found: dict[str, FieldSpec] = {}
    for spec in specs:
        found[spec.name] = spec
        for row in spec.rows:
            found.update(_all_specs(row))
    return found


def assign_errors(specs: list[FieldSpec], errors: dict[str, str]) -> list[str]:
    """Put each error next to its field ('maal.0' belongs to 'maal'); returns those that fit none."""
    by_name = _all_specs(specs)
    leftover = []
    for where, message in errors.items():
        parts = where.split(".")
        while parts and ".".join(parts) not in by_name:
            parts.pop()
        if parts:
            spec = by_name[".".join(parts)]
            spec.error = message if spec.error is None else f"{spec.error} {message}"
        else:
            leftover.append(f"{where}: {message}")
    return leftover


def parse_form(kind: str, form: FormData) -> dict[str, Any]:
    """Posted fields -> the dict the form model validates. Empty fields are left out (so defaults
    apply and required ones are reported missing); group rows left entirely empty are dropped."""
    return _parse(get_form(kind), "", form)


def _parse(model: type[BaseModel], prefix: str, form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation, _ = _unwrap_optional(info.annotation)
        kind, _, item_model = _kind(annotation, info)
        full = f"{prefix}{name}"
        if kind == "checkbox":
            data[name] = form.get(full) in {"on", "true", "1", "ja"}
        elif kind == "group":
            indexes = sorted(
                {
                    int(k[len(full) + 1 :].split(".", 1)[0])
                    for k in form
                    if k.startswith(f"{full}.") and k[len(full) + 1 :].split(".", 1)[0].isdigit()
                }
            )
            items = []
            for i in indexes:
                item = _parse(item_model, f"{full}.{i}.", form)
                if any(v not in (None, "", False) for v in item.values()):
                    items.append(item)
            data[name] = items
        elif kind == "lines":
            raw = str(form.get(full) or "")
            data[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        else:
            raw_value = form.get(full)
            if isinstance(raw_value, str) and raw_value.strip() != "":
                data[name] = raw_value.strip()
    return data


def split_errors(messages: list[str]) -> tuple[dict[str, str], list[str]]:
    """`service.validation_messages` lines ('loc: message') -> per-field errors and the rest."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for line in messages:
        where, sep, message = line.partition(": ")
        if sep and where not in ("formularen", ""):
            by_field.setdefault(where, message)
        else:
            general.append(message if sep else line)
    return by_field, general


def describe_answer(kind: str, answer: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(Danish label, readable value) pairs for showing a stored answer."""
    if not answer:
        return []
    try:
        model = get_form(kind)
    except KeyError:
        return [(k, str(v)) for k, v in answer.items()]
    result = []
    for name, info in model.model_fields.items():
        if name not in answer:
            continue
        result.append((info.title or name, _readable(answer[name])))
    return result


def _readable(value: Any) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, list):
        return "; ".join(_readable(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(_readable(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, str) and ISO_DATE.match(value):
        return _danish_date_text(value)
    return "" if value is None else str(value)


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$")


def _danish_date_text(value: str) -> str:
    """'2026-10-26' -> '26.10.2026', '2026-10-26T10:00:00' -> '26.10.2026 kl. 10.00' (as typed)."""
    if "T" not in value:
        day = date.fromisoformat(value)
        return f"{day.day}.{day.month}.{day.year}"
    moment = datetime.fromisoformat(value)
    return f"{moment.day}.{moment.month}.{moment.year} kl. {moment:%H.%M}"
