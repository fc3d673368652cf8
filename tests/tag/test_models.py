"""The taggers against their references: the CRF's forward algorithm and Viterbi against enumeration of every tag
sequence, the HMM's Viterbi likewise, the window network against windows cut by hand, the BiLSTM taggers against
torch.nn.LSTM read sentence by sentence and word by word, the Transformer against torch.nn.TransformerEncoder; and
for every network: padding never changes a real word's scores."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from lmlab.tag.models import TAGGERS
from lmlab.tag.models.base import CAPS, caps_feature
from lmlab.tag.models.collobert import WindowTagger, WindowTaggerConfig, windows
from lmlab.tag.models.hmm import (
    HMMConfig,
    HMMTagger,
    count_tables,
    joint_log_probability,
    log_probabilities,
    viterbi,
)
from lmlab.tag.models.lample_crf import LinearChainCRF
from lmlab.tag.task import EncodedSentences, to_batch
from lmlab.tag.vocab import Vocabulary, cut_word

K = 4
SENTENCES = [
    ["The", "old", "man", "the", "boat", "."],
    ["Rex", "sleeps"],
    ["A", "Xylophone", "URL:http://example.com/very/long", "rang", "!", "!", "old"],
]
VOCAB = Vocabulary.build([["the", "old", "man", "boat", ".", "Rex", "sleeps", "a", "rang", "!"]])
SIZES = dict(vocab_size=VOCAB.size, char_vocab_size=VOCAB.char_size, num_tags=K)
SMALL = dict(d_word=6, d_char=5, d_char_hidden=3, dropout=0.0, max_word_len=8)


def make_batch(sentences=SENTENCES, extra: int = 0, max_word_len: int = 8):
    """A TagBatch of ``sentences`` with ``extra`` columns of padding beyond the longest one."""
    arrays, _ = EncodedSentences(VOCAB, sentences, max_word_len).arrays(list(range(len(sentences))))
    if extra:
        for key in ("words", "caps", "forms", "mask"):
            arrays[key] = np.pad(arrays[key], ((0, 0), (0, extra)))
    return to_batch(arrays, torch.device("cpu"))


def build(name: str, **over):
    entry = TAGGERS[name]
    values = {**SIZES, **over}
    if name != "window":
        values = {**SMALL, **values}
    torch.manual_seed(0)
    return entry.network_class()(entry.config_class()(**values)).double()


NEURAL = {
    "window": dict(window=2, d_word=6, d_caps=3, d_hidden=7, dropout=0.0),
    "bilstm": dict(d_hidden=5, n_layer=2),
    "bilstm-crf": dict(d_hidden=5),
    "transformer": dict(d_model=8, n_head=2, d_ff=16, n_layer=2),
}


# ---- the batch
def test_batches_read_each_form_once_and_pad_at_the_end():
    batch = make_batch()
    assert batch.words.shape == batch.mask.shape == (3, 7)
    assert batch.mask.sum(1).tolist() == [6, 2, 7]
    assert batch.words[0].tolist()[:2] == [1, VOCAB.word_id("old")]  # "The" is unknown: the vocabulary is lowercase
    forms = {tuple(batch.chars[i, : batch.char_lengths[i]].tolist()) for i in range(batch.chars.size(0))}
    assert len(forms) == batch.chars.size(0)  # "old" twice, one row
    assert batch.char_lengths[0] == 0 and (batch.forms[~batch.mask] == 0).all()
    assert [CAPS[caps_feature(w)] for w in ["A", "Xylophone", "old"]] == ["UPPER", "Title", "lower"]
    assert cut_word("URL:http://example.com/very/long", 8) == "URL:long"


# ---- every network
@pytest.mark.parametrize("name", list(NEURAL))
def test_scores_are_B_T_K_and_padding_never_changes_them(name):
    net = build(name, **NEURAL[name]).eval()
    batch, padded = make_batch(), make_batch(extra=3)
    scores = net(batch).scores
    assert scores.shape == (3, 7, K)
    torch.testing.assert_close(net(padded).scores[:, :7][batch.mask], scores[batch.mask], atol=1e-10, rtol=1e-10)
    assert torch.equal(net.decode(net(padded).scores, padded.mask)[:, :7], net.decode(scores, batch.mask))


@pytest.mark.parametrize("name", list(NEURAL))
def test_loss_is_finite_and_reaches_the_word_embeddings(name):
    net = build(name, **NEURAL[name]).train()
    batch = make_batch()
    tags = torch.randint(0, K, batch.words.shape)
    out = net(batch, tags)
    assert out.loss.ndim == 0 and math.isfinite(out.loss.item())
    out.loss.backward()
    word = net.word if name == "window" else (net.features if name == "transformer" else net.encoder.features).word
    assert word.weight.grad.abs().sum() > 0


# ---- the CRF against enumeration
def brute_force(crf: LinearChainCRF, emissions: torch.Tensor, length: int):
    """log Z and the best sequence of one sentence by scoring all K^n tag sequences."""
    A, start, end = crf.transitions.double(), crf.start.double(), crf.end.double()
    scores = {}
    for y in itertools.product(range(emissions.size(1)), repeat=length):
        s = start[y[0]] + end[y[-1]] + sum(emissions[t, y[t]] for t in range(length))
        s = s + sum(A[y[t - 1], y[t]] for t in range(1, length))
        scores[y] = s
    values = torch.stack(list(scores.values()))
    return torch.logsumexp(values, 0), max(scores, key=lambda y: scores[y].item()), scores


def test_crf_forward_algorithm_and_viterbi_equal_enumeration():
    torch.manual_seed(1)
    crf = LinearChainCRF(3).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_(0, 1.0)
    lengths = [5, 3, 1, 4]
    emissions = torch.randn(len(lengths), 5, 3, dtype=torch.float64) * 2
    mask = torch.arange(5) < torch.tensor(lengths).unsqueeze(1)
    tags = torch.randint(0, 3, (len(lengths), 5)) * mask
    log_z, path = crf.log_partition(emissions, mask), crf.viterbi(emissions, mask)
    score = crf.score(emissions, tags, mask)
    nll = 0.0
    for b, n in enumerate(lengths):
        ref_z, best, all_scores = brute_force(crf, emissions[b], n)
        torch.testing.assert_close(log_z[b], ref_z, atol=1e-10, rtol=1e-10)
        assert tuple(path[b, :n].tolist()) == best and (path[b, n:] == 0).all()
        torch.testing.assert_close(score[b], all_scores[tuple(tags[b, :n].tolist())])
        nll += (ref_z - all_scores[tuple(tags[b, :n].tolist())]).item()
    assert crf.nll(emissions, tags, mask).item() == pytest.approx(nll / sum(lengths))  # per word
    # the likelihoods of all sequences sum to one
    total = sum(math.exp((s - log_z[1]).item()) for s in brute_force(crf, emissions[1], 3)[2].values())
    assert total == pytest.approx(1.0)


def test_crf_loss_gradient_is_expected_minus_observed_counts():
    """d(log Z - s(y)) / d start[j] = p(y_1 = j) - [y_1 = j]: the marginals of the forward algorithm."""
    torch.manual_seed(2)
    crf = LinearChainCRF(3).double()
    emissions = torch.randn(1, 3, 3, dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.bool)
    tags = torch.tensor([[2, 0, 1]])
    (crf.nll(emissions, tags, mask) * 3).backward()
    _, _, scores = brute_force(crf, emissions[0].detach(), 3)
    z = torch.logsumexp(torch.stack(list(scores.values())), 0)
    marginal = torch.zeros(3, dtype=torch.float64)
    for y, s in scores.items():
        marginal[y[0]] += torch.exp(s - z).item()
    torch.testing.assert_close(crf.start.grad, marginal - torch.eye(3, dtype=torch.float64)[2])


# ---- the HMM against enumeration
def test_hmm_viterbi_equals_enumeration():
    rng = np.random.default_rng(0)
    k, v = 3, 6
    logA = np.log(rng.dirichlet(np.ones(k + 1), size=k + 1))
    logB = np.log(rng.dirichlet(np.ones(v), size=k))
    for n in (1, 2, 5):
        words = rng.integers(1, v, n).tolist()
        best = max(itertools.product(range(k), repeat=n), key=lambda y: joint_log_probability(logA, logB, words, y))
        assert viterbi(logA, logB, words) == list(best)


def test_hmm_tables_are_add_k_distributions():
    A, B = count_tables([[2, 3, 2], [4]], [[0, 1, 0], [2]], num_tags=3, vocab_size=5)
    assert A[3].tolist() == [1, 0, 1, 0] and A[0, 1] == 1 and A[0, 3] == 1 and B[0, 2] == 2
    logA, logB = log_probabilities(A, B, 0.5, 0.1)
    assert np.allclose(np.exp(logA).sum(axis=1), 1) and np.allclose(np.exp(logB).sum(axis=1), 1)
    assert np.exp(logB[0, 2]) == pytest.approx((2 + 0.1) / (2 + 0.1 * 4))  # c(t, w) + k over c(t) + k (V + 1)
    assert np.exp(logA[3, 0]) == pytest.approx((1 + 0.5) / (2 + 0.5 * 3))  # after <s>: the 3 tags only
    assert logA[3, 3] == -np.inf and (logB[:, 0] == -np.inf).all()


def test_hmm_tags_a_toy_corpus():
    from lmlab.tag.data import Sentences

    train = Sentences([["the", "dog", "runs"], ["a", "cat", "runs"]] * 3, [["D", "N", "V"]] * 6)
    vocab = Vocabulary.build(train.words)
    hmm = HMMTagger.fit(HMMConfig(vocab_size=vocab.size, num_tags=3), vocab, ["D", "N", "V"], train)
    assert hmm.predict([["the", "cat", "runs"], ["a", "zebra", "runs"]]) == [["D", "N", "V"], ["D", "N", "V"]]


# ---- the window network against windows cut by hand
def test_window_tagger_equals_windows_cut_by_hand():
    net = build("window", **NEURAL["window"]).eval()
    with torch.no_grad():
        net.outside.normal_()
    batch = make_batch()
    scores = net(batch).scores
    w = net.config.window
    for b, words in enumerate(SENTENCES):
        for t in range(len(words)):
            parts = []
            for j in range(t - w, t + w + 1):
                if 0 <= j < len(words):
                    parts.append(torch.cat([net.word.weight[batch.words[b, j]], net.caps.weight[batch.caps[b, j]]]))
                else:
                    parts.append(net.outside)
            h = torch.nn.functional.hardtanh(net.hidden(torch.cat(parts)))
            torch.testing.assert_close(scores[b, t], net.out(h))
    x = torch.arange(6.0).view(1, 3, 2)
    assert windows(x, 1, torch.tensor([-1.0, -2.0]))[0, 0].tolist() == [-1, -2, 0, 1, 2, 3]


# ---- the BiLSTM taggers against torch.nn.LSTM
def torch_lstm(ours, n_layer: int) -> nn.LSTM:
    """A multi-layer bidirectional torch.nn.LSTM with the weights of lmlab's Recurrent stack."""
    layer0 = ours.layers[0]
    ref = nn.LSTM(layer0.input_size, ours.d_hidden, n_layer, batch_first=True, bidirectional=True).double()
    with torch.no_grad():
        for index, layer in enumerate(ours.layers):
            for name, p in layer.named_parameters():
                getattr(ref, name.replace("_l0", f"_l{index}")).copy_(p)
    return ref


