"""Rows in, API JSON out: DataFrames (polars, pandas) or iterables of dicts become the product
documents of ``POST /v1/indexes/{index}/documents`` and the shopper events of
``POST /v1/indexes/{index}/events``.

Neither polars nor pandas is imported here: a frame is recognised only if its library is already
loaded (whoever made the frame imported it).

Cells are made plain JSON values: numpy and pandas scalars unwrapped, missing values (``None``,
NaN, ``NaT``, ``pd.NA``) left out, dates written as RFC 3339. What is clearly meant is converted
(an integer id ``42`` becomes ``"42"``, ``stock`` ``3.0`` becomes ``3``); anything else is sent as
it is, and the server, which validates every document, names what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import pandas
    import polars

    FrameOrRecords: TypeAlias = polars.DataFrame | polars.LazyFrame | pandas.DataFrame | Iterable[Mapping[str, Any]]
else:
    FrameOrRecords: TypeAlias = Any
"""A ``polars.DataFrame`` or ``LazyFrame``, a ``pandas.DataFrame``, or an iterable of dicts."""

ExtraColumns: TypeAlias = Literal["attributes", "ignore"]

#: The fields of a product (``ProductDraft`` in ``models/src/product.rs``).
PRODUCT_FIELDS = frozenset(
    {
        "id",
        "title",
        "description",
        "brand",
        "category",
        "price",
        "currency",
        "attributes",
        "stock",
        "popularity",
        "margin",
        "rating",
        "rating_count",
        "image_url",
        "url",
        "parent_id",
        "created_at",
        "version",
    }
)
_TEXT_FIELDS = frozenset({"title", "description", "brand", "currency", "image_url", "url"})
_ID_FIELDS = frozenset({"id", "parent_id"})
_FLOAT_FIELDS = frozenset({"price", "popularity", "margin", "rating"})
_INT_FIELDS = frozenset({"stock", "rating_count", "version"})

#: The fields of an event (``EventBody`` in ``src/http/indexes/events.rs``).
EVENT_FIELDS = frozenset({"type", "product_id", "query_id", "user_id", "session_id", "position", "timestamp"})
#: Other names of event columns, as interaction logs and ``vitrine import interactions`` files
#: call them.
EVENT_ALIASES: Mapping[str, str] = {
    "event": "type",
    "event_type": "type",
    "kind": "type",
    "item_id": "product_id",
}

_CHUNK_ROWS = 10_000


def iter_records(data: FrameOrRecords) -> Iterator[dict[str, Any]]:
    """The rows of a polars or pandas DataFrame, or of an iterable of dicts, as dicts."""
    polars = sys.modules.get("polars")
    if polars is not None:
        if isinstance(data, polars.LazyFrame):
            data = data.collect()
        if isinstance(data, polars.DataFrame):
            for chunk in data.iter_slices(n_rows=_CHUNK_ROWS):
                yield from chunk.to_dicts()
            return
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(data, pandas.DataFrame):
        for start in range(0, len(data), _CHUNK_ROWS):
            for row in data.iloc[start : start + _CHUNK_ROWS].to_dict("records"):
                yield {str(name): value for name, value in row.items()}
        return
    if isinstance(data, Mapping) or isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise TypeError(f"expected a polars or pandas DataFrame or an iterable of dicts, not {type(data).__name__}")
    for position, row in enumerate(data):
        if not isinstance(row, Mapping):
            raise TypeError(f"row {position}: expected a dict, not {type(row).__name__}")
        yield {str(name): value for name, value in row.items()}


def plain(value: Any) -> Any:
    """A frame cell as a plain Python value: ``None`` for a missing value, numpy and pandas
    scalars unwrapped, arrays and tuples as lists, mappings with ``str`` keys. Dates stay
    ``date``/``datetime`` (each field writes them its way)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    kind = type(value)
    if kind.__name__ in ("NaTType", "NAType"):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, decimal.Decimal):
        return None if value.is_nan() else float(value)
    if kind.__module__.split(".")[0] == "numpy":
        if getattr(value, "ndim", 0) == 0:
            return plain(value.item())
        return [plain(item) for item in value.tolist()]
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) or kind.__name__ == "Series":
        return [plain(item) for item in value]
    return value


