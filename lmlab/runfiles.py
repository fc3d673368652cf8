"""Reading the files of a run as untrusted input: one reader, one small schema checker, one-line errors.

A run directory (or a comparison folder) may come from anyone: downloaded, copied from a colleague, damaged by a
full disk, or made hostile on purpose. Every JSON file lmlab reads from one (``config.json``, ``tokenizer.json``,
``checkpoints/last/state.json``, ``results.json``) goes through :func:`read_json`:

* only a regular file is opened: a FIFO, a device (``/dev/zero``) or a directory is refused from its ``stat``
  without being opened, and the opened descriptor is checked again with ``fstat`` (the open is non-blocking, so
  that a file swapped for a FIFO in between cannot hang the reader);
* at most ``limit`` bytes are read (16 MiB for run files), so a huge file cannot exhaust memory;
* the bytes must be UTF-8 and parse as JSON;

and its fields are then checked against a small schema (:func:`check_fields`) whose errors name the file and
the field::

    RUN/config.json: field 'model.d_model' must be an integer, got 'abc'

A file named inside a run (``tokenizer.file`` in ``config.json``) must be a plain name in the run directory
(:func:`plain_file_name`): no ``/``, no ``..``, not absolute.
"""

from __future__ import annotations

import math
import os
import stat
from collections import namedtuple
from collections.abc import Callable, Iterable

from lmlab import fastjson
from lmlab.errors import LmlabError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from typing import Any, BinaryIO

#: Largest JSON run file read (config.json, state.json, results.json): far above any real one.
MAX_JSON_BYTES = 16 * 2**20


# ---- regular files only, read without blocking and within a size limit
def _kind(mode: int) -> str:
    """What a file mode describes, in words.

    >>> _kind(stat.S_IFIFO), _kind(stat.S_IFDIR | 0o755)
    ('a FIFO (named pipe)', 'a directory')
    """
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | os.PathLike, *, missing: str | None = None) -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file, or a one-line LmlabError.

    Anything else (a FIFO, a device, a directory, a socket) is refused from its ``stat``, without being opened;
    the open itself is non-blocking and the descriptor is checked again with ``fstat``, so a file swapped for a
    FIFO in between cannot hang the reader. A symbolic link is followed (a run in the Hugging Face cache is made
    of links) and its target must be a regular file. ``missing`` replaces the message for a missing file.
    """
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
            st = os.fstat(fd)  # the file actually opened, whatever happened since the stat above
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
    except FileNotFoundError:
        raise LmlabError(missing or f"{path}: no such file") from None
    if not stat.S_ISREG(st.st_mode):
        raise LmlabError(f"{path} is {_kind(st.st_mode)}; lmlab reads only regular files here")
    return os.fdopen(fd, "rb")


def read_bytes(path: str | os.PathLike, *, limit: int | None = None, missing: str | None = None) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`open_regular`), at most ``limit`` of them, or a one-line
    LmlabError."""
    with open_regular(path, missing=missing) as f:
        size = os.fstat(f.fileno()).st_size
        if limit is not None and size > limit:
            raise LmlabError(f"{path} is {size:,} bytes, more than the {limit:,} bytes allowed for this file")
        data = f.read() if limit is None else f.read(limit + 1)  # it may have grown since the fstat
    if limit is not None and len(data) > limit:
        raise LmlabError(f"{path} is more than the {limit:,} bytes allowed for this file")
    return data


def read_json(
    path: str | os.PathLike,
    *,
    what: str = "JSON file",
    limit: int = MAX_JSON_BYTES,
    missing: str | None = None,
) -> Any:
    """The parsed JSON of the regular file ``path`` (see :func:`read_bytes`), or a one-line LmlabError.

    ``what`` names the file for the user ("run configuration", "checkpoint state").
    """
    return parse_json(read_bytes(path, limit=limit, missing=missing), path, what)


