"""The bot's HTTP session: Bot API calls without files as JSON bodies.

aiogram's session sends every call as ``multipart/form-data`` with a fresh random boundary,
each parameter its own part (reply markups JSON-encoded inside). Telegram accepts
``application/json`` as well, and a JSON body is one encode instead of a part per field: on
the quiz answer path (an answer toast and an edit per tap) building multipart bodies was the
largest single cost of the HTTP calls. Calls carrying a file (an upload) stay multipart.
"""

from __future__ import annotations

from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError

JSON_HEADERS = {"Content-Type": "application/json"}


class JsonSession(AiohttpSession):
    """An :class:`AiohttpSession` that posts JSON unless the call uploads a file."""

    def build_json(self, bot: Bot, method: TelegramMethod[Any]) -> str | None:
        """The call's parameters as one JSON document; None when it carries a file.

        Values go through aiogram's own ``prepare_value`` (defaults such as parse_mode
        resolved, enums and dates converted), only not JSON-encoded one by one."""
        files: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # as the form leaves them out
                continue
            params[key] = prepared
        if files:
            return None
        return self.json_dumps(params)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        body = self.build_json(bot, method)
        if body is None:  # an upload: multipart, as aiogram sends it
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=body.encode(),
                headers=JSON_HEADERS,
                timeout=self.timeout if timeout is None else timeout,
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)

