"""FSM storage: Redis when set and reachable (``infra/failover.py``), else the database.

Never memory. The database holds every conversation's state, written first on every change;
with Redis, Redis holds a versioned copy that answers the reads.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)

from studymate.db.connection import Db
from studymate.db.models import FsmRecord, utcnow


def _state_name(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state


# -- database storage ---------------------------------------------------------------------
Record = tuple[str | None, str, int]  # state, data as JSON, version


def _get_record(key: str) -> tuple[str | None, dict[str, Any]]:
    row = FsmRecord.get_or_none(FsmRecord.key == key)
    return (row.state, json.loads(row.data)) if row else (None, {})


def _put(key: str, **fields: Any) -> Record:
    fields["updated_at"] = utcnow()
    update: dict[Any, Any] = {getattr(FsmRecord, name): value for name, value in fields.items()}
    update[FsmRecord.version] = FsmRecord.version + 1
    (
        FsmRecord.insert(key=key, version=1, **fields)
        .on_conflict(conflict_target=[FsmRecord.key], update=update)
        .execute()
    )
    # An emptied row is kept: its version tells Redis, after an outage, that the user left.
    row = FsmRecord.get(FsmRecord.key == key)
    return row.state, row.data, row.version


def _changed_since(since: dt.datetime) -> list[tuple[str, Record]]:
    rows = FsmRecord.select().where(FsmRecord.updated_at >= since)
    return [(r.key, (r.state, r.data, r.version)) for r in rows]


def _forget_unversioned() -> int:
    """Rows written before rows had versions were written during Redis outages only (Redis
    held the rest): Redis has the newer state, so they must not answer in the next outage."""
    return FsmRecord.delete().where(FsmRecord.version == 0).execute()


class DatabaseStorage(BaseStorage):
    """aiogram FSM storage in the ``fsm_record`` table: survives restarts, needs no Redis."""

    def __init__(self, db: Db, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder()

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def write_state(self, key: StorageKey, state: StateType = None) -> Record:
        return await self.db.run(_put, self._key(key), state=_state_name(state))

    async def write_data(self, key: StorageKey, data: Mapping[str, Any]) -> Record:
        return await self.db.run(_put, self._key(key), data=json.dumps(dict(data), ensure_ascii=False))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self.write_state(key, state)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self.db.run(_get_record, self._key(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self.write_data(key, data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return (await self.db.run(_get_record, self._key(key)))[1]

    async def changed_since(self, since: dt.datetime) -> list[tuple[str, Record]]:
        return await self.db.run(_changed_since, since)

    async def forget_unversioned(self) -> int:
        return await self.db.run(_forget_unversioned)

    async def close(self) -> None:
        pass  # the database belongs to the application, not to the storage
