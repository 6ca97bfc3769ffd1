"""Gold models: one SQL file per table under `models/`, each a plain SELECT with a small
header naming the model and what it reads:

    -- model: fact_sales
    -- depends: silver_order_lines, silver_orders, dim_customer, dim_product, dim_store

Inputs are `silver_<table>` and `quarantine_<table>` relations; other names are models.
The build order follows the `depends` lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shared.errors import TerminalError

MODELS_DIR = Path(__file__).parent / "models"
_HEADER = re.compile(r"^--\s*(model|depends):\s*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Model:
    name: str
    sql: str
    depends: tuple[str, ...]

    @property
    def inputs(self) -> list[str]:
        """The Silver and quarantine relations the model reads."""
        return [d for d in self.depends if d.startswith(("silver_", "quarantine_"))]


def load_models(directory: Path = MODELS_DIR) -> list[Model]:
    """Every model, in an order where each comes after what it depends on."""
    models = {}
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        header = {key: value.strip() for key, value in _HEADER.findall(text)}
        name = header.get("model")
        if name != path.stem:
            raise TerminalError(f"{path}: the header must say '-- model: {path.stem}'")
        depends = tuple(d.strip() for d in header.get("depends", "").split(",") if d.strip())
        models[name] = Model(name, text, depends)
    ordered: list[Model] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            cycle = " -> ".join((*trail, name))
            raise TerminalError(f"gold models depend on each other in a cycle: {cycle}")
        if any(m.name == name for m in ordered):
            return
        for dep in models[name].depends:
            if dep in models:
                visit(dep, (*trail, name))
            elif not dep.startswith(("silver_", "quarantine_")):
                raise TerminalError(f"gold model {name} depends on unknown {dep!r}")
        ordered.append(models[name])

    for name in sorted(models):
        visit(name, ())
    return ordered
