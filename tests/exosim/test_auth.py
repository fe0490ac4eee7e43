"""HTTP Basic auth variants, checked against the account SID in the path."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import httpx
import pytest

from tests.exosim.conftest import TLS, control, http_client

PATH = "/v1/Accounts/{sid}/Calls/connect.json"
BODY = {"From": "09876543210", "To": "09812345678", "CallerId": "08047091234"}


def _header(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    ("user", "password"),
    [("exosim-key", "exosim-token"), ("exosim", "exosim-token")],
    ids=["api-key", "older-sid-form"],
)
def test_header_credentials_accepted(sim_url: str, user: str, password: str) -> None:
    response = httpx.post(
        sim_url + PATH.format(sid="exosim"), data=BODY, headers=_header(user, password), verify=TLS
    )
    assert response.status_code == 200
    assert response.json()["Call"]["AccountSid"] == "exosim"


def test_credentials_in_url_userinfo(sim_url: str) -> None:
    # How Exotel's docs write it: https://<key>:<token>@host/v1/Accounts/<sid>/...
    host = urlsplit(sim_url).netloc
    url = f"http://exosim-key:exosim-token@{host}" + PATH.format(sid="exosim")
    response = httpx.post(url, data=BODY, verify=TLS)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("sid", "headers", "reason"),
    [
        ("exosim", _header("exosim-key", "nope"), "wrong token"),
        ("exosim", _header("someone-else", "exosim-token"), "wrong key"),
        ("other", _header("exosim-key", "exosim-token"), "sid not owned"),
        ("exosim", {}, "no credentials"),
        ("exosim", {"Authorization": "Basic !!!notbase64"}, "garbled header"),
        ("exosim", {"Authorization": "Bearer exosim-token"}, "wrong scheme"),
    ],
)
def test_rejected_with_rest_exception(
    sim_url: str, sid: str, headers: dict[str, str], reason: str
) -> None:
    response = httpx.post(sim_url + PATH.format(sid=sid), data=BODY, headers=headers, verify=TLS)
    assert response.status_code == 401, reason
    error = response.json()["RestException"]
    assert error["Status"] == 401
    assert isinstance(error["Code"], int)
    assert error["Message"]
    with http_client(sim_url) as http:
        assert control(http, "GET", "calls") == []  # nothing created


def test_second_account_cannot_use_first_accounts_sid(client: httpx.Client) -> None:
    created = control(
        client,
        "POST",
        "accounts",
        json={"sid": "shop2", "api_key": "shop2-key", "api_token": "shop2-token"},
    )
    assert created["sid"] == "shop2"
    other = httpx.BasicAuth("shop2-key", "shop2-token")
    own = client.post(PATH.format(sid="shop2"), data=BODY, auth=other)
    foreign = client.post(PATH.format(sid="exosim"), data=BODY, auth=other)
    assert own.status_code == 200
    assert own.json()["Call"]["AccountSid"] == "shop2"
    assert foreign.status_code == 401
    # The first account cannot read the second one's call either.
    sid = own.json()["Call"]["Sid"]
    assert client.get(f"/v1/Accounts/exosim/Calls/{sid}.json").status_code == 404
