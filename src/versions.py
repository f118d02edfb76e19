"""Model versions: where they are kept, which one is served, and the switch from one to another in a
running service, with the `flask model use VERSION` and `flask model list` commands.

The model file the service ships with (MODEL_PATH) is the base version, served until another is put in
use. On PostgreSQL the versions and the one in use are rows of the database, so every host serves the same
one; otherwise they are files in MODEL_DIR/versions/, and the one in use is named by the file MODEL_DIR/in-use.
Each process looks at most every CHECK_SECONDS which version is in use, loads a new one beside the
one it serves and then swaps them, so no request waits for the load or fails for it.
"""

import io
import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path

import click
import joblib
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import delete, select

from src.database import db, utc_now
from src.errors import describe_error
from src.ml import DigitModel, load_model
from src.tables import ModelInUse, ModelVersion

CHECK_SECONDS = 2.0


class UnknownVersion(Exception):
    """No model version of that name is kept."""


def timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


class DatabaseVersions:
    """Versions as rows of `model_versions`, the one in use named by the row of `model_in_use`."""

    def in_use(self) -> str | None:
        # A connection of its own, outside the request's session, and one small query.
        with db.engine.connect() as connection:
            return connection.execute(select(ModelInUse.version)).scalar_one_or_none()

    def add(self, model: bytes, card: dict) -> None:
        # The same training twice makes the same file, and so the same version.
        db.session.merge(ModelVersion(version=card["version"], model=model, card=card))
        db.session.commit()

    def use(self, version: str) -> None:
        row = db.session.get(ModelVersion, version)
        if row is not None:
            row.promoted_at = utc_now()
        db.session.execute(delete(ModelInUse))
        db.session.add(ModelInUse(id=1, version=version))
        db.session.commit()

    def model(self, version: str) -> tuple[bytes, dict]:
        row = db.session.get(ModelVersion, version)
        if row is None:
            raise UnknownVersion(version)
        return row.model, row.card

    def listing(self) -> list[dict]:
        rows = db.session.execute(select(ModelVersion).order_by(ModelVersion.created_at)).scalars()
        return [
            {"card": row.card, "created_at": timestamp(row.created_at), "promoted_at": timestamp(row.promoted_at)}
            for row in rows
        ]


class FolderVersions:
    """Versions as files in a folder: versions/VERSION.joblib and versions/VERSION.json (its card, with
    when it was made and last promoted); the file `in-use` names the one in use, replaced whole when it
    changes."""

    def __init__(self, folder: Path):
        self.folder = Path(folder) / "versions"
        self.pointer = Path(folder) / "in-use"

    def in_use(self) -> str | None:
        try:
            return self.pointer.read_text().strip() or None
        except FileNotFoundError:
            return None

    def _write(self, path: Path, data: bytes) -> None:
        """Readers see the whole old file or the whole new one, never a part."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        partial.write_bytes(data)
        os.replace(partial, path)

    def _record(self, version: str) -> Path:
        if not version or "/" in version or version.startswith("."):
            raise UnknownVersion(version)
        return self.folder / f"{version}.json"

    def add(self, model: bytes, card: dict) -> None:
        record = self._record(card["version"])
        self._write(record.with_suffix(".joblib"), model)
        entry = {"card": card, "created_at": timestamp(utc_now()), "promoted_at": None}
        self._write(record, json.dumps(entry).encode())

    def use(self, version: str) -> None:
        record = self._record(version)
        if record.exists():
            entry = json.loads(record.read_text())
            self._write(record, json.dumps({**entry, "promoted_at": timestamp(utc_now())}).encode())
        self._write(self.pointer, version.encode())

    def model(self, version: str) -> tuple[bytes, dict]:
        record = self._record(version)
        try:
            return record.with_suffix(".joblib").read_bytes(), json.loads(record.read_text())["card"]
        except FileNotFoundError:
            raise UnknownVersion(version) from None

    def listing(self) -> list[dict]:
        entries = [json.loads(path.read_text()) for path in self.folder.glob("*.json")]
        return sorted(entries, key=lambda entry: entry["created_at"])


def version_store(app: Flask):
    """The versions of this deployment: in the database on PostgreSQL, else in MODEL_DIR."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            return DatabaseVersions()
    return FolderVersions(Path(app.config["MODEL_DIR"]))


def as_model(data: bytes, card: dict) -> DigitModel:
    # The bytes come from this deployment's own database or folder, as trusted as the model file.
    return DigitModel(pipeline=joblib.load(io.BytesIO(data)), card=card, version=card["version"])


