"""What every entity type shares: its shape, id sequence, queryable fields and write checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, ClassVar

from local.sandboxes.quickbooks import errors
from local.sandboxes.quickbooks.model import Realm, Record
from local.sandboxes.quickbooks.schema import Shape, has_control_chars


class Q(Enum):
    """How a queryable field compares (Intuit's query language is typed per field)."""

    ID = "id"
    STR = "string"
    DEC = "decimal"
    BOOL = "boolean"
    DATE = "date"
    DATETIME = "dateTime"
    REF = "reference"
    EMAIL = "email"


META_QUERY: Mapping[str, Q] = {"MetaData.CreateTime": Q.DATETIME, "MetaData.LastUpdatedTime": Q.DATETIME}


@dataclass(frozen=True)
class WriteContext:
    realm: Realm
    now: datetime
    today: date
    origin: str = "api"


class EntityType:
    """Base of the seven entity kinds. Subclasses set the class attributes and ``prepare``."""

    name: ClassVar[str]
    shape: ClassVar[Shape]
    sequence: ClassVar[str] = ""
    has_active: ClassVar[bool] = False
    voidable: ClassVar[bool] = False
    deletable: ClassVar[bool] = False
    queryable: ClassVar[Mapping[str, Q]] = {}

    @property
    def id_sequence(self) -> str:
        return self.sequence or self.name

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        """Validate a create/update body (already normalised) and return what to store."""
        raise NotImplementedError

    def render_extra(self, realm: Realm, record: Record, out: dict[str, Any]) -> None:
        """Add the values Intuit derives at read time (balances)."""
        return

    def check_delete(self, realm: Realm, record: Record) -> None:
        return

    def void_data(self, realm: Realm, record: Record) -> dict[str, Any]:
        raise errors.unsupported_operation("void")

    def before_change(self, realm: Realm, record: Record, new_data: dict[str, Any]) -> None:
        """Refuse an update that would break something that depends on ``record``."""
        return


def check_text(data: dict[str, Any], element: str, maximum: int, *, colon_ok: bool = True) -> None:
    """Intuit's string rules: no control characters (2040), no colon in names (2040), length (2050)."""
    value = data.get(element)
    if value is None:
        return
    text = str(value)
    if has_control_chars(text) or (not colon_ok and ":" in text):
        raise errors.invalid_string(element)
    if len(text) > maximum:
        raise errors.string_length(element, maximum, len(text))


def check_unique_name(
    realm: Realm, entity: str, field_name: str, value: str, existing: Record | None, owner: str
) -> None:
    """Names are unique among active and inactive records alike, ignoring case (6240)."""
    clash = realm.find_by(entity, field_name, value)
    if clash is not None and (existing is None or clash.id != existing.id):
        raise errors.duplicate_name(owner)


def require(data: dict[str, Any], element: str) -> Any:
    value = data.get(element)
    if value is None or value in ("", []):
        raise errors.required_missing(element)
    return value
