"""The data contract model: what one `contracts/<table>.yaml` declares.

Validated with pydantic once at load time, so the rest of the pipeline reads plain,
trusted objects. The YAML format is documented in the README ("Data contracts").
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["critical", "warning"]
IDENT = r"^[a-z_][a-z0-9_]*$"
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_SCALAR_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '36h', '3d', '2w' -> timedelta."""
    match = _DURATION.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration; write a number and a unit, e.g. 36h or 3d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Strict):
    """One landing column and its Silver type."""

    type: str = "string"
    nullable: bool = True
    required: bool = True
    """A landing file without this column is rejected (False: filled with NULL, reported)."""
    pii: bool = False
    """Replaced by a keyed hash (HMAC-SHA256) of the trimmed, lower-cased value below Bronze."""
    description: str = ""

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        value = value.strip().lower()
        if value in _SCALAR_TYPES:
            return value
        match = _DECIMAL.match(value)
        if match:
            precision, scale = int(match.group(1)), int(match.group(2))
            if not 1 <= precision <= 38 or scale > precision:
                raise ValueError(
                    f"{value!r} is not a valid decimal: precision must be 1..38 and scale "
                    "at most the precision"
                )
            return value
        raise ValueError(
            f"unknown type {value!r}; use one of {', '.join(_SCALAR_TYPES)} or decimal(p,s)"
        )

    @property
    def sql_type(self) -> str:
        """The DuckDB type this column is cast to in Silver."""
        match = _DECIMAL.match(self.type)
        if match:
            return f"DECIMAL({match.group(1)},{match.group(2)})"
        return _SCALAR_TYPES[self.type]


class _RuleBase(_Strict):
    id: Annotated[str, Field(min_length=1)]
    severity: Severity = "critical"
    description: str = ""


class NotNullRule(_RuleBase):
    check: Literal["not_null"]
    column: str


class RangeRule(_RuleBase):
    check: Literal["range"]
    column: str
    min: float | None = None
    max: float | None = None
    inclusive: bool = True

    @model_validator(mode="after")
    def _has_bound(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("a range rule needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"a range rule's min ({self.min}) is above its max ({self.max})")
        return self


class RegexRule(_RuleBase):
    check: Literal["regex"]
    column: str
    pattern: str
    normalize: Literal["none", "lower"] = "none"
    """Applied to the trimmed value before matching ('lower' for emails)."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from None
        return value


class AcceptedValuesRule(_RuleBase):
    check: Literal["accepted_values"]
    column: str
    values: list[str] = Field(min_length=1)


class ReferencesRule(_RuleBase):
    check: Literal["references"]
    column: str
    table: str
    to: str
    grace: str = "72h"
    """How long a row may wait in quarantine for its parent before it counts as bad."""

    @field_validator("grace")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def grace_period(self) -> timedelta:
        return parse_duration(self.grace)


class ExpressionRule(_RuleBase):
    check: Literal["expression"]
    sql: str
    """A DuckDB SQL predicate over the typed columns, true for a good row; NULL passes.
    `run_now()` is the run's clock."""
    columns: list[str] = Field(default_factory=list)
    """Columns the predicate reads, reported with failures."""


RowRule = Annotated[
    NotNullRule | RangeRule | RegexRule | AcceptedValuesRule | ReferencesRule | ExpressionRule,
    Field(discriminator="check"),
]


class UniqueRule(_RuleBase):
    check: Literal["unique"]
    columns: list[str] = Field(default_factory=list)
    """Defaults to the table's keys; for SCD2 tables checked on the current versions."""


class RowCountRule(_RuleBase):
    check: Literal["row_count"]
    min: int | None = 0
    max: int | None = None


class FreshnessRule(_RuleBase):
    check: Literal["freshness"]
    column: str
    max_age: str

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class CompletenessRule(_RuleBase):
    check: Literal["completeness"]
    column: str
    min_ratio: float = Field(ge=0, le=1)


class VolumeAnomalyRule(_RuleBase):
    check: Literal["volume_anomaly"]
    window: int = Field(default=7, ge=1)
    """How many earlier non-empty runs form the baseline."""
    min_ratio: float = Field(default=0.2, ge=0)
    max_ratio: float = Field(default=5.0, gt=0)


class QuarantineRateRule(_RuleBase):
    check: Literal["quarantine_rate"]
    max_ratio: float = Field(ge=0, le=1)
    min_rows: int = Field(default=20, ge=0)
    """Below this many new rows the rate says little, and the rule is not evaluated."""


TableRule = Annotated[
    UniqueRule
    | RowCountRule
    | FreshnessRule
    | CompletenessRule
    | VolumeAnomalyRule
    | QuarantineRateRule,
    Field(discriminator="check"),
]


class Source(_Strict):
    path_pattern: str
    """Glob matched against the end of a landing path, e.g. `*/orders/*`."""
    formats: list[Literal["csv", "jsonl", "parquet"]] = Field(
        default_factory=lambda: ["csv", "jsonl", "parquet"]
    )


class Scd2(_Strict):
    tracked: list[str] = Field(min_length=1)
    """A change in one of these opens a new version; other changes update in place."""


class SchemaDrift(_Strict):
    additive: Literal["carry", "reject"] = "carry"
    """New columns in a landing file: carried through as text and reported, or rejected."""


class Contract(_Strict):
    """One table's contract."""

    table: Annotated[str, Field(pattern=IDENT)]
    version: int = Field(ge=1)
    owner: str
    description: str = ""
    source: Source
    keys: list[str] = Field(min_length=1)
    sequence: str | None = None
    """Column that orders versions of a key; without it, arrival order does."""
    columns: dict[str, Column] = Field(min_length=1)
    rules: list[RowRule] = Field(default_factory=list)
    table_rules: list[TableRule] = Field(default_factory=list)
    scd2: Scd2 | None = None
    schema_drift: SchemaDrift = Field(default_factory=SchemaDrift)

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        known = set(self.columns)
        for name in known:
            if not re.match(IDENT, name):
                raise ValueError(f"column name {name!r} must be lower_snake_case")

        def need(column: str, where: str) -> None:
            if column not in known:
                raise ValueError(f"{where} names column {column!r}, which is not under columns")

        for key in self.keys:
            need(key, "keys")
        if self.sequence:
            need(self.sequence, "sequence")
        ids: set[str] = set()
        for rule in [*self.rules, *self.table_rules]:
            if rule.id in ids:
                raise ValueError(f"rule id {rule.id!r} is used twice; rule ids must be unique")
            ids.add(rule.id)
            for column in _rule_columns(rule):
                need(column, f"rule {rule.id!r}")
        if self.scd2:
            if not self.sequence:
                raise ValueError("scd2 needs a sequence column (the version's valid_from)")
            for column in self.scd2.tracked:
                need(column, "scd2.tracked")
        return self

    @property
    def key_columns(self) -> list[str]:
        return list(self.keys)

    @property
    def pii_columns(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.pii]

    @property
    def required_columns(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.required or name in self.keys]

    @property
    def references(self) -> list[ReferencesRule]:
        return [rule for rule in self.rules if isinstance(rule, ReferencesRule)]


def _rule_columns(rule: object) -> list[str]:
    columns: list[str] = []
    for attr in ("column",):
        value = getattr(rule, attr, None)
        if value:
            columns.append(value)
    columns.extend(getattr(rule, "columns", []) or [])
    return columns
