"""docs/architecture.md's import rules, checked on the source: the layers, SQL only in db/."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "chatvault"
FOUNDATION = {
    "errors",
    "money",
    "period",
    "paths",
    "cache",
    "redact",
    "csv_cells",
    "yaml_file",
    "config",
}
# What each part of the package may import of chatvault (besides itself and the foundation).
ALLOWED = {
    "db": set(),
    "session": {"db", "pricing"},
    "pricing": {"db"},
    "ingest": {"db", "pricing", "session"},
    "forecast": {"db", "session"},
    "reports": {"db", "session", "pricing", "forecast", "budgets"},
    "budgets": {"db", "session", "forecast", "reports"},
    "sync": {"db", "session", "ingest", "pricing"},  # chatvault sync and reconcile
    "render": {"reports"},
    "demo": {"db", "session", "pricing", "ingest", "reports", "budgets"},
    "store": {"db", "session", "pricing", "ingest"},
    "cli": None,  # the top: anything
    "serve": None,  # `chatvault serve`, beside the CLI at the top (docs/serve.md)
    "__main__": {"cli"},
    "__init__": {"store"},
}
# The foundation stays below everything, but for the exceptions docs/architecture.md names.
FOUNDATION_EXTRA = {"config": {"budgets.config", "budgets.notify", "sync.config", "serve.config"}}


def modules():
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        yield path, parts


def imports(path: Path):
    """(module imported, whether only for type checking) for each chatvault import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            package = SRC.joinpath(*node.module.split(".")[1:])
            if node.module == "chatvault" or package.is_dir():  # modules of a package
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
            for name in names:
                yield name.removeprefix("chatvault."), id(node) in typing_only
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.removeprefix("chatvault."), id(node) in typing_only


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    tops = {parts[0] for _, parts in modules()} | {"__version__"}
    for path, parts in modules():
        if parts[0] == "migrations":
            continue
        part = parts[0]
        for name, typing_only in imports(path):
            if typing_only:
                continue  # a type in an annotation is no dependency at run time
            if name.split(".")[0] not in tops:
                continue  # not chatvault
            target = name.split(".")[0]
            if target in (part, "__version__"):
                continue
            if part in FOUNDATION:
                if target in FOUNDATION or name in FOUNDATION_EXTRA.get(part, ()):
                    continue
                wrong.append(f"{path.relative_to(SRC)} imports chatvault.{name}")
            elif target in FOUNDATION:
                continue
            elif ALLOWED[part] is not None and target not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(SRC)} imports chatvault.{name}")
    assert wrong == []


def test_sql_stays_in_db():
    """Outside db/ (and the session, which holds the connection) SQLAlchemy is a type at most."""
    wrong = []
    for path, parts in modules():
        if parts[0] in ("db", "migrations"):
            continue
        for name, typing_only in imports(path):
            if name.split(".")[0] == "sqlalchemy" and not typing_only:
                wrong.append(str(path.relative_to(SRC)))
        text = path.read_text(encoding="utf-8")
        if "exec_driver_sql" in text or "execution_options" in text:
            wrong.append(f"{path.relative_to(SRC)} runs SQL or sets driver options")
    assert wrong == []


def test_modules_stay_readable_in_one_sitting():
    long = [
        f"{path.relative_to(SRC)}: {n} lines"
        for path, _ in modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert long == []
