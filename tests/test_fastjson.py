"""lmlab.fastjson against json itself: the same values, the same text, the same exceptions."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmlab import fastjson

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def outcome(fn, *args, **kwargs):
    """What ``fn`` gives: its value (NaN made comparable) or its exception's type and message."""
    try:
        return ("value", json.dumps(fn(*args, **kwargs), allow_nan=True))
    except Exception as e:  # noqa: BLE001 - the point is to compare whatever each raises
        return ("error", type(e).__name__, str(e))


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from(["", " ", "\n\t", "\r\n  "]), st.sampled_from(["", " ", "\n", " \t\r\n"]))
def test_loads_reads_what_json_writes_as_json_does(value, before, after):
    for text in (json.dumps(value), json.dumps(value, indent=1), json.dumps(value, ensure_ascii=False)):
        text = before + text + after
        assert outcome(fastjson.loads, text) == outcome(json.loads, text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[]":,0123456789.eE+- \t\n\\ufnlrsaNIity\ufeff', max_size=30))
def test_loads_of_malformed_text_is_jsons_answer(text):
    assert outcome(fastjson.loads, text) == outcome(json.loads, text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\ufeff{}",  # a byte-order mark: json refuses it
        '{"a": 1} x',  # extra data
        '{"a": 1}{"b": 2}',
        '{"a": 1, "a": 2}',  # the last of a repeated key
        "[NaN, Infinity, -Infinity]",
        '"\\ud800"',  # a lone surrogate, as json reads it
        "1" * 5000,  # past int()'s digit limit: ValueError
        "[" * 100_000 + "]" * 100_000,  # nested past the recursion limit
        "\x0c{}",  # a form feed is not JSON's whitespace
        '{"a":\t1 }\n',
        "1e999",
        "-0",
        b'{"a": [1]}',  # bytes: json finds their encoding
        '{"é": 1}'.encode("utf-16"),
        b"\xff",
    ],
)
def test_loads_edge_cases_are_jsons(text):
    assert outcome(fastjson.loads, text) == outcome(json.loads, text)


@settings(max_examples=300, deadline=None)
@given(values | st.dictionaries(st.integers() | st.booleans() | st.none(), scalars, max_size=4), st.booleans())
def test_dumps_writes_what_json_writes(value, sort_keys):
    assert outcome(fastjson.dumps, value, sort_keys=sort_keys) == outcome(json.dumps, value, sort_keys=sort_keys)


def test_dumps_fails_as_json_does_and_then_writes_as_before():
    loop: list = []
    loop.append(loop)
    shared = [1]
    # a loop, a type JSON has no form for (at the top, in a list, as a key), keys sort cannot order
    for bad, sort_keys in [(loop, False), ({"a": object()}, False), ([1, {1.5: {b"x"}}], True), ({1: 2, "b": 3}, True)]:
        got = outcome(fastjson.dumps, bad, sort_keys=sort_keys)
        assert got[0] == "error" and got == outcome(json.dumps, bad, sort_keys=sort_keys)
        # a failure leaves nothing behind: a value seen before the failure is written again, not taken for a loop
        assert fastjson.dumps([shared, shared]) == "[[1], [1]]"
    assert fastjson.dumps({"b": [math.inf, -0.0, 1e300], "a": "é\n"}, sort_keys=True) == json.dumps(
        {"b": [math.inf, -0.0, 1e300], "a": "é\n"}, sort_keys=True
    )


def test_neither_imports_json_or_re():
    code = (
        "import sys\nfrom lmlab import fastjson\n"
        'v = fastjson.loads(\' {"a": [1, 2.5, null, true, "\\\\u00e9"]} \')\n'
        "fastjson.dumps(v, sort_keys=True)\n"
        "print(sorted(m for m in ('json', 're', 'enum') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
