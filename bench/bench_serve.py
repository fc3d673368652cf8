"""lmlab serve under load: many clients at once against one server on this machine.

Trains a small GRU language model and an n-gram model on the shared tinyshakespeare text, starts ``lmlab serve``
on 127.0.0.1 (port 0), then runs CLIENTS clients at once for ROUNDS rounds each: half ask for predictions
(``POST /predict``, the n-gram and the GRU in turn), half stream generations (``GET /generate``, 50 tokens) of which
every other one hangs up after a few tokens. It records the latency of each request (median, p95, max), errors,
the generations still running after every client has gone (``GET /api/status``: must be 0), and the server's
resident memory before and after (must stay bounded: the models are loaded once). Writes the ``bench_serve``
section of bench/RESULTS.md.

    python bench/bench_serve.py [--clients 50] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine, today, update_section  # noqa: E402

TOKEN = "bench-token-123456"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def train(root: Path) -> None:
    lmlab = [sys.executable, "-m", "lmlab", "train", "--data", "tinyshakespeare", "--tokenizer", "char"]
    subprocess.run([*lmlab, "--model", "ngram", "--order", "5", "--out", str(root / "ngram")], check=True)
    small = ["--d-embed", "32", "--d-hidden", "128", "--max-steps", "50", "--batch-size", "16", "--seq-len", "64"]
    subprocess.run([*lmlab, "--model", "gru", *small, "--out", str(root / "gru")], check=True)


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "lmlab", "serve", "--root", str(root), "--port", "0", "--token", TOKEN]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = server.stdout.readline()
    url = line.split(" at ", 1)[1].split("?", 1)[0].strip()
    return server, url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train(root)
        server, url = start_server(root)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=120) as c:
                runs = {r["family"]: r["id"] for r in c.get("/api/runs").json()["runs"]}
                for rid in runs.values():  # load both models once before measuring
                    c.post(f"/api/runs/{rid}/predict", json={"inputs": ["warm up"]}).raise_for_status()
            rss_before = rss_mb(server.pid)
            latencies: dict[str, list[float]] = {"predict": [], "generate": [], "hang-up": []}
            errors: list[str] = []
            tokens = [0]
            lock = threading.Lock()

            def client(i: int) -> None:
                with httpx.Client(base_url=url, headers=headers, timeout=300) as c:
                    for r in range(args.rounds):
                        t = time.perf_counter()
                        try:
                            if i % 2 == 0:
                                rid = runs["ngram" if (i + r) % 4 == 0 else "gru"]
                                text = f"ROMEO: what say you, client {i}?"
                                resp = c.post(f"/api/runs/{rid}/predict", json={"inputs": [text]})
                                resp.raise_for_status()
                                kind = "predict"
                            else:
                                hang_up = (i + r) % 4 == 1
                                q = {"prompt": "ROMEO:", "max_tokens": 50, "seed": i * 100 + r}
                                with c.stream("GET", f"/api/runs/{runs['gru']}/generate", params=q) as resp:
                                    resp.raise_for_status()
                                    n = 0
                                    for chunk in resp.iter_lines():
                                        if chunk.startswith("data: ") and chunk != "data: {}":
                                            n += 1
                                            if hang_up and n == 5:
                                                break
                                with lock:
                                    tokens[0] += n
                                kind = "hang-up" if hang_up else "generate"
                        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                            with lock:
                                errors.append(f"{type(e).__name__}: {e}")
                            continue
                        with lock:
                            latencies[kind].append(time.perf_counter() - t)

            start = time.perf_counter()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
            time.sleep(2.0)  # let the server notice the last hang-ups
            with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
                status = c.get("/api/status").json()
            rss_after = rss_mb(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()

    def row(kind: str) -> str:
        xs = sorted(latencies[kind])
        if not xs:
            return f"| {kind} | 0 | - | - | - |"
        p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
        return f"| {kind} | {len(xs)} | {statistics.median(xs):.2f} s | {p95:.2f} s | {xs[-1]:.2f} s |"

    body = f"""## lmlab serve: {args.clients} clients at once (`bench/bench_serve.py`)

Machine: {machine()}. Date: {today()}. Load average at the start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.
One server (uvicorn, one process) over a char GRU (d 128) and a char 5-gram trained on tinyshakespeare;
{args.clients} clients, {args.rounds} rounds each: predictions (n-gram and GRU), and generations of 50 tokens, every
other one hung up after 5 tokens. Wall time {wall:.1f} s; {tokens[0]:,} generated tokens received.

| request | count | median | p95 | max |
|---|---|---|---|---|
{row("predict")}
{row("generate")}
{row("hang-up")}

| check | result | target |
|---|---|---|
| errors | {len(errors)}{(" (" + errors[0][:120] + ")") if errors else ""} | 0 |
| generations still running after every client left | {status["generations"]} | 0 |
| server memory (RSS) after warm-up / after the load | {rss_before:.0f} MB / {rss_after:.0f} MB | bounded |
"""
    print(body)
    update_section("bench_serve", body)
    print(json.dumps({"errors": len(errors), "leaked": status["generations"], "wall_s": wall}))


if __name__ == "__main__":
    main()
