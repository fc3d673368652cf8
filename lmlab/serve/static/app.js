/* lmlab playground: a thin client of lmlab serve's JSON API (see lmlab/serve/app.py), drawn with SVG and canvas.
 *
 * Rules this file keeps: nothing is fetched from another host; model output is inserted as text (textContent,
 * Text nodes, SVG <title>), never as HTML; no inline style attributes (the CSP forbids them), colours and sizes
 * are set through element.style from here. Every result panel carries data-state ("loading", "ready", "error")
 * and the exact numbers it shows in data-value attributes, so that scripts and tests can read them.
 */
"use strict";

// ---------------------------------------------------------------- small DOM helpers

const SVGNS = "http://www.w3.org/2000/svg";

/** An element with properties (class, text, data, on*, attributes) and children (nodes or strings, as text). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  setProps(node, props);
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function svg(tag, props = {}, ...children) {
  const node = document.createElementNS(SVGNS, tag);
  setProps(node, props);
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function setProps(node, props) {
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.setAttribute("class", v);
    else if (k === "text") node.textContent = v;
    else if (k === "data") for (const [d, dv] of Object.entries(v)) node.dataset[d] = String(dv);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
}

const $ = (selector, root = document) => root.querySelector(selector);
const fmt = (v, digits = 3) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : String(v));
/** A number in a few characters: 2, 2.25, 0.0042, 1.23e+4. */
const short = (v) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || Math.abs(v) < 0.01 ? v.toPrecision(3) : String(+v.toFixed(3)));

/** A labelled form control: <label>Text <input ...></label>. */
function field(text, control, cls) {
  return el("label", { class: cls }, text, control);
}

/** Put `children` in `box` as its only content and mark the box's state. */
function show(box, state, ...children) {
  box.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  box.dataset.state = state;
}

function showError(box, error) {
  show(box, "error", el("p", { class: "error", role: "alert", text: error.message || String(error) }));
}

/** Call `fn` `ms` after the last call (for results that follow typing). */
function debounce(fn, ms = 250) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Wraps `work` so that only the latest call's outcome counts (typing sends a request per pause): it resolves to
 * {result}, or to null when a later call was made meanwhile; only the latest call's error is thrown. */
function latest(work) {
  let counter = 0;
  return async (...args) => {
    const mine = ++counter;
    try {
      const result = await work(...args);
      return mine === counter ? { result } : null;
    } catch (error) {
      if (mine === counter) throw error;
      return null;
    }
  };
}

// ---------------------------------------------------------------- the HTTP API

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  let data;
  try {
    data = await response.json();
  } catch {
    data = { error: `${response.status} ${response.statusText}` };
  }
  if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
  return data;
}

const runApi = (id, verb, body) => api(`/api/runs/${encodeURIComponent(id)}${verb ? `/${verb}` : ""}`, body);

/** Read a text/event-stream (server-sent events) with fetch: onEvent(name, data) per event; a refusal (4xx) is
 * thrown with the server's one-line error. Aborting `signal` closes the connection (the server then stops). */
