"""Masking of e-mail addresses, phone numbers and card numbers in free text."""

from __future__ import annotations

import pytest

from shared.advisor.masking import mask_text, mask_value


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("write to Ana.Lopez@Example.co.uk today", "write to [email] today"),
        ("ana (at) example.org", "[email]"),
        ("call +44 20 7946 0123 now", "call [phone] now"),
        ("+49 30 1234567", "[phone]"),
        ("+33 1 23 45 67 89", "[phone]"),
        ("(555) 123-4567", "[phone]"),
        ("555-123-4567", "[phone]"),
        ("0031 20 123 4567", "[phone]"),
        ("card 4111 1111 1111 1111.", "card [card]."),
        ("card 4111-1111-1111-1111", "card [card]"),
        ('{"phone": "+353 1 234 5678"}', '{"phone": "[phone]"}'),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "run silver-20260131T060000-abc123 started 2026-01-31 06:00:00",
        "revenue 12345678.90 over 1234 rows; observed 0.2631578947368421",
        "ids C000123 P00012 S001 O00012345",
        "hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "value 12,50 and 1.2.3 and 31/01/2026 10:00 and 2026/01/31",
        "4111 1111 1111 1112 fails the Luhn check",
        "grace 72h, 40 of 434 rows, 100.0% quarantined",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_mask_value_walks_json() -> None:
    value = {"a": ["x@y.com", 3, None], "b": {"c": "+44 20 7946 0123"}}
    assert mask_value(value) == {"a": ["[email]", 3, None], "b": {"c": "[phone]"}}
