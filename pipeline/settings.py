"""One source of truth per stage config: its frozen dataclass, from which the CLI flags and the YAML section derive.

A stage's defaults, types, validation (``__post_init__``) and help text (``setting(..., help=...)``)
live only in its dataclass. ``add_config_arguments`` / ``config_from_arguments`` turn the fields into
``webtext`` flags and back; ``section_model`` turns them into a pydantic model for the stage's section of
the flow's YAML. Adding a field to the dataclass is the one edit that puts it in both.

Both read values by the same rules: a sequence may be written as one comma-separated string (or a
repeated flag), a mapping or a tuple of pairs as ``KEY=VALUE`` entries (or, in YAML, a mapping).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    create_model,
    model_validator,
)

MISSING = dataclasses.MISSING
METAVARS = {int: "N", float: "X", str: "TEXT", datetime: "DATE", Path: "PATH"}


def setting(
    default: Any = MISSING,
    *,
    help: str,
    flag: str | None = None,
    factory: Callable[[], Any] | None = None,
    choices: Sequence[str] | None = None,
) -> Any:
    """A config field with its help text. ``flag`` replaces the CLI name derived from the field's name
    (for a nested config it is the prefix of the nested flags, ``""`` for none); ``choices`` lists the
    values the CLI offers (the dataclass still validates them)."""
    metadata = {"help": help, "flag": flag, "choices": tuple(choices) if choices else None}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def workers_setting() -> Any:
    """``workers``, the same field in every stage that runs worker processes; never part of a fingerprint."""
    return setting(None, help="worker processes (default: one per core); changes speed only, never results")


def resolve_workers(workers: int | None) -> int:
    """A ``workers`` setting as a number of processes: ``None`` (or 0) is one per core."""
    return max(1, workers if workers else (os.cpu_count() or 1))


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigField:
    """One field of a stage config, with its type hint resolved."""

    name: str
    annotation: Any
    default: Any  # MISSING when the field has no default
    help: str
    flag: str | None
    choices: tuple[str, ...] | None

    @property
    def nested(self) -> type | None:
        """The config dataclass this field holds, when it is a nested config (``DedupConfig.spark``)."""
        return self.annotation if dataclasses.is_dataclass(self.annotation) else None

    @property
    def kind(self) -> str:
        return value_kind(self.annotation)


@functools.cache
def config_fields(cls: type) -> tuple[ConfigField, ...]:
    """The fields of config dataclass ``cls``, in declaration order."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a config dataclass")
    hints = typing.get_type_hints(cls)
    fields = []
    for field in dataclasses.fields(cls):
        if field.default is not MISSING:
            default = field.default
        elif field.default_factory is not MISSING:
            default = field.default_factory()
        else:
            default = MISSING
        metadata = field.metadata
        fields.append(
            ConfigField(
                field.name,
                hints[field.name],
                default,
                metadata.get("help", ""),
                metadata.get("flag"),
                metadata.get("choices"),
            )
        )
    return tuple(fields)


# ---- values: the rules the CLI and the YAML share -------------------------------------------------------------


