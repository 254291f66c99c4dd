"""Retries (``retries=`` / ``httpr.Retry``) against a real local server that fails on purpose.

The server counts the attempts it received for each key and when each one arrived, so every
test asserts what the server saw (number of attempts, pauses between them), not only what the
client returned. Scenarios a client drives run with both clients (``mode``: sync / async).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

import httpr
from hostile_servers import full_backlog
from production_servers import ProdServer
from stream_server import Mode, Twin, run_twin

#: No backoff, no jitter: retries follow each other at once.
FAST = httpr.Retry(total=3, backoff_factor=0, backoff_jitter=0)




@pytest.fixture
def key() -> str:
    return uuid.uuid4().hex


def gaps(times: list[float]) -> list[float]:
    """Seconds between consecutive attempts."""
    return [b - a for a, b in zip(times, times[1:])]


# -- retrying until it works ---------------------------------------------------------------------


def test_fails_twice_then_succeeds(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{key}?fail=2"))

    response = run_twin(mode, scenario, retries=httpr.Retry(total=3, backoff_factor=0.01), timeout=5)
    assert response.status_code == 200
    assert response.text == "ok after 3"
    assert len(srv.attempts(key)) == 3


def test_int_retries_use_the_default_policy(mode: Mode, srv: ProdServer, key: str) -> None:
    """``retries=2``: two retries with the Retry() defaults (backoff 0.5 s, then 1 s)."""

    async def scenario(t: Twin) -> httpr.Response:
        assert isinstance(t.client.retries, httpr.Retry)
        assert t.client.retries.total == 2
        return await t.get(srv.url(f"/flaky/{key}?fail=1&status=502"))

    response = run_twin(mode, scenario, retries=2, timeout=5)
    assert (response.status_code, response.text) == (200, "ok after 2")
    [first] = gaps(srv.attempts(key))
    assert 0.45 <= first <= 0.5 + 0.1 + 0.3, f"default backoff before the 1st retry: {first:.3f}s"


def test_status_retry_that_runs_out_returns_the_last_response(
    mode: Mode, srv: ProdServer, key: str
) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{key}?fail=100&status=503"))

    retry = httpr.Retry(total=2, backoff_factor=0, backoff_jitter=0)
    response = run_twin(mode, scenario, retries=retry, timeout=5)
    assert response.status_code == 503
    assert response.text == "fail 3", "the LAST response is returned"
    assert len(srv.attempts(key)) == 3
    with pytest.raises(httpr.HTTPStatusError):
        response.raise_for_status()


@pytest.mark.parametrize("status", [404, 500, 501])
def test_statuses_outside_the_forcelist_are_not_retried(
    mode: Mode, srv: ProdServer, key: str, status: int
) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{key}?fail=5&status={status}"))

    response = run_twin(mode, scenario, retries=FAST, timeout=5)
    assert response.status_code == status
    assert len(srv.attempts(key)) == 1


def test_custom_status_forcelist(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> tuple[httpr.Response, httpr.Response]:
        first = await t.get(srv.url(f"/flaky/{key}-a?fail=1&status=500"))
        second = await t.get(srv.url(f"/flaky/{key}-b?fail=1&status=503"))
        return first, second

    retry = httpr.Retry(total=3, backoff_factor=0, status_forcelist=[500])
    assert list(retry.status_forcelist) == [500]
    first, second = run_twin(mode, scenario, retries=retry, timeout=5)
    assert (first.status_code, len(srv.attempts(f"{key}-a"))) == (200, 2)
    assert (second.status_code, len(srv.attempts(f"{key}-b"))) == (503, 1), "503 is no longer listed"


# -- Retry-After ---------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{key}?fail=1&status=503&retry_after=1"))

    retry = httpr.Retry(total=2, backoff_factor=0, backoff_jitter=0)
    response = run_twin(mode, scenario, retries=retry, timeout=5)
    assert response.status_code == 200
    [wait] = gaps(srv.attempts(key))
    assert 0.95 <= wait < 1.6, f"Retry-After: 1 but the retry came after {wait:.3f}s"


def test_retry_after_http_date_is_honoured(mode: Mode, srv: ProdServer, key: str) -> None:
    """``Retry-After: <IMF-fixdate>`` 2 s ahead on a 429; the date has whole seconds, so the
    wait is between 1 and 2 s."""

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{key}?fail=1&status=429&retry_after_in=2"))

    retry = httpr.Retry(total=2, backoff_factor=0, backoff_jitter=0)
    response = run_twin(mode, scenario, retries=retry, timeout=5)
    assert response.status_code == 200
    [wait] = gaps(srv.attempts(key))
    assert 0.9 <= wait < 2.6, f"Retry-After 2 s ahead but the retry came after {wait:.3f}s"


def test_retry_after_in_the_past_means_now(srv: ProdServer, key: str) -> None:
    with httpr.Client(retries=httpr.Retry(total=1, backoff_factor=5), timeout=5) as client:
        response = client.get(srv.url(f"/flaky/{key}?fail=1&retry_after_in=-3600"))
    assert response.status_code == 200
    [wait] = gaps(srv.attempts(key))
    assert wait < 0.5, f"a past date means retry now (not the 5 s backoff): {wait:.3f}s"


@pytest.mark.parametrize("value", ["99999999999", "18446744073709551615", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_huge_retry_after_is_bounded_by_the_total_timeout(srv: ProdServer, key: str, value: str) -> None:
    """A Retry-After far in the future neither overflows nor escapes the total timeout."""
    retry = httpr.Retry(total=1, backoff_factor=0, backoff_jitter=0)
    started = time.monotonic()
    with httpr.Client(retries=retry, timeout=httpr.Timeout(5, total=0.4)) as client:
        with pytest.raises(httpr.TimeoutException) as info:
            client.get(srv.url(f"/flaky/{key}?fail=1&retry_after={value}"))
    assert type(info.value) is httpr.TimeoutException
    assert time.monotonic() - started < 1.0
    assert len(srv.attempts(key)) == 1


def test_retry_after_that_is_not_a_whole_number_falls_back_to_backoff(srv: ProdServer, key: str) -> None:
    retry = httpr.Retry(total=1, backoff_factor=0.2, backoff_jitter=0)
    with httpr.Client(retries=retry, timeout=5) as client:
        assert client.get(srv.url(f"/flaky/{key}?fail=1&retry_after=soon")).status_code == 200
    [wait] = gaps(srv.attempts(key))
    assert 0.19 <= wait < 0.6, f"{wait:.3f}s: an unparseable Retry-After means the 0.2 s backoff"


def test_retry_after_can_be_ignored(srv: ProdServer, key: str) -> None:
    retry = httpr.Retry(total=1, backoff_factor=0, backoff_jitter=0, respect_retry_after_header=False)
    assert retry.respect_retry_after_header is False
    with httpr.Client(retries=retry, timeout=5) as client:
        response = client.get(srv.url(f"/flaky/{key}?fail=1&retry_after=3"))
    assert response.status_code == 200
    [wait] = gaps(srv.attempts(key))
    assert wait < 0.5, f"Retry-After should have been ignored, waited {wait:.3f}s"


# -- which methods ---------------------------------------------------------------------------------


def test_post_is_not_retried_on_503_by_default(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.call("post", srv.url(f"/flaky/{key}?fail=2"), content=b"payload")

    response = run_twin(mode, scenario, retries=FAST, timeout=5)
    assert response.status_code == 503
    assert len(srv.attempts(key)) == 1
    assert "POST" not in FAST.allowed_methods and "PATCH" not in FAST.allowed_methods


def test_post_is_retried_when_allowed(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.call("post", srv.url(f"/flaky/{key}?fail=2"), content=b"payload")

    retry = httpr.Retry(total=3, backoff_factor=0, allowed_methods=["post"])
    assert list(retry.allowed_methods) == ["POST"], "method names are upper-cased"
    response = run_twin(mode, scenario, retries=retry, timeout=5)
    assert (response.status_code, response.text) == (200, "ok after 3")
    assert len(srv.attempts(key)) == 3
    assert all(s.method == "POST" for s in srv.seen(f"/flaky/{key}"))


@pytest.mark.parametrize(("method", "attempts"), [("GET", 2), ("PUT", 2), ("POST", 1), ("PATCH", 1)])
def test_read_failure_is_retried_only_for_idempotent_methods(
    mode: Mode, srv: ProdServer, key: str, method: httpr.HttpMethod, attempts: int
) -> None:
    """The server reads the request and closes the connection without answering: the request
    may have had an effect, so only idempotent methods are retried."""

    async def scenario(t: Twin) -> httpr.Response:
        return await t.request(method, srv.url(f"/flaky/{key}?fail=1&close=1"), content=b"x")

    if attempts == 2:
        response = run_twin(mode, scenario, retries=FAST, timeout=5)
        assert (response.status_code, response.text) == (200, "ok after 2")
    else:
        with pytest.raises(httpr.TransportError):
            run_twin(mode, scenario, retries=FAST, timeout=5)
    assert len(srv.attempts(key)) == attempts


# -- connection failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_connection_refused_is_retried_for_any_method(
    mode: Mode, refused_url: str, method: httpr.HttpMethod
) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.request(method, refused_url, content=b"body")

    retry = httpr.Retry(total=2, backoff_factor=0.1, backoff_jitter=0)
    started = time.monotonic()
    with pytest.raises(httpr.ConnectError) as info:
        run_twin(mode, scenario, retries=retry, timeout=5)
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert "gave up after 2 retries" in message, message
    assert "refused" in message.lower(), message
    # backoff 0.1 s then 0.2 s between the three attempts
    assert 0.28 <= elapsed < 2.0, f"{elapsed:.3f}s"


def test_connection_refused_without_retries_says_nothing_about_retries(refused_url: str) -> None:
    with httpr.Client(timeout=5) as client:
        with pytest.raises(httpr.ConnectError) as info:
            client.get(refused_url)
    assert "retries" not in str(info.value), str(info.value)


def test_connect_timeout_is_retried_for_post(mode: Mode) -> None:
    """A connect timeout (nothing reached the server) is retried even for POST."""
    retry = httpr.Retry(total=2, backoff_factor=0, backoff_jitter=0)
    with full_backlog() as port:

        async def scenario(t: Twin) -> httpr.Response:
            return await t.call("post", f"http://127.0.0.1:{port}/x", content=b"body")

        started = time.monotonic()
        with pytest.raises(httpr.ConnectTimeout) as info:
            run_twin(mode, scenario, retries=retry, timeout=httpr.Timeout(5, connect=0.2))
        elapsed = time.monotonic() - started
    assert "gave up after 2 retries" in str(info.value), str(info.value)
    assert 3 * 0.2 * 0.95 <= elapsed < 2.0, f"{elapsed:.3f}s for three 0.2 s connect timeouts"


def test_refused_then_the_server_comes_up(mode: Mode, closed_port: int) -> None:
    """A POST to a port where nobody listens yet: the retries reach the server once it starts
    there, and it sees the request exactly once."""
    holder: list[ProdServer] = []

    def start_later() -> None:
        time.sleep(0.3)
        holder.append(ProdServer("127.0.0.1", closed_port))

    thread = threading.Thread(target=start_later, daemon=True)
    thread.start()
    retry = httpr.Retry(total=8, backoff_factor=0.1, backoff_max=0.3, backoff_jitter=0)

    async def scenario(t: Twin) -> httpr.Response:
        return await t.call("post", f"http://127.0.0.1:{closed_port}/echo/late", content=b"late")

    try:
        response = run_twin(mode, scenario, retries=retry, timeout=5)
        thread.join(5)
        assert response.status_code == 200
        assert response.json()["method"] == "POST"
        assert len(holder[0].seen("/echo/late")) == 1
    finally:
        thread.join(5)
        for server in holder:
            server.close()


def test_streams_are_retried_too(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> tuple[int, bytes]:
        async with t.stream("GET", srv.url(f"/flaky/{key}?fail=2")) as response:
            return response.status_code, await response.read()

    assert run_twin(mode, scenario, retries=FAST, timeout=5) == (200, b"ok after 3")
    assert len(srv.attempts(key)) == 3


def test_each_retry_follows_the_redirect_again(srv: ProdServer, key: str) -> None:
    """A redirect to a failing page: every attempt starts over from the original URL."""
    with httpr.Client(retries=FAST, timeout=5) as client:
        response = client.get(srv.url(f"/redirect?to=/flaky/{key}%3Ffail%3D1"))
    assert (response.status_code, response.text) == (200, "ok after 2")
    assert len(srv.attempts(key)) == 2
    assert len([s for s in srv.seen("/redirect") if key in s.query]) == 2


# -- per-request override ----------------------------------------------------------------------------


def test_per_request_retries_override_the_clients(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> list[int]:
        assert t.client.retries is None
        ok = await t.get(srv.url(f"/flaky/{key}-on?fail=2"), retries=FAST)
        no = await t.get(srv.url(f"/flaky/{key}-off?fail=2"))
        return [ok.status_code, no.status_code]

    assert run_twin(mode, scenario, timeout=5) == [200, 503]
    assert len(srv.attempts(f"{key}-on")) == 3
    assert len(srv.attempts(f"{key}-off")) == 1


@pytest.mark.parametrize("disable", [None, 0])
def test_per_request_retries_none_or_zero_disables(
    mode: Mode, srv: ProdServer, key: str, disable: int | None
) -> None:
    async def scenario(t: Twin) -> list[int]:
        off = await t.get(srv.url(f"/flaky/{key}-off?fail=2"), retries=disable)
        on = await t.get(srv.url(f"/flaky/{key}-on?fail=2"))
        return [off.status_code, on.status_code]

    assert run_twin(mode, scenario, retries=FAST, timeout=5) == [503, 200]
    assert len(srv.attempts(f"{key}-off")) == 1
    assert len(srv.attempts(f"{key}-on")) == 3


def test_per_request_int_retries(srv: ProdServer, key: str) -> None:
    with httpr.Client(retries=FAST, timeout=5) as client:
        response = client.get(srv.url(f"/flaky/{key}?fail=5"), retries=1)
    assert response.status_code == 503
    assert len(srv.attempts(key)) == 2, "retries=1 on the request: one retry, not the client's 3"


def test_module_function_accepts_retries(srv: ProdServer, key: str) -> None:
    response = httpr.get(srv.url(f"/flaky/{key}?fail=1"), retries=FAST, timeout=5)
    assert response.status_code == 200
    assert len(srv.attempts(key)) == 2


# -- backoff and jitter --------------------------------------------------------------------------------


def test_backoff_doubles_between_attempts(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{key}?fail=3"))

    retry = httpr.Retry(total=3, backoff_factor=0.1, backoff_jitter=0)
    response = run_twin(mode, scenario, retries=retry, timeout=5)
    assert response.text == "ok after 4"
    waits = gaps(srv.attempts(key))
    for n, wait in enumerate(waits, start=1):
        expected = 0.1 * 2 ** (n - 1)
        assert expected * 0.95 <= wait <= expected + 0.25, f"retry {n}: {wait:.3f}s, expected ~{expected}s"
    assert waits[2] > waits[0] + 0.15, f"backoff does not grow: {waits}"


def test_backoff_max_caps_the_wait(srv: ProdServer, key: str) -> None:
    retry = httpr.Retry(total=3, backoff_factor=0.2, backoff_max=0.25, backoff_jitter=0)
    with httpr.Client(retries=retry, timeout=5) as client:
        assert client.get(srv.url(f"/flaky/{key}?fail=3")).status_code == 200
    waits = gaps(srv.attempts(key))
    assert waits[2] <= 0.25 + 0.2, f"the 3rd wait (0.8 s uncapped) must be capped at 0.25 s: {waits}"
    assert waits[2] >= 0.25 * 0.95


def test_jitter_is_bounded_on_the_wire(srv: ProdServer, key: str) -> None:
    retry = httpr.Retry(total=3, backoff_factor=0, backoff_jitter=0.15)
    with httpr.Client(retries=retry, timeout=5) as client:
        assert client.get(srv.url(f"/flaky/{key}?fail=3")).status_code == 200
    for wait in gaps(srv.attempts(key)):
        assert wait <= 0.15 + 0.15, f"{wait:.3f}s exceeds the 0.15 s jitter"


def test_get_backoff_time() -> None:
    retry = httpr.Retry(backoff_factor=1, backoff_max=3, backoff_jitter=0)
    assert [retry.get_backoff_time(n) for n in (1, 2, 3, 4, 10)] == [1, 2, 3, 3, 3]
    jittery = httpr.Retry(backoff_factor=0, backoff_jitter=0.3)
    samples = [jittery.get_backoff_time(1) for _ in range(300)]
    assert all(0 <= s < 0.3 for s in samples), (min(samples), max(samples))
    assert len(set(samples)) > 100, "jitter should be random"
    assert max(samples) > 0.2 and min(samples) < 0.1, "jitter should spread over the range"
    both = httpr.Retry(backoff_factor=0.5, backoff_jitter=0.1)
    assert all(1.0 <= both.get_backoff_time(2) < 1.1 for _ in range(50))


# -- the total timeout caps the retry loop ---------------------------------------------------------


def test_total_timeout_caps_the_retries(mode: Mode, srv: ProdServer, key: str) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{key}?fail=100"), timeout=httpr.Timeout(5, total=0.7))

    retry = httpr.Retry(total=50, backoff_factor=0.2, backoff_max=0.2, backoff_jitter=0)
    started = time.monotonic()
    with pytest.raises(httpr.TimeoutException) as info:
        run_twin(mode, scenario, retries=retry)
    elapsed = time.monotonic() - started
    assert type(info.value) is httpr.TimeoutException
    assert "total timeout" in str(info.value), str(info.value)
    assert 0.65 <= elapsed < 1.5, f"{elapsed:.3f}s"
    assert 2 <= len(srv.attempts(key)) <= 5


# -- validation, properties, repr ------------------------------------------------------------------


def test_retry_defaults_and_properties() -> None:
    retry = httpr.Retry()
    assert retry.total == 3
    assert retry.backoff_factor == 0.5
    assert retry.backoff_max == 120.0
    assert retry.backoff_jitter == 0.1
    assert sorted(retry.status_forcelist) == [429, 502, 503, 504]
    assert sorted(retry.allowed_methods) == sorted(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"])
    assert retry.respect_retry_after_header is True
    custom = httpr.Retry(
        total=7,
        backoff_factor=0.25,
        backoff_max=9,
        backoff_jitter=0,
        status_forcelist=(500, 418),
        allowed_methods=("get", "Post"),
        respect_retry_after_header=False,
    )
    assert (custom.total, custom.backoff_factor, custom.backoff_max, custom.backoff_jitter) == (7, 0.25, 9, 0)
    assert list(custom.status_forcelist) == [500, 418]
    assert list(custom.allowed_methods) == ["GET", "POST"]


def test_retry_repr() -> None:
    text = repr(httpr.Retry(total=4, backoff_factor=0.25, status_forcelist=[503], allowed_methods=["GET"]))
    assert text.startswith("Retry(") and text.endswith(")"), text
    for fragment in ("total=4", "backoff_factor=0.25", "503", "GET", "respect_retry_after_header=True"):
        assert fragment in text, f"{fragment!r} not in {text!r}"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"backoff_factor": -1}, "backoff_factor"),
        ({"backoff_max": -0.5}, "backoff_max"),
        ({"backoff_jitter": -0.1}, "backoff_jitter"),
        ({"backoff_factor": float("nan")}, "backoff_factor"),
        ({"backoff_factor": float("inf")}, "backoff_factor"),
        ({"status_forcelist": [700]}, "700"),
        ({"status_forcelist": [503, 99]}, "99"),
        ({"allowed_methods": ["GE T"]}, "GE T"),
        ({"allowed_methods": [""]}, "allowed_methods"),
    ],
)
def test_retry_validation(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        httpr.Retry(**kwargs)
    assert fragment in str(info.value), str(info.value)


@pytest.mark.parametrize("bad", ["3", True, False, 1.5, [3]])
def test_retries_of_the_wrong_type(bad: Any, srv: ProdServer) -> None:
    with pytest.raises(TypeError) as info:
        httpr.Client(retries=bad)
    assert "retries" in str(info.value), str(info.value)
    with pytest.raises(TypeError):
        httpr.AsyncClient(retries=bad)
    path = f"/echo/{uuid.uuid4().hex}"
    with httpr.Client(timeout=5) as client:
        with pytest.raises(TypeError):
            client.get(srv.url(path), retries=bad)
    assert srv.seen(path) == [], "nothing is sent with an invalid retries="


def test_negative_retries_is_a_value_error() -> None:
    with pytest.raises(ValueError) as info:
        httpr.Client(retries=-1)
    assert "retries" in str(info.value), str(info.value)


def test_negative_retry_total_is_a_value_error() -> None:
    """Like Client(retries=-1) (a regression: this was an OverflowError without the name)."""
    with pytest.raises(ValueError) as info:
        httpr.Retry(total=-1)
    assert "total" in str(info.value), str(info.value)


def test_client_retries_property() -> None:
    policy = httpr.Retry(total=5, backoff_factor=0.3, status_forcelist=[500])
    client = httpr.Client(retries=policy)
    got = client.retries
    assert isinstance(got, httpr.Retry)
    assert (got.total, got.backoff_factor, list(got.status_forcelist)) == (5, 0.3, [500])
    assert repr(got) == repr(policy)
    assert httpr.Client().retries is None
    assert httpr.Client(retries=None).retries is None
    by_int = httpr.AsyncClient(retries=4).retries
    assert by_int is not None and by_int.total == 4 and by_int.backoff_factor == 0.5


def test_retries_zero_means_no_retries(srv: ProdServer, key: str) -> None:
    with httpr.Client(retries=0, timeout=5) as client:
        assert client.retries is None or client.retries.total == 0
        assert client.get(srv.url(f"/flaky/{key}?fail=1")).status_code == 503
    assert len(srv.attempts(key)) == 1


def test_bool_retry_total_is_a_type_error() -> None:
    with pytest.raises(TypeError) as info:
        httpr.Retry(total=True)
    assert "total" in str(info.value) and "bool" in str(info.value), str(info.value)