class ServedModel:
    """The model a process serves: the version in use, looked up at most every CHECK_SECONDS.

    The first lookup loads the version before answering (the process serves nothing older than what is
    in use); later ones load it in a thread while the old version answers, then swap them. A lookup
    that fails (the database down) keeps the model served.
    """

    def __init__(self, app: Flask, base: DigitModel | None, load_error: str | None = None):
        self.app = app
        self.base = base
        """The model file the service ships with; None when it could not be loaded."""
        self.load_error = load_error
        """Why the model file could not be loaded, for the log and the admin's health check."""
        self.model = base
        """The model this process serves; None until one could be loaded."""
        self.store = version_store(app)
        self.checked_at = -CHECK_SECONDS
        self.looked_up = False
        self.loading: threading.Thread | None = None
        self.lock = threading.Lock()

    def get(self) -> DigitModel | None:
        if time.monotonic() - self.checked_at >= CHECK_SECONDS and self.lock.acquire(blocking=False):
            try:
                self.checked_at = time.monotonic()
                self._check()
            finally:
                self.lock.release()
        return self.model

    def version(self) -> str | None:
        return None if self.model is None else self.model.version

    def _check(self) -> None:
        if not self.app.extensions["database_ready"].is_set() and isinstance(self.store, DatabaseVersions):
            return
        try:
            wanted = self.store.in_use()
        except Exception as error:
            self.app.logger.warning("Could not look up the model version in use (%s)", describe_error(error))
            return
        if wanted is None and self.base is not None:
            wanted = self.base.version
        if wanted is None or wanted == self.version() or (self.loading and self.loading.is_alive()):
            self.looked_up = True
            return
        if self.looked_up:
            self.loading = threading.Thread(target=self._load, args=(wanted,), name="load-model", daemon=True)
            self.loading.start()
        else:
            self._load(wanted)
            self.looked_up = True

    def _load(self, version: str) -> None:
        try:
            if self.base is not None and version == self.base.version:
                model = self.base
            else:
                with self.app.app_context():
                    model = as_model(*self.store.model(version))
        except Exception:
            self.app.logger.exception("Could not load model version %s; serving %s", version, self.version())
            return
        self.model = model
        self.app.logger.info("Serving model version %s", version)


def base_entry(base: DigitModel) -> dict:
    return {"card": base.card, "created_at": base.card.get("created_at"), "promoted_at": None}


def versions(app: Flask) -> list[dict]:
    """Every version, oldest first, the base first: its card, when it was made and last promoted."""
    served: ServedModel = app.extensions["served_model"]
    kept = served.store.listing()
    base = [] if served.base is None else [base_entry(served.base)]
    return base + [entry for entry in kept if not base or entry["card"]["version"] != served.base.version]


def load_version(app: Flask, version: str) -> DigitModel:
    served: ServedModel = app.extensions["served_model"]
    if served.base is not None and version == served.base.version:
        return served.base
    return as_model(*served.store.model(version))


def in_use(app: Flask) -> DigitModel:
    """The version in use now, as the store says (not as this process happens to serve it)."""
    served: ServedModel = app.extensions["served_model"]
    wanted = served.store.in_use()
    if wanted is None:
        if served.base is None:
            raise UnknownVersion(served.load_error)
        return served.base
    return load_version(app, wanted)


def add_version(app: Flask, model: bytes, card: dict, promote: bool) -> None:
    store = app.extensions["served_model"].store
    store.add(model, card)
    if promote:
        store.use(card["version"])


def use_version(app: Flask, version: str) -> None:
    """Serve `version` (kept, or the base): every process of the deployment switches within seconds."""
    known = {entry["card"]["version"] for entry in versions(app)}
    if version not in known:
        raise UnknownVersion(version)
    app.extensions["served_model"].store.use(version)


model_cli = AppGroup("model", help="List the model versions, and choose the one served.")


@model_cli.command("use")
@click.argument("version")
def use_command(version: str) -> None:
    """Serve VERSION from now on (a version retrained, or the base to roll back)."""
    try:
        use_version(current_app, version)
    except UnknownVersion:
        names = ", ".join(entry["card"]["version"] for entry in versions(current_app))
        raise click.ClickException(f"There is no model version {version!r}; there are: {names}.") from None
    click.echo(f"Serving {version}: every process of the service switches to it within a few seconds.")


@model_cli.command("list")
def list_command() -> None:
    """Every version, oldest first, with its gate figures; * marks the one in use."""
    in_use_now = in_use(current_app).version
    for entry in versions(current_app):
        card = entry["card"]
        mnist = (card.get("gate") or {}).get("candidate", {}).get("mnist_test")
        mnist = mnist if mnist is not None else card.get("mnist_test", {}).get("accuracy")
        click.echo(
            f"{'*' if card['version'] == in_use_now else ' '} {card['version']}  "
            f"made {entry['created_at'] or 'with the service'}  promoted {entry['promoted_at'] or '-'}  "
            f"MNIST test {'-' if mnist is None else f'{mnist:.2%}'}"
        )


def init_app(app: Flask) -> None:
    path = app.config["MODEL_PATH"]
    try:
        served = ServedModel(app, load_model(path))
    except Exception as error:
        # A model that cannot be loaded leaves the service up to say so: /api/health
        # reports it and predictions answer 503, rather than the process dying unexplained.
        app.logger.exception("Could not load the model %s", path)
        served = ServedModel(app, None, f"The model {path} could not be loaded ({type(error).__name__}: {error}).")
    app.extensions["served_model"] = served
    app.cli.add_command(model_cli)