def _without_none(annotation: Any) -> Any:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def value_kind(annotation: Any) -> str:
    """``bool``, ``mapping``, ``pairs`` (a tuple of 2-tuples), ``sequence`` or ``scalar``."""
    annotation = _without_none(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is bool:
        return "bool"
    if origin in (dict, Mapping) or annotation in (dict, Mapping):
        return "mapping"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = args[0]
        is_pair = typing.get_origin(item) is tuple and len(typing.get_args(item)) == 2
        return "pairs" if is_pair else "sequence"
    if origin in (tuple, list):
        return "sequence"
    return "scalar"


def _entries(value: str | Sequence[str]) -> list[str]:
    """Comma-separated entries of one string or of several (a repeated flag), blanks dropped."""
    texts = [value] if isinstance(value, str) else list(value)
    return [entry.strip() for text in texts for entry in str(text).split(",") if entry.strip()]


def _key_values(entries: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for entry in entries:
        key, separator, value = entry.partition("=")
        if not separator or not key.strip():
            raise ValueError(f"{entry!r} is not KEY=VALUE")
        pairs.append((key.strip(), value.strip()))
    return pairs


def written_form(kind: str, value: Any) -> Any:
    """A value as a person writes it (``"en,de"``, ``["a=1"]``, a YAML mapping) in the shape its type takes."""
    if kind == "sequence" and (isinstance(value, str) or _is_string_list(value)):
        return _entries(value)
    if kind == "mapping" and (isinstance(value, str) or _is_string_list(value)):
        return dict(_key_values(_entries(value)))
    if kind == "pairs":
        if isinstance(value, Mapping):
            return sorted(value.items())
        if isinstance(value, str) or _is_string_list(value):
            return _key_values(_entries(value))
    return value


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


@functools.cache
def _adapter(annotation: Any) -> TypeAdapter:
    return TypeAdapter(annotation)


def parse_value(field: ConfigField, value: Any, label: str | None = None) -> Any:
    """``value`` (CLI text or YAML) as the field's type; a ValueError names ``label`` (default: the field)."""
    try:
        return _adapter(field.annotation).validate_python(written_form(field.kind, value))
    except (ValidationError, ValueError) as error:
        reason = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
        raise ValueError(f"{label or field.name}: {reason} (got {value!r})") from error


def format_default(value: Any) -> str:
    """A default as the CLI help shows it (long lists shortened)."""
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        value = [f"{key}={item}" for key, item in value.items()]
    if isinstance(value, tuple | list):
        items = [f"{item[0]}={item[1]}" if isinstance(item, tuple) else str(item) for item in value]
        shown = ",".join(items[:6]) + (f",... ({len(items)} in all)" if len(items) > 6 else "")
        return shown or "none"
    return str(value)


# ---- CLI ---------------------------------------------------------------------------------------------------------


def _flag(field: ConfigField, prefix: str) -> str:
    name = field.flag if field.flag is not None else prefix + field.name.replace("_", "-")
    return f"--{name}"


def _nested_prefix(field: ConfigField, prefix: str) -> str:
    """The prefix of a nested config's flags: the field's flag or name (``spark-``), ``""`` when its flag is."""
    nested = prefix + (field.flag if field.flag is not None else field.name.replace("_", "-"))
    return nested + "-" if nested else ""


def add_config_arguments(
    parser: argparse.ArgumentParser, cls: type, *, dest: str = "config", prefix: str = "", title: str | None = None
) -> None:
    """One flag per field of ``cls`` (nested configs: a group each, flags prefixed with the field's name)."""
    group = parser.add_argument_group(title or f"{cls.__name__} settings")
    for field in config_fields(cls):
        if field.nested is not None:
            subtitle = f"{field.name}: {field.help}"
            nested_prefix = _nested_prefix(field, prefix)
            add_config_arguments(
                parser, field.nested, dest=f"{dest}.{field.name}", prefix=nested_prefix, title=subtitle
            )
            continue
        options: dict[str, Any] = {"dest": f"{dest}.{field.name}", "default": argparse.SUPPRESS}
        default = "required" if field.default is MISSING else format_default(field.default)
        options["help"] = f"{field.help} (default: {default})".replace("%", "%%")
        if field.kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif field.kind in ("sequence", "mapping", "pairs"):
            options["action"], options["metavar"] = "append", "A,B" if field.kind == "sequence" else "KEY=VALUE"
        elif field.choices:
            options["choices"] = field.choices
        else:
            options["metavar"] = METAVARS.get(_without_none(field.annotation), "VALUE")
        group.add_argument(_flag(field, prefix), **options)


def config_from_arguments(
    cls: type, args: argparse.Namespace, *, dest: str = "config", prefix: str = "", **overrides: Any
) -> Any:
    """The config the flags ask for: given flags over the dataclass defaults (``overrides`` over both).

    ``dest`` and ``prefix`` are those ``add_config_arguments`` was given."""
    given = vars(args)
    values: dict[str, Any] = {}
    for field in config_fields(cls):
        key = f"{dest}.{field.name}"
        if field.nested is not None:
            if any(name.startswith(key + ".") for name in given):
                nested_prefix = _nested_prefix(field, prefix)
                values[field.name] = config_from_arguments(field.nested, args, dest=key, prefix=nested_prefix)
        elif key in given:
            values[field.name] = parse_value(field, given[key], label=_flag(field, prefix))
    return cls(**{**values, **overrides})


# ---- YAML --------------------------------------------------------------------------------------------------------


class StageSection(BaseModel):
    """A stage's section of the run YAML: its config's fields, plus any run inputs the flow adds to it.

    Fields set elsewhere in the run config (``moved``: a stage's service settings) are left out of the
    section: writing one there fails with where it is set instead, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    config_class: ClassVar[type]
    moved: ClassVar[Mapping[str, str]] = {}
    _config: Any = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _refuse_moved(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and (found := [key for key in cls.moved if key in data]):
            raise ValueError("; ".join(f"{key} is not set here: {cls.moved[key]}" for key in found))
        return data

    @model_validator(mode="after")
    def _build_config(self) -> Self:
        values = {}
        for field in config_fields(self.config_class):
            if field.name in self.moved:
                continue
            value = getattr(self, field.name)
            values[field.name] = value.config() if isinstance(value, StageSection) else value
        self._config = self.config_class(**values)  # __post_init__'s ValueError names the field
        return self

    def config(self) -> Any:
        """The stage's validated config dataclass."""
        return self._config

    def with_config(self, config: Any) -> Self:
        """A copy of this section whose ``config()`` is ``config`` (the run's services filled in)."""
        copy = self.model_copy()
        copy._config = config
        return copy


def _section_field(field: ConfigField) -> tuple[Any, Any]:
    if field.nested is not None:
        model = section_model(field.nested)
        default = dataclasses.asdict(field.default) if field.default is not MISSING else MISSING
        factory = (lambda: model.model_validate(default)) if default is not MISSING else None
        return model, Field(default_factory=factory, description=field.help) if factory else Field(...)
    kind = field.kind
    annotation = typing.Annotated[field.annotation, BeforeValidator(functools.partial(written_form, kind))]
    if field.default is MISSING:
        return annotation, Field(..., description=field.help)
    return annotation, Field(default=field.default, description=field.help)


@functools.cache
def _cached_section_model(cls: type) -> type[StageSection]:
    return _new_section_model(cls, {}, {})


def _new_section_model(
    cls: type, inputs: Mapping[str, tuple[Any, Any]], moved: Mapping[str, str]
) -> type[StageSection]:
    fields = {field.name: _section_field(field) for field in config_fields(cls) if field.name not in moved}
    clashes = set(fields) & set(inputs)
    if clashes:
        raise TypeError(f"run inputs {sorted(clashes)} clash with fields of {cls.__name__}")
    unknown = set(moved) - {field.name for field in config_fields(cls)}
    if unknown:
        raise TypeError(f"moved fields {sorted(unknown)} are not fields of {cls.__name__}")
    model = create_model(f"{cls.__name__}Section", __base__=StageSection, **fields, **inputs)
    model.config_class = cls
    model.moved = dict(moved)
    return model


def section_model(
    cls: type, *, moved: Mapping[str, str] | None = None, **inputs: tuple[Any, Any]
) -> type[StageSection]:
    """The pydantic model of ``cls``'s YAML section; ``inputs`` (name=(type, default)) are run inputs the flow
    adds beside the settings (dump paths, a reference directory); ``moved`` (field → where it is set instead)
    are fields the section leaves out (their dataclass default, until the flow sets them)."""
    if inputs or moved:
        return _new_section_model(cls, inputs, moved or {})
    return _cached_section_model(cls)


def section_defaults(cls: type) -> dict[str, Any]:
    """``cls``'s YAML section with every default written out (what a run config may say)."""
    return section_model(cls)().model_dump(mode="json")