@pytest.mark.parametrize("name", ["bilstm", "bilstm-crf"])
def test_bilstm_taggers_equal_torch_lstm_sentence_by_sentence(name):
    net = build(name, **NEURAL[name]).eval()
    encoder = net.encoder
    chars_ref = torch_lstm(encoder.features.chars.rnn, 1)
    sentence_ref = torch_lstm(encoder.rnn, net.config.n_layer)
    scores = net(make_batch()).scores
    for b, words in enumerate(SENTENCES):
        vectors = []
        for word in words:
            c = torch.from_numpy(VOCAB.char_ids(word, net.config.max_word_len)).unsqueeze(0)
            _, (h, _) = chars_ref(encoder.features.chars.embed(c))  # h (2, 1, H): forward, backward
            w = encoder.features.word.weight[VOCAB.word_id(word)]
            vectors.append(torch.cat([w, h[0, 0], h[1, 0]]))
        out, _ = sentence_ref(torch.stack(vectors).unsqueeze(0))
        torch.testing.assert_close(scores[b, : len(words)], net.out(out[0]), atol=1e-10, rtol=1e-10)


def test_bilstm_fused_and_explicit_paths_agree():
    fused = build("bilstm", **NEURAL["bilstm"]).eval()
    explicit = build("bilstm", **NEURAL["bilstm"], fused=False).eval()
    explicit.load_state_dict(fused.state_dict())
    torch.testing.assert_close(fused(make_batch()).scores, explicit(make_batch()).scores, atol=1e-10, rtol=1e-10)


