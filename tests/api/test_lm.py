"""``lmlab.load`` on language-model runs of every family and on an ARPA file: predict, generate, explain, describe.

Every family is trained once, for one step, on a tiny corpus (module fixture). The checks are against the
package's own trusted paths: the perplexity protocol (``evaluate`` and ``lmlab eval --json``), the model's
``next_token_logprobs`` and ``score_stream``, ``lmlab generate`` with the same seed, torch.nn.LSTM / GRU / RNN and
torch.nn.MultiheadAttention with the trained weights copied in.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch

import lmlab
from lmlab.cli.main import main
from lmlab.errors import LmlabError
from lmlab.lm.api import LanguageModelRun
from lmlab.lm.evaluate import evaluate

LINES = [f"the {a} {v} on the {b}" for a in ("cat", "dog", "bird") for v in ("sat", "slept") for b in ("mat", "log")]
TEXT = "the cat sat on the mat"
UNSEEN = "the cow sat on the log"  # "cow" is not in the vocabulary
STEP = ["--max-steps", "1", "--epochs", "1", "--batch-size", "4", "--seq-len", "8"]
RUNS = {
    "ngram": ["--model", "ngram", "--order", "3"],
    "ngram-katz": ["--model", "ngram", "--order", "3", "--smoothing", "katz"],
    "ngram-stupid": ["--model", "ngram", "--order", "3", "--smoothing", "stupid-backoff"],
    "mlp": ["--model", "mlp", "--context-len", "3", "--d-embed", "6", "--d-hidden", "8", *STEP],
    "rnn": ["--model", "rnn", "--d-embed", "6", "--d-hidden", "6", "--n-layer", "2", *STEP],
    "lstm": ["--model", "lstm", "--d-embed", "6", "--d-hidden", "5", "--n-layer", "2", *STEP],
    "gru": ["--model", "gru", "--d-embed", "6", "--d-hidden", "5", "--n-layer", "1", *STEP],
    "cnn": ["--model", "cnn", "--n-layer", "2", "--channels", "6", "--d-embed", "6", *STEP],
    "transformer": [
        "--model",
        "transformer",
        "--n-layer",
        "2",
        "--n-head",
        "2",
        "--d-model",
        "8",
        "--block-size",
        "8",
        "--warmup-steps",
        "0",
        *STEP,
    ],  # fmt: skip
}
NEURAL = ["mlp", "rnn", "lstm", "gru", "cnn", "transformer"]
BACKOFF = ["ngram", "ngram-katz", "ngram-stupid", "arpa"]
NORMALIZED = [name for name in [*RUNS, "arpa"] if name != "ngram-stupid"]


def lmlab_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, Path]:
    """Each run of RUNS trained for one step, and the n-gram run exported as an ARPA file."""
    root = tmp_path_factory.mktemp("lm_api")
    data = root / "corpus"
    data.mkdir()
    (data / "train.txt").write_text("\n".join(LINES * 3) + "\n", encoding="utf-8")
    (data / "valid.txt").write_text("the cat sat on the log\nthe bird slept\n", encoding="utf-8")
    (data / "test.txt").write_text("the dog sat on the mat\nthe cow sat\n", encoding="utf-8")
    out = {}
    for name, flags in RUNS.items():
        rc, _, err = lmlab_cli("train", *flags, "--data", data, "--out", root / name)
        assert rc == 0, err
        out[name] = root / name
    rc, _, err = lmlab_cli("export", out["ngram"], "--format", "arpa", "--out", root / "model.arpa")
    assert rc == 0, err
    out["arpa"] = root / "model.arpa"
    return out


@pytest.fixture(scope="module")
def runs(paths) -> dict[str, LanguageModelRun]:
    return {name: lmlab.load(path) for name, path in paths.items()}


def dumped(value):
    """``value`` after a JSON round trip (so every check also checks that json.dumps takes it)."""
    return json.loads(json.dumps(value, allow_nan=False))


def logs(values: list) -> np.ndarray:
    """Log-probabilities read back from JSON, where a probability of 0 (log -inf) is null."""
    return np.array([-np.inf if v is None else v for v in values])


# ---- predict
@pytest.mark.parametrize("name", [*RUNS, "arpa"])
def test_predict_scores_as_the_perplexity_protocol(runs, paths, name, tmp_path):
    run = runs[name]
    assert isinstance(run, LanguageModelRun) and run.task == "lm" and run.family == run.model.family
    model = run.model
    results = dumped(run.predict([TEXT, UNSEEN], top_k=5))
    assert len(results) == 2
    for text, r in zip([TEXT, UNSEEN], results):
        assert set(r) >= {"text", "tokens", "logprobs", "log_prob", "perplexity", "next", "oov"}
        assert r["tokens"] == [w if w != "cow" else "<unk>" for w in text.split()] + ["</s>"]
        assert len(r["logprobs"]) == len(r["tokens"])
        ids = model.tokenizer.encode_lines([text]).ids
        assert np.array_equal(logs(r["logprobs"]), model.score_stream(ids))  # evaluate()'s scoring path
        if r["log_prob"] is not None:
            assert r["log_prob"] == pytest.approx(sum(r["logprobs"]), abs=1e-9)
        next_lp = model.next_token_logprobs(ids[:-1].tolist())
        assert len(r["next"]) == 5
        assert [n["token"] for n in r["next"]] == [model.tokenizer.id_to_token(n["id"]) for n in r["next"]]
        assert [n["p"] for n in r["next"]] == [math.exp(next_lp[n["id"]]) for n in r["next"]]
        assert r["next"][0]["p"] == pytest.approx(math.exp(next_lp.max()), abs=0)
        assert all(a["p"] >= b["p"] for a, b in zip(r["next"], r["next"][1:]))
        # the last score is the end token after the text: the next-token distribution's </s>
        assert logs(r["logprobs"])[-1] == pytest.approx(next_lp[model.tokenizer.eos_id], abs=1e-5)
        if name in NORMALIZED:
            assert r["perplexity"] == pytest.approx(math.exp(-np.mean(r["logprobs"])), rel=1e-12)
            assert r["perplexity"] == pytest.approx(evaluate(model, [text]).perplexity, rel=1e-12)
    assert [r["oov"] for r in results] == [0, 1]
    if name in NORMALIZED:  # and as the command line reports it
        (tmp_path / "one.txt").write_text(TEXT + "\n", encoding="utf-8")
        rc, out, err = lmlab_cli("eval", paths[name], "--text", tmp_path / "one.txt", "--json")
        assert rc == 0, err
        assert json.loads(out)["perplexity"] == pytest.approx(results[0]["perplexity"], rel=1e-9)


def test_predict_of_a_model_of_scores_has_no_perplexity(runs):
    (r,) = dumped(runs["ngram-stupid"].predict([TEXT]))
    assert r["perplexity"] is None and r["normalized"] is False
    assert all(lp is not None and lp <= 0 for lp in r["logprobs"])


def test_top_k_larger_than_the_vocabulary_lists_every_token(runs):
    run = runs["ngram"]
    (r,) = run.predict([TEXT], top_k=1000)
    assert len(r["next"]) == run.model.vocab_size
    assert sum(n["p"] for n in r["next"]) == pytest.approx(1.0, abs=1e-9)


# ---- generate
@pytest.mark.parametrize("name", ["ngram", "lstm", "transformer", "arpa"])
def test_generate_gives_the_tokens_of_lmlab_generate(runs, paths, name):
    run = runs[name]
    options = {"max_tokens": 12, "temperature": 0.8, "top_k": 6, "top_p": 0.95, "seed": 7}
    steps = dumped(list(run.generate("the", **options)))
    assert steps == dumped(list(run.generate("the", **options)))  # the same seed, the same tokens
    assert 1 <= len(steps) <= 12
    tok = run.model.tokenizer
    for step in steps:
        assert set(step) == {"token", "id", "p", "text"}
        assert step["token"] == tok.id_to_token(step["id"]) and 0 < step["p"] <= 1
    # p: the model's probability of the token given the prompt and the tokens before it
    context = tok.encode("the")
    for step in steps:
        assert step["p"] == pytest.approx(math.exp(run.model.next_token_logprobs(context)[step["id"]]), abs=1e-6)
        context.append(step["id"])
    rc, out, err = lmlab_cli(
        "generate", paths[name], "--prompt", "the", "--max-tokens", 12, "--temperature", 0.8, "--top-k", 6,
        "--top-p", 0.95, "--seed", 7,
    )  # fmt: skip
    assert rc == 0, err
    assert out == "the" + "".join(step["text"] for step in steps) + "\n"


def test_generate_without_a_prompt_and_greedy(runs):
    run = runs["ngram"]
    greedy = [s["id"] for s in run.generate(max_tokens=20, greedy=True)]
    context, want = [], []
    for _ in range(20):  # the argmax at each step, <s> never an output, until </s>
        lp = run.model.next_token_logprobs(context)
        lp[run.model.tokenizer.bos_id] = -np.inf
        best = int(np.argmax(lp))
        if best == run.model.tokenizer.eos_id:
            break
        want.append(best)
        context.append(best)
    assert greedy == want


# ---- explain: the Transformer's attention
def test_explain_attention_is_causal_and_equals_torch_multihead_attention(runs):
    run = runs["transformer"]
    e = dumped(run.explain("the cat sat"))
    assert e["method"] == "attention" and e["tokens"] == ["</s>", "the", "cat", "sat"] and not e["truncated"]
    net = run.model.net
    assert [layer["layer"] for layer in e["layers"]] == [1, 2]
    T = len(e["tokens"])
    for layer in e["layers"]:
        w = np.array(layer["heads"])
        assert w.shape == (2, T, T)
        assert np.allclose(w.sum(-1), 1.0, atol=1e-6)
        assert (w[:, np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0).all()  # no position sees ahead
    # layer 1 against torch.nn.MultiheadAttention with the trained weights copied in
    ids = torch.tensor([[run.model.tokenizer.eos_id, *run.model.tokenizer.encode("the cat sat")]])
    block = net.blocks[0]
    ref = torch.nn.MultiheadAttention(8, 2, bias=False, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(block.self_attn.in_proj.weight)
        ref.out_proj.weight.copy_(block.self_attn.out_proj.weight)
        x = block.norm1(net.pos(net.tok_emb(ids), 0))  # (1, T, C): the first block's attention input
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        _, want = ref(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)  # (1, h, T, T)
    assert np.allclose(e["layers"][0]["heads"], want[0].double().numpy(), atol=1e-6)
    # the readable path (need_weights) computes the same logits as the fast path
    with torch.no_grad():
        fast, _ = net(ids)
        readable, _ = net(ids, need_weights=True)
    assert torch.allclose(fast, readable, atol=1e-6)


def test_explain_attention_of_a_long_text_reads_its_last_tokens(runs):
    run = runs["transformer"]  # block size 8: </s> and the last 7 tokens
    e = run.explain(" ".join([TEXT] * 3))
    assert e["truncated"] and e["num_tokens"] == 19
    assert e["tokens"] == ["</s>", "mat", "the", "cat", "sat", "on", "the", "mat"]
    e = run.explain(TEXT, max_tokens=3)
    assert e["tokens"] == ["</s>", "the", "mat"] and e["truncated"]
    assert np.array(e["layers"][0]["heads"]).shape == (2, 3, 3)


# ---- explain: recurrent states and gates
def torch_reference(run: LanguageModelRun, ids: torch.Tensor):
    """torch.nn.RNN / LSTM / GRU of all the layers, the trained weights copied in: (outputs, final states)."""
    rnn = run.model.net.rnn
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[rnn.cell]
    d_input = rnn.layers[0].weight_ih_l0.size(1)
    ref = kind(d_input, rnn.d_hidden, num_layers=rnn.n_layer, batch_first=True)
    with torch.no_grad():
        for index, layer in enumerate(rnn.layers):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(ref, f"{name}_l{index}").copy_(getattr(layer, f"{name}_l0"))
        out, state = ref(run.model.net.embed(ids))
    return out[0].double().numpy(), state


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_explain_recurrent_equals_torch_recurrent_layers(runs, name):
    run = runs[name]
    model = run.model
    ids = model.tokenizer.encode(TEXT)
    trace = model.trace(ids)  # the readable path: per layer h, c and the gates, (T, H) each
    T, L = len(ids) + 1, model.net.rnn.n_layer
    assert len(trace) == L and all(layer["h"].shape == (T, model.net.rnn.d_hidden) for layer in trace)
    want_out, want_state = torch_reference(run, torch.tensor([[model.tokenizer.eos_id, *ids]]))
    assert np.allclose(trace[-1]["h"], want_out, atol=1e-6)
    h_n = want_state[0] if name == "lstm" else want_state
    for index, layer in enumerate(trace):
        assert np.allclose(layer["h"][-1], h_n[index, 0].double().numpy(), atol=1e-6)
        if name == "lstm":
            assert np.allclose(layer["c"][-1], want_state[1][index, 0].double().numpy(), atol=1e-6)
    # the states follow from the gates by the cell's equations
    for layer in trace:
        h_prev = np.vstack([np.zeros_like(layer["h"][:1]), layer["h"][:-1]])
        if name == "lstm":
            c_prev = np.vstack([np.zeros_like(layer["c"][:1]), layer["c"][:-1]])
            c = layer["forget"] * c_prev + layer["input"] * layer["candidate"]
            assert np.allclose(layer["c"], c, atol=1e-6)
            assert np.allclose(layer["h"], layer["output"] * np.tanh(c), atol=1e-6)
        elif name == "gru":
            z = layer["update"]
            assert np.allclose(layer["h"], (1 - z) * layer["candidate"] + z * h_prev, atol=1e-6)
    # and the last layer's states, decoded, are the model's scores
    with torch.no_grad():
        logits = model.net.decoder(torch.from_numpy(trace[-1]["h"]).float())
    lp = torch.log_softmax(logits.double(), -1).numpy()
    line = [*ids, model.tokenizer.eos_id]
    assert np.allclose(lp[np.arange(T), line], model.score_stream(np.array(line)), atol=1e-5)

    e = dumped(run.explain(TEXT, max_units=3))
    assert e["method"] == "recurrent" and e["tokens"] == ["</s>", *TEXT.split()] and e["first_step"] == 0
    assert len(e["layers"]) == L
    gates = {"rnn": set(), "lstm": {"input", "forget", "candidate", "output"}, "gru": {"reset", "update", "candidate"}}
    for layer, traced in zip(e["layers"], trace):
        assert np.allclose(layer["h_norm"], np.linalg.norm(traced["h"], axis=1))
        assert ("c_norm" in layer) == (name == "lstm")
        assert set(layer["gates"]) == gates[name]
        for gate, v in layer["gates"].items():
            assert np.allclose(v["mean"], traced[gate].mean(axis=1))
            assert np.array(v["first_units"]).shape == (T, min(3, traced[gate].shape[1]))
    short = run.explain(TEXT, max_tokens=3)
    assert short["truncated"] and short["first_step"] == T - 3 and short["tokens"] == ["on", "the", "mat"]
    assert np.allclose(short["layers"][0]["h_norm"], e["layers"][0]["h_norm"][-3:])


# ---- explain: the n-gram back-off path
@pytest.mark.parametrize("name", BACKOFF)
@pytest.mark.parametrize("text", [TEXT, UNSEEN, "mat the log on"])
def test_backoff_path_reproduces_the_model(runs, name, text):
    run = runs[name]
    model = run.model
    e = dumped(run.explain(text))
    assert e["method"] == "backoff" and e["reproduces_model"] is True
    line = model.tokenizer.encode_lines([text]).ids
    assert e["tokens"] == [model.tokenizer.id_to_token(int(i)) for i in line]
    scored = model.score_stream(line)
    assert np.array_equal(logs([s["logprob"] for s in e["steps"]]), scored)  # exactly the model's numbers
    mcb = e["missing_context_log10_bow"]
    for step in e["steps"]:
        assert len(step["ngram"]) == step["order"] and step["ngram"][-1] == step["token"]
        assert all(len(b["context"]) >= step["order"] for b in step["backoffs"])  # only longer contexts back off
        if step["log10_prob"] is None:  # probability 0 (stupid backoff's unseen unigram): nothing stored
            assert step["log10_p"] is None and step["prob"] == 0
            continue
        log10 = step["log10_p"] + sum(b["log10_bow"] for b in step["backoffs"]) + step["missing_contexts"] * mcb
        assert log10 == pytest.approx(step["log10_prob"], abs=1e-12)
        assert step["p"] * math.prod(b["bow"] for b in step["backoffs"]) * 10 ** (
            step["missing_contexts"] * mcb
        ) == pytest.approx(step["prob"], rel=1e-9)


def test_backoff_path_textbook_cases(runs):
    steps = runs["ngram"].explain(UNSEEN)["steps"]
    # "the" at a line start has one word of context, <s>: the bigram answers
    assert steps[0]["ngram"] == ["<s>", "the"] and steps[0]["backoffs"] == []
    # "cow" is <unk>, never seen after "<s> the" nor after "the": the unigram answers, after two back-offs
    cow = steps[1]
    assert cow["token"] == "<unk>" and cow["order"] == 1
    assert [b["context"] for b in cow["backoffs"]] == [["the"], ["<s>", "the"]]
    # a trigram seen in training answers at once
    full = runs["ngram"].explain(TEXT)["steps"]
    assert full[1]["ngram"] == ["<s>", "the", "cat"] and full[1]["backoffs"] == []


def test_explain_of_stupid_backoff_charges_unseen_contexts(runs):
    e = runs["ngram-stupid"].explain(UNSEEN)
    assert e["reproduces_model"] is True and e["missing_context_log10_bow"] == pytest.approx(math.log10(0.4))
    # after <unk> the context "<unk>" was never seen: its factor is charged as a missing context
    assert any(step["missing_contexts"] > 0 for step in e["steps"])


# ---- explain: window models
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_explain_window_models(runs, name):
    run = runs[name]
    e = dumped(run.explain(TEXT))
    size = run.model.context_size + 1
    assert e["method"] == "window" and e["window"] == size and len(e["windows"]) == len(e["tokens"]) == 7
    assert e["windows"][0] == {"from": 0, "to": 0, "padding": size - 1} and "note" in e
    for t, w in enumerate(e["windows"]):
        assert w["to"] == t and w["to"] - w["from"] + 1 + w["padding"] == size


# ---- describe
@pytest.mark.parametrize("name", ["ngram", "lstm", "arpa"])
def test_describe(runs, paths, name):
    run = runs[name]
    d = dumped(run.describe())
    assert d["task"] == "lm" and d["family"] == run.model.family and d["path"] == str(paths[name])
    assert d["parameters"] == run.num_parameters() == run.model.num_parameters() > 0
    assert d["model"] and d["vocab_size"] == run.model.vocab_size and d["normalized"] is True


# ---- bad inputs: one clear line
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda r: r.predict(TEXT), "list"),
        (lambda r: r.predict([""]), "inputs[0]"),
        (lambda r: r.predict([TEXT, "   "]), "inputs[1]"),
        (lambda r: r.predict([TEXT], top_k=0), "top_k"),
        (lambda r: r.predict([TEXT], top_k=1001), "top_k"),
        (lambda r: r.predict([TEXT], top_k=2.5), "top_k"),
        (lambda r: r.explain(""), "empty"),
        (lambda r: r.explain(TEXT, max_tokens=0), "max_tokens"),
        (lambda r: r.generate(temperature=0), "temperature"),
        (lambda r: r.generate(temperature=-1.0), "temperature"),
        (lambda r: r.generate(temperature=float("nan")), "temperature"),
        (lambda r: r.generate(top_k=0), "top_k"),
        (lambda r: r.generate(top_p=0), "top_p"),
        (lambda r: r.generate(top_p=1.5), "top_p"),
        (lambda r: r.generate(max_tokens=0), "max_tokens"),
        (lambda r: r.generate(seed=-1), "seed"),
        (lambda r: r.generate(prompt=None), "prompt"),
    ],
)
def test_bad_inputs_are_one_line(runs, call, message):
    with pytest.raises(LmlabError) as e:
        call(runs["ngram"])  # generate raises when called, before any token is asked for
    assert message in str(e.value) and "\n" not in str(e.value)


def test_load_errors(tmp_path):
    with pytest.raises(LmlabError, match="does not exist"):
        lmlab.load(tmp_path / "nothing")
    (tmp_path / "notes.txt").write_text("not a model\n", encoding="utf-8")
    with pytest.raises(LmlabError, match="ARPA"):
        lmlab.load(tmp_path / "notes.txt")