async function streamEvents(url, onEvent, signal) {
  const response = await fetch(url, { signal, headers: { Accept: "text/event-stream" } });
  if (!response.ok) {
    let message = `the server answered ${response.status}`;
    try {
      message = (await response.json()).error || message;
    } catch { /* not JSON */ }
    throw new Error(message);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// ---------------------------------------------------------------- colours and charts

/** p in [0, 1] as a colour from red (unlikely) through yellow to green (likely). */
const probColour = (p) => `hsl(${Math.round(120 * Math.max(0, Math.min(1, p)))}, 75%, 78%)`;
/** v in [0, 1] as a blue of growing depth (heatmaps). */
const heat = (v) => `hsl(215, 70%, ${Math.round(97 - 60 * Math.max(0, Math.min(1, v)))}%)`;

function probLegend(text) {
  return el("p", { class: "legend" }, text, ...[0, 0.25, 0.5, 0.75, 1].map((p) => {
    const s = el("span", { class: "swatch", title: `p = ${p}` });
    s.style.backgroundColor = probColour(p);
    return s;
  }), "0 → 1");
}

/** Horizontal bars: items [{label, value, title?}] drawn against `max`, each value kept in data-value. */
function bars(items, { max = 1, digits = 3, id, best } = {}) {
  const box = el("div", { class: "bars", id, role: "list" });
  for (const item of items) {
    const bar = el("div", { class: "bar" });
    bar.style.width = `${Math.max(0, Math.min(100, (100 * item.value) / (max || 1)))}%`;
    const row = [
      el("span", { class: "label", text: item.label }),
      el("span", { class: "track", title: item.title || `${item.label}: ${item.value}` }, bar),
      el("span", { class: "value", text: fmt(item.value, digits), data: { value: item.value, label: item.label } }),
    ];
    const wrapper = el("div", { role: "listitem", class: item.label === best ? "best" : undefined }, ...row);
    wrapper.style.display = "contents";
    box.append(wrapper);
  }
  return box;
}

/** A heatmap of `matrix` (rows x columns, values in [0, max]) with row and column labels; the value of each cell
 * in its <title>. */
function heatmap(matrix, rows, cols, { caption = "", cell = 26, max } = {}) {
  const top = Math.min(110, 12 + 7 * Math.max(1, ...cols.map((c) => String(c).length)));
  const left = Math.min(140, 12 + 7 * Math.max(1, ...rows.map((r) => String(r).length)));
  const width = left + cell * cols.length + 10;
  const height = top + cell * rows.length + 10;
  const hi = max ?? Math.max(1e-12, ...matrix.flat().filter(Number.isFinite));
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": caption, class: "heatmap" });
  cols.forEach((c, j) => {
    const x = left + cell * j + cell / 2;
    root.append(svg("text", { x, y: top - 6, transform: `rotate(-50 ${x} ${top - 6})`, text: c }));
  });
  rows.forEach((r, i) => {
    root.append(svg("text", { x: left - 6, y: top + cell * i + cell / 2 + 4, "text-anchor": "end", text: r }));
    matrix[i].forEach((v, j) => {
      const rect = svg("rect", { x: left + cell * j, y: top + cell * i, width: cell - 1, height: cell - 1, data: { value: v } },
        svg("title", { text: `${r} → ${cols[j]}: ${v === null ? "—" : fmt(v, 4)}` }));
      rect.setAttribute("fill", v === null ? "#eee" : heat(v / hi));
      root.append(rect);
    });
  });
  return el("figure", {}, caption ? el("figcaption", { text: caption }) : null, root);
}

/** A line chart: series [{name, cls, points: [[x, y], ...]}]; labels on the x axis when `xLabels` is given. */
function lineChart(series, { width = 620, height = 260, xTitle = "", yTitle = "", xLabels, caption = "" } = {}) {
  const pad = { left: 64, right: 12, top: 12, bottom: xLabels ? 70 : 36 };
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": caption || yTitle, class: "chart" });
  if (!all.length) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", text: "no points yet" }));
    return root;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const X = (x) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const Y = (y) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  for (let k = 0; k <= 4; k++) {
    const y = y0 + ((y1 - y0) * k) / 4;
    root.append(svg("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: Y(y), y2: Y(y) }));
    root.append(svg("text", { x: pad.left - 4, y: Y(y) + 4, "text-anchor": "end", text: short(y) }));
  }
  if (xLabels) {
    xLabels.forEach((label, i) => {
      const x = X(i);
      root.append(svg("text", { x, y: height - pad.bottom + 12, transform: `rotate(-50 ${x} ${height - pad.bottom + 12})`, "text-anchor": "end", text: label }));
    });
  } else {
    for (let k = 0; k <= 4; k++) {
      const x = x0 + ((x1 - x0) * k) / 4;
      root.append(svg("text", { x: X(x), y: height - pad.bottom + 14, "text-anchor": "middle", text: short(x) }));
    }
  }
  root.append(svg("line", { class: "axis", x1: pad.left, x2: pad.left, y1: pad.top, y2: height - pad.bottom }));
  root.append(svg("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom }));
  if (xTitle) root.append(svg("text", { x: width - pad.right, y: height - 4, "text-anchor": "end", text: xTitle }));
  if (yTitle) root.append(svg("text", { x: 12, y: pad.top + (height - pad.top - pad.bottom) / 2, transform: `rotate(-90 12 ${pad.top + (height - pad.top - pad.bottom) / 2})`, "text-anchor": "middle", text: yTitle }));
  series.forEach((s, k) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const cls = s.cls || `series-${k}`;
    root.append(svg("polyline", { class: cls, points: pts.map(([x, y]) => `${X(x)},${Y(y)}`).join(" "), data: { series: s.name, count: pts.length } }));
    if (!s.cls) root.lastChild.setAttribute("stroke", palette(k));
    if (!s.cls) root.lastChild.setAttribute("fill", "none");
    for (const [x, y] of pts) {
      root.append(svg("circle", { class: cls.replace("series", "dot"), cx: X(x), cy: Y(y), r: 2.5, data: { series: s.name } }, svg("title", { text: `${s.name}: ${short(y)} at ${short(x)}` })));
      if (!s.cls) root.lastChild.setAttribute("fill", palette(k));
    }
    root.append(svg("text", { x: width - pad.right - 4, y: pad.top + 14 * (k + 1), "text-anchor": "end", class: `legend-${cls}`, text: s.name }));
    if (!s.cls) root.lastChild.setAttribute("fill", palette(k));
  });
  return root;
}

const PALETTE = ["#1f5fbf", "#c05621", "#2f855a", "#805ad5", "#b7791f", "#d53f8c", "#319795", "#4a5568"];
const palette = (k) => PALETTE[k % PALETTE.length];

/** A scatter plot: points [{x, y, label, group, picked, onclick}], coloured by group. */
function scatter(points, { width = 520, height = 380, caption = "", labels = true } = {}) {
  const pad = 30;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const X = (x) => pad + ((x - x0) / (x1 - x0)) * (width - 2 * pad);
  const Y = (y) => height - pad - ((y - y0) / (y1 - y0)) * (height - 2 * pad);
  const groups = [...new Set(points.map((p) => p.group ?? ""))];
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": caption, class: "scatter" });
  root.append(svg("rect", { x: 0.5, y: 0.5, width: width - 1, height: height - 1, fill: "none", class: "grid" }));
  for (const p of points) {
    const c = svg("circle", { class: `point${p.picked ? " picked" : ""}`, cx: X(p.x), cy: Y(p.y), r: p.picked ? 7 : 4.5, data: { label: p.label } },
      svg("title", { text: `${p.label}${p.group ? ` (${p.group})` : ""}` }));
    c.setAttribute("fill", palette(groups.indexOf(p.group ?? "")));
    if (p.onclick) c.addEventListener("click", p.onclick);
    root.append(c);
    if (labels) root.append(svg("text", { x: X(p.x) + 7, y: Y(p.y) - 6, text: p.label }));
  }
  const legend = groups.length > 1 ? el("p", { class: "legend" }, ...groups.map((g, k) => {
    const s = el("span", { class: "swatch" });
    s.style.backgroundColor = palette(k);
    return el("span", {}, s, ` ${g} `);
  })) : null;
  return el("figure", {}, caption ? el("figcaption", { text: caption }) : null, root, legend);
}

// ---------------------------------------------------------------- the list of runs

const state = { runs: [], tasks: null, job: null };

function metricText(metrics) {
  const keys = Object.keys(metrics || {});
  const chosen = keys.filter((k) => k.startsWith("final_val_") && !k.endsWith("new_bests")).slice(0, 2);
  const use = chosen.length ? chosen : keys.filter((k) => !k.endsWith("new_bests")).slice(0, 2);
  return use.map((k) => `${k.replace(/^(final|best)_val_/, "val ")} ${short(metrics[k])}`).join(" · ");
}

async function loadRuns() {
  const box = $("#runs");
  box.dataset.state = "loading";
  try {
    state.runs = (await api("/api/runs")).runs;
  } catch (e) {
    showError(box, e);
    return;
  }
  const byTask = new Map();
  for (const r of state.runs) byTask.set(r.task, [...(byTask.get(r.task) || []), r]);
  const parts = [];
  for (const [task, runs] of byTask) {
    parts.push(el("h3", { text: TASK_NAMES[task] || task }));
    for (const r of runs) {
      parts.push(el("button", { type: "button", class: "run", data: { id: r.id, path: r.path, task: r.task }, onclick: () => { location.hash = `run/${r.id}`; } },
        el("span", { class: "family", text: r.family }), " ", el("span", { text: r.path }),
        el("span", { class: "meta", text: [r.data, metricText(r.metrics)].filter(Boolean).join(" · ") })));
    }
  }
  if (!parts.length) parts.push(el("p", { class: "muted", text: "No runs under the root yet: train one (Train, above, or lmlab train ... --out ROOT/NAME)." }));
  show(box, "ready", parts);
  markCurrent();
}

function markCurrent() {
  const id = location.hash.startsWith("#run/") ? location.hash.slice(5) : null;
  for (const b of document.querySelectorAll("button.run")) b.setAttribute("aria-current", String(b.dataset.id === id));
}

const TASK_NAMES = {
  lm: "Language models", classify: "Text classification", translate: "Translation", word2vec: "Word vectors",
  image: "Images", graph: "Graphs", tag: "Tagging",
};

// ---------------------------------------------------------------- routing

let routeTicket = 0; // the view opened last wins over one still loading

async function route() {
  routeTicket++;
  const view = $("#view");
  const hash = location.hash.replace(/^#/, "");
  markCurrent();
  if (hash === "train") return trainView(view);
  if (hash === "reports") return reportsView(view);
  if (hash.startsWith("run/")) return runView(view, hash.slice(4));
  view.replaceChildren(
    el("h2", { text: "Your runs" }),
    el("p", { text: "Pick a run on the left: each task has its own view (generation and next-token distributions for language models, probabilities and word weights for classifiers, alignments for translation, neighbours for word vectors, drawing and feature maps for images, nodes for graphs, tags for taggers). Train a new run from Train; open comparison reports from Reports." }),
    el("p", { class: "note", text: "Everything here goes through the same JSON API that scripts can use (see the README's Playground section)." }),
  );
  view.dataset.view = "home";
}

async function runView(view, id) {
  const ticket = ++routeTicket;
  view.dataset.view = "loading";
  view.replaceChildren(el("p", { text: "Loading the run…" }));
  let run;
  try {
    run = await runApi(id, "");
  } catch (e) {
    if (ticket !== routeTicket) return;
    view.replaceChildren(el("p", { class: "error", role: "alert", text: e.message }));
    view.dataset.view = "error";
    return;
  }
  if (ticket !== routeTicket) return;
  const facts = el("dl", { class: "facts" },
    ...[["task", TASK_NAMES[run.task] || run.task], ["family", run.family], ["path", run.path],
      ["parameters", run.parameters?.toLocaleString()], ["data", (state.runs.find((r) => r.id === id) || {}).data],
      ["metrics", metricText(run.metrics)], ["labels", (run.labels || run.classes || run.tags || []).slice(0, 20).join(", ")]]
      .filter(([, v]) => v).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  const body = el("div", { id: "task-view" });
  view.replaceChildren(el("h2", { text: `${run.family} · ${run.path}` }), facts, body);
  const render = VIEWS[run.task];
  if (!render) body.append(el("p", { text: `No view for the ${run.task} task yet.` }));
  else render(run, body);
  view.dataset.view = run.task;
  view.focus();
}

// ---------------------------------------------------------------- language models

function lmView(run, root) {
  const conditionSelect = run.labels ? el("select", { id: "lm-condition" }, ...run.labels.map((l) => el("option", { value: l, text: l }))) : null;
  const condition = () => (conditionSelect ? conditionSelect.value : undefined);

  // generation, streamed token by token
  const prompt = el("input", { type: "text", id: "gen-prompt", value: "" });
  const maxTokens = el("input", { type: "number", id: "gen-max", value: 30, min: 1, max: 1000 });
  const temperature = el("input", { type: "number", id: "gen-temperature", value: 1, min: 0, step: 0.1 });
  const topK = el("input", { type: "number", id: "gen-topk", min: 1, placeholder: "all" });
  const topP = el("input", { type: "number", id: "gen-topp", min: 0, max: 1, step: 0.05, placeholder: "1" });
  const seed = el("input", { type: "number", id: "gen-seed", value: 1, min: 0 });
  const output = el("p", { id: "gen-output", class: "tokens", "aria-live": "polite", data: { state: "idle" } });
  const stop = el("button", { type: "button", id: "gen-stop", class: "secondary", disabled: true, text: "Stop" });
  let controller = null;
  stop.addEventListener("click", () => controller?.abort());
  const start = el("button", { type: "submit", id: "gen-start", text: "Generate" });
  const form = el("form", { class: "controls" },
    field("Prompt", prompt, "wide"), field("Max tokens", maxTokens), field("Temperature", temperature),
    field("Top-k", topK), field("Top-p", topP), field("Seed", seed), conditionSelect && field("Condition", conditionSelect), start, stop);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    controller?.abort();
    controller = new AbortController();
    const params = new URLSearchParams({ prompt: prompt.value, max_tokens: maxTokens.value, temperature: temperature.value, top_k: topK.value, top_p: topP.value, seed: seed.value });
    if (condition()) params.set("condition", condition());
    show(output, "streaming", prompt.value ? el("span", { class: "prompt", text: prompt.value }) : null);
    stop.disabled = false;
    let count = 0;
    try {
      await streamEvents(`/api/runs/${run.id}/generate?${params}`, (name, data) => {
        if (name === "message") {
          const span = el("span", { class: "tok", title: `${data.token}  p = ${fmt(data.p, 4)}`, data: { token: data.token, p: data.p, index: count++ } }, data.text);
          span.style.backgroundColor = probColour(data.p);
          output.append(span);
        } else if (name === "error") {
          output.append(el("span", { class: "error", role: "alert", text: ` ${data.error}` }));
        }
      }, controller.signal);
      output.dataset.state = "done";
    } catch (e) {
      if (e.name === "AbortError") output.dataset.state = "stopped";
      else showError(output, e);
    } finally {
      output.dataset.tokens = count;
      stop.disabled = true;
    }
  });

  // the context: next-token distribution and per-token surprisal, in this model and any others picked
  const context = el("input", { type: "text", id: "lm-context", value: "the" });
  const others = state.runs.filter((r) => r.task === "lm");
  const picks = el("fieldset", { class: "checks" }, el("legend", { text: "Models (same context, side by side)" }),
    ...others.map((r) => el("label", {}, el("input", { type: "checkbox", name: "compare", value: r.id, checked: r.id === run.id, disabled: r.id === run.id }), ` ${r.family} · ${r.path}`)));
  const columns = el("div", { id: "lm-columns", class: "columns", data: { state: "idle" } });
  const predictAll = latest(async (text) => {
    if (!text.trim()) return null;
    const ids = [...picks.querySelectorAll("input:checked")].map((c) => c.value);
    return Promise.all(ids.map((id) => runApi(id, "predict", { inputs: [text], options: id === run.id && condition() ? { top_k: 10, condition: condition() } : { top_k: 10 } })
      .then((r) => ({ id, result: r.outputs[0] }), (error) => ({ id, error }))));
  });
  const update = async () => {
    const text = context.value;
    columns.dataset.state = "loading";
    const answer = await predictAll(text);
    if (!answer) return; // a later context is on its way
    if (!answer.result) show(columns, "ready", el("p", { class: "muted", text: "Type a context." }));
    else show(columns, "ready", answer.result.map(({ id, result, error }) => lmColumn(id, result, error)));
    columns.dataset.for = text;
  };
  context.addEventListener("input", debounce(update));
  picks.addEventListener("change", update);

  // inside the model: attention, gates, back-off paths
  const explainBox = el("div", { id: "explain-output", data: { state: "idle" } });
  const explainButton = el("button", { type: "button", id: "explain-button", text: "Explain this context" });
  explainButton.addEventListener("click", async () => {
    explainBox.dataset.state = "loading";
    try {
      const options = condition() ? { condition: condition() } : {};
      const result = await runApi(run.id, "explain", { input: context.value, options });
      show(explainBox, "ready", renderLmExplain(result));
      explainBox.dataset.method = result.method;
    } catch (e) {
      showError(explainBox, e);
    }
  });

  root.append(
    el("section", {}, el("h3", { text: "Generate" }), form, output, probLegend("each token coloured by the model's probability of it:")),
    el("section", {}, el("h3", { text: "Next token and surprisal" }),
      el("div", { class: "controls" }, field("Context", context, "wide")), picks, columns,
      probLegend("surprisal −log₂ p of each token of the line (its </s> last), coloured by p:")),
    el("section", {}, el("h3", { text: "Inside the model" }),
      el("p", { class: "note", text: "A Transformer shows its attention per layer and head, a recurrent network its gates and state norms over time, an n-gram model the back-off path of each token." }),
      explainButton, explainBox),
  );
  update();
}

function lmColumn(id, result, error) {
  const r = state.runs.find((x) => x.id === id) || { family: "?", path: id };
  const column = el("div", { class: "column lm-column", data: { run: id } }, el("h4", { text: `${r.family} · ${r.path}` }));
  if (error) {
    column.append(el("p", { class: "error", text: error.message }));
    return column;
  }
  column.append(el("p", { class: "note" }, "perplexity ", el("span", { class: "perplexity", text: result.perplexity === null ? "—" : fmt(result.perplexity, 2), data: { value: result.perplexity } }),
    result.oov ? ` · ${result.oov} unknown` : ""));
  const strip = el("div", { class: "surprisal", "aria-label": "surprisal per token" });
  result.tokens.forEach((t, i) => {
    const lp = result.logprobs[i];
    const p = Math.exp(lp);
    const bits = -lp / Math.LN2;
    const s = el("span", { title: `p = ${fmt(p, 4)}`, data: { token: t, logprob: lp } }, t, el("small", { text: Number.isFinite(bits) ? `${bits.toFixed(2)} bits` : "∞" }));
    s.style.backgroundColor = probColour(p);
    strip.append(s);
  });
  column.append(strip, el("p", { class: "note", text: "next token after the context:" }),
    bars(result.next.map((n) => ({ label: n.token, value: n.p })), { best: result.next[0]?.token }));
  column.lastChild.classList.add("next");
  return column;
}

function renderLmExplain(x) {
  const parts = [];
  if (x.truncated) parts.push(el("p", { class: "note", text: `showing the last ${x.tokens.length} of ${x.num_tokens} positions` }));
  if (x.method === "attention") {
    const layer = el("select", { id: "att-layer" }, ...x.layers.map((l, i) => el("option", { value: i, text: `layer ${l.layer}` })));
    const head = el("select", { id: "att-head" });
    const box = el("div", { id: "att-map" });
    const draw = () => {
      const L = x.layers[+layer.value];
      if (head.options.length !== L.heads.length + 1) {
        head.replaceChildren(el("option", { value: "mean", text: "mean of the heads" }), ...L.heads.map((_, h) => el("option", { value: h, text: `head ${h + 1}` })));
        head.value = "0";
      }
      const m = head.value === "mean" ? L.heads[0].map((row, i) => row.map((_, j) => L.heads.reduce((s, H) => s + H[i][j], 0) / L.heads.length)) : L.heads[+head.value];
      box.replaceChildren(heatmap(m, x.tokens, x.tokens, { caption: `attention, layer ${L.layer}, ${head.value === "mean" ? "mean of the heads" : `head ${+head.value + 1}`}: rows read, columns attended to`, max: 1 }));
    };
    layer.addEventListener("change", draw);
    head.addEventListener("change", draw);
    draw();
    parts.push(el("div", { class: "controls" }, field("Layer", layer), field("Head", head)), box, el("p", { class: "note", text: x.rows }));
  } else if (x.method === "recurrent") {
    const series = [];
    x.layers.forEach((L) => {
      series.push({ name: `layer ${L.layer} ‖h‖`, points: L.h_norm.map((v, t) => [t, v]) });
      if (L.c_norm) series.push({ name: `layer ${L.layer} ‖c‖`, points: L.c_norm.map((v, t) => [t, v]) });
    });
    parts.push(lineChart(series, { xLabels: x.tokens, yTitle: "state norm", caption: "hidden (and cell) state norms over time" }));
    const options = x.layers.flatMap((L, i) => Object.keys(L.gates).map((g) => el("option", { value: `${i}:${g}`, text: `layer ${L.layer}: ${g}` })));
    const gate = el("select", { id: "gate-pick" }, ...options);
    const box = el("div", { id: "gate-map" });
    const draw = () => {
      const [i, g] = gate.value.split(":");
      const G = x.layers[+i].gates[g];
      const units = G.first_units[0].map((_, u) => `unit ${u + 1}`);
      const lo = Math.min(...G.first_units.flat()), hi = Math.max(...G.first_units.flat());
      const scaled = G.first_units.map((row) => row.map((v) => (v - lo) / (hi - lo || 1)));
      box.replaceChildren(
        lineChart([{ name: `${g}: mean over ${x.layers[+i].units} units`, points: G.mean.map((v, t) => [t, v]) }], { xLabels: x.tokens, height: 200, caption: "gate mean over time" }),
        heatmap(scaled, x.tokens, units, { caption: `${g} of the first units over time (from ${short(lo)} to ${short(hi)})`, max: 1 }));
    };
    gate.addEventListener("change", draw);
    if (options.length) {
      draw();
      parts.push(el("div", { class: "controls" }, field("Gate", gate)), box);
    }
    parts.push(el("p", { class: "note", text: x.rows }));
  } else if (x.method === "backoff") {
    const rows = x.steps.map((s) => el("tr", { data: { token: s.token, order: s.order } },
      el("td", { class: "mono", text: s.token }),
      el("td", { class: "mono", text: [...s.backoffs].reverse().map((b) => `(${b.context.join(" ")}) ×${fmt(b.bow, 3)}`).join(" → ") || "—" }),
      el("td", { class: "mono", text: s.ngram.join(" ") }),
      el("td", { class: "num", text: s.order }),
      el("td", { class: "num", text: fmt(s.p, 4) }),
      el("td", { class: "num", text: fmt(s.prob, 4), data: { value: s.prob } })));
    parts.push(el("table", { id: "backoff-table" },
      el("thead", {}, el("tr", {}, ...["token", "longer contexts passed over (back-off weight)", "n-gram that answered", "order", "its p", "p(token | line)"].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows)),
    el("p", { class: "note", text: `${x.rows}. ${x.reproduces_model ? "The path reproduces the model's probabilities exactly." : ""}` }));
  } else if (x.method === "window") {
    parts.push(el("p", { text: x.note || "" }), el("table", {},
      el("thead", {}, el("tr", {}, el("th", { text: "position" }), el("th", { text: "reads" }))),
      el("tbody", {}, (x.windows || []).map((w, k) => el("tr", {}, el("td", { class: "mono", text: x.tokens[k] }),
        el("td", { class: "mono", text: `${"</s> ".repeat(w.padding)}${x.tokens.slice(w.from, w.to + 1).join(" ")}` }))))));
  } else {
    parts.push(el("pre", { class: "output", text: JSON.stringify(x, null, 1) }));
  }
  return parts;
}

// ---------------------------------------------------------------- text classification

function classifyView(run, root) {
  const text = el("textarea", { id: "cls-text", rows: 3 });
  const result = el("div", { id: "cls-result", "aria-live": "polite", data: { state: "idle" } });
  const classify = latest(async (t) => (t.trim() ? Promise.all([runApi(run.id, "predict", { inputs: [t] }), runApi(run.id, "explain", { input: t })]) : null));
  const update = async () => {
    const t = text.value;
    result.dataset.state = "loading";
    let answer;
    try {
      answer = await classify(t);
    } catch (e) {
      return showError(result, e);
    }
    if (!answer) return; // a later text is on its way
    if (!answer.result) return show(result, "idle", el("p", { class: "muted", text: "Type a text: its label and the weight of each word follow as you type." }));
    const [{ outputs: [p] }, x] = answer.result;
    const probs = Object.entries(p.probabilities).map(([label, value]) => ({ label, value }));
    const hi = Math.max(1e-12, ...x.weights.map(Math.abs));
    const words = el("p", { class: "words", id: "cls-words" }, ...x.tokens.flatMap((w, i) => {
      const v = x.weights[i];
      const s = el("span", { title: `weight ${fmt(v, 4)}`, data: { weight: v } }, w);
      s.style.backgroundColor = v >= 0 ? `rgba(31, 95, 191, ${(0.6 * v) / hi})` : `rgba(192, 86, 33, ${(-0.6 * v) / hi})`;
      return [s, " "];
    }));
    show(result, "ready",
      el("p", {}, "label ", el("span", { class: "big", id: "cls-label", text: p.label, data: { value: p.label } }), ` (${fmt(p.probability)})`),
      bars(probs, { id: "cls-probs", best: p.label }),
      el("h4", { text: x.method === "attention" ? "attention weight of each word" : "each word's weight (how much the label's probability falls without it)" }),
      words,
      el("p", { class: "legend", text: "blue: for the label, orange: against it; deeper is stronger" }));
    result.dataset.for = t;
  };
  text.addEventListener("input", debounce(update));
  root.append(el("section", {}, el("h3", { text: "Classify as you type" }), el("div", { class: "controls" }, field("Text", text, "wide")), result));
  update();
}

// ---------------------------------------------------------------- translation

function translateView(run, root) {
  const source = el("input", { type: "text", id: "tr-source" });
  const beam = el("input", { type: "number", id: "tr-beam", value: 5, min: 1, max: 100 });
  const nBest = el("input", { type: "number", id: "tr-nbest", value: 3, min: 1, max: 100 });
  const result = el("div", { id: "tr-result", "aria-live": "polite", data: { state: "idle" } });
  const form = el("form", { class: "controls" }, field("Source sentence", source, "wide"), field("Beam", beam), field("N-best", nBest),
    el("button", { type: "submit", id: "tr-go", text: "Translate" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.dataset.state = "loading";
    try {
      const b = +beam.value, n = Math.min(+nBest.value, b);
      const [{ outputs: [t] }, x] = await Promise.all([
        runApi(run.id, "predict", { inputs: [source.value], options: { beam: b, n_best: n } }),
        runApi(run.id, "explain", { input: source.value }),
      ]);
      show(result, "ready",
        el("p", {}, el("span", { class: "big", id: "tr-translation", text: t.translation, data: { value: t.translation } }),
          ` score ${fmt(t.score)}${t.length_normalised ? " (length-normalised)" : ""}, log P ${fmt(t.logprob)}`),
        el("table", { id: "tr-nbest-list" }, el("thead", {}, el("tr", {}, ...["#", "translation", "score", "log P(Y | X)"].map((h) => el("th", { text: h })))),
          el("tbody", {}, t.nbest.map((h, i) => el("tr", {}, el("td", { text: i + 1 }), el("td", { text: h.translation, data: { value: h.translation } }),
            el("td", { class: "num", text: fmt(h.score), data: { value: h.score } }), el("td", { class: "num", text: fmt(h.logprob) }))))),
        el("h4", { text: `alignment of the greedy translation “${x.translation}”` }),
        el("div", { id: "tr-alignment" }, heatmap(x.alignment, x.target_tokens, x.source_tokens, { caption: "rows: target tokens; columns: source tokens (attention, mean over layers and heads)", max: 1 })));
      result.dataset.for = source.value;
    } catch (e) {
      showError(result, e);
    }
  });
  root.append(el("section", {}, el("h3", { text: "Translate" }), form, result));
}

// ---------------------------------------------------------------- word vectors

function word2vecView(run, root) {
  const word = el("input", { type: "text", id: "w2v-word" });
  const topn = el("input", { type: "number", id: "w2v-topn", value: 10, min: 1, max: 1000 });
  const neighbours = el("div", { id: "w2v-neighbours", data: { state: "idle" } });
  const nForm = el("form", { class: "controls" }, field("Word", word), field("How many", topn), el("button", { type: "submit", id: "w2v-go", text: "Nearest words" }));
  nForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    neighbours.dataset.state = "loading";
    try {
      const { outputs: [r] } = await runApi(run.id, "predict", { inputs: [word.value], options: { topn: +topn.value } });
      show(neighbours, "ready", el("p", { class: "note", text: `${r.word}${r.count ? ` (seen ${r.count} times)` : ""}: cosine similarity of the nearest words` }),
        bars(r.neighbours.map((n) => ({ label: n.word, value: n.cosine })), { max: 1 }));
      neighbours.dataset.for = word.value;
    } catch (e) {
      showError(neighbours, e);
    }
  });

  const [a, b, c] = ["a", "b", "c"].map((k) => el("input", { type: "text", id: `w2v-${k}`, size: 10 }));
  const answers = el("div", { id: "w2v-analogy", data: { state: "idle" } });
  const aForm = el("form", { class: "controls" }, field("a", a), el("span", { text: "is to" }), field("b", b), el("span", { text: "as" }), field("c", c),
    el("span", { text: "is to ?" }), el("button", { type: "submit", id: "w2v-analogy-go", text: "Answer" }));
  aForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    answers.dataset.state = "loading";
    try {
      const { outputs: r } = await runApi(run.id, "analogy", { a: a.value, b: b.value, c: c.value, options: { topn: 5 } });
      show(answers, "ready", el("p", { class: "note", text: `${r.question} (${r.method}: b − a + c)` }),
        bars(r.answers.map((n) => ({ label: n.word, value: n.cosine })), { max: 1 }));
    } catch (e) {
      showError(answers, e);
    }
  });

  const words = el("input", { type: "text", id: "w2v-words" });
  const plot = el("div", { id: "w2v-plot", data: { state: "idle" } });
  const pForm = el("form", { class: "controls" }, field("Words (separated by spaces)", words, "wide"), el("button", { type: "submit", id: "w2v-plot-go", text: "Project" }));
  pForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    plot.dataset.state = "loading";
    try {
      const x = await runApi(run.id, "explain", { input: words.value });
      show(plot, "ready", scatter(x.points.map((p) => ({ x: p.x, y: p.y, label: p.word })),
        { caption: `${x.method}: the axes show ${(100 * x.explained_variance[0]).toFixed(0)}% and ${(100 * x.explained_variance[1]).toFixed(0)}% of the words' variance` }));
    } catch (e) {
      showError(plot, e);
    }
  });
  root.append(
    el("section", {}, el("h3", { text: "Nearest neighbours" }), nForm, neighbours),
    el("section", {}, el("h3", { text: "Analogies" }), aForm, answers),
    el("section", {}, el("h3", { text: "Words in two dimensions" }), pForm, plot),
  );
}

// ---------------------------------------------------------------- images

function imageView(run, root) {
  const canvas = el("canvas", { id: "img-canvas", width: 280, height: 280, "aria-label": "drawing area: draw a digit with the mouse or a finger" });
  const ctx = canvas.getContext("2d");
  const clear = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let drawing = false;
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    return [((e.clientX - box.left) * canvas.width) / box.width, ((e.clientY - box.top) * canvas.height) / box.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 22;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(...at(e));
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    ctx.lineTo(...at(e));
    ctx.stroke();
  });
  canvas.addEventListener("pointerup", () => {
    drawing = false;
    classify({ png: canvas.toDataURL("image/png") }, "drawing");
  });
  const file = el("input", { type: "file", id: "img-file", accept: "image/*" });
  const preview = el("img", { class: "preview", alt: "the uploaded image", hidden: true });
  file.addEventListener("change", () => {
    const f = file.files[0];
    if (!f) return;
    preview.src = URL.createObjectURL(f);
    preview.hidden = false;
    const reader = new FileReader();
    reader.onload = () => classify({ png: reader.result }, f.name);
    reader.readAsDataURL(f);
  });
  const result = el("div", { id: "img-result", "aria-live": "polite", data: { state: "idle" } });
  const classify = async (image, what) => {
    result.dataset.state = "loading";
    try {
      const [{ outputs: [p] }, x] = await Promise.all([runApi(run.id, "predict", { inputs: [image] }), runApi(run.id, "explain", { input: image })]);
      const probs = Object.entries(p.probabilities).map(([label, value]) => ({ label, value }));
      show(result, "ready",
        el("p", {}, `${what}: `, el("span", { class: "big", id: "img-label", text: p.label, data: { value: p.label } }), ` (${fmt(p.probability)})`),
        bars(probs, { id: "img-probs", best: p.label }),
        el("h4", { text: "as the network reads it" }), el("div", { class: "maps" }, mapsOf(x.input.pixels, 4)),
        x.note ? el("p", { class: "note", text: x.note }) : null,
        el("div", { id: "img-maps" }, x.feature_maps.map((m) => el("div", { class: "stage", data: { layer: m.layer } },
          el("h4", { text: `${m.layer}: ${m.shape.join(" × ")}${m.shown < m.shape[0] ? ` (first ${m.shown} maps)` : ""}` }),
          el("div", { class: "maps" }, mapsOf(m.maps, Math.max(2, Math.round(56 / m.maps[0].length))))))),
        el("h4", { text: `${x.filters.layer} filters ${x.filters.shape.join(" × ")}` }),
        el("div", { class: "maps" }, x.filters.weights.flatMap((w) => mapsOf(w.length === 3 ? [meanChannels(w)] : w, 8))));
    } catch (e) {
      showError(result, e);
    }
  };
  const clearButton = el("button", { type: "button", id: "img-clear", class: "secondary", text: "Clear", onclick: () => { clear(); show(result, "idle"); } });
  root.append(
    el("section", {}, el("h3", { text: "Draw or upload" }),
      el("div", { class: "draw" },
        el("div", {}, canvas, el("div", { class: "controls" }, clearButton, field("or upload an image", file)), preview),
        el("div", {}, result))),
    convSection(),
  );
}

