"""The classifier networks: each against a reference (torch.nn with copied weights, the paper's equations written
out), and the contract's properties for every family (shapes, padding, batch order, embedding modes)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lmlab.classify.models import CLASSIFIERS, get_classifier
from lmlab.classify.models.base import (
    EMBEDDING_MODES,
    ClassifierNet,
    ClassifierOutput,
    init_embeddings_,
    max_norm_,
)
from lmlab.classify.models.fasttext import HASH_PRIME, BagOfWords, BagOfWordsConfig
from lmlab.classify.models.kim_cnn import TextCNN, TextCNNConfig, ngram_window_convolution, wide_convolution
from lmlab.classify.models.rnn import RNNClassifierConfig
from lmlab.classify.models.transformer import TransformerClassifier, TransformerClassifierConfig
from lmlab.classify.models.yang_attention import (
    AttentionClassifierConfig,
    WordAttention,
    attention_penalty,
)
from lmlab.errors import LmlabError
from lmlab.nn.attention import AdditiveAttention

V, C = 23, 3
LENGTHS = [6, 1, 3, 7, 2]  # one sentence shorter than any filter; the longest fills the batch
TOL = 1e-10  # float64 reference comparisons

# tiny versions of every family; several variants where a family has options that touch padding
TINY = {
    "bow": dict(d_embed=6, ngram=3, buckets=17),
    "textcnn": dict(d_embed=6, filter_widths=(2, 3, 5), n_filters=4),
    "rnn": dict(cell="lstm", d_embed=6, d_hidden=5, n_layer=2, bidirectional=True),
    "attention": dict(cell="gru", d_embed=6, d_hidden=4, d_attention=5, hops=2),
    "transformer": dict(d_embed=8, d_model=8, n_head=2, d_ff=16, n_layer=2, max_len=32),
}
VARIANTS = [
    ("bow", {}),
    ("bow", dict(ngram=1)),
    ("textcnn", {}),
    ("textcnn", dict(embedding_mode="multichannel")),
    ("rnn", {}),
    ("rnn", dict(cell="gru", bidirectional=False, pooling="mean")),
    ("rnn", dict(cell="rnn", n_layer=1, pooling="max")),
    ("attention", {}),
    ("attention", dict(cell="lstm", hops=1)),
    ("transformer", {}),
    ("transformer", dict(pooling="first", positions="sinusoidal", norm_first=True)),
]
VARIANT_IDS = [name + "".join(f"-{k}={v}" for k, v in over.items()) for name, over in VARIANTS]


def build(name: str, seed: int = 0, **over) -> ClassifierNet:
    torch.manual_seed(seed)
    family = get_classifier(name)
    cfg = family.config_class()(vocab_size=V, num_classes=C, **{**TINY[name], **over})
    return family.network_class()(cfg)


def batch(lengths=LENGTHS, seed: int = 1, extra: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ids 1..V-1 at real positions, padding id 0 at the end; ``extra`` more padding columns."""
    g = torch.Generator().manual_seed(seed)
    T = max(lengths)
    x = torch.randint(1, V, (len(lengths), T), generator=g)
    x = F.pad(x, (0, extra))  # (B, T + extra)
    mask = torch.arange(T + extra) < torch.tensor(lengths).unsqueeze(1)  # (B, T + extra)
    return x * mask, mask


# ---------------------------------------------------------------------------------------------------------------
# the contract, for every family


def test_registry_lists_the_five_families_and_loads_without_torch():
    assert set(CLASSIFIERS) >= {"bow", "textcnn", "rnn", "attention", "transformer"}
    for name, family in CLASSIFIERS.items():
        if not family.network:  # a count-based model (nb): no network
            continue
        cfg_class, net_class = family.config_class(), family.network_class()
        assert cfg_class.family == name and issubclass(net_class, ClassifierNet)
    with pytest.raises(LmlabError, match="unknown classifier 'cnn'"):
        get_classifier("cnn")
    code = "import sys, lmlab.classify.models; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name, over", VARIANTS, ids=VARIANT_IDS)
