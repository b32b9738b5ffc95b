"""The project's own schedule format: one YAML document a programme officer can read and edit.

The document mirrors `immunis.schedule.model` field for field (snake_case CDSi names), with the
choices that make it readable: durations as CDSi text (``6 weeks - 4 days``), ISO dates, codes as
quoted text, empty and default fields left out, named things (antigens, vaccine groups, vaccines,
observations) as mappings keyed by their name or code, and a ``source:`` on any series or dose.
`docs/schedules.md` describes it for the people who edit it.
"""

from __future__ import annotations

import ast
import sys
import types
import typing
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import MISSING, Field, fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from importlib import resources
from itertools import groupby
from typing import Any, TypeVar, cast

import yaml

from immunis.schedule.model import (
    Antigen,
    AntigenAssociation,
    BirthDateImmunity,
    Duration,
    LiveVirusConflict,
    Observation,
    Schedule,
    Series,
    SeriesSelection,
    SeriesType,
    Vaccine,
    VaccineGroup,
    normalize_cvx,
)

FORMAT = "immunis-schedule/1"

_T = TypeVar("_T")

# The document's spelling where it differs from the field name.
_DOCUMENT_KEYS = {"dose_number": "dose", "sources": "source"}
# Fields holding CVX codes: compared as numbers, so stored without leading zeros.
_CODE_FIELDS = frozenset({"cvx", "from_most_recent_cvx", "vaccine_types"})
# Pairs and triples in the model that the document spells as small mappings.
_TUPLE_KEYS: dict[tuple[type, str], tuple[str, ...]] = {
    (BirthDateImmunity, "exclusions"): ("code", "title"),
    (Observation, "coded_values"): ("code_system", "code", "text"),
}
# Required in the model, but so often the same that the document may leave them out.
_DOCUMENT_DEFAULTS: dict[tuple[type, str], object] = {
    (Series, "series_type"): SeriesType.STANDARD,
    (Series, "selection"): SeriesSelection(),
}
# Long lists go last so a reader meets a series' or antigen's own settings first.
_LAST_FIELDS = ("series", "doses")
_CONFLICT_INTERVALS = (
    "conflict_begin_interval",
    "min_conflict_end_interval",
    "conflict_end_interval",
)
_SCALARS = (str, int, float, bool, date)
# Resolved field types per model class; `typing.get_type_hints` is too slow to call per object.
_HINTS: dict[type, dict[str, Any]] = {}


class ScheduleFormatError(ValueError):
    """A schedule document that does not follow the format; the message starts with the key path."""


def load_yaml(data: bytes) -> Schedule:
    """Parse a schedule document (YAML bytes) into a `Schedule`."""
    try:
        document = yaml.load(data, Loader=_Loader)
    except yaml.YAMLError as error:
        raise ScheduleFormatError(f"not valid YAML: {error}") from None
    return schedule_from_document(document)


def dump_yaml(schedule: Schedule) -> str:
    """The schedule as a YAML document in the project format."""
    return yaml.dump(
        schedule_to_document(schedule),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )


def schedule_to_document(schedule: Schedule) -> dict[str, Any]:
    """The schedule as plain data (dicts, lists, text, numbers, dates) in the project format."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "id": schedule.id,
        "title": schedule.title,
        "version": schedule.version,
    }
    if schedule.sources:
        document["sources"] = list(schedule.sources)
    document["antigens"] = {
        name: _antigen_to_document(antigen) for name, antigen in schedule.antigens.items()
    }
    document["vaccine_groups"] = {
        name: _dataclass_to_document(group, omit=("name",))
        for name, group in schedule.vaccine_groups.items()
    }
    document["vaccines"] = {
        cvx: _vaccine_to_document(vaccine) for cvx, vaccine in schedule.vaccines.items()
    }
    if schedule.live_virus_conflicts:
        document["live_virus_conflicts"] = _conflicts_to_document(schedule.live_virus_conflicts)
    if schedule.observations:
        document["observations"] = {
            code: _dataclass_to_document(observation, omit=("code",))
            for code, observation in schedule.observations.items()
        }
    return document


def schedule_from_document(document: object) -> Schedule:
    """Build a `Schedule` from plain data in the project format; raises ScheduleFormatError."""
    top = _mapping(
        document,
        "",
        required=("format", "id", "title", "version", "antigens", "vaccine_groups", "vaccines"),
        optional=("sources", "live_virus_conflicts", "observations"),
    )
    if top["format"] != FORMAT:
        raise ScheduleFormatError(f"format: expected {FORMAT!r}, found {top['format']!r}")
    return Schedule(
        id=_text(top["id"], "id"),
        title=_text(top["title"], "title"),
        version=_text(top["version"], "version"),
        sources=_texts(top.get("sources", []), "sources"),
        antigens=_named(top["antigens"], "antigens", _antigen_from_document),
        vaccine_groups=_named(
            top["vaccine_groups"],
            "vaccine_groups",
            lambda name, raw, path: _from_document(VaccineGroup, raw, path, fixed={"name": name}),
        ),
        vaccines=_named(top["vaccines"], "vaccines", _vaccine_from_document, codes=True),
        live_virus_conflicts=_conflicts_from_document(
            top.get("live_virus_conflicts", []), "live_virus_conflicts"
        ),
        observations=_named(
            top.get("observations", {}),
            "observations",
            lambda code, raw, path: _from_document(Observation, raw, path, fixed={"code": code}),
        ),
    )


# --- Named sections ----------------------------------------------------------------------------


def _antigen_to_document(antigen: Antigen) -> dict[str, Any]:
    document = _dataclass_to_document(antigen, omit=("name", "series"))
    document["series"] = [
        _dataclass_to_document(
            series, omit=("target_disease",) if series.target_disease == antigen.name else ()
        )
        for series in antigen.series
    ]
    return document


def _antigen_from_document(name: str, raw: object, path: str) -> Antigen:
    items = _mapping(raw, path, required=("series",), optional=("immunity", "contraindications"))
    series_path = _key(path, "series")
    # A series' target disease is its antigen unless the document says otherwise.
    series = tuple(
        _from_document(Series, item, _index(series_path, i), defaults={"target_disease": name})
        for i, item in enumerate(_sequence(items["series"], series_path))
    )
    rest = {key: value for key, value in items.items() if key != "series"}
    return _from_document(Antigen, rest, path, fixed={"name": name, "series": series})


def _vaccine_to_document(vaccine: Vaccine) -> dict[str, Any]:
    document: dict[str, Any] = {"short_description": vaccine.short_description}
    document["antigens"] = [
        association.antigen
        if association.begin_age is None and association.end_age is None
        else _dataclass_to_document(association)
        for association in vaccine.associations
    ]
    return document


def _vaccine_from_document(cvx: str, raw: object, path: str) -> Vaccine:
    items = _mapping(raw, path, required=("short_description", "antigens"), optional=())
    antigens_path = _key(path, "antigens")
    associations = tuple(
        AntigenAssociation(item)
        if isinstance(item, str)
        else _from_document(AntigenAssociation, item, _index(antigens_path, i))
        for i, item in enumerate(_sequence(items["antigens"], antigens_path))
    )
    return Vaccine(
        cvx, _text(items["short_description"], _key(path, "short_description")), associations
    )


def _conflicts_to_document(conflicts: Iterable[LiveVirusConflict]) -> list[dict[str, Any]]:
    # Runs of conflicts that differ only in the current vaccine become one entry with a list.
    entries: list[dict[str, Any]] = []
    for _, run in groupby(conflicts, key=lambda c: (_previous(c), _intervals(c))):
        run_list = list(run)
        currents = [_vaccine_ref(c.current_vaccine_type, c.current_cvx) for c in run_list]
        entry: dict[str, Any] = {
            "previous": [_vaccine_ref(*_previous(run_list[0]))],
            "current": currents,
            **dict(zip(_CONFLICT_INTERVALS, _intervals(run_list[0]), strict=True)),
        }
        # Then consecutive entries with the same current list and intervals share one entry.
        last = entries[-1] if entries else None
        if (
            last
            and last["current"] == currents
            and _entry_intervals(last) == _intervals(run_list[0])
        ):
            last["previous"].append(entry["previous"][0])
        else:
            entries.append(entry)
    for merged in entries:
        for side in ("previous", "current"):
            if len(merged[side]) == 1:
                merged[side] = merged[side][0]
    return entries


def _previous(conflict: LiveVirusConflict) -> tuple[str, str]:
    return conflict.previous_vaccine_type, conflict.previous_cvx


def _intervals(conflict: LiveVirusConflict) -> tuple[str, str, str]:
    return (
        str(conflict.conflict_begin_interval),
        str(conflict.min_conflict_end_interval),
        str(conflict.conflict_end_interval),
    )


def _entry_intervals(entry: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(entry[key] for key in _CONFLICT_INTERVALS)


def _vaccine_ref(vaccine_type: str, cvx: str) -> dict[str, str]:
    return {"vaccine_type": vaccine_type, "cvx": cvx}


def _conflicts_from_document(raw: object, path: str) -> tuple[LiveVirusConflict, ...]:
    conflicts: list[LiveVirusConflict] = []
    for i, entry in enumerate(_sequence(raw, path)):
        entry_path = _index(path, i)
        items = _mapping(entry, entry_path, required=("previous", "current", *_CONFLICT_INTERVALS))
        intervals = [
            _decode(items[key], LiveVirusConflict, key, _key(entry_path, key))
            for key in _CONFLICT_INTERVALS
        ]
        for previous_type, previous_cvx in _vaccine_refs(
            items["previous"], _key(entry_path, "previous")
        ):
            for current_type, current_cvx in _vaccine_refs(
                items["current"], _key(entry_path, "current")
            ):
                conflicts.append(
                    LiveVirusConflict(
                        previous_type, previous_cvx, current_type, current_cvx, *intervals
                    )
                )
    return tuple(conflicts)


def _vaccine_refs(raw: object, path: str) -> list[tuple[str, str]]:
    entries = (
        [(raw, path)]
        if isinstance(raw, dict)
        else [(item, _index(path, i)) for i, item in enumerate(_sequence(raw, path))]
    )
    refs = []
    for entry, entry_path in entries:
        items = _mapping(entry, entry_path, required=("vaccine_type", "cvx"))
        refs.append(
            (
                _text(items["vaccine_type"], _key(entry_path, "vaccine_type")),
                normalize_cvx(_text(items["cvx"], _key(entry_path, "cvx"))),
            )
        )
    return refs


def _named(
    raw: object,
    path: str,
    build: Callable[[str, object, str], _T],
    *,
    codes: bool = False,
) -> dict[str, _T]:
    if not isinstance(raw, dict):
        raise ScheduleFormatError(f"{path}: expected a mapping of names to entries")
    built: dict[str, _T] = {}
    for name, value in raw.items():
        if not isinstance(name, str):
            raise ScheduleFormatError(
                f"{_key(path, str(name))}: names and codes must be text; put {name!r} in quotes"
            )
        key = normalize_cvx(name) if codes else name
        built[key] = build(key, value, _key(path, name))
    return built


# --- Any model dataclass, field by field ------------------------------------------------------


def _dataclass_to_document(obj: object, omit: Iterable[str] = ()) -> dict[str, Any]:
    cls = type(obj)
    hints = _hints(cls)
    document: dict[str, Any] = {}
    for item in _ordered_fields(cls):
        value = getattr(obj, item.name)
        if item.name in omit or _is_default(cls, item, value, hints[item.name]):
            continue
        document[_DOCUMENT_KEYS.get(item.name, item.name)] = _encode(value, cls, item.name)
    return document


def _encode(value: object, cls: type, name: str) -> Any:
    if name == "sources" and isinstance(value, tuple) and len(value) == 1:
        return value[0]
    if (cls, name) in _TUPLE_KEYS and isinstance(value, tuple):
        return [dict(zip(_TUPLE_KEYS[cls, name], item, strict=True)) for item in value]
    if isinstance(value, Duration):  # a named tuple, so before the plain tuples
        return str(value)
    if isinstance(value, tuple):
        return [_encode(item, cls, name) for item in value]
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return _dataclass_to_document(value)
    return value


def _from_document(
    cls: type[_T],
    raw: object,
    path: str,
    *,
    fixed: Mapping[str, object] | None = None,
    defaults: Mapping[str, object] | None = None,
) -> _T:
    """`fixed` fields come from the context (a mapping key), `defaults` when the key is absent."""
    fixed = fixed or {}
    defaults = {
        **{name: value for (owner, name), value in _DOCUMENT_DEFAULTS.items() if owner is cls},
        **(defaults or {}),
    }
    hints = _hints(cls)
    by_key = {
        _DOCUMENT_KEYS.get(item.name, item.name): item
        for item in fields(cast(Any, cls))
        if item.name not in fixed
    }
    required = [
        key
        for key, item in by_key.items()
        if item.name not in defaults and _document_requires(item, hints[item.name])
    ]
    items = _mapping(raw, path, required=required, optional=by_key)
    # A field the model requires but allows to be None is None when the document leaves it out.
    absent = {
        item.name: None
        for item in by_key.values()
        if item.default is MISSING and item.default_factory is MISSING
    }
    values: dict[str, object] = {**absent, **defaults, **fixed}
    for key, value in items.items():
        name = by_key[key].name
        values[name] = _decode(value, cls, name, _key(path, key))
    return cast(_T, cast(Any, cls)(**values))


def _decode(raw: object, cls: type, name: str, path: str) -> Any:
    if (cls, name) in _TUPLE_KEYS:
        keys = _TUPLE_KEYS[cls, name]
        rows = []
        for i, item in enumerate(_sequence(raw, path)):
            entry = _mapping(item, _index(path, i), required=keys)
            rows.append(tuple(_text(entry[key], _key(_index(path, i), key)) for key in keys))
        return tuple(rows)
    if name == "sources" and isinstance(raw, str):
        return (raw,)
    return _decode_hint(raw, _hints(cls)[name], path, code=name in _CODE_FIELDS)


def _decode_hint(raw: object, hint: Any, path: str, *, code: bool = False) -> Any:
    arguments = typing.get_args(hint)
    if isinstance(hint, types.UnionType):
        if raw is None:
            return None
        (inner,) = [argument for argument in arguments if argument is not type(None)]
        return _decode_hint(raw, inner, path, code=code)
    if typing.get_origin(hint) is tuple:
        return tuple(
            _decode_hint(item, arguments[0], _index(path, i), code=code)
            for i, item in enumerate(_sequence(raw, path))
        )
    if hint is str:
        text = _text(raw, path)
        return normalize_cvx(text) if code else text
    if hint is bool:
        if not isinstance(raw, bool):
            raise ScheduleFormatError(f"{path}: expected true or false, found {raw!r}")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ScheduleFormatError(f"{path}: expected a whole number, found {raw!r}")
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ScheduleFormatError(f"{path}: expected a number, found {raw!r}")
        return float(raw)
    if hint is date:
        return _date(raw, path)
    if hint is Duration:
        return _duration(raw, path)
    if isinstance(hint, type) and issubclass(hint, Enum):
        choices = [member.value for member in hint]
        if raw not in choices:
            raise ScheduleFormatError(f"{path}: expected one of {choices}, found {raw!r}")
        return hint(raw)
    if isinstance(hint, type) and is_dataclass(hint):
        return _from_document(hint, raw, path)
    raise TypeError(f"the format has no rule for {hint!r}")


def _duration(raw: object, path: str) -> Duration:
    try:
        if isinstance(raw, str):
            return Duration.parse(raw)
    except ValueError:
        pass
    raise ScheduleFormatError(f"{path}: not a duration: {raw!r} (write e.g. '6 weeks - 4 days')")


def _date(raw: object, path: str) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ScheduleFormatError(f"{path}: not an ISO date (YYYY-MM-DD): {raw!r}")


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        compiled = not (getattr(sys.modules[cls.__module__], "__file__", None) or "").endswith(
            ".py"
        )
        # mypyc compiles the model for speed and erases its annotations: then read its source.
        _HINTS[cls] = _hints_from_source(cls) if compiled else typing.get_type_hints(cls)
    return _HINTS[cls]


def _hints_from_source(cls: type) -> dict[str, Any]:
    """The field types of a model class, from the annotations written in its source file."""
    module = sys.modules[cls.__module__]
    source = resources.files(module.__package__ or "").joinpath(
        cls.__module__.rsplit(".", 1)[-1] + ".py"
    )
    tree = ast.parse(source.read_text(encoding="utf-8"))
    namespace = {**vars(typing), **vars(module)}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            return {
                statement.target.id: eval(ast.unparse(statement.annotation), namespace)
                for statement in node.body
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
            }
    raise ScheduleFormatError(f"no source for the schedule model class {cls.__name__}")


def _ordered_fields(cls: type) -> tuple[Field[Any], ...]:
    # The identifying first field, then the source, then the rest, long lists last.
    first, *rest = fields(cast(Any, cls))
    sources = [item for item in rest if item.name == "sources"]
    last = [item for item in rest if item.name in _LAST_FIELDS]
    middle = [item for item in rest if item.name != "sources" and item.name not in _LAST_FIELDS]
    return (first, *sources, *middle, *last)


def _is_default(cls: type, item: Field[Any], value: object, hint: Any) -> bool:
    if (cls, item.name) in _DOCUMENT_DEFAULTS:
        return value == _DOCUMENT_DEFAULTS[cls, item.name]
    if item.default is not MISSING:
        return bool(value == item.default)
    if item.default_factory is not MISSING:
        return bool(value == item.default_factory())
    return value is None and _admits_none(hint)


def _document_requires(item: Field[Any], hint: Any) -> bool:
    return item.default is MISSING and item.default_factory is MISSING and not _admits_none(hint)


def _admits_none(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)


# --- Checking the shape of raw data -----------------------------------------------------------


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _index(path: str, index: int) -> str:
    return f"{path}[{index}]"


def _mapping(
    raw: object, path: str, *, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    where = path or "the document"
    if not isinstance(raw, dict):
        raise ScheduleFormatError(f"{where}: expected a mapping of keys to values, found {raw!r}")
    required = tuple(required)
    allowed = set(required) | set(optional)
    for key in raw:
        if key not in allowed:
            raise ScheduleFormatError(
                f"{_key(path, str(key))}: unknown key; expected one of {sorted(allowed)}"
            )
    missing = [key for key in required if key not in raw]
    if missing:
        raise ScheduleFormatError(f"{where}: missing required key {missing[0]!r}")
    return raw


def _sequence(raw: object, path: str) -> list[Any]:
    if not isinstance(raw, list):
        raise ScheduleFormatError(f"{path}: expected a list, found {raw!r}")
    return raw


def _text(raw: object, path: str) -> str:
    if not isinstance(raw, str):
        raise ScheduleFormatError(f"{path}: expected text, found {raw!r} (put it in quotes)")
    return raw


def _texts(raw: object, path: str) -> tuple[str, ...]:
    return tuple(_text(item, _index(path, i)) for i, item in enumerate(_sequence(raw, path)))


# --- YAML reading and writing -----------------------------------------------------------------


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader (C-accelerated when available) that refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            # Merge keys (<<) may repeat what they merge; only written keys must be unique.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ScheduleFormatError(f"line {line}: duplicate key {key!r}")
            seen.add(key)
        return cast(dict[Any, Any], super().construct_mapping(node, deep=deep))


class _Dumper(yaml.SafeDumper):
    """Block style, with lists indented under their key and short leaf mappings on one line."""

    def increase_indentation(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indentation(flow, False)  # type: ignore[misc]  # missing from the stubs


def _represent_mapping(dumper: _Dumper, data: dict[Any, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=_fits_one_line(data))


def _represent_list(dumper: _Dumper, data: list[Any]) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_fits_one_line(data))


def _fits_one_line(data: dict[Any, Any] | list[Any]) -> bool:
    values = list(data.values()) if isinstance(data, dict) else data
    if not values or not all(isinstance(value, _SCALARS) for value in values):
        return False
    width = sum(len(str(value)) + 4 for value in values)
    if isinstance(data, dict):
        width += sum(len(str(key)) + 2 for key in data)
    return width <= 80


def _represent_text(dumper: _Dumper, data: str) -> yaml.ScalarNode:
    # Quote codes such as '080' that YAML 1.2 readers (and people) would take for numbers.
    style = "'" if data[:1].isdigit() and data.replace(".", "").isdigit() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(dict, _represent_mapping)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_text)