const meanChannels = (w) => w[0].map((row, i) => row.map((_, j) => w.reduce((s, ch) => s + ch[i][j], 0) / w.length));

/** Small canvases for maps [K][H][W] (each scaled to its own range, black low, white high). */
function mapsOf(maps, scale) {
  return maps.map((m, k) => {
    const H = m.length, W = m[0].length;
    const c = el("canvas", { width: W, height: H, title: `map ${k + 1}` });
    c.style.width = `${W * scale}px`;
    c.style.height = `${H * scale}px`;
    const flat = m.flat();
    const lo = Math.min(...flat), hi = Math.max(...flat);
    const img = c.getContext("2d").createImageData(W, H);
    flat.forEach((v, i) => {
      const g = Math.round((255 * (v - lo)) / (hi - lo || 1));
      img.data.set([g, g, g, 255], 4 * i);
    });
    c.getContext("2d").putImageData(img, 0, 0);
    return c;
  });
}

// ---------------------------------------------------------------- a convolution worked by hand (lmlab conv)

/** Rows separated by ";" or new lines, numbers by spaces or commas (lmlab.vision.walkthrough.parse_matrix). */
function parseMatrix(text, what) {
  const rows = text.replace(/\n/g, ";").split(";").filter((r) => r.trim());
  const m = rows.map((r) => r.replace(/,/g, " ").trim().split(/\s+/).map(Number));
  if (!m.length || !m[0].length) throw new Error(`${what} is empty; give rows separated by ';', e.g. "1 2; 3 4"`);
  if (m.some((r) => r.some((v) => !Number.isFinite(v)))) throw new Error(`${what} must be numbers, rows separated by ';' (e.g. "1 2; 3 4")`);
  if (m.some((r) => r.length !== m[0].length)) throw new Error(`${what}: every row needs the same number of values, got ${m.map((r) => r.length).join(", ")}`);
  if (m.length > 64 || m[0].length > 64) throw new Error(`${what}: at most 64x64`);
  return m;
}

