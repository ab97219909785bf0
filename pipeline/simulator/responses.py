"""Answers in the API's shapes: JSON pages, the three error-body shapes, the proxy's HTML 502."""

from __future__ import annotations

import orjson
from aiohttp import web

JSON = "application/json"
PROXY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
# SWR codes read SVCSTG.SWR.<http status><4 digits>; the ones the doc names, and the simulator's own
# choices for the statuses it does not name (500, 503, 405).
SWR_CODES = {
    400: ("SVCSTG.SWR.4000014", "Bad request"),
    401: ("SVCSTG.SWR.4010000", "Authorization failed or token expired"),
    403: ("SVCSTG.SWR.4030170", "No permission"),
    404: ("SVCSTG.SWR.4040010", "Namespace or repository not found"),
    405: ("SVCSTG.SWR.4050000", "Method not allowed"),
    500: ("SVCSTG.SWR.5000001", "Internal server error"),
    503: ("SVCSTG.SWR.5030001", "Service unavailable, try again later"),
}
GATEWAY_MESSAGES = {
    "APIGW.0101": "The API does not exist or has not been published in the environment",
    "APIGW.0301": "Incorrect IAM authentication information: verify aksk signature fail",
    "APIGW.0303": "Incorrect app authentication information: the request has expired (X-Sdk-Date)",
    "APIGW.0308": "The throttling threshold has been reached: policy user over ratelimit",
}


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer from already-encoded bytes."""
    return web.Response(status=status, body=body, content_type=JSON, headers=headers)


def swr_error_body(status: int, detail: str, *, legacy: bool) -> bytes:
    """The current SWR error shape, or the bare array older regions answer."""
    code, message = SWR_CODES[status]
    item = {"errorCode": code, "errorMessage": message, "detail": detail}
    if legacy:
        return orjson.dumps([item])
    return orjson.dumps({"errors": [item], "error_code": code, "error_msg": message, "details": [detail]})


def swr_error(
    status: int, detail: str, *, legacy: bool, headers: dict[str, str] | None = None
) -> web.Response:
    """An SWR error answer."""
    return json_response(status, swr_error_body(status, detail, legacy=legacy), headers)


def gateway_error(
    status: int, code: str, request_id: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An API-gateway error answer (routing, throttling, signature)."""
    body = {"error_code": code, "error_msg": GATEWAY_MESSAGES[code], "request_id": request_id}
    return json_response(status, orjson.dumps(body), headers)


def proxy_502() -> web.Response:
    """The HTML a reverse proxy answers when the service behind it fails."""
    return web.Response(status=502, body=PROXY_502, content_type="text/html")