def parse_json(data: bytes, path: str | os.PathLike, what: str = "JSON file") -> Any:
    """The parsed JSON of ``data``, the bytes of the file ``path`` (:func:`read_json`), or a one-line LmlabError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LmlabError(f"{path}: not a valid {what}: not UTF-8 (byte {e.start})") from None
    try:
        return fastjson.loads(text)
    except (ValueError, RecursionError) as e:
        import json  # imported already: fastjson hands malformed text to json, whose exception this is

        if isinstance(e, json.JSONDecodeError):
            raise LmlabError(f"{path}: not a valid {what}, corrupted or truncated ({e})") from None
        # e.g. a 10,000-digit integer, arrays nested 100,000 deep
        raise LmlabError(f"{path}: not a valid {what} ({type(e).__name__}: {str(e)[:80]})") from None


def read_versioned_json(
    path: str | os.PathLike,
    fmt: str,
    version: int,
    what: str,
    *,
    limit: int = MAX_JSON_BYTES,
    missing: str | None = None,
) -> dict[str, Any]:
    """A JSON object written as ``{"format": fmt, "version": version, ...}`` (see :func:`read_json`)."""
    return check_version(read_json(path, what=what, limit=limit, missing=missing), path, fmt, version, what)


def check_version(d: Any, path: str | os.PathLike, fmt: str, version: int, what: str) -> dict[str, Any]:
    """``d``, read from the file ``path``, if it is a JSON object of ``{"format": fmt, "version": version, ...}``;
    otherwise a one-line LmlabError."""
    if not isinstance(d, dict) or d.get("format") != fmt:
        raise LmlabError(f"{path}: not an lmlab {what} (no 'format': '{fmt}')")
    if d.get("version") != version:
        raise LmlabError(
            f"{path}: {what} format version {_show(d.get('version'))} is not supported "
            f"(this lmlab reads version {version})"
        )
    return d


def plain_file_name(value: Any, where: str, field_name: str) -> str:
    """``value`` if it names a file directly inside a directory (no ``/``, no ``..``, not absolute).

    >>> plain_file_name("tokenizer.json", "RUN/config.json", "tokenizer.file")
    'tokenizer.json'
    >>> plain_file_name("../x", "RUN/config.json", "tokenizer.file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: RUN/config.json: field 'tokenizer.file' must be a plain file name ..., got '../x'
    """
    ok = (
        isinstance(value, str)
        and value not in ("", ".", "..")
        and not any(c in value for c in ("/", "\\", "\0"))
        and not os.path.isabs(value)
        and not (value[1:2] == ":" and value[0].isascii() and value[0].isalpha())  # a Windows drive
    )
    if not ok:
        raise LmlabError(
            f"{where}: field '{field_name}' must be a plain file name inside the run directory, got {_show(value)}"
        )
    return value


# ---- a small schema: field -> expected type(s), required or optional
_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "an object"}
_TYPE_WORDS.update({list: "a list", type(None): "null"})


def is_type(value: Any, tp: type) -> bool:
    """JSON's view of a Python type: bool is not an integer, an integer is a number.

    >>> is_type(True, int), is_type(3, float), is_type(3.5, int)
    (False, True, False)
    """
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, tp)


def _show(value: Any) -> str:
    """A short rendering of a bad value for a message.

    >>> _show("abc"), _show(None), _show(True), _show([1, 2]), _show("x" * 100)[:12]
    ("'abc'", 'null', 'true', 'a list of 2 items', "'xxxxxxxxxxx")
    """
    if value is None or isinstance(value, bool):
        return fastjson.dumps(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# the records here are collections.namedtuple classes, not dataclasses or typing.NamedTuple: lmlab eval's lean path
# reads its run through this module (see lmlab.lazy)
class Field(namedtuple("Field", "expected test required", defaults=(False,))):
    """What one field of a JSON file must hold: a test (a value -> bool), its description for the message
    (``expected``), and whether it must be present (``required``, default False)."""

    __slots__ = ()


def expect(*types_: type | None, required: bool = False) -> Field:
    """A field holding a value of one of ``types_`` (``None`` for JSON null; float also accepts an integer)."""
    tps = tuple(type(None) if t is None else t for t in types_)
    return Field(" or ".join(_TYPE_WORDS[t] for t in tps), lambda v: any(is_type(v, t) for t in tps), required)


def list_of(item: Callable[[Any], bool], expected: str, *, required: bool = False) -> Field:
    """A field holding a list whose every item passes ``item``."""
    return Field(expected, lambda v: isinstance(v, list) and all(item(x) for x in v), required)


def check_fields(d: dict[str, Any], schema: dict[str, Field], where: str) -> None:
    """Check the fields of ``d`` named in ``schema`` (dotted for nested objects: ``"model.d_model"``).

    Fields not in the schema are left alone (a newer lmlab may add some). A nested field is checked when its
    parent is an object; the parent's own entry says whether it must exist.

    >>> s = {"model": expect(dict, required=True), "model.d_model": expect(int)}
    >>> check_fields({"model": {"d_model": 8}}, s, "RUN/config.json")
    >>> check_fields({"model": {"d_model": "abc"}}, s, "RUN/config.json")
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: RUN/config.json: field 'model.d_model' must be an integer, got 'abc'
    """
    for name in sorted(schema, key=lambda n: n.count(".")):
        spec = schema[name]
        parent: Any = d
        for part in name.split(".")[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        key = name.rsplit(".", 1)[-1]
        if key not in parent:
            if spec.required:
                raise LmlabError(f"{where}: field '{name}' is missing")
            continue
        if not spec.test(parent[key]):
            raise LmlabError(f"{where}: field '{name}' must be {spec.expected}, got {_show(parent[key])}")


# ---- configuration dataclasses from saved JSON
_PLURAL = {"an integer": "integers", "a number": "numbers", "a string": "strings", "an object": "objects"}


def annotation_field(tp: Any, *, required: bool = False) -> Field:
    """The :class:`Field` a type annotation describes: ``int | None``, ``list[str]``, ``list[list[float]]``.

    >>> f = annotation_field(list[list[float]])
    >>> f.expected, f.test([[1, 2.5]]), f.test([["a"]])
    ('a list of lists of numbers', True, False)
    """
    import types  # here: reading a run's files (lmlab eval) needs neither
    import typing

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        parts = [annotation_field(a) for a in args]
        return Field(" or ".join(p.expected for p in parts), lambda v: any(p.test(v) for p in parts), required)
    if origin in (list, tuple):
        if origin is tuple or not args:
            return Field("a list", lambda v: isinstance(v, list), required)
        item = annotation_field(args[0])
        words = _PLURAL.get(item.expected) or (
            "lists" + item.expected[len("a list") :] if item.expected.startswith("a list") else None
        )
        expected = f"a list of {words}" if words else f"a list, each item {item.expected}"
        return Field(expected, lambda v: isinstance(v, list) and all(item.test(x) for x in v), required)
    if tp is None or tp is type(None):
        return expect(None, required=required)
    if tp in _TYPE_WORDS:
        return expect(tp, required=required)
    return Field("anything", lambda v: True, required)


def dataclass_schema(cls: type, prefix: str = "") -> dict[str, Field]:
    """A schema with one entry per field of the dataclass ``cls`` (``prefix`` + its name), typed by its annotation
    and required when it has no default."""
    import dataclasses  # here: reading a run's files (lmlab eval) needs none
    import typing

    hints = typing.get_type_hints(cls)
    return {
        prefix + f.name: annotation_field(
            hints[f.name], required=f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
        for f in dataclasses.fields(cls)
        if f.init
    }


def flag_to_field(message: str, names: Iterable[str], field_prefix: str) -> str:
    """``message`` with each ``--flag`` among ``names`` (field names) written as ``field 'PREFIX.name'``.

    A configuration's checks name the command-line flag; for a value read from a file the file's field is the
    one to blame.

    >>> flag_to_field("--d-model must be an integer >= 1, got 0", ["d_model"], "model.")
    "field 'model.d_model' must be an integer >= 1, got 0"
    """
    import re  # here: reading a run's files (lmlab eval) needs none

    known = set(names)

    def sub(m: re.Match) -> str:
        name = m.group(1).replace("-", "_")
        return f"field '{field_prefix}{name}'" if name in known else m.group(0)

    return re.sub(r"--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)", sub, message)


def _is_tuple_type(tp: Any) -> bool:
    """``tuple[int, ...]`` or ``tuple[int, ...] | None``: a field whose JSON list becomes a tuple."""
    import types
    import typing

    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_is_tuple_type(a) for a in typing.get_args(tp))
    return tp is tuple or typing.get_origin(tp) is tuple


def config_from_json(cls: type, values: Any, where: str, field_prefix: str = "") -> Any:
    """An instance of the configuration dataclass ``cls`` from values read from the file ``where``.

    Each value must have its field's type (no coercion: a file lmlab wrote holds the right types); keys the
    dataclass does not know are ignored (an older lmlab reading a newer run). The dataclass's own checks still
    run, and their messages are rewritten to blame the file's field rather than a command-line flag.
    """
    prefix_name = field_prefix.rstrip(".")
    if not isinstance(values, dict):
        raise LmlabError(f"{where}: field '{prefix_name}' must be an object, got {_show(values)}")
    import dataclasses  # here: reading a run's files (lmlab eval) needs none
    import typing

    known = [f.name for f in dataclasses.fields(cls) if f.init]
    # a field missing from the file was saved by an older lmlab: the dataclass default applies
    schema = {k: v._replace(required=False) for k, v in dataclass_schema(cls, field_prefix).items()}
    check_fields({prefix_name: values} if prefix_name else values, schema, where)
    kwargs = {name: values[name] for name in known if name in values}
    hints = typing.get_type_hints(cls)
    for name, value in kwargs.items():  # JSON has no tuples: a tuple field was saved as a list
        if isinstance(value, list) and _is_tuple_type(hints.get(name)):
            kwargs[name] = tuple(value)
    try:
        return cls(**kwargs)
    except LmlabError as e:
        message = flag_to_field(str(e), known, field_prefix)
        if message == str(e) and prefix_name:  # the check named no flag: say at least which part of the file
            message = f"field '{prefix_name}': {message}"
        raise LmlabError(f"{where}: {message}") from None


# ---- safetensors files: the header checked against the file before any tensor is read
#: Bytes per element of each safetensors dtype.
SAFETENSORS_DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2}
SAFETENSORS_DTYPE_SIZES.update({"BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8})
#: Largest safetensors header read: names, dtypes, shapes and offsets of tens of thousands of tensors fit in far less.
MAX_SAFETENSORS_HEADER_BYTES = 16 * 2**20


class SafetensorsHeader(namedtuple("SafetensorsHeader", "path tensors metadata data_start size")):
    """What a safetensors file's header says, checked against the file (a Path): each tensor's dtype, shape and
    extent ``[begin, end)`` in the data that follows the header (``tensors``: name -> (dtype, shape, begin, end)),
    which starts at byte ``data_start`` of the file's ``size``, and the ``__metadata__`` strings (``metadata``)."""

    __slots__ = ()

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: t[1] for name, t in self.tensors.items()}

    def dtypes(self) -> dict[str, str]:
        return {name: t[0] for name, t in self.tensors.items()}