def test_bilstm_crf_decodes_with_viterbi():
    net = build("bilstm-crf", **NEURAL["bilstm-crf"]).eval()
    with torch.no_grad():
        net.crf.transitions.fill_(-50.0)
        net.crf.transitions[:, 2] = 0.0  # only tag 2 may follow another: every word after the first is tag 2
    batch = make_batch()
    path = net.decode(net(batch).scores, batch.mask)
    assert (path[:, 1:][batch.mask[:, 1:]] == 2).all()


# ---- the Transformer against torch.nn.TransformerEncoder
@pytest.mark.parametrize("over", [dict(), dict(norm_first=False, positions="learned", activation="gelu")])
def test_transformer_tagger_equals_torch_transformer_encoder(over):
    net = build("transformer", **{**NEURAL["transformer"], **over}).train()  # dropout 0: the plain path
    cfg = net.config
    layer = nn.TransformerEncoderLayer(
        cfg.d_model, cfg.n_head, cfg.d_ff, 0.0, cfg.activation, batch_first=True, norm_first=cfg.norm_first
    )
    norm = nn.LayerNorm(cfg.d_model) if cfg.norm_first else None
    ref = nn.TransformerEncoder(layer, cfg.n_layer, norm=norm, enable_nested_tensor=False).double()
    with torch.no_grad():
        for ours, theirs in zip(net.layers, ref.layers):
            theirs.self_attn.in_proj_weight.copy_(ours.self_attn.in_proj.weight)
            theirs.self_attn.in_proj_bias.copy_(ours.self_attn.in_proj.bias)
            theirs.self_attn.out_proj.load_state_dict(ours.self_attn.out_proj.state_dict())
            for name in ("linear1", "linear2"):
                getattr(theirs, name).load_state_dict(getattr(ours.ff, name).state_dict())
            for name in ("norm1", "norm2"):
                getattr(theirs, name).load_state_dict(getattr(ours, name).state_dict())
        if norm is not None:
            ref.norm.load_state_dict(net.norm.state_dict())
    batch = make_batch()
    h = ref(net.positions(net.proj(net.features(batch))), src_key_padding_mask=~batch.mask)
    theirs = net.out(h)
    torch.testing.assert_close(net(batch).scores[batch.mask], theirs[batch.mask], atol=1e-10, rtol=1e-10)


def test_bad_configurations_name_the_flag():
    from lmlab.errors import LmlabError

    with pytest.raises(LmlabError, match="--d-model .* divisible by --n-head"):
        TAGGERS["transformer"].config_class()(**SIZES, d_model=10, n_head=3)
    with pytest.raises(LmlabError, match="--activation must be one of hardtanh"):
        WindowTaggerConfig(**SIZES, activation="sigmoid")
    with pytest.raises(LmlabError, match="at least 2 tags"):
        WindowTaggerConfig(vocab_size=5, char_vocab_size=3, num_tags=1)
    with pytest.raises(LmlabError, match="--emission-k must be a number > 0"):
        HMMConfig(emission_k=0)
    assert isinstance(WindowTagger(WindowTaggerConfig(**SIZES)), nn.Module)
