"""Dataclass configurations as command-line flags and TOML files, coerced by field type.

Each field of a family's config dataclass becomes a flag (``order`` -> ``--order``, ``interpolate_unigrams`` ->
``--interpolate-unigrams/--no-interpolate-unigrams``). Values come from, in rising priority: the dataclass
defaults, a preset, a ``--config FILE.toml`` and the flags given. An unknown key in a file is an error.

A flag's help is the comment its field carries in the dataclass (:func:`field_help`): the one-line reason beside
each default is written once, where the code reads it, and ``lmlab train --model M --help`` shows it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmlab.errors import LmlabError
from lmlab.runfiles import MAX_JSON_BYTES, flag_to_field, read_bytes


@functools.cache
def field_help(cls: type) -> dict[str, str]:
    """What each field of dataclass ``cls`` means, from its comment in the source: the comment after the field on
    its line, with the comment-only lines right below it where the next field has a comment of its own on its line
    (a wrapped comment; a blank line above a comment makes it a heading instead), or else the comment-only lines
    right above the field. A field keeps the comment of the class that first describes it (a
    subclass that changes a default says why the value differs, not what the field is). ``one of NAME``, where NAME
    is a tuple of strings in the class's module, names them. Fields without a comment, and every field where the
    source cannot be read, are absent.

    >>> from lmlab.lm.ngram.model import NgramConfig
    >>> field_help(NgramConfig)["k"]
    'add-k: the added count (1 = Laplace)'
    """
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # the base classes first: their descriptions stand
        if dataclasses.is_dataclass(klass):
            for name, text in _class_comments(klass).items():
                found.setdefault(name, text)
    return found


@functools.cache  # a base class (the training recipe) is read once for all the families that extend it
def _class_comments(klass: type) -> dict[str, str]:
    """The comment of each annotated field in ``klass``'s own body (see :func:`field_help`)."""
    import ast
    import io
    import sys
    import tokenize

    module = sys.modules.get(klass.__module__)
    try:
        with open(module.__file__, encoding="utf-8") as f:  # lmlab's own source, beside its bytecode
            source = f.read()
    except (AttributeError, TypeError, OSError):  # no source file (a frozen or zipped install): no descriptions
        return {}
    comments: dict[int, str] = {}  # line -> comment text
    code_lines: set[int] = set()  # lines holding code
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            code_lines.update(range(tok.start[0], tok.end[0] + 1))
    nodes = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef) and n.name == klass.__name__]
    if len(nodes) != 1:
        return {}
    fields = [n for n in nodes[0].body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]

    def trailing(node: ast.AnnAssign) -> int | None:
        return next((ln for ln in range(node.lineno, node.end_lineno + 1) if ln in comments), None)

    def comment_run(first: int, step: int) -> list[int]:  # comment-only lines from `first` on, up or down
        run, ln = [], first
        while ln in comments and ln not in code_lines:
            run.append(ln)
            ln += step
        return run if step > 0 else run[::-1]

    out: dict[str, str] = {}
    claimed: set[int] = set()  # comment lines that continue the field above them
    for i, node in enumerate(fields):
        own = trailing(node)
        if own is not None:
            lines = [own]
            below = comment_run(node.end_lineno + 1, 1)
            after = fields[i + 1] if i + 1 < len(fields) else None
            if below and (after is None or trailing(after) is not None):
                lines += below
                claimed.update(below)
        else:
            lines = [ln for ln in comment_run(node.lineno - 1, -1) if ln not in claimed]
        text = " ".join(comments[ln] for ln in lines if not comments[ln].startswith(("noqa", "type:", "pragma")))
        if text:
            out[node.target.id] = _name_choices(text, module)
    return out


def _name_choices(text: str, module: Any) -> str:
    """``one of NAME`` -> ``one of a, b, c`` where NAME is a tuple of strings of ``module``."""
    import re

    def expand(m: re.Match) -> str:
        value = getattr(module, m.group(1), None)
        if isinstance(value, (tuple, list)) and value and all(isinstance(v, str) for v in value):
            return "one of " + ", ".join(value)
        return m.group(0)

    return re.sub(r"\bone of ([A-Z][A-Z0-9_]+)\b", expand, text)


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(the non-None type, whether None is allowed) of an annotation such as ``int | None``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def add_config_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    title: str,
    exclude: tuple[str, ...] = (),
    defaults: dict[str, Any] | None = None,
) -> None:
    """Add one flag per field of dataclass ``cls`` (but those in ``exclude``, which come from the data); flags not
    given stay absent from the namespace. ``defaults``: values a family's own recipe puts in place of the fields'
    defaults, which the help shows instead."""
    group = parser.add_argument_group(title)
    hints = _field_types(cls)
    described = field_help(cls)
    for f in dataclasses.fields(cls):
        if f.name.startswith("_") or f.name in exclude:
            continue
        flag = "--" + f.name.replace("_", "-")
        tp, optional = _base_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else None
        default = (defaults or {}).get(f.name, default)
        help_text = f"(default: {default})"
        if described.get(f.name):  # argparse formats help with %: a literal one is doubled
            help_text = described[f.name].replace("%", "%%") + " " + help_text
        if tp is bool:
            group.add_argument(
                flag,
                dest=f"cfg_{f.name}",
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        else:
            group.add_argument(
                flag,
                dest=f"cfg_{f.name}",
                type=_parser_for(tp, optional, flag),
                default=argparse.SUPPRESS,
                metavar=tp.__name__.upper() if isinstance(tp, type) else "VALUE",
                help=help_text,
            )


_EXPECTED = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True)
class _Unparsed:
    """A flag value that is not of its field's type, kept for :func:`build_config` to report in one line (with the
    range the configuration's own check states, when the value is a number: ``--order 3.5``)."""

    flag: str
    text: str
    expected: str
    number: float | None


