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

    from harness.targets.errors import ConfigurationError

    module, _, name = BACKENDS.get(spec, spec).partition(":")
    try:
        cls = getattr(import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"cannot load backend '{spec}' ({exc})",
            f"use one of {', '.join(BACKENDS)}, or module:Class for a Backend subclass",
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise ConfigurationError(
            f"'{spec}' is not a Backend subclass",
            "a plug-in backend must subclass backends.base.Backend",
        )
    return cls


__all__ = ["BACKENDS", "FLOOR", "ORM_PAIR", "Backend", "load_backend"]
