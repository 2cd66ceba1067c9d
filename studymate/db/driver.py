"""psycopg2 in the processes that open PostgreSQL only.

peewee imports psycopg2 when it is itself imported, whatever the database: with
psycopg2-binary that maps its own libpq, libssl and libcrypto, ~6 MB resident in every process
(the bot, the watchdog and the backup scheduler on SQLite too), and so does
``playhouse.postgres_ext``, which the migration runner imports (for its hstore support, which we
do not use). :func:`defer` (called by ``studymate/__init__.py``, before anything imports peewee)
makes those imports find no driver; :func:`load_psycopg2` binds the driver into peewee, as its
import would have, when a PostgreSQL database is opened (``db/connection.py``). Whatever creates
a peewee PostgreSQL database in another way calls it first (peewee would otherwise answer
"psycopg2 postgres driver not found"); code that uses psycopg2 itself imports it as usual.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec
from typing import Any

IMPORTERS = ("peewee", "playhouse.postgres_ext")  # import psycopg2 if they can, at import


class _NoDriverForPeewee:
    """A meta path finder that fails ``import psycopg2`` while one of ``IMPORTERS`` runs its
    module, and leaves every other import (and psycopg2 imported later) to the usual finders."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name == "psycopg2" and any(_initializing(module) for module in IMPORTERS):
            raise ModuleNotFoundError("psycopg2 is loaded when PostgreSQL is opened", name=name)
        return None


def _initializing(module: str) -> bool:
    spec = getattr(sys.modules.get(module), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))  # set by importlib while the module runs


def defer() -> None:
    """Let peewee import without psycopg2 (does nothing once peewee is imported)."""
    if "peewee" not in sys.modules and not any(
        isinstance(finder, _NoDriverForPeewee) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _NoDriverForPeewee())


def load_psycopg2() -> None:
    """Import psycopg2 and give it to peewee, binding what peewee's import binds when it finds
    the driver itself (module names, the UUID adapter, its adapter's transaction states)."""
    import peewee

    if peewee.psycopg2 is not None:
        return
    import psycopg2
    from psycopg2 import extensions
    from psycopg2.extras import Json, register_uuid

    register_uuid()
    peewee.psycopg2, peewee.pg_extensions, peewee.Json_pg2 = psycopg2, extensions, Json
    adapter = peewee.Psycopg2Adapter
    adapter.txn_idle = extensions.TRANSACTION_STATUS_IDLE
    adapter.txn_inerror = extensions.TRANSACTION_STATUS_INERROR
    adapter.txn_unknown = extensions.TRANSACTION_STATUS_UNKNOWN
