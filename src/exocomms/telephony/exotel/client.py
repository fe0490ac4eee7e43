"""Typed async client for the parts of Exotel's API that exocomms uses.

Every failure is mapped onto ``exocomms.errors`` at this boundary (chained with ``from``):
401/403 → ``ProviderAuthError``, 429 → ``RateLimited``, other 4xx → ``InvalidRequest`` with
Exotel's ``RestException.Message``, 5xx/timeouts/connection errors → ``ProviderUnavailable``.

Retries are only the safe ones: reads are retried on 429/5xx/timeouts; a write (a call, an
SMS) is retried only when Exotel certainly did not act on it — a 429 (refused before
processing) or a connection that was never established. A 5xx or a timeout on a write is
ambiguous (the call may exist), so it is raised for the caller to reconcile.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from exocomms.errors import (
    InvalidRequest,
    ProviderError,
    ProviderUnavailable,
)
from exocomms.telephony.exotel.http_errors import status_error
from exocomms.telephony.exotel.wire import (
    CallInfo,
    CallPage,
    SmsInfo,
    flow_url,
    parse_call,
    parse_call_page,
    parse_sms,
    rest_exception_message,
)

SINGAPORE = "https://api.exotel.com"
MUMBAI = "https://api.in.exotel.com"
STATUS_CALLBACK_EVENTS = ("terminal", "answered")
MAX_CUSTOM_FIELD = 128
MAX_TIME_LIMIT = 14_400


class RateLimiter(Protocol):
    """Keeps the whole deployment under the account's per-minute limits."""

    async def acquire(self, bucket: str) -> None:
        """Wait for (or refuse with ``RateLimited``) one request in ``bucket`` (voice, sms)."""
        ...