/** "1" -> every side; "1,2" -> (height, width); "1,0,1,0" -> top, bottom, left, right. */
function parsePadding(text) {
  const v = String(text).split(",").map((s) => Number(s.trim()));
  if (!v.every((p) => Number.isInteger(p) && p >= 0 && p <= 64) || ![1, 2, 4].includes(v.length)) {
    throw new Error(`padding must be P (every side), H,W or T,B,L,R (integers from 0 to 64), got ${JSON.stringify(text)}`);
  }
  return v.length === 1 ? [v[0], v[0], v[0], v[0]] : v.length === 2 ? [v[0], v[0], v[1], v[1]] : v;
}

/** The output length along one axis, (W - K + P_total)/S + 1, refused when the stride does not fit (exact). */
function outputSize(size, kernel, padTotal, stride) {
  const span = size - kernel + padTotal;
  if (span < 0) throw new Error(`a kernel of ${kernel} is larger than the padded input (${size} + ${padTotal} = ${size + padTotal})`);
  if (span % stride) throw new Error(`output size (W - K + P)/S + 1 = (${size} - ${kernel} + ${padTotal})/${stride} + 1 = ${span / stride + 1} is not an integer; choose a stride that divides ${span}, or pad`);
  return span / stride + 1;
}

const ACTIVATIONS = {
  none: null,
  relu: (x) => Math.max(0, x),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  "abs(50-x)": (x) => Math.abs(50 - x),
};

