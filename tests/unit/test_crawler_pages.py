"""What the crawler flags about a page's Content-Range, from the answer as it arrives (headers + body)."""

from __future__ import annotations

import orjson
import pytest

from pipeline.crawler import page_problems
from pipeline.sansio import decode_job_page
from tests.unit.test_records import GOOD


def page_of(headers: dict[str, str], items: int, offset: int) -> list[str]:
    body = orjson.dumps([{**GOOD, "id": offset + i} for i in range(items)])
    return page_problems(decode_job_page(200, headers, body, offset=offset, limit=100))


@pytest.mark.parametrize(
    ("headers", "items", "offset", "problems"),
    [
        ({"Content-Range": "0-10/25"}, 10, 0, []),
        ({"content-range": "10-10/25"}, 10, 10, []),
        ({"CONTENT-RANGE": "20-5/25"}, 5, 20, []),
        ({}, 10, 0, ["no_content_range"]),
        ({"Content-Range": "x"}, 10, 0, ["no_content_range"]),
        ({"Content-Range": "0-7/25"}, 10, 0, ["count_mismatch"]),
        ({"Content-Range": "0-10/25"}, 10, 100, ["offset_mismatch"]),
        ({"Content-Range": "5-7/25"}, 10, 0, ["count_mismatch", "offset_mismatch"]),
    ],
)
def test_page_problems(headers: dict[str, str], items: int, offset: int, problems: list[str]) -> None:
    assert page_of(headers, items, offset) == problems