class ExotelClient:
    """Exotel v1/v2 REST for calls, call details, SMS and WhatsApp.

    Args:
        base_url: ``https://api.exotel.com`` (Singapore), ``https://api.in.exotel.com``
            (Mumbai), or exosim's URL.
        account_sid, api_key, api_token: the account's credentials (HTTP Basic key:token).
        timeout: seconds for every request.
        transport: an httpx transport (tests), default network.
        rate_limiter: shared limiter for the voice and SMS buckets.
        read_retries: extra attempts for safe requests.
    """

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        api_key: str,
        api_token: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limiter: RateLimiter | None = None,
        read_retries: int = 2,
    ) -> None:
        self.account_sid = account_sid
        self._limiter = rate_limiter
        self._read_retries = read_retries
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(api_key, api_token),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "exocomms"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> ExotelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- calls ----------------------------------------------------------------------------
    async def connect_numbers(
        self,
        *,
        from_number: str,
        to_number: str,
        caller_id: str,
        **options: Any,
    ) -> CallInfo:
        """Click-to-call: ring ``from_number`` first, then ``to_number``, and bridge them."""
        form = {"From": from_number, "To": to_number, "CallerId": caller_id}
        return await self._connect(form, options)

    async def connect_flow(
        self,
        *,
        from_number: str,
        caller_id: str,
        flow_id: str,
        **options: Any,
    ) -> CallInfo:
        """Ring ``from_number`` and run App Bazaar flow ``flow_id`` when it answers."""
        form = {
            "From": from_number,
            "CallerId": caller_id,
            "Url": flow_url(self.account_sid, flow_id),
        }
        return await self._connect(form, options)

    async def _connect(self, form: dict[str, str], options: Mapping[str, Any]) -> CallInfo:
        fields: list[tuple[str, str]] = list(form.items())
        fields.extend(_call_options(**options))
        if self._limiter is not None:
            await self._limiter.acquire("voice")
        body = await self._request("POST", "Calls/connect.json", data=fields, safe=False)
        return parse_call(body)

    async def get_call(self, call_sid: str, *, details: bool = False) -> CallInfo:
        """Call details (``?details=true`` adds per-leg figures)."""
        params = {"details": "true"} if details else None
        body = await self._request("GET", f"Calls/{call_sid}.json", params=params, safe=True)
        return parse_call(body)

    async def list_calls(self, **filters: str) -> CallPage:
        """Bulk call details with Exotel's filters (``Sid``, ``DateCreated``, ``Status``…)."""
        body = await self._request("GET", "Calls.json", params=filters, safe=True)
        return parse_call_page(body)

    # -- SMS ------------------------------------------------------------------------------
    async def send_sms(
        self,
        *,
        from_number: str,
        to: str | Sequence[str],
        body: str,
        dlt_entity_id: str | None = None,
        dlt_template_id: str | None = None,
        sms_type: str | None = None,
        priority: str | None = None,
        encoding_type: str | None = None,
        status_callback: str | None = None,
        custom_field: str | None = None,
    ) -> list[SmsInfo]:
        """Send one SMS, or the same SMS to several numbers (static bulk)."""
        recipients = [to] if isinstance(to, str) else list(to)
        fields: list[tuple[str, str]] = [("From", from_number), ("Body", body)]
        fields.extend(("To", number) for number in recipients)
        optional = {
            "DltEntityId": dlt_entity_id,
            "DltTemplateId": dlt_template_id,
            "SmsType": sms_type,
            "Priority": priority,
            "EncodingType": encoding_type,
            "StatusCallback": status_callback,
            "CustomField": custom_field,
        }
        fields.extend((k, v) for k, v in optional.items() if v is not None)
        if self._limiter is not None:
            await self._limiter.acquire("sms")
        answer = await self._request("POST", "Sms/send.json", data=fields, safe=False)
        return parse_sms(answer)

    async def get_sms(self, sms_sid: str) -> SmsInfo:
        """SMS details."""
        answer = await self._request("GET", f"SMS/Messages/{sms_sid}.json", safe=True)
        return parse_sms(answer)[0]

    # -- WhatsApp -------------------------------------------------------------------------
    async def send_whatsapp(
        self,
        *,
        from_number: str,
        to: str,
        content: Mapping[str, Any],
        status_callback: str | None = None,
        custom_data: str | None = None,
    ) -> str:
        """Send one WhatsApp message (text, template or interactive); returns its sid."""
        message: dict[str, Any] = {"from": from_number, "to": to, "content": dict(content)}
        if custom_data is not None:
            message["custom_data"] = custom_data
        payload: dict[str, Any] = {"whatsapp": {"messages": [message]}}
        if status_callback is not None:
            payload["status_callback"] = status_callback
        answer = await self._request(
            "POST", f"/v2/accounts/{self.account_sid}/messages", json=payload, safe=False
        )
        try:
            entry = answer["response"]["whatsapp"]["messages"][0]
            if entry.get("status") != "success":
                detail = entry.get("error_data", {}).get("description", "rejected")
                raise InvalidRequest(f"WhatsApp message rejected: {detail}", details=entry)
            return str(entry["data"]["sid"])
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProviderError("unexpected WhatsApp response shape", details=answer) from exc

    # -- numbers --------------------------------------------------------------------------
    async def assign_flow(
        self,
        exophone_sid: str,
        *,
        voice_flow_id: str | None = None,
        sms_flow_id: str | None = None,
    ) -> dict[str, Any]:
        """Point an ExoPhone's incoming calls (and/or SMS) at App Bazaar flows."""
        fields: list[tuple[str, str]] = []
        base = f"http://my.exotel.com/{self.account_sid}/exoml"
        if voice_flow_id is not None:
            fields.append(("VoiceUrl", f"{base}/start_voice/{voice_flow_id}"))
        if sms_flow_id is not None:
            fields.append(("SMSUrl", f"{base}/start_sms/{sms_flow_id}"))
        path = f"/v2_beta/Accounts/{self.account_sid}/IncomingPhoneNumbers/{exophone_sid}.json"
        answer = await self._request("PUT", path, data=fields, safe=True)
        return answer if isinstance(answer, dict) else {"response": answer}

    # -- transport ------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        if path.startswith("/"):
            return path
        return f"/v1/Accounts/{self.account_sid}/{path}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        safe: bool,
        params: Mapping[str, str] | None = None,
        data: Sequence[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> Any:
        attempts = 1 + (self._read_retries if safe else 1)
        for attempt in range(1, attempts + 1):
            try:
                kwargs: dict[str, Any] = {"params": params}
                if data is not None:
                    kwargs["content"] = urlencode(list(data)).encode()
                    kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
                if json is not None:
                    kwargs["json"] = json
                response = await self._http.request(method, self._url(path), **kwargs)
            except httpx.ConnectError as exc:
                # Never reached Exotel: safe to retry even a write.
                if attempt < attempts:
                    await _pause(attempt)
                    continue
                raise ProviderUnavailable(f"cannot reach Exotel: {exc}") from exc
            except httpx.TimeoutException as exc:
                if safe and attempt < attempts:
                    await _pause(attempt)
                    continue
                raise ProviderUnavailable(f"Exotel timed out: {exc}") from exc
            except httpx.HTTPError as exc:
                raise ProviderUnavailable(f"HTTP error talking to Exotel: {exc}") from exc
            retryable = response.status_code == 429 or (safe and response.status_code >= 500)
            if retryable and attempt < attempts:
                await _pause(attempt, _retry_after(response))
                continue
            return _answer(response)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns/raises


def _call_options(
    *,
    time_limit: int | None = None,
    time_out: int | None = None,
    record: bool | None = None,
    recording_channels: str | None = None,
    custom_field: str | None = None,
    status_callback: str | None = None,
    status_callback_events: Sequence[str] = (),
    status_callback_json: bool = False,
    wait_url: str | None = None,
    call_type: str | None = "trans",
) -> list[tuple[str, str]]:
    """Validated optional parameters of Calls/connect, in Exotel's spelling."""
    fields: list[tuple[str, str]] = []
    if time_limit is not None:
        if not 1 <= time_limit <= MAX_TIME_LIMIT:
            raise InvalidRequest(f"TimeLimit must be 1..{MAX_TIME_LIMIT} seconds")
        fields.append(("TimeLimit", str(time_limit)))
    if time_out is not None:
        fields.append(("TimeOut", str(time_out)))
    if record is not None:
        fields.append(("Record", "true" if record else "false"))
    if recording_channels is not None:
        fields.append(("RecordingChannels", recording_channels))
    if custom_field is not None:
        if len(custom_field) > MAX_CUSTOM_FIELD:
            raise InvalidRequest(f"CustomField is limited to {MAX_CUSTOM_FIELD} characters")
        fields.append(("CustomField", custom_field))
    if status_callback is not None:
        fields.append(("StatusCallback", status_callback))
        for index, event in enumerate(status_callback_events):
            if event not in STATUS_CALLBACK_EVENTS:
                raise InvalidRequest(f"unknown StatusCallbackEvents value {event!r}")
            fields.append((f"StatusCallbackEvents[{index}]", event))
        if status_callback_json:
            fields.append(("StatusCallbackContentType", "application/json"))
    if wait_url is not None:
        fields.append(("WaitUrl", wait_url))
    if call_type is not None:
        fields.append(("CallType", call_type))
    return fields


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


async def _pause(attempt: int, hint: float | None = None) -> None:
    delay = hint if hint is not None else min(4.0, 0.25 * 2 ** (attempt - 1))
    await asyncio.sleep(min(delay, 10.0) * random.uniform(0.8, 1.2))


def _answer(response: httpx.Response) -> Any:
    """The decoded JSON body of a 2xx, or the mapped error."""
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if 200 <= status < 300:
        if body is None:
            raise ProviderError(f"Exotel answered {status} without JSON")
        return body
    message = rest_exception_message(body) or response.reason_phrase or f"HTTP {status}"
    details = {"status": status, "body": body if body is not None else response.text[:500]}
    raise status_error(
        "Exotel", status, message, details, retry_after=_retry_after(response) or 60.0
    )
