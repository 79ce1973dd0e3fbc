"""Request size and rate limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qianmian.api.limits import TokenBucket


def test_body_over_the_limit_is_413_with_or_without_content_length(make_client):
    client = make_client(max_request_bytes=1_000)
    r = client.post("/v1/events", content=b'{"events": []}' + b" " * 2_000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "PayloadTooLargeError"

    def chunks():
        yield b'{"events": ['
        for _ in range(100):
            yield b" " * 100
        yield b"]}"

    r = client.post("/v1/events", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.post("/v1/events", json={"events": []}).status_code == 200


def test_rate_limit_gives_429_per_caller_and_spares_health(make_client):
    client = make_client(rate_limit_per_minute=6)  # 0.1 token/s, bucket of 1
    assert client.post("/v1/events", json={"events": []}).status_code == 200
    r = client.post("/v1/events", json={"events": []})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["type"] == "RateLimitedError"
    other = client.post("/v1/events", json={"events": []}, headers={"X-API-Key": "another-caller"})
    assert other.status_code == 200
    assert client.get("/health").status_code == 200


@given(st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=1, max_size=60))
def test_bucket_never_allows_more_than_capacity_plus_refill(gaps):
    bucket = TokenBucket(rate=2.0, capacity=4.0)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        allowed += bucket.take("c", now) == 0
    assert allowed <= 4 + 2.0 * now + 1e-9
    assert allowed >= min(len(gaps), 4)  # a full bucket serves its capacity at once
