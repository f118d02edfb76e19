"""The committed copy of jQuery is the release package.json pins, with its licence."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "src" / "static" / "vendor"


def test_vendored_jquery_is_the_version_package_json_pins():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["jquery"]
    header = (VENDOR / "jquery.min.js").read_text().splitlines()[0]
    vendored = re.match(r"/\*! jQuery v(\S+) ", header)
    assert vendored, f"no jQuery version in the vendored file's header: {header!r}"
    assert vendored.group(1) == pinned, "run `make vendor` after changing package.json"


def test_vendored_jquery_ships_with_its_licence():
    assert "Permission is hereby granted" in (VENDOR / "jquery.LICENSE.txt").read_text()
