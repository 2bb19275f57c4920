"""The one exception the client raises for an error answer of the API."""

from __future__ import annotations

import httpx


class VitrineError(Exception):
    """An error answer: the HTTP status and the API's ``{"message", "code", "type"}``.

    ``code`` is stable (match on it: ``index_not_found``, ``forbidden_for_key``,
    ``model_not_trained`` ...), ``type`` groups codes (``invalid_request``, ``auth``, ``system``,
    ``internal``) and ``message`` is for people. The table of codes is in the server's
    ``src/http/error.rs``.

    An error answer without that shape (a proxy's page, say) gets the code ``http_error`` and
    the type ``unknown``, with the start of its body as the message.
    """

    status: int
    code: str
    type: str
    message: str

    def __init__(self, status: int, code: str, type: str, message: str) -> None:  # noqa: A002
        super().__init__(status, code, type, message)
        self.status = status
        self.code = code
        self.type = type
        self.message = message

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"VitrineError(status={self.status}, code={self.code!r}, type={self.type!r}, message={self.message!r})"

    @classmethod
    def from_response(cls, response: httpx.Response) -> VitrineError:
        """The error of an answer with a 4xx or 5xx status."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            return cls(
                response.status_code,
                body["code"],
                str(body.get("type", "unknown")),
                str(body.get("message", "")),
            )
        text = response.text.strip()[:500] or response.reason_phrase
        return cls(response.status_code, "http_error", "unknown", text)
