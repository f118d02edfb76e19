"""The engine is a library of its own: the service imports it, never the other way round."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_engine_loads_nothing_of_the_service():
    service_modules = ("flask", "flask_restful", "sqlalchemy", "redis", "werkzeug", "src.storage", "src.api")
    code = f"import sys, src.ml; print([name for name in {service_modules!r} if name in sys.modules])"

    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_web_layer_reaches_stored_data_only_through_the_service_modules():
    # problems.py maps storage's domain errors to HTTP statuses; the rows' classes (src/tables.py) are
    # what the service modules hand the resources, named in their annotations.
    storage_modules = {"src.storage", "src.database", "sqlalchemy", "flask_sqlalchemy"}
    reaching = {
        path.name: sorted(imported_modules(path) & storage_modules)
        for path in sorted((ROOT / "src" / "api").glob("*.py"))
        if path.name != "problems.py"
    }

    assert {name: modules for name, modules in reaching.items() if modules} == {}
