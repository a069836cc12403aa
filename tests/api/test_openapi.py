"""The OpenAPI document: every route in it, and contracts/openapi.json equal to what is served."""

from __future__ import annotations

from dataex.cli.contracts import rendered_openapi
from dataex.config.paths import contracts_dir


def test_committed_openapi_is_exactly_what_the_api_serves() -> None:
    committed = (contracts_dir() / "openapi.json").read_text()
    assert committed == rendered_openapi(), "run `dataex contracts generate`"


async def test_openapi_describes_every_route(api, runtime) -> None:  # type: ignore[no-untyped-def]
    spec = (await api.get("/schema/openapi.json")).json()
    for path in ["/v1/documents", "/v1/audit/entries", "/v1/audit/entries/{seq}",
                 "/v1/audit/export", "/v1/participants", "/health/ready"]:
        assert path in spec["paths"], path
    assert (await api.get("/schema")).status_code == 200
