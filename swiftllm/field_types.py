"""A dataclass's values checked against its fields' annotations, so a wrongly typed value fails where it is
given, naming its field, instead of as an unnamed TypeError in the first comparison that meets it (or
silently, as a string that happens to compare). The configs and SamplingParams call it first thing in their
`__post_init__`."""

import types
from dataclasses import fields
from typing import get_args, get_origin


class FieldTypeError(TypeError, ValueError):
    """A value of the wrong type: a TypeError, and a ValueError as every other bad value of these classes
    is (callers that catch ValueError for a bad option catch this too)."""


def check_field_types(instance: object) -> None:
    """Raise FieldTypeError naming the first field whose value is not of its annotated type: an int passes
    where a float is annotated (Python's numeric tower), a bool passes only where a bool is."""
    for dataclass_field in fields(instance):  # type: ignore[arg-type]
        value = getattr(instance, dataclass_field.name)
        annotation = dataclass_field.type
        if not has_type(value, annotation):
            expected = getattr(annotation, "__name__", str(annotation))
            raise FieldTypeError(
                f"{dataclass_field.name} must be {expected}, not {type(value).__name__} {value!r:.40}"
            )


def has_type(value: object, annotation: object) -> bool:
    """isinstance against an annotation: a class, `X | Y`, or a generic such as `tuple[int, ...]` (its
    container only)."""
    options = get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    classes = tuple(get_origin(option) or option for option in options)
    if float in classes:
        classes += (int,)
    if isinstance(value, bool):
        return bool in classes
    return isinstance(value, classes)
