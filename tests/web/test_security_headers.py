"""Issue 14, web hardening: security headers, HSTS over HTTPS (directly or behind the trusted
proxy), HEAD wherever GET is, and `Allow` on every 405."""

from __future__ import annotations

from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dashboard.app import create_app
from tests.support.web import client, logged_in


def test_security_headers_on_pages_api_and_errors() -> None:
    c = logged_in()
    for path in ("/login", "/oversigt", "/api/courses", "/findes-ikke", "/api/findes-ikke"):
        headers = c.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["cache-control"] == "no-store", path
        assert "strict-transport-security" not in headers, path  # plain http: no HSTS


def test_hsts_over_https_only() -> None:
    https = TestClient(create_app(), base_url="https://testserver")
    assert https.get("/login").headers["strict-transport-security"] == "max-age=31536000"


def test_hsts_behind_the_proxy_only_when_the_proxy_is_trusted() -> None:
    """As deployed: uvicorn --proxy-headers trusts X-Forwarded-Proto only from FORWARDED_ALLOW_IPS."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    trusted = TestClient(ProxyHeadersMiddleware(create_app(), trusted_hosts="testclient"))
    response = trusted.get("/login", headers=forwarded)
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    assert "secure" in response.headers["set-cookie"].lower()
    untrusted = TestClient(ProxyHeadersMiddleware(create_app(), trusted_hosts="192.0.2.1"))
    assert "strict-transport-security" not in untrusted.get("/login", headers=forwarded).headers


def test_head_wherever_get_is() -> None:
    c = client()
    for path in ("/login", "/", "/healthz", "/static/style.css", "/api/openapi.json"):
        got, head = c.get(path), c.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
    assert c.head("/oversigt").status_code == 303  # as GET: log in first
    assert c.head("/api/courses").status_code == 401
    assert logged_in().head("/oversigt").status_code == 200
    paths = client().get("/api/openapi.json").json()["paths"]
    assert not [path for path, operations in paths.items() if "head" in operations]  # not documented twice


def test_every_405_says_what_is_allowed() -> None:
    c = client()
    for method, path, allow in (
        ("put", "/login", "GET, HEAD, POST"),
        ("delete", "/api/courses", "GET, HEAD, POST"),
        ("post", "/healthz", "GET, HEAD"),
        ("get", "/logout", "POST"),
        ("post", "/static/style.css", "GET, HEAD"),
        ("head", "/logout", "POST"),
    ):
        response = c.request(method.upper(), path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allow, (method, path)
    api = c.delete("/api/courses")
    assert api.headers["content-type"] == "application/problem+json"
    assert "ikke tilladt" in api.json()["detail"]
    assert "ikke tilladt" in c.put("/login").text
