"""What a run was trained on, so that evaluating or resuming it later reads the same data or says it does not.

A run records where its corpus is (:attr:`Corpus.spec`: a registered name or an absolute path, never a path
relative to the directory training happened to run in) and the sha256 of each split's lines. A file edited,
replaced or shadowed by another of the same name then shows up as a changed hash instead of a silently
different perplexity.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from lmlab.data.corpus import SPLITS, Corpus


def split_sha256(lines: Sequence[str]) -> str:
    """Hex sha256 of a split's lines, each ended by ``\\n``, in UTF-8: the text as the models read it.

    >>> split_sha256(["a", "b"]) == hashlib.sha256(b"a\\nb\\n").hexdigest()
    True
    """
    h = hashlib.sha256()
    for start in range(0, len(lines), 4096):  # in blocks: one join of a whole corpus would double its memory
        block = lines[start : start + 4096]
        h.update(("\n".join(block) + "\n").encode("utf-8", errors="surrogatepass"))
    return h.hexdigest()


def data_spec(spec: str | os.PathLike) -> str:
    """How a run records its ``--data``: a registered dataset name as it is, anything else as an absolute path, so
    that ``lmlab eval RUN`` reads the same files from any working directory.

    >>> data_spec("ptb"), data_spec("/data/my corpus.txt")
    ('ptb', '/data/my corpus.txt')
    >>> data_spec("corpus.txt") == os.path.join(os.getcwd(), "corpus.txt")
    True
    """
    from lmlab.data.registry import DATASETS

    spec = os.fspath(spec)
    if spec in DATASETS or not spec:
        return spec
    return os.path.abspath(os.path.expanduser(spec))


def labeled_sha256(texts: Sequence[str], labels: Sequence[str]) -> str:
    """Hex sha256 of labelled examples, one ``label<TAB>text`` line each (see :func:`split_sha256`).

    >>> labeled_sha256(["good film"], ["pos"]) == split_sha256(["pos\\tgood film"])
    True
    """
    return split_sha256([f"{label}\t{text}" for label, text in zip(labels, texts, strict=True)])


def data_fingerprint(corpus: Corpus) -> dict[str, Any]:
    """The part of a run's data record that identifies the corpus: ``spec`` and the sha256 of each split.

    >>> fp = data_fingerprint(Corpus("c", ["a", "b"], ["c"], ["d"], "by hand", "/data/c.txt"))
    >>> fp["spec"], fp["sha256"]["valid"][:12]
    ('/data/c.txt', 'a3a5e715f0cc')
    """
    out: dict[str, Any] = {"spec": corpus.spec} if corpus.spec else {}
    out["sha256"] = {name: split_sha256(corpus.records(name)) for name in SPLITS}
    return out


def data_changes(saved: Mapping[str, Any], corpus: Corpus) -> list[str]:
    """The splits (``"train"``, ``"valid"``, ``"test"``) whose lines differ from the hashes in ``saved``, a run's
    data record; empty when they match, and for runs written before hashes were recorded.

    >>> c = Corpus("c", ["a"], ["b"], ["c"], "by hand")
    >>> data_changes(data_fingerprint(c), c), data_changes({}, c)
    ([], [])
    >>> data_changes(data_fingerprint(c), Corpus("c", ["a"], ["b"], ["C"], "by hand"))
    ['test']
    """
    hashes = saved.get("sha256") if isinstance(saved, Mapping) else None
    if not isinstance(hashes, Mapping):
        return []
    return [name for name in SPLITS if name in hashes and hashes[name] != split_sha256(corpus.records(name))]
