"""What every neural tagger honours, and the word features they share.

The contract: a network is built from its config alone and maps a padded batch of sentences to one score per tag
for every word, with the loss when the true tags are given::

    forward(batch: TagBatch, tags: LongTensor (B, T) | None) -> TaggerOutput(scores (B, T, K), loss)
    decode(scores, mask) -> LongTensor (B, T)        the best tag of each word (argmax, or Viterbi with a CRF)

``batch.mask`` is True at real words; padding sits at the end of a row and never changes a real word's scores
(nor, with a CRF, the best sequence). A softmax tagger's loss is the mean cross-entropy over the batch's real
words; a CRF tagger's is the negative log-likelihood of each sentence, summed and divided by the batch's words (see
:mod:`lmlab.tag.models.lample_crf`), so that both are in nats per word and share a learning rate.

The words of a batch arrive three ways, as the families need them: word ids (``words``, 0 padding, 1 unknown),
Collobert's capitalisation feature (``caps``), and the characters of each distinct word form in the batch
(``chars`` (U, L) with ``char_lengths`` (U,), and ``forms`` (B, T) giving each word's row; row 0 is the
padding form, of length 0). A form that occurs many times in a batch has its characters read once.

References: Collobert et al. 2011 (the capitalisation feature); Ling et al. 2015, "Finding Function in Form"
and Lample et al. 2016 (a word's vector from a BiLSTM over its characters); Plank, Søgaard & Goldberg 2016.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.recurrent import Recurrent
from lmlab.train.config import check_positive, check_probability

PAD, UNK = 0, 1  # word and character ids of padding and of an unknown word or character
#: Collobert et al.'s capitalisation classes (0 is padding)
CAPS = ("<pad>", "lower", "Title", "UPPER", "mIxed")


class TagBatch(NamedTuple):
    """A padded batch of sentences (see the module docstring)."""

    words: Tensor  # (B, T) word ids, 0 padding, 1 unknown
    caps: Tensor  # (B, T) capitalisation class (CAPS), 0 padding
    chars: Tensor  # (U, L) character ids of each distinct form; row 0 the padding form
    char_lengths: Tensor  # (U,) characters of each form (0 for row 0)
    forms: Tensor  # (B, T) the row of chars for each word (0 at padding)
    mask: Tensor  # (B, T) True at real words


class TaggerOutput(NamedTuple):
    scores: Tensor  # (B, T, K) per word and tag: logits, or a CRF's emission scores
    loss: Tensor | None = None  # nats per word, when the tags were given


def caps_feature(word: str) -> int:
    """Collobert et al.'s capitalisation class of a word (an index into :data:`CAPS`).

    >>> [CAPS[caps_feature(w)] for w in ["the", "The", "USA", "iPhone", "42"]]
    ['lower', 'Title', 'UPPER', 'mIxed', 'lower']
    """
    if not any(c.isupper() for c in word):
        return 1
    if word.isupper():
        return 3
    if word[0].isupper() and not any(c.isupper() for c in word[1:]):
        return 2
    return 4


@dataclass(kw_only=True)
class TaggerConfig:
    """Fields every neural tagger has; the sizes come from the data."""

    family: ClassVar[str] = ""  # set by each family's subclass: its name in TAGGERS

    vocab_size: int  # word ids 0 .. V-1: padding, unknown, then the training words
    char_vocab_size: int  # character ids: padding, unknown, then the training words' characters
    num_tags: int  # K

    def __post_init__(self):
        check_positive(self.vocab_size, "vocab_size")
        check_positive(self.char_vocab_size, "char_vocab_size")
        if not (isinstance(self.num_tags, int) and not isinstance(self.num_tags, bool) and self.num_tags >= 2):
            raise LmlabError(f"a tagger needs at least 2 tags, got num_tags={self.num_tags!r}")


@dataclass(kw_only=True)
class WordCharConfig(TaggerConfig):
    """A tagger whose word vectors are a word embedding and a character BiLSTM's final states (0 to turn it off)."""

    d_word: int = 100  # word embedding (Lample et al.: 100)
    d_char: int = 32  # character embedding (Lample et al.: 25; Plank et al.: 100)
    d_char_hidden: int = 32  # per direction of the character BiLSTM (0: no characters; Lample et al.: 25)
    max_word_len: int = 30  # characters read per word: the first 15 and the last 15 of a longer one (URLs)
    dropout: float = 0.33  # on the word vectors and on the sentence encoder's outputs

    def __post_init__(self):
        super().__post_init__()
        check_positive(self.d_word, "d_word")
        check_positive(self.d_char, "d_char")
        check_positive(self.max_word_len, "max_word_len")
        if not (isinstance(self.d_char_hidden, int) and not isinstance(self.d_char_hidden, bool)):
            raise LmlabError(f"--d-char-hidden must be an integer >= 0, got {self.d_char_hidden!r}")
        if self.d_char_hidden:
            check_positive(self.d_char_hidden, "d_char_hidden")
        elif self.d_char_hidden < 0:
            raise LmlabError(f"--d-char-hidden must be an integer >= 0, got {self.d_char_hidden!r}")
        check_probability(self.dropout, "dropout")