def read_safetensors_header(path: str | os.PathLike) -> SafetensorsHeader:
    """The header of the safetensors file ``path``, checked against the file's size; no tensor data is read.

    The format: 8 bytes, the header's length n (little-endian); n bytes of JSON mapping each tensor's name to its
    ``dtype``, ``shape`` and ``data_offsets`` [begin, end) in the data that follows, plus ``__metadata__``. Each
    tensor's extent must equal its shape's element count times its dtype's size, and the extents must tile the
    data exactly, as the format requires: no holes, no overlaps, and no bytes after the last tensor. So a header
    that claims a huge tensor, or a file with gigabytes appended, is refused here, before anything is allocated.
    """
    from pathlib import Path  # here: reading a run's model file (lmlab eval of an n-gram run) needs none

    path = Path(path)
    with open_regular(path, missing=f"{path} not found") as f:
        size = os.fstat(f.fileno()).st_size
        raw = f.read(8)
        n = int.from_bytes(raw, "little") if len(raw) == 8 else -1
        if not 2 <= n <= min(size - 8, MAX_SAFETENSORS_HEADER_BYTES):
            raise LmlabError(f"{path}: corrupted or truncated safetensors file (header length {n}, file {size} bytes)")
        text = f.read(n)
    try:
        header = fastjson.loads(text)
    except (ValueError, RecursionError) as e:
        raise LmlabError(f"{path}: corrupted or truncated safetensors file ({type(e).__name__})") from None
    if not isinstance(header, dict):
        raise LmlabError(f"{path}: corrupted safetensors file (its header is not an object)")
    data_size = size - 8 - n
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise LmlabError(f"{path}: corrupted safetensors file (bad __metadata__)")
    tensors: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
    for name, entry in header.items():
        ok = isinstance(entry, dict) and entry.get("dtype") in SAFETENSORS_DTYPE_SIZES
        shape, offsets = (entry.get("shape"), entry.get("data_offsets")) if ok else (None, None)
        ok = ok and isinstance(shape, list) and all(is_type(d, int) and d >= 0 for d in shape)
        ok = ok and isinstance(offsets, list) and len(offsets) == 2 and all(is_type(o, int) for o in offsets)
        if not ok or not 0 <= offsets[0] <= offsets[1] <= data_size:
            raise LmlabError(f"{path}: corrupted or truncated safetensors file (tensor {name!r})")
        if offsets[1] - offsets[0] != math.prod(shape) * SAFETENSORS_DTYPE_SIZES[entry["dtype"]]:
            raise LmlabError(f"{path}: corrupted safetensors file (tensor {name!r} has shape {shape}, not its size)")
        tensors[name] = (entry["dtype"], tuple(shape), offsets[0], offsets[1])
    end = 0
    for _, _, begin, stop in sorted(tensors.values(), key=lambda t: (t[2], t[3])):
        if begin != end:
            raise LmlabError(f"{path}: corrupted safetensors file (its tensors overlap or leave a hole at byte {end})")
        end = stop
    if end != data_size:
        raise LmlabError(
            f"{path}: corrupted safetensors file ({data_size - end:,} bytes after its last tensor); "
            "lmlab reads only files whose header accounts for every byte"
        )
    return SafetensorsHeader(path, tensors, {str(k): v for k, v in metadata.items()}, 8 + n, size)