/** lmlab conv in JavaScript: zero padding, a cross-correlation with `stride`, an activation, then max pooling
 * K x K with stride K whose windows over the edge are padded with -inf (ceil mode). */
function convolve(image, kernel, [top, bottom, left, right], stride, activation, pool) {
  const H = image.length, W = image[0].length, kh = kernel.length, kw = kernel[0].length;
  if (!Number.isInteger(stride) || stride < 1 || stride > 64) throw new Error(`stride must be an integer from 1 to 64, got ${stride}`);
  const oh = outputSize(H, kh, top + bottom, stride), ow = outputSize(W, kw, left + right, stride);
  const padded = Array.from({ length: H + top + bottom }, (_, i) => Array.from({ length: W + left + right },
    (_, j) => (i >= top && i < top + H && j >= left && j < left + W ? image[i - top][j - left] : 0)));
  const terms = [];
  const map = Array.from({ length: oh }, (_, i) => Array.from({ length: ow }, (_, j) => {
    let sum = 0;
    const parts = [];
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      const v = padded[i * stride + a][j * stride + b];
      sum += v * kernel[a][b];
      parts.push(`${v}*${kernel[a][b]}`);
    }
    terms.push({ i, j, text: `${parts.join(" + ")} = ${sum}` });
    return sum;
  }));
  const f = ACTIVATIONS[activation];
  const activated = f ? map.map((row) => row.map(f)) : null;
  let pooled = null;
  if (pool) {
    const src = activated || map;
    if (!Number.isInteger(pool) || pool < 1) throw new Error(`pool must be an integer >= 1, got ${pool}`);
    if (pool > Math.min(src.length, src[0].length)) throw new Error(`pool ${pool} is larger than the ${src.length}x${src[0].length} map`);
    const ph = Math.ceil(src.length / pool), pw = Math.ceil(src[0].length / pool);
    pooled = Array.from({ length: ph }, (_, i) => Array.from({ length: pw }, (_, j) => {
      let best = -Infinity;
      for (let a = i * pool; a < Math.min((i + 1) * pool, src.length); a++) {
        for (let b = j * pool; b < Math.min((j + 1) * pool, src[0].length); b++) best = Math.max(best, src[a][b]);
      }
      return best;
    }));
  }
  return { padded, map, activated, pooled, terms, sizes: { H, W, kh, kw, oh, ow } };
}

