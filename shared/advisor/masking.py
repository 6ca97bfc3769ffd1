"""Masking of personal data in free text before it leaves the process (a prompt) or
reaches a person (an answer): e-mail addresses, phone numbers and payment card numbers.

Below Bronze, e-mail and phone columns already hold keyed hashes; this catches what is
left in free text: a reason, an error message, a carried column, a model's answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
CARD_MASK = "[card]"

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+\s*(?:@|\(at\)|\[at\])\s*[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
)
# 13-19 digits, optionally grouped by spaces or dashes: checked with Luhn before masking.
_CARD = re.compile(r"(?<![\w.\-])\d(?:[ \-]?\d){12,18}(?![\w\-])")
# A run of digits with the separators phone numbers use, 7 to 15 digits in all; not
# inside a word, an identifier or a hash (the look-arounds), checked further below.
_PHONE = re.compile(r"(?<![\w.\-/:])(?:\+|00)?\(?\d[\d\s().\-/]{5,20}\d(?![\w\-/:])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}/\d{2}/\d{2}")
_DECIMAL = re.compile(r"-?\d+\.\d{1,2}")


def mask_text(text: str) -> str:
    """The text with e-mail addresses, card numbers and phone numbers replaced."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _CARD.sub(lambda m: CARD_MASK if _luhn(m.group()) else m.group(), text)
    return _PHONE.sub(_phone_or_not, text)


def mask_value(value: Any) -> Any:
    """`mask_text` applied to every string in a JSON-like value (dicts, lists, scalars)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def _phone_or_not(match: re.Match[str]) -> str:
    candidate = match.group()
    stripped = candidate.strip()
    digits = sum(ch.isdigit() for ch in stripped)
    # Dates, timestamps and money amounts have the same characters as phone numbers.
    if not 7 <= digits <= 15 or _DATE.search(stripped) or _DECIMAL.fullmatch(stripped):
        return candidate
    # A bare run of 7-9 digits is more often a count or an id than a phone number; an
    # international prefix, a separator or 10+ digits make it one.
    has_shape = stripped[0] in "+(" or stripped.startswith("00") or digits >= 10
    has_shape = has_shape or bool(re.search(r"\d[\s\-.]\d", stripped))
    if not has_shape:
        return candidate
    lead = candidate[: len(candidate) - len(candidate.lstrip())]
    trail = candidate[len(candidate.rstrip()) :]
    return f"{lead}{PHONE_MASK}{trail}"


def _luhn(candidate: str) -> bool:
    digits = [int(ch) for ch in candidate if ch.isdigit()]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