def _parser_for(tp: Any, optional: bool, flag: str):
    def parse(text: str):
        if optional and text.lower() in ("none", "null", ""):
            return None
        try:
            return coerce(tp, text, flag)
        except LmlabError:
            try:
                number = float(text)
            except ValueError:
                number = None
            return _Unparsed(flag, text, _EXPECTED.get(tp, getattr(tp, "__name__", str(tp))), number)

    return parse


def coerce(tp: Any, value: Any, name: str) -> Any:
    """``value`` as type ``tp``, or an error naming ``name`` and the expected type.

    >>> coerce(int, "1e3", "--max-steps"), coerce(float, "3", "--lr"), coerce(bool, "yes", "--bias")
    (1000, 3.0, True)
    >>> coerce(int, "3.5", "--order")
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: --order must be an integer, got '3.5'
    """
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            if isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    number = float(value)  # 1e3 is an integer written as a float
                    if not number.is_integer():
                        raise
                    return int(number)
            return int(value)
        if tp is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        origin = typing.get_origin(tp)
        if origin in (tuple, list):  # "3,4,5" on the command line, [3, 4, 5] in a file
            items = [v for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)
            element = (typing.get_args(tp) or (str,))[0]
            return origin(coerce(element, v.strip() if isinstance(v, str) else v, name) for v in items)
    except (TypeError, ValueError, OverflowError):
        expected = _EXPECTED.get(tp, getattr(tp, "__name__", str(tp)))
        if typing.get_origin(tp) in (tuple, list):
            element = (typing.get_args(tp) or (str,))[0]
            expected = f"comma-separated values, each {_EXPECTED.get(element, getattr(element, '__name__', 'value'))}"
        raise LmlabError(f"{name} must be {expected}, got {value!r}") from None
    return value


def read_toml(path: str | Path, flag: str = "--config") -> dict[str, Any]:
    """The values of a TOML file (a regular file of at most 16 MiB), or a one-line LmlabError naming ``flag``."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = read_bytes(path, limit=MAX_JSON_BYTES, missing=f"{path}: no such file")
    except LmlabError as e:  # missing, a directory, a FIFO, too large: say which flag named it
        raise LmlabError(f"{flag} {e}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise LmlabError(f"{path}: not valid TOML (not UTF-8 at byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise LmlabError(f"{path}: not valid TOML ({e})") from None


def build_config(
    cls: type,
    args: argparse.Namespace,
    *,
    file_values: dict[str, Any] | None = None,
    preset: dict[str, Any] | None = None,
    source: str = "config",
    fixed: dict[str, Any] | None = None,
) -> Any:
    """An instance of ``cls`` from defaults, ``preset``, ``file_values`` (read from the file ``source``) and the
    flags in ``args``; ``fixed`` values (sizes that come from the data) are set last.

    A bad value is reported where it came from: a flag by its name, a file's value by the file and its key.
    """
    hints = _field_types(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    from_file: set[str] = set()
    for origin, given in (("preset", preset or {}), (source, file_values or {})):
        for key, value in given.items():
            key_n = key.replace("-", "_")
            where = "preset" if origin == "preset" else f"{source}:"
            if key_n not in names:
                what = "unknown preset" if origin == "preset" else f"{source}: unknown --config"
                raise LmlabError(f"{what} key {key!r}; known keys: {', '.join(sorted(names))}")
            tp, optional = _base_type(hints[key_n])
            values[key_n] = None if (optional and value is None) else coerce(tp, value, f"{where} field '{key}'")
            if origin != "preset":
                from_file.add(key_n)
    unparsed: dict[str, _Unparsed] = {}
    for name in names:
        if hasattr(args, f"cfg_{name}"):
            value = getattr(args, f"cfg_{name}")
            if isinstance(value, _Unparsed):
                unparsed[name] = value
            else:
                values[name] = value
                from_file.discard(name)

    def construct(values: dict[str, Any]) -> Any:
        try:
            return cls(**values)
        except LmlabError as e:
            message = flag_to_field(str(e), from_file, "")
            raise LmlabError(message if message == str(e) else f"{source}: {message}") from None
        except TypeError as e:
            raise LmlabError(f"bad configuration: {e}") from None

    for name, bad in unparsed.items():
        if bad.number is not None:
            construct({**values, name: bad.number})  # the configuration's own check says what is allowed
        raise LmlabError(f"{bad.flag} must be {bad.expected}, got {bad.text!r}")
    values.update(fixed or {})
    return construct(values)