def check_safetensors_shapes(header: SafetensorsHeader, expected: dict[str, tuple[int, ...]]) -> None:
    """An LmlabError naming the first tensor of the file that is missing, unexpected or misshapen against
    ``expected`` (name -> shape); uses the header alone."""
    found = header.shapes()
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise LmlabError(
            f"{header.path}: the weights do not match the configuration "
            f"({'missing ' + ', '.join(missing[:3]) if missing else 'unexpected ' + ', '.join(extra[:3])})"
        )
    for name, shape in expected.items():
        if found[name] != tuple(shape):
            raise LmlabError(f"{header.path}: {name} has shape {found[name]}, the configuration needs {tuple(shape)}")


def read_safetensors_bytes(
    path: str | os.PathLike, expected: dict[str, tuple[int, ...]] | None = None
) -> tuple[SafetensorsHeader, bytes]:
    """The checked header of ``path`` and the whole file's bytes, read only after the header (and, with
    ``expected``, every tensor's shape) passed; the bytes read are exactly the size the header accounts for."""
    header = read_safetensors_header(path)
    if expected is not None:
        check_safetensors_shapes(header, expected)
    with open_regular(path, missing=f"{header.path} not found") as f:
        data = f.read(header.size + 1)
    if len(data) != header.size:
        raise LmlabError(f"{header.path}: the file changed while it was read")
    return header, data


