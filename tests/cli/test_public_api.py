"""chatvault uses its dependencies' public API only, at versions inside the ranges it declares.

A private module (`typer._click`) or a patched library function can vanish or change in any
release, inside the range pyproject allows: the source is read with `ast` for both, and the
installed versions are checked against pyproject's ranges (CI installs both ends of Typer's).
"""

from __future__ import annotations

import ast
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[2]
SOURCES = sorted((ROOT / "src" / "chatvault").rglob("*.py")) + sorted(
    (ROOT / "migrations").rglob("*.py")
)
OWN = "chatvault"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_module(name: str) -> bool:
    """A dotted module name of a dependency with a private part: `typer._click.core`."""
    parts = name.split(".")
    return parts[0] != OWN and any(map(_private, parts))


def _root(node: ast.expr) -> ast.expr:
    """`typer` for `typer.core.thing`, `typer.core.f().x` or `typer.core.d[k]`."""
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _assigned(node: ast.AST) -> list[ast.expr]:
    """What a statement (or setattr/delattr call) assigns to or deletes."""
    if isinstance(node, ast.Assign | ast.Delete):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Call) and _called(node) in ("setattr", "delattr") and node.args:
        targets = [ast.Attribute(value=node.args[0], attr="?", ctx=ast.Store())]
    else:
        return []
    return [
        element
        for target in targets
        for element in (target.elts if isinstance(target, ast.Tuple | ast.List) else [target])
        if isinstance(element, ast.Attribute | ast.Subscript)
    ]


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Each use of a dependency's private module or name, and each assignment to one."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    foreign: set[str] = set()  # names bound to a dependency's module, or to something from one

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', '?')}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == OWN:
                    continue
                if _private_module(alias.name):
                    report(node, f"import {alias.name}")
                foreign.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == OWN:
                continue
            for alias in node.names:
                if _private_module(f"{node.module}.{alias.name}"):
                    report(node, f"from {node.module} import {alias.name}")
                foreign.add(alias.asname or alias.name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            root = _root(node)
            if isinstance(root, ast.Name) and root.id in foreign and _private(node.attr):
                report(node, f"{ast.unparse(node)}: a dependency's private name")
        if isinstance(node, ast.Call) and _called(node) in ("import_module", "__import__"):
            name = getattr(node.args[0], "value", None) if node.args else None
            if isinstance(name, str) and _private_module(name):
                report(node, f"{_called(node)}({name!r})")
        for target in _assigned(node):
            root = _root(target)
            if isinstance(root, ast.Name) and root.id in foreign:
                report(target, f"{ast.unparse(target)}: changes a dependency (monkeypatch)")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from typer._click.exceptions import BadParameter",
        "from typer._coercion import build_runtime_param",
        "import sqlalchemy._x",
        "import click._compat as compat",
        "from typer import _click",
        "import typer\nX = typer._click.core",
        "import typer.core\ntyper.core.build_runtime_param = len",
        "from typer import core\ncore.build_runtime_param = len",
        "import click\nsetattr(click, 'echo', print)",
        "import rich.console as rc\nrc.Console.x, y = 1, 2",
        "from importlib import import_module\nimport_module('typer._typing')",
    ],
)
def test_the_scan_catches_private_use_and_patching(source):
    assert violations(source)


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations\nimport typer\nx = typer.core.TyperGroup",
        "from chatvault._private import thing\nimport chatvault.cli\nchatvault.cli.x = 1",
        "from . import _sibling",
        "import typer\ndef f(self):\n    self._x = typer.Option()\n    return type(self).__name__",
        "from typer.core import TyperGroup\nclass Group(TyperGroup):\n    name = 'x'",
    ],
)
def test_the_scan_lets_public_use_pass(source):
    assert violations(source) == []


def test_chatvault_uses_no_private_module_and_patches_no_dependency():
    assert SOURCES
    found = [
        problem
        for path in SOURCES
        for problem in violations(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == [], "\n".join(found)


def _requirements() -> dict[str, Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    return {req.name.lower(): req for req in map(Requirement, dependencies)}


@pytest.mark.parametrize("name", sorted(_requirements()))
def test_installed_dependencies_are_in_the_declared_range(name):
    """Typer above all: its upper bound keeps pydantic out of option conversion (pyproject)."""
    requirement = _requirements()[name]
    installed = version(name)
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{name} {installed} is installed, but pyproject declares {requirement}"
    )


def test_typer_has_a_range_ci_can_test_at_both_ends():
    """.ci/run installs the `>=` bound for a second run of tests/cli; the main run the newest."""
    specifier = _requirements()["typer"].specifier
    assert {spec.operator for spec in specifier} == {">=", "<"}, specifier


def _own_private_names() -> set[str]:
    """Every private name chatvault itself defines: functions, classes, attributes, globals."""
    names: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {name for name in names if _private(name)}


# A named tuple's public methods and attributes: the standard library starts them with an
# underscore only so that they cannot clash with a field's name (collections.namedtuple).
NAMED_TUPLE_API = {"_replace", "_asdict", "_fields", "_field_defaults", "_make"}


def test_no_private_attribute_of_a_dependency_is_read_off_an_object():
    """`column.type._type_affinity`: a private attribute reached through an object, not a
    module, which the scan above cannot trace. Any `._name` chatvault does not define itself
    is a dependency's."""
    own = _own_private_names() | NAMED_TUPLE_API
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}"
        for path in SOURCES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own
    ]
    assert found == []
