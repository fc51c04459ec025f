"""Ways of talking to the database, one module each, behind the contract in `base`."""

from __future__ import annotations

from backends.base import Backend

# name -> "module:Class"; imported on demand so that a missing ORM fails only when chosen.
BACKENDS: dict[str, str] = {
    "sqlalchemy": "backends.sqlalchemy_orm:SqlAlchemyOrm",
    "django": "backends.django_orm:DjangoOrm",
    "dbapi": "backends.dbapi:DbApi",
}
ORM_PAIR = ("sqlalchemy", "django")
FLOOR = "dbapi"


def load_backend(spec: str) -> type[Backend]:
    """A backend class from its registered name, or from "module:Class" (for tests and plugins)."""
    from importlib import import_module

    module, _, cls = BACKENDS.get(spec, spec).partition(":")
    return getattr(import_module(module), cls)


__all__ = ["BACKENDS", "FLOOR", "ORM_PAIR", "Backend", "load_backend"]