class CharBiLSTM(nn.Module):
    """A word's vector from its characters: the final states of a BiLSTM read over them, ``[h->_n ; h<-_1]``::

    c_j = C[char_j],   h->_j = LSTM(c_j, h->_{j-1}),   h<-_j = LSTM(c_j, h<-_{j+1}),   v = [h->_n ; h<-_1]
    """

    def __init__(self, char_vocab_size: int, d_char: int, d_hidden: int):
        super().__init__()
        self.embed = nn.Embedding(char_vocab_size, d_char, padding_idx=PAD)
        self.rnn = Recurrent("lstm", d_char, d_hidden, 1, bidirectional=True)
        self.d_output = 2 * d_hidden

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        """chars (U, L), lengths (U,) -> (U, 2H); rows of length 0 (the padding form) give zeros."""
        out = self.embed.weight.new_zeros(chars.size(0), self.d_output)
        real = lengths > 0
        if real.any():
            x = self.embed(chars[real])  # (U', L, d_char)
            _, (h, _) = self.rnn(x, lengths=lengths[real])  # h (2, U', H): forward final, backward final
            out[real] = torch.cat([h[0], h[1]], dim=-1).to(out.dtype)
        return out


class WordCharFeatures(nn.Module):
    """x_t = [W[w_t] ; charBiLSTM(chars of w_t)]: (B, T, d_word + 2 d_char_hidden), dropout applied."""

    def __init__(self, cfg: WordCharConfig):
        super().__init__()
        self.word = nn.Embedding(cfg.vocab_size, cfg.d_word, padding_idx=PAD)
        self.chars = CharBiLSTM(cfg.char_vocab_size, cfg.d_char, cfg.d_char_hidden) if cfg.d_char_hidden else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.d_output = cfg.d_word + (self.chars.d_output if self.chars is not None else 0)

    def forward(self, batch: TagBatch) -> Tensor:
        x = self.word(batch.words)  # (B, T, d_word)
        if self.chars is not None:
            per_form = self.chars(batch.chars, batch.char_lengths)  # (U, 2H)
            x = torch.cat([x, per_form[batch.forms]], dim=-1)  # (B, T, d_word + 2H)
        return self.dropout(x)


def token_cross_entropy(scores: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
    """Mean cross-entropy over the real words: ``-(1/N) sum_{b,t: mask} ln softmax(scores_bt)[y_bt]``.

    >>> s = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]]); y = torch.tensor([[0, 1]])
    >>> round(token_cross_entropy(s, y, torch.tensor([[True, False]])).item(), 4)   # one word: -ln(e^2/(e^2+1))
    0.1269
    """
    return F.cross_entropy(scores[mask].float(), tags[mask])


class TaggerNet(nn.Module):
    """Base of the neural taggers: a family gives ``emissions(batch)``; the softmax loss and argmax decoding are
    the default, a CRF family overrides :meth:`loss` and :meth:`decode`."""

    def emissions(self, batch: TagBatch) -> Tensor:  # pragma: no cover - each family overrides
        raise NotImplementedError

    def loss(self, scores: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        return token_cross_entropy(scores, tags, mask)

    def decode(self, scores: Tensor, mask: Tensor) -> Tensor:
        """The best tag of each word (B, T); padding positions hold 0."""
        return scores.argmax(dim=-1).masked_fill(~mask, 0)

    def forward(self, batch: TagBatch, tags: Tensor | None = None) -> TaggerOutput:
        scores = self.emissions(batch)
        return TaggerOutput(scores, None if tags is None else self.loss(scores, tags, batch.mask))


__all__ = [
    "CAPS",
    "PAD",
    "UNK",
    "CharBiLSTM",
    "TagBatch",
    "TaggerConfig",
    "TaggerNet",
    "TaggerOutput",
    "WordCharConfig",
    "WordCharFeatures",
    "caps_feature",
    "token_cross_entropy",
]