def timestamp(value: Any) -> Any:
    """RFC 3339 for a ``datetime`` (naive ones are taken as UTC), a ``date`` (midnight UTC) or a
    number of Unix seconds; anything else unchanged."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC).isoformat()
    return value


def identifier(value: Any) -> Any:
    """An id as text: ``42`` and ``42.0`` (an integer column with gaps, in pandas) are ``"42"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _text(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return identifier(value)
    return value


def _attribute(value: Any) -> Any:
    """An attribute value: a bool, a number, a text or a list of texts; ``None`` to leave out."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        items = [str(item) for item in value if item is not None and str(item).strip()]
        return items or None
    return value


def _category(value: Any) -> Any:
    if isinstance(value, list):
        return [str(level) for level in value if level is not None]
    return value


def to_product(
    row: Mapping[str, Any],
    *,
    currency: str | None = None,
    extra_columns: ExtraColumns = "attributes",
) -> dict[str, Any]:
    """The product document of one row.

    Columns named like product fields (``id``, ``title``, ``price``, ``currency``, ``brand``,
    ``category``, ``stock``, ``attributes`` ...) fill those fields; every other column becomes an
    attribute (``extra_columns="attributes"``) or is left out (``"ignore"``). ``currency`` is used
    for rows with a price and no currency of their own. Missing cells are left out.
    """
    product: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for name, cell in row.items():
        value = plain(cell)
        if value is None:
            continue
        if name == "attributes":
            if isinstance(value, Mapping):
                for key, item in value.items():
                    attribute = _attribute(item)
                    if attribute is not None:
                        attributes[key] = attribute
            else:
                product[name] = value
        elif name in _ID_FIELDS:
            product[name] = identifier(value)
        elif name in _TEXT_FIELDS:
            product[name] = _text(value)
        elif name in _FLOAT_FIELDS:
            product[name] = _number(value)
        elif name in _INT_FIELDS:
            product[name] = _integer(value)
        elif name == "category":
            product[name] = _category(value)
        elif name == "created_at":
            product[name] = timestamp(value)
        elif extra_columns == "attributes":
            attribute = _attribute(value)
            if attribute is not None:
                attributes[name] = attribute
    if attributes:
        product["attributes"] = attributes
    if currency is not None and "price" in product and "currency" not in product:
        product["currency"] = currency
    return product


def event_columns(names: Iterable[str], rename: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which event field each column fills: ``rename`` first, then the field names themselves,
    then their aliases (``event`` for ``type``, ``item_id`` for ``product_id`` ...). A column that
    fills no field, or a field another column already fills, is not in the answer."""
    rename = rename or {}
    names = list(names)
    fields: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        if name in rename:
            fields[name] = rename[name]
            taken.add(rename[name])
    for name in names:
        if name not in fields and name in EVENT_FIELDS and name not in taken:
            fields[name] = name
            taken.add(name)
    for name in names:
        alias = EVENT_ALIASES.get(name)
        if name not in fields and alias is not None and alias not in taken:
            fields[name] = alias
            taken.add(alias)
    return fields


def to_event(
    row: Mapping[str, Any],
    columns: Mapping[str, str],
    *,
    event_type: str | None = None,
) -> dict[str, Any]:
    """The event of one row, reading the columns ``columns`` maps to event fields
    ([`event_columns`]); ``event_type`` is the type of rows without one."""
    event: dict[str, Any] = {}
    for name, field in columns.items():
        value = plain(row.get(name))
        if value is None:
            continue
        if field in ("product_id", "user_id", "session_id", "query_id"):
            event[field] = identifier(value)
        elif field == "timestamp":
            event[field] = timestamp(value)
        elif field == "position":
            event[field] = _integer(value)
        else:
            event[field] = value
    if event_type is not None and "type" not in event:
        event["type"] = event_type
    return event
