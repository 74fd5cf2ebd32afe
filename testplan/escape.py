"""User text made safe to show: on a terminal, in every report format, in JSON."""

from __future__ import annotations

import re

# characters user text must not carry into a report or a terminal: C0 controls but tab and newline
# (ESC starts terminal escape sequences, most of them XML 1.0 cannot carry even as &#..;), DEL, C1
# controls, lone surrogates and the non-characters U+FFFE/U+FFFF (not XML 1.0 characters either)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every unsafe character shown as its Python escape (ESC as ``\\x1b``, U+FFFE as
    ``\\ufffe``): what every report format and the terminal show of user text, so a title can
    neither break an XML report nor drive the terminal."""
    return _UNSAFE.sub(_escape, text)


def visible_json(value):
    """:func:`visible` applied to every string (keys too) of a JSON document."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {visible_json(k): visible_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [visible_json(v) for v in value]
    return value
