"""``json.loads`` and ``json.dumps`` as the modules ``lmlab eval`` of an n-gram model file reads its run with need
them, without importing :mod:`json`.

The json package's parser and encoder are C (the ``_json`` module); its Python layer around them imports
:mod:`re`, and re imports enum and functools: about 4 ms, a tenth of that command's whole time. The functions here
call the same C parser and encoder with the arguments json's defaults give them, so they return what
``json.loads`` and ``json.dumps`` return; where ``_json`` is missing, or the input is not one they take as json
would (malformed text, a value json cannot write), they hand it to json itself, which gives its result or raises
its exception. ``tests/test_fastjson.py`` holds them equal on valid, malformed and hostile input.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - an interpreter without the accelerator
    _json = None

#: What JSON calls whitespace (json.decoder.WHITESPACE_STR)
_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _DecoderDefaults:
    """The attributes the C scanner reads from its decoder: those of ``json.JSONDecoder()``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_CONSTANTS.__getitem__)


_scan_once = _json.make_scanner(_DecoderDefaults()) if _json else None


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``: the value, or json's own exception (JSONDecodeError, RecursionError). Bytes, whose
    encoding json finds out, are handed to json."""
    if _scan_once is not None and isinstance(text, str) and not text.startswith("\ufeff"):  # json refuses a BOM
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scan_once(text, start)
        except (StopIteration, ValueError):  # no value, or a malformed one: json says where
            pass
        else:
            if end == len(text.rstrip(_WHITESPACE)):  # nothing but whitespace after the value
                return value
    import json

    return json.loads(text)


def _no_default(value: Any) -> Any:
    raise TypeError  # json names the type when it is asked again below


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """``json.dumps(value, sort_keys=sort_keys)``: ASCII, ``", "`` and ``": "`` between items, NaN and infinities
    written as JavaScript does; json's own exception for a value it cannot write."""
    if _json is not None:
        if isinstance(value, str):
            return _json.encode_basestring_ascii(value)
        # as json.JSONEncoder.iterencode makes it: circular-reference markers (new for each value), default, string
        # encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan
        encode = _json.make_encoder(
            {}, _no_default, _json.encode_basestring_ascii, None, ": ", ", ", sort_keys, False, True
        )
        try:
            return "".join(encode(value, 0))
        except (TypeError, ValueError, RecursionError):  # json says what it cannot write
            pass
    import json

    return json.dumps(value, sort_keys=sort_keys)


__all__ = ["dumps", "loads"]