_NUMPY_DTYPES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16", "F16": "float16"}
_NUMPY_DTYPES.update({"I32": "int32", "U32": "uint32", "F32": "float32", "I64": "int64", "U64": "uint64"})
_NUMPY_DTYPES["F64"] = "float64"


def read_safetensors_arrays(
    path: str | os.PathLike,
    expected: dict[str, tuple[int, ...]] | None = None,
    dtypes: dict[str, str] | None = None,
) -> tuple[SafetensorsHeader, dict[str, Any]]:
    """The arrays of a safetensors file as numpy arrays (little-endian, read-only views of one buffer), after its
    header, the shapes ``expected`` and the safetensors dtypes ``dtypes`` (name -> ``"F32"``) are checked."""
    import numpy as np

    header = read_safetensors_header(path)
    if dtypes is not None:
        for name, dtype in dtypes.items():
            if name in header.tensors and header.tensors[name][0] != dtype:
                raise LmlabError(f"{header.path}: {name} is {header.tensors[name][0]}, lmlab wrote it as {dtype}")
    header, data = read_safetensors_bytes(path, expected)
    arrays = {}
    for name, (dtype, shape, begin, _end) in header.tensors.items():
        if dtype not in _NUMPY_DTYPES:
            raise LmlabError(f"{header.path}: tensor {name!r} has dtype {dtype}, which lmlab does not read here")
        a = np.frombuffer(data, dtype=np.dtype(_NUMPY_DTYPES[dtype]).newbyteorder("<"), count=math.prod(shape),
                          offset=header.data_start + begin)  # fmt: skip
        arrays[name] = a.reshape(shape)
    return header, arrays


__all__ = [
    "Field",
    "MAX_JSON_BYTES",
    "SafetensorsHeader",
    "annotation_field",
    "check_fields",
    "check_safetensors_shapes",
    "check_version",
    "config_from_json",
    "dataclass_schema",
    "expect",
    "flag_to_field",
    "is_type",
    "list_of",
    "open_regular",
    "parse_json",
    "plain_file_name",
    "read_bytes",
    "read_json",
    "read_safetensors_arrays",
    "read_safetensors_bytes",
    "read_safetensors_header",
    "read_versioned_json",
]