def test_outputs_are_B_by_C_with_attention_and_penalty_as_promised(name, over):
    net = build(name, **over).eval()
    x, mask = batch()
    out = net(x, mask)
    assert isinstance(out, ClassifierOutput)
    assert out.logits.shape == (len(LENGTHS), C) and torch.isfinite(out.logits).all()
    hops = net.config.hops if name == "attention" else None
    if hops is None:
        assert out.attention is None and out.penalty is None
    else:
        assert out.attention.shape == (len(LENGTHS), hops, x.size(1))
        assert (out.penalty is None) == (hops == 1)
        if out.penalty is not None:
            assert out.penalty.dim() == 0 and out.penalty >= 0


@pytest.mark.parametrize("name, over", VARIANTS, ids=VARIANT_IDS)
def test_padding_never_changes_a_prediction(name, over):
    net = build(name, **over).eval()
    x, mask = batch()
    with torch.no_grad():
        ref = net(x, mask)
        x_pad, mask_pad = batch(extra=4)  # the same rows with 4 more padding columns
        assert torch.equal(x_pad[:, : x.size(1)], x)
        padded = net(x_pad, mask_pad)
        # the mask decides, not the ids: any ids at masked positions
        garbage = torch.where(mask_pad, x_pad, torch.randint(1, V, x_pad.shape))
        masked = net(garbage, mask_pad)
    torch.testing.assert_close(padded.logits, ref.logits, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(masked.logits, ref.logits, atol=1e-6, rtol=1e-6)
    if ref.attention is not None:
        torch.testing.assert_close(padded.attention[..., : x.size(1)], ref.attention, atol=1e-6, rtol=1e-6)
        assert (padded.attention[..., x.size(1) :] == 0).all()


@pytest.mark.parametrize("name, over", VARIANTS, ids=VARIANT_IDS)
def test_permuting_the_batch_permutes_the_outputs(name, over):
    net = build(name, **over).eval()
    x, mask = batch()
    perm = torch.tensor([3, 0, 4, 2, 1])
    with torch.no_grad():
        out, out_perm = net(x, mask), net(x[perm], mask[perm])
    torch.testing.assert_close(out_perm.logits, out.logits[perm], atol=1e-6, rtol=1e-6)
    if out.attention is not None:
        torch.testing.assert_close(out_perm.attention, out.attention[perm], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("hops", [1, 3])
def test_attention_weights_sum_to_one_over_real_tokens_and_are_zero_at_padding(hops):
    net = build("attention", hops=hops)  # training mode: dropout does not touch the weights' normalisation
    x, mask = batch(extra=2)
    A = net(x, mask).attention  # (B, hops, T)
    assert A.shape == (len(LENGTHS), hops, x.size(1))
    torch.testing.assert_close(A.sum(-1), torch.ones(len(LENGTHS), hops))
    assert (A.masked_select(~mask.unsqueeze(1)) == 0).all()
    assert (A.masked_select(mask.unsqueeze(1)) > 0).all()


@pytest.mark.parametrize("mode", EMBEDDING_MODES)
@pytest.mark.parametrize("name", list(TINY))
def test_gradients_reach_the_embeddings_except_frozen_ones(name, mode):
    net = build(name, embedding_mode=mode, dropout=0.0).train()  # dropout could zero every use of a word
    embed = net.embed
    if mode != "rand":
        init_embeddings_(net, torch.randn(V, embed.table.weight.size(1)))
    before = {n: p.detach().clone() for n, p in embed.named_parameters()}
    x, mask = batch()
    out = net(x, mask)
    loss = F.cross_entropy(out.logits, torch.arange(len(LENGTHS)) % C)
    if out.penalty is not None:
        loss = loss + out.penalty
    optimizer = torch.optim.Adam(net.parameters(), lr=0.1)  # a trainer may hand over every parameter
    loss.backward()
    optimizer.step()
    net.constrain_()
    used = x[mask].unique()
    trained = embed.table.weight
    if mode == "static":
        assert not trained.requires_grad and trained.grad is None
        assert torch.equal(trained, before["table.weight"])
    else:
        assert trained.requires_grad and trained.grad[used].abs().sum(-1).gt(0).all()
        assert not torch.equal(trained[used], before["table.weight"][used])
    if mode == "multichannel":
        static = embed.static_table.weight
        assert not static.requires_grad and static.grad is None
        assert torch.equal(static, before["static_table.weight"])
    else:
        assert embed.static_table is None
    for table in embed.tables():  # the padding row stays zero and untrained
        assert (table.weight[net.config.padding_idx] == 0).all()


# ---------------------------------------------------------------------------------------------------------------
# embeddings and configurations


def test_init_embeddings_copies_known_rows_and_draws_the_others_with_the_same_variance():
    torch.manual_seed(0)
    vocab, d = 4001, 40
    cfg = BagOfWordsConfig(vocab_size=vocab, num_classes=2, d_embed=d, embedding_mode="multichannel")
    net = BagOfWords(cfg)
    vectors = torch.randn(vocab, d) * 0.5
    known = torch.rand(vocab) < 0.5
    init_embeddings_(net, vectors, known)
    for table in net.embed.tables():
        w = table.weight.detach()
        known_rows = known.clone()
        known_rows[0] = False
        assert torch.equal(w[known_rows], vectors[known_rows])
        assert (w[0] == 0).all()
        unknown = w[~known_rows][1:]  # row 0 is padding
        var = vectors[known_rows].var().item()  # about 0.25
        a = math.sqrt(3 * var)  # U(-a, a) has variance a^2 / 3
        assert unknown.abs().max() <= a and abs(unknown.var().item() - var) < 0.02
    assert torch.equal(net.embed.table.weight, net.embed.static_table.weight)  # one draw for both channels


def test_init_embeddings_refuses_a_wrong_dimension_and_rand_mode():
    net = build("textcnn", embedding_mode="non-static")
    with pytest.raises(LmlabError, match="dimension 5, the model's d_embed is 6"):
        init_embeddings_(net, torch.randn(V, 5))
    with pytest.raises(LmlabError, match="vocabulary of 23"):
        init_embeddings_(net, torch.randn(V + 1, 6))
    with pytest.raises(LmlabError, match="none of the vocabulary's words"):
        init_embeddings_(net, torch.randn(V, 6), torch.zeros(V, dtype=torch.bool))
    with pytest.raises(LmlabError, match="got rand"):
        init_embeddings_(build("textcnn"), torch.randn(V, 6))


@pytest.mark.parametrize(
    "cls, over, message",
    [
        (TextCNNConfig, dict(num_classes=1), "at least 2 classes"),
        (TextCNNConfig, dict(embedding_mode="frozen"), "--embedding-mode must be one of"),
        (TextCNNConfig, dict(filter_widths="3,x"), "--filter-widths must be integers"),
        (TextCNNConfig, dict(filter_widths=(3, 0)), "--filter-widths must be integers >= 1"),
        (TextCNNConfig, dict(max_norm=-1.0), "--max-norm must be > 0"),
        (TextCNNConfig, dict(dropout=1.0), "--dropout must be in"),
        (TextCNNConfig, dict(padding_idx=V), "--padding-idx must be in"),
        (RNNClassifierConfig, dict(pooling="avg"), "--pooling must be one of"),
        (RNNClassifierConfig, dict(cell="lstmm"), "--cell must be one of"),
        (AttentionClassifierConfig, dict(cell="rnn"), "--cell must be gru or lstm"),
        (AttentionClassifierConfig, dict(penalty_coef=-0.1), "--penalty-coef must be >= 0"),
        (AttentionClassifierConfig, dict(hops=0), "--hops must be an integer >= 1"),
        (TransformerClassifierConfig, dict(d_model=10, n_head=4), "divisible by --n-head"),
        (TransformerClassifierConfig, dict(pooling="cls"), "--pooling must be one of"),
        (BagOfWordsConfig, dict(buckets=0), "--buckets must be an integer >= 1"),
    ],
)
def test_bad_configurations_name_the_value(cls, over, message):
    with pytest.raises(LmlabError, match=message):
        cls(**{"vocab_size": V, "num_classes": C, **over})


def test_config_defaults_are_the_papers():
    kim = TextCNNConfig(vocab_size=V, num_classes=2, filter_widths="3, 4,5")  # a command-line string
    assert (kim.d_embed, kim.filter_widths, kim.n_filters, kim.dropout, kim.max_norm) == (300, (3, 4, 5), 100, 0.5, 3)
    assert TextCNNConfig(vocab_size=V, num_classes=2, filter_widths=[2, 3]).filter_widths == (2, 3)  # from JSON
    yang = AttentionClassifierConfig(vocab_size=V, num_classes=2)
    assert (yang.cell, yang.d_embed, yang.d_hidden, yang.d_attention, yang.hops) == ("gru", 200, 50, 100, 1)


# ---------------------------------------------------------------------------------------------------------------
# fastText


def test_bag_of_words_averages_word_and_hashed_bigram_vectors():
    net = build("bow", ngram=2, buckets=11).eval()
    x, mask = batch([4, 1], extra=1)
    h = net.text_vector(x, mask)
    E, G = net.embed.table.weight, net.ngrams.weight
    for b, n in enumerate([4, 1]):
        words = [int(w) for w in x[b, :n]]
        vectors = [E[w] for w in words] + [G[(a % 11 * HASH_PRIME + c) % 11] for a, c in zip(words, words[1:])]
        torch.testing.assert_close(h[b], torch.stack(vectors).mean(0))


# ---------------------------------------------------------------------------------------------------------------
# Kim's CNN


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("h", [1, 3, 5])
def test_conv1d_equals_the_ngram_window_form(channels, h):
    g = torch.Generator().manual_seed(h)
    B, T, D, n_out = 3, 4, 5, 6
    x = torch.randn(B, channels, T, D, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(n_out, D, h, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(n_out, generator=g, dtype=torch.float64, requires_grad=True)
    fast, slow = wide_convolution(x, w, b), ngram_window_convolution(x, w, b)
    assert fast.shape == (B, n_out, T + h - 1)
    torch.testing.assert_close(fast, slow, atol=TOL, rtol=TOL)
    probe = torch.randn(fast.shape, generator=g, dtype=torch.float64)
    grads_fast = torch.autograd.grad((fast * probe).sum(), (x, w, b))
    grads_slow = torch.autograd.grad((slow * probe).sum(), (x, w, b))
    for a, c in zip(grads_fast, grads_slow):
        torch.testing.assert_close(a, c, atol=TOL, rtol=TOL)


def kim_features_by_hand(net: TextCNN, words: list[int]) -> torch.Tensor:
    """c_i = relu(w . x_{i:i+h-1} + b) over every window holding a word (h - 1 zeros each side), then the max."""
    x = sum(table.weight[words] for table in net.embed.tables())  # channels added: convolution is linear
    n, D = x.shape
    features = []
    for conv in net.convs:
        h = conv.kernel_size[0]
        padded = torch.cat([x.new_zeros(h - 1, D), x, x.new_zeros(h - 1, D)])
        for f in range(conv.out_channels):
            w = conv.weight[f].T.reshape(-1)  # (h D), position-major: [w at x_i ; w at x_{i+1} ; ...]
            windows = [padded[i : i + h].reshape(-1) for i in range(n + h - 1)]
            features.append(max(torch.relu(w @ win + conv.bias[f]) for win in windows))
    return torch.stack(features)


@pytest.mark.parametrize("mode", ["rand", "multichannel"])
def test_text_cnn_pools_over_windows_with_a_word_as_kim_writes_it(mode):
    net = build("textcnn", embedding_mode=mode).double().eval()
    x, mask = batch(extra=3)
    with torch.no_grad():
        z = net.features(x, mask)
        net.fused = False
        z_slow = net.features(x, mask)
        for b, n in enumerate(LENGTHS):
            torch.testing.assert_close(z[b], kim_features_by_hand(net, x[b, :n].tolist()), atol=TOL, rtol=TOL)
    torch.testing.assert_close(z, z_slow, atol=TOL, rtol=TOL)


def test_max_norm_rescales_long_output_rows_only():
    net = build("textcnn")
    with torch.no_grad():
        net.out.weight.copy_(torch.randn_like(net.out.weight))
        net.out.weight[0] *= 10 / net.out.weight[0].norm()
        net.out.weight[1] *= 1 / net.out.weight[1].norm()
    before = net.out.weight.detach().clone()
    net.constrain_()
    w = net.out.weight.detach()
    torch.testing.assert_close(w.norm(dim=1)[:2], torch.tensor([3.0, 1.0]))
    torch.testing.assert_close(w[0], before[0] * 0.3)
    assert torch.equal(w[1], before[1])
    unconstrained = torch.full((2, 3), 5.0)
    max_norm_(unconstrained, 100.0)
    assert (unconstrained == 5.0).all()


# ---------------------------------------------------------------------------------------------------------------
# recurrent classifier


def torch_rnn_copy(net, bidirectional: bool) -> nn.RNNBase:
    """One multi-layer torch.nn.RNN/LSTM/GRU holding a copy of ``net.rnn``'s weights."""
    rec = net.rnn
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[rec.cell]
    extra = {"nonlinearity": rec.nonlinearity} if rec.cell == "rnn" else {}
    ref = cls(net.config.d_embed, rec.d_hidden, rec.n_layer, batch_first=True, bidirectional=bidirectional, **extra)
    ref = ref.double()
    with torch.no_grad():
        for index, layer in enumerate(rec.layers):
            for name, p in layer.named_parameters():
                getattr(ref, name.replace("_l0", f"_l{index}")).copy_(p)
    return ref


def torch_rnn_classifier(net, ref: nn.RNNBase, x, mask, pooling: str) -> torch.Tensor:
    """torch.nn on a packed sequence, the pooling, and the net's output layer (a torch.nn.Linear)."""
    lengths = mask.sum(1)
    packed = pack_padded_sequence(net.embed(x), lengths, batch_first=True, enforce_sorted=False)
    out, hx = ref(packed)
    h_n = hx[0] if isinstance(ref, nn.LSTM) else hx  # (L D, B, H)
    if pooling == "last":
        s = torch.cat([h_n[-2], h_n[-1]], -1) if ref.bidirectional else h_n[-1]
    else:
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))  # zeros at padding
        if pooling == "mean":
            s = out.sum(1) / lengths.unsqueeze(1)
        else:
            s = torch.stack([out[b, :n].max(0).values for b, n in enumerate(lengths.tolist())])
    return net.out(s)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_rnn_classifier_equals_torch_nn_on_packed_sequences(cell, bidirectional, pooling):
    net = build("rnn", cell=cell, bidirectional=bidirectional, pooling=pooling, dropout=0.0).double()
    for p in net.rnn.parameters():  # larger than the default init so that the nonlinearities bite
        nn.init.uniform_(p, -0.8, 0.8)
    ref = torch_rnn_copy(net, bidirectional)
    x, mask = batch(extra=2)
    probe = torch.randn(len(LENGTHS), C, dtype=torch.float64)
    shared = [net.embed.table.weight, net.out.weight, net.out.bias]
    names = [name for name, _ in net.rnn.layers.named_parameters()]  # "1.weight_hh_l0_reverse"
    ours = shared + [net.rnn.layers.get_parameter(name) for name in names]
    theirs = shared + [
        ref.get_parameter(name.split(".")[1].replace("_l0", f"_l{name.split('.')[0]}")) for name in names
    ]

    def logits_and_grads(logits, params):
        return logits.detach(), torch.autograd.grad((logits * probe).sum(), params)

    reference = logits_and_grads(torch_rnn_classifier(net, ref, x, mask, pooling), theirs)
    for fused in (True, False):  # torch.nn kernels, then lmlab's explicit cells on the same parameters
        net.rnn.fused = fused
        logits, grads = logits_and_grads(net(x, mask).logits, ours)
        torch.testing.assert_close(logits, reference[0], atol=TOL, rtol=TOL)
        for a, c in zip(grads, reference[1]):
            torch.testing.assert_close(a, c, atol=TOL, rtol=TOL)


# ---------------------------------------------------------------------------------------------------------------
# word attention and Lin et al.'s hops


@pytest.mark.parametrize("hops", [1, 3])
def test_attention_pooling_equals_the_equations(hops):
    net = build("attention", hops=hops, dropout=0.0, penalty_coef=0.7).double()
    x, mask = batch(extra=1)
    out = net(x, mask)
    h, _ = net.rnn(net.embed(x), lengths=mask.sum(1))  # (B, T, 2H): the encoder, checked against torch.nn above
    W, b_w = net.attention.proj.weight, net.attention.proj.bias
    U = net.attention.context.weight  # (hops, d_attention): the context vectors u_w
    logits, penalties = [], []
    for row, n in enumerate(LENGTHS):
        H = h[row, :n]  # (n, 2H): the real words only
        u = torch.tanh(H @ W.T + b_w)  # u_t = tanh(W h_t + b)
        A = torch.softmax(u @ U.T, dim=0).T  # a_t = softmax_t(u_t^T u_w): (hops, n)
        M = A @ H  # s = sum_t a_t h_t, one per hop
        logits.append(net.out(M.reshape(-1)))
        torch.testing.assert_close(out.attention[row, :, :n], A, atol=TOL, rtol=TOL)
        penalties.append(sum((A[i] @ A[j] - float(i == j)) ** 2 for i in range(hops) for j in range(hops)))
    torch.testing.assert_close(out.logits, torch.stack(logits), atol=TOL, rtol=TOL)
    if hops == 1:
        assert out.penalty is None
    else:
        torch.testing.assert_close(out.penalty, 0.7 * torch.stack(penalties).mean(), atol=TOL, rtol=TOL)


def test_lin_penalty_by_hand():
    A = torch.tensor([[[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]]])
    # A A^T = [[0.5, 0.125], [0.125, 0.625]]; minus I: [[-0.5, 0.125], [0.125, -0.375]]
    expected = 0.25 + 2 * 0.125**2 + 0.375**2
    torch.testing.assert_close(attention_penalty(A), torch.tensor([expected]))


def test_one_hop_is_additive_attention_with_a_learned_query():
    torch.manual_seed(0)
    word = WordAttention(6, 5, hops=1).double()
    additive = AdditiveAttention(query_dim=2, key_dim=6, hidden_dim=5).double()
    with torch.no_grad():
        additive.w_q.weight.zero_()  # Yang's u_w sits outside the tanh: no query term inside it
        additive.w_k.load_state_dict(word.proj.state_dict())
        additive.v.weight.copy_(word.context.weight)
    keys = torch.randn(3, 4, 6, dtype=torch.float64)
    mask = torch.tensor([[True] * 4, [True, True, False, False], [True, False, False, False]])
    M, A = word(keys, mask)
    context, a = additive(torch.zeros(3, 2, dtype=torch.float64), keys, ~mask)
    torch.testing.assert_close(A[:, 0], a, atol=TOL, rtol=TOL)
    torch.testing.assert_close(M[:, 0], context, atol=TOL, rtol=TOL)


# ---------------------------------------------------------------------------------------------------------------
# Transformer


def torch_encoder_copy(net: TransformerClassifier) -> nn.TransformerEncoder:
    cfg = net.config
    layer = nn.TransformerEncoderLayer(
        cfg.d_model, cfg.n_head, cfg.d_ff, cfg.dropout, cfg.activation, batch_first=True, norm_first=cfg.norm_first
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
    return ref


def torch_transformer_classifier(net: TransformerClassifier, ref: nn.TransformerEncoder, x, mask) -> torch.Tensor:
    h = net.embed(x)
    if net.cls is not None:
        h = torch.cat([net.cls.expand(x.size(0), 1, -1), h], 1)
        mask = torch.cat([torch.ones(x.size(0), 1, dtype=torch.bool), mask], 1)
    h = ref(net.positions(h), src_key_padding_mask=~mask)
    s = h[:, 0] if net.cls is not None else (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    return net.out(s)


@pytest.mark.parametrize(
    "over",
    [dict(), dict(pooling="first", norm_first=True, activation="gelu"), dict(positions="sinusoidal", pooling="first")],
)
def test_transformer_classifier_equals_torch_transformer_encoder(over):
    net = build("transformer", dropout=0.0, **over).double()  # training mode: torch takes its plain path
    ref = torch_encoder_copy(net).train()
    x, mask = batch(extra=2)
    probe = torch.randn(len(LENGTHS), C, dtype=torch.float64)
    ours = net(x, mask).logits
    theirs = torch_transformer_classifier(net, ref, x, mask)
    torch.testing.assert_close(ours, theirs, atol=1e-8, rtol=1e-8)
    shared = [net.embed.table.weight, net.out.weight] + ([net.cls] if net.cls is not None else [])
    g_ours = torch.autograd.grad((ours * probe).sum(), shared)
    g_theirs = torch.autograd.grad((theirs * probe).sum(), shared)
    for a, c in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, c, atol=1e-8, rtol=1e-8)
    with torch.no_grad():  # and in evaluation mode, where torch may take its fused path
        torch.testing.assert_close(
            net.eval()(x, mask).logits, torch_transformer_classifier(net, ref.eval(), x, mask), atol=1e-8, rtol=1e-8
        )


def test_transformer_refuses_a_text_longer_than_max_len():
    net = build("transformer", pooling="first", max_len=7)
    x, mask = batch([6, 2])
    net(x, mask)  # 6 words and [CLS] fit
    with pytest.raises(LmlabError, match="a text of 8 tokens is longer than --max-len 7"):
        net(*batch([7, 2]))
