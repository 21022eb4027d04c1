"""``ChatModel``: one OpenAI-compatible chat-completions endpoint asked for a JSON object.

The one client of a language model in booksync: the wizard's customer classifier
(``onboarding/llm.py``) and the billing memory's answers (``memory/ask.py``) both ask through it,
with the endpoint the same settings name (``ApiSettings.chat_model``). Whatever goes wrong raises,
and ``failure`` says it in a few words; each caller decides what answers instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx


class ChatModel:
    def __init__(
        self,
        *,
        url: str,
        model: str,
        api_key: Callable[[], str | None],
        timeout_seconds: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self._timeout = timeout_seconds
        self._http = http

    def ask_json(self, system: str, user: str) -> dict[str, Any]:
        """The model's answer to ``user`` under ``system``: the JSON object it was asked for
        (temperature 0). Raises on an HTTP error, a timeout or an answer that is not an object."""
        payload = {
            "model": self.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
        headers = {"Content-Type": "application/json"}
        key = self._api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self._url if self._url.endswith("/chat/completions") else f"{self._url}/chat/completions"
        if self._http is not None:
            response = self._http.post(url, json=payload, headers=headers, timeout=self._timeout)
        else:
            response = httpx.post(url, json=payload, headers=headers, timeout=self._timeout)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
        answer = json.loads(content)
        if not isinstance(answer, dict):
            raise TypeError("the answer is not a JSON object")
        return answer


def failure(exc: Exception) -> str:
    """A failed ask in a few words, for the reason a caller gives for answering without the model."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return "unreachable"
    return "unusable answer"