function matrixTable(m, { id, caption, cls, onPick } = {}) {
  const table = el("table", { class: "matrix", id },
    el("tbody", {}, m.map((row, i) => el("tr", {}, row.map((v, j) => {
      const td = el("td", { class: cls ? cls(i, j) : undefined, data: { value: v, i, j } });
      const text = Number.isInteger(v) ? String(v) : Number.isFinite(v) ? String(+v.toPrecision(4)) : String(v);
      td.append(onPick ? el("button", { type: "button", text, onclick: () => onPick(i, j), "aria-label": `output ${i},${j}: ${text}` }) : text);
      return td;
    })))));
  return el("figure", {}, el("figcaption", { text: caption }), table);
}

function convSection() {
  const image = el("textarea", { id: "conv-image", rows: 4 });
  image.value = "1 2 3; 4 5 6; 7 8 9";
  const kernel = el("textarea", { id: "conv-kernel", rows: 2 });
  kernel.value = "1 2; 3 4";
  const padding = el("input", { type: "text", id: "conv-padding", value: "1,0,1,0", size: 8 });
  const stride = el("input", { type: "number", id: "conv-stride", value: 1, min: 1, max: 64 });
  const activation = el("select", { id: "conv-activation" }, ...Object.keys(ACTIVATIONS).map((k) => el("option", { value: k, text: k })));
  const pool = el("input", { type: "number", id: "conv-pool", value: 2, min: 0, max: 64 });
  const out = el("div", { id: "conv-output", "aria-live": "polite", data: { state: "idle" } });
  const run = () => {
    try {
      const r = convolve(parseMatrix(image.value, "image"), parseMatrix(kernel.value, "kernel"), parsePadding(padding.value),
        +stride.value, activation.value, +pool.value || null);
      const [top, bottom, left, right] = parsePadding(padding.value);
      const s = r.sizes;
      const line = el("p", { class: "mono", id: "conv-step", text: "pick an output value to see its window and its sum" });
      const paddedBox = el("div");
      const drawPadded = (pick) => paddedBox.replaceChildren(matrixTable(r.padded, {
        caption: `padded image (top ${top}, bottom ${bottom}, left ${left}, right ${right})`, id: "conv-padded",
        cls: (i, j) => {
          const inside = i >= top && i < top + s.H && j >= left && j < left + s.W;
          const win = pick && i >= pick[0] * +stride.value && i < pick[0] * +stride.value + s.kh && j >= pick[1] * +stride.value && j < pick[1] * +stride.value + s.kw;
          return [inside ? "" : "pad", win ? "window" : ""].join(" ").trim() || undefined;
        },
      }));
      drawPadded(null);
      const onPick = (i, j) => {
        drawPadded([i, j]);
        line.textContent = `out[${i},${j}] = ${r.terms.find((t) => t.i === i && t.j === j).text}`;
      };
      show(out, "ready",
        el("p", { class: "mono", text: `output size: (W - K + P_total)/S + 1 = (${s.H} - ${s.kh} + ${top + bottom})/${stride.value} + 1 = ${s.oh} rows, (${s.W} - ${s.kw} + ${left + right})/${stride.value} + 1 = ${s.ow} columns` }),
        el("div", { class: "matrices" }, paddedBox, matrixTable(parseMatrix(kernel.value, "kernel"), { caption: "kernel" }),
          matrixTable(r.map, { caption: `feature map ${s.oh}×${s.ow}`, id: "conv-feature-map", onPick }),
          r.activated && matrixTable(r.activated, { caption: `activation ${activation.value}`, id: "conv-activated" }),
          r.pooled && matrixTable(r.pooled, { caption: `max pooling ${pool.value}×${pool.value}, stride ${pool.value} (ceil mode)`, id: "conv-pooled" })),
        line);
    } catch (e) {
      showError(out, e);
    }
  };
  const form = el("form", { class: "controls" }, field("Image (rows separated by ;)", image, "wide"), field("Kernel", kernel, "wide"),
    field("Padding (P, H,W or T,B,L,R)", padding), field("Stride", stride), field("Activation", activation), field("Max pooling (0: none)", pool),
    el("button", { type: "submit", id: "conv-go", text: "Convolve" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  run();
  return el("section", {}, el("h3", { text: "A convolution worked by hand" }),
    el("p", { class: "note", text: "As lmlab conv computes it: the image padded with zeros, the kernel slid with the stride (a cross-correlation: the kernel is not flipped), an activation, then max pooling." }),
    form, out);
}

// ---------------------------------------------------------------- graphs

function graphView(run, root) {
  const node = el("input", { type: "text", id: "graph-node" });
  const result = el("div", { id: "graph-result", "aria-live": "polite", data: { state: "idle" } });
  const pick = async (id, byIndex = false) => {
    result.dataset.state = "loading";
    try {
      const x = await runApi(run.id, "explain", { input: id, options: byIndex ? { by_index: true } : {} });
      const p = x.prediction;
      node.value = p.node;
      const probs = Object.entries(p.probabilities).map(([label, value]) => ({ label, value }));
      const att = x.attention;
      const attention = att ? att.layers.map((L, l) => {
        const cols = Array.from({ length: att.heads[l] }, (_, h) => `head ${h + 1}`);
        return heatmap(L, att.sources.map((s, i) => `${s} (${att.source_labels[i]})`), cols, { caption: `layer ${l + 1}: attention of ${p.node} over itself and its neighbours${att.total > att.sources.length ? ` (first ${att.sources.length} of ${att.total})` : ""} (darkest: the largest weight)` });
      }) : [el("p", { class: "note", text: x.note })];
      const e = x.embeddings;
      show(result, "ready",
        el("p", {}, `node ${p.node}: `, el("span", { class: "big", id: "graph-label", text: p.label, data: { value: p.label } }),
          ` (${fmt(p.probability)}) · true label ${p.true_label ?? "—"} · ${p.split} split · degree ${p.degree}`),
        bars(probs, { id: "graph-probs", best: p.label }),
        el("h4", { text: "neighbours" }),
        el("div", { id: "graph-neighbours", class: "pairs" }, p.neighbours.map((n) => el("button", { type: "button", class: "secondary", text: n, onclick: () => pick(n) }))),
        el("h4", { text: "attention" }), el("div", { id: "graph-attention", class: "matrices" }, attention),
        el("h4", { text: "node representations in 2-D" }),
        el("div", { id: "graph-plot" }, scatter(e.ids.map((id, i) => ({ x: e.points[i][0], y: e.points[i][1], label: id, group: e.labels[i], picked: id === p.node, onclick: () => pick(id) })),
          { caption: `${e.method} of the ${e.dimensions}-dimensional representations the output layer reads (${e.ids.length} of ${e.total} nodes); click a node`, labels: false })));
      result.dataset.for = p.node;
    } catch (e) {
      showError(result, e);
    }
  };
  const form = el("form", { class: "controls" }, field("Node id", node), el("button", { type: "submit", id: "graph-go", text: "Show" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    pick(node.value);
  });
  root.append(el("section", {}, el("h3", { text: "Pick a node" }), form, result));
  pick(0, true);
}

// ---------------------------------------------------------------- taggers

function tagView(run, root) {
  const text = el("input", { type: "text", id: "tag-text" });
  const result = el("div", { id: "tag-result", "aria-live": "polite", data: { state: "idle" } });
  const tag = latest(async (t) => (t.trim() ? Promise.all([runApi(run.id, "predict", { inputs: [t] }), runApi(run.id, "explain", { input: t })]) : null));
  const update = async () => {
    const t = text.value;
    result.dataset.state = "loading";
    let answer;
    try {
      answer = await tag(t);
    } catch (e) {
      return showError(result, e);
    }
    if (!answer) return; // a later sentence is on its way
    if (!answer.result) return show(result, "idle", el("p", { class: "muted", text: "Type a sentence (tokens separated by spaces)." }));
    const [{ outputs: [p] }, x] = answer.result;
    show(result, "ready",
      el("div", { class: "pairs", id: "tag-pairs" }, p.tokens.map((w, i) => el("span", { class: `pair${p.known && !p.known[i] ? " unknown" : ""}`, data: { token: w, tag: p.tags[i] } }, w, "/", el("b", { text: p.tags[i] })))),
      el("h4", { text: "each word's distribution over the tags" }),
      el("div", { id: "tag-probs" }, heatmap(x.probabilities, x.tokens, x.tags, { caption: x.kind || "p(tag | sentence)", max: 1 })));
    result.dataset.for = t;
  };
  text.addEventListener("input", debounce(update));
  root.append(el("section", {}, el("h3", { text: "Tag a sentence" }), el("div", { class: "controls" }, field("Sentence", text, "wide")), result));
  update();
}

const VIEWS = { lm: lmView, classify: classifyView, translate: translateView, word2vec: word2vecView, image: imageView, graph: graphView, tag: tagView };

// ---------------------------------------------------------------- training from the page

async function trainView(view) {
  view.dataset.view = "train";
  view.replaceChildren(el("h2", { text: "Train a run" }), el("p", { text: "Loading the tasks…" }));
  try {
    state.tasks = state.tasks || (await api("/api/tasks")).tasks;
  } catch (e) {
    view.replaceChildren(el("p", { class: "error", role: "alert", text: e.message }));
    return;
  }
  const task = el("select", { id: "train-task" }, ...state.tasks.map((t) => el("option", { value: t.name, text: `${t.name}: ${t.summary}` })));
  const model = el("select", { id: "train-model" });
  const data = el("input", { type: "text", id: "train-data", list: "train-data-list", required: true, placeholder: "a corpus, or a path under the root" });
  const corpora = el("datalist", { id: "train-data-list" });
  const tokenizer = el("select", { id: "train-tokenizer" }, ...["", "char", "word", "bpe"].map((t) => el("option", { value: t, text: t || "the model's default" })));
  const seconds = el("input", { type: "number", id: "train-seconds", value: 60, min: 1, max: 3600 });
  const fill = () => {
    const t = state.tasks.find((x) => x.name === task.value);
    model.replaceChildren(...t.families.map((f) => el("option", { value: f, text: f })));
    corpora.replaceChildren(...t.data.map((d) => el("option", { value: d })));
    data.value = t.data[0] || "";
    tokenizer.disabled = !t.takes_tokenizer;
  };
  task.addEventListener("change", fill);
  fill();
  const start = el("button", { type: "submit", id: "train-start", text: "Start" });
  const stop = el("button", { type: "button", id: "train-stop", class: "secondary", text: "Stop", disabled: true });
  const status = el("p", { id: "train-status", role: "status", data: { status: "idle" } });
  const chart = el("div", { id: "train-chart" });
  const log = el("pre", { class: "output", id: "train-output", hidden: true });
  const form = el("form", { class: "controls" }, field("Task", task), field("Model", model), field("Data", data), corpora, field("Tokenizer", tokenizer),
    field("Time budget (seconds)", seconds), start, stop);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const request = { task: task.value, model: model.value, data: data.value, max_seconds: +seconds.value };
    if (tokenizer.value && !tokenizer.disabled) request.tokenizer = tokenizer.value;
    try {
      const job = await api("/api/train", request);
      followJob(job.job, { status, chart, stop, start, log });
    } catch (e) {
      status.textContent = e.message;
      status.dataset.status = "refused";
      status.className = "error";
    }
  });
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try {
      await api(`/api/jobs/${state.job}/stop`, {});
      status.textContent = "stopping: the run is saved as after Ctrl-C…";
    } catch (e) {
      status.textContent = e.message;
    }
  });
  view.replaceChildren(el("h2", { text: "Train a run" }),
    el("p", { class: "note", text: "One training at a time, as lmlab train --task T --model M --data D --max-seconds S, into playground/ under the root; the data is a corpus lmlab knows or a file or folder under the root. Its curve follows metrics.jsonl as it grows; Stop saves the run as Ctrl-C would." }),
    form, status, chart, log);
  const running = (await api("/api/jobs").catch(() => ({ jobs: [] }))).jobs.find((j) => j.status === "running");
  if (running) followJob(running.job, { status, chart, stop, start, log });
}

