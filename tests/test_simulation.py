"""hub.simulation: the pieces provider simulators share."""

from __future__ import annotations

from hub.simulation import TokenBucket


def test_token_bucket_allows_a_burst_then_one_request_per_interval():
    now = [0.0]
    bucket = TokenBucket(2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.5]
    now[0] += 0.25
    assert bucket.take() == 0.25  # a refused request takes nothing
    now[0] += 0.25
    assert bucket.take() == 0.0
    now[0] += 60
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.5]  # never more saved than the burst
