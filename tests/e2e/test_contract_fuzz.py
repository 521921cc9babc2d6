"""The contract fuzzer's own rule beyond the schema: a 400's `field` must be a path into the body
that was sent (every step but the last one present)."""

from .contract_fuzz import path_reaches


def test_paths_into_the_body_sent():
    body = {"points": [{"service": "a", "metrics": {"a.b": [1, 2]}}]}
    assert path_reaches(body, "points[0].timestamp"), "the missing last step is the one named"
    assert path_reaches(body, "points[0].metrics.a.b"), "metric names may hold dots"
    assert path_reaches(body, "points[0].metrics.a.b[1]")
    assert path_reaches(body, "points[1]"), "one past the end: the point that opens one group too many"
    assert path_reaches([{"x": 1}], "[0].service")


def test_paths_the_body_does_not_have():
    body = {"points": [{"service": "a"}]}
    assert not path_reaches(body, "points[3].service")
    assert not path_reaches(body, "nope.x")
    assert not path_reaches(body, "points.service")
    assert not path_reaches({"a": 1}, "b.c")
    assert not path_reaches(body, "points[x]")
