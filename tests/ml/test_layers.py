"""The engine is a library of its own: the service imports it, never the other way round."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_engine_loads_nothing_of_the_service():
    service_modules = ("flask", "flask_restful", "sqlalchemy", "redis", "werkzeug", "src.storage", "src.api")
    code = f"import sys, src.ml; print([name for name in {service_modules!r} if name in sys.modules])"

    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"
