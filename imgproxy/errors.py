"""One exception family: each error knows its HTTP status and its error code."""

from __future__ import annotations

from typing import Any


class ImgproxyError(Exception):
    """Base of every error the server answers on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "code": self.code}
        if self.param is not None:
            body["param"] = self.param
        body["message"] = self.message
        return {"error": body}


class InvalidParameter(ImgproxyError):
    status = 400
    code = "invalid_parameter"


class InvalidPath(ImgproxyError):
    status = 400
    code = "invalid_path"


class UndecodableImage(ImgproxyError):
    status = 400
    code = "undecodable_image"


class ForbiddenByConfig(ImgproxyError):
    status = 401
    code = "forbidden"


class BadSignature(ImgproxyError):
    status = 403
    code = "bad_signature"


class NotFound(ImgproxyError):
    status = 404
    code = "not_found"


class SourceTooLarge(ImgproxyError):
    status = 413
    code = "source_too_large"


class OriginFailed(ImgproxyError):
    status = 502
    code = "origin_failed"


class ExtraNotInstalled(ImgproxyError):
    status = 501
    code = "not_installed"


class Overloaded(ImgproxyError):
    status = 503
    code = "overloaded"


class ClientGone(ImgproxyError):
    # nginx's code for a client that closed the connection; nobody reads this answer.
    status = 499
    code = "client_closed_request"


class DeadlineExceeded(ImgproxyError):
    status = 504
    code = "timeout"


class ConfigError(Exception):
    """A configuration value that stops start-up; the message names the key."""