async function followJob(id, { status, chart, stop, start, log }) {
  state.job = id;
  const rows = { train: [], valid: [] };
  let key = null;
  const draw = () => {
    chart.replaceChildren(lineChart([
      { name: `train ${key || "loss"}`, cls: "series-train", points: rows.train },
      { name: `valid ${key || "loss"}`, cls: "series-valid", points: rows.valid },
    ], { xTitle: "step", yTitle: key || "loss", caption: "training and validation curves" }));
    chart.dataset.train = rows.train.length;
    chart.dataset.valid = rows.valid.length;
  };
  draw();
  status.className = "";
  status.textContent = "running…";
  status.dataset.status = "running";
  stop.disabled = false;
  start.disabled = true;
  log.hidden = true;
  try {
    await streamEvents(`/api/jobs/${id}/events`, (name, row) => {
      if (name === "metrics") {
        const x = row.step ?? row.epoch ?? rows.train.length + rows.valid.length;
        if (key === null) key = ["loss", "perplexity", "accuracy"].find((k) => `train_${k}` in row || `val_${k}` in row) || "loss";
        if (Number.isFinite(row[`train_${key}`])) rows.train.push([x, row[`train_${key}`]]);
        if (Number.isFinite(row[`val_${key}`])) rows.valid.push([x, row[`val_${key}`]]);
        status.textContent = `running · step ${row.step ?? "?"}${row.elapsed_s ? ` · ${row.elapsed_s.toFixed(1)} s` : ""}`;
        draw();
      } else if (name === "end") {
        status.dataset.status = row.status;
        status.replaceChildren(`${row.status} after ${row.seconds} s: `, row.run
          ? el("a", { href: `#run/${row.run}`, id: "train-run", text: row.out })
          : el("span", { class: "error", text: row.error || "no run was saved" }));
        if (row.output?.length && !row.run) {
          log.textContent = row.output.join("\n");
          log.hidden = false;
        }
        loadRuns();
      }
    });
  } catch (e) {
    status.textContent = e.message;
    status.dataset.status = "error";
  } finally {
    stop.disabled = true;
    start.disabled = false;
  }
}

// ---------------------------------------------------------------- comparison reports

async function reportsView(view) {
  view.dataset.view = "reports";
  const list = el("ul", { id: "reports-list", data: { state: "loading" } });
  view.replaceChildren(el("h2", { text: "Comparison reports" }), el("p", { class: "note", text: "The reports lmlab compare wrote under the root." }), list);
  try {
    const { reports } = await api("/api/reports");
    show(list, "ready", reports.length ? reports.map((r) => el("li", {},
      el("a", { href: `/reports/${r.id}/report.html`, target: "_blank", rel: "noopener", text: r.path }))) : el("li", { class: "muted", text: "none yet (lmlab compare ... --out ROOT/NAME writes one)" }));
  } catch (e) {
    showError(list, e);
  }
}

// ---------------------------------------------------------------- start

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", async () => {
  if (new URLSearchParams(location.search).has("token")) history.replaceState(null, "", `/${location.hash}`); // the cookie holds it now
  $("#refresh-runs").addEventListener("click", loadRuns);
  await loadRuns();
  route();
});
