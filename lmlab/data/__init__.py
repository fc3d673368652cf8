"""Datasets: the registry of named corpora, their download, and loading a corpus as train/valid/test lines.

``load_corpus("ptb")``, ``load_corpus("my_text.txt")`` and ``load_corpus("my_folder/")`` all give a
:class:`Corpus` (``load_corpus("names-by-language")``, a folder of ``LABEL.txt`` files or a ``label<TAB>text`` .tsv
file a :class:`LabelledCorpus`); named datasets are fetched into :func:`data_dir` on first use and checked by sha256.
"""

from __future__ import annotations

from lmlab.lazy import lazy_names

#: where each public name lives; a name is imported on first use, so ``lmlab --help`` and ``lmlab data list``
#: import no NumPy
_WHERE = {
    "Corpus": "corpus",
    "load_corpus": "corpus",
    "read_lines": "lines",
    "split_lines": "lines",
    "fetch": "download",
    "data_changes": "fingerprint",
    "data_fingerprint": "fingerprint",
    "LabelledCorpus": "labelled",
    "DATASETS": "registry",
    "KINDS": "registry",
    "DataFile": "registry",
    "DatasetInfo": "registry",
    "data_dir": "registry",
    "describe_datasets": "registry",
    "get_dataset": "registry",
    "register_dataset": "registry",
}


__getattr__ = lazy_names("lmlab.data", _WHERE)


__all__ = [
    "DATASETS",
    "KINDS",
    "Corpus",
    "LabelledCorpus",
    "DataFile",
    "DatasetInfo",
    "data_changes",
    "data_dir",
    "data_fingerprint",
    "describe_datasets",
    "fetch",
    "get_dataset",
    "load_corpus",
    "read_lines",
    "register_dataset",
    "split_lines",
]
