// The zoo's page: calls the server's TensorFlow Serving REST API (/v1/models/...:predict) and draws the results.
"use strict";

const state = { models: [], byName: {}, digitA: null, digitB: null, latent: null };
const SIZE = 28;

// The status line shows the model count, or the busy note or error of the action numbered `statusFrom`.
let idleStatus = "", actions = 0, statusFrom = 0;
function status(text, from = 0) {
  document.getElementById("status").textContent = text;
  statusFrom = from;
}

// Runs an action the user started: its error goes to the status line; its success clears what an earlier action
// (or its own busy note) left there.
async function attempt(action, busy) {
  const id = ++actions;
  if (busy) status(busy, id);
  try {
    await action();
    if (statusFrom && statusFrom <= id) status(idleStatus);
  } catch (error) {
    status(`error: ${error.message}`, id);
  }
}

// An action that redraws a view from its current settings, run one at a time: calls while it runs make it run once
// more afterwards, so that the last settings are the ones drawn whatever order the server answers in.
function latest(redraw, busy) {
  let running = false, again = false;
  return async function run() {
    if (running) { again = true; return; }
    running = true;
    await attempt(redraw, busy);
    running = false;
    if (again) { again = false; await run(); }
  };
}

// An element with properties (className, textContent, href, ...) and children: nodes, or strings set as text.
function element(tag, properties = {}, ...children) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children.map((child) => (child instanceof Node ? child : String(child ?? ""))));
  return node;
}

// The text, allowed to wrap after its underscores (long model names in narrow tables).
function breakable(text) {
  const fragment = document.createDocumentFragment();
  String(text).split("_").forEach((part, i) => fragment.append(...(i ? ["_", element("wbr")] : []), part));
  return fragment;
}

function formatted(value, digits) { return typeof value === "number" ? value.toFixed(digits) : String(value ?? "-"); }

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (error) { /* not JSON: a proxy's page, say */ }
  if (!response.ok) throw new Error((json && json.error) || `HTTP ${response.status} ${response.statusText}`);
  if (json === null) throw new Error(`the server's answer to ${path} is not JSON`);
  return json;
}

function modelPath(model, rest) { return `/v1/models/${encodeURIComponent(model)}${rest}`; }

// A columnar predict's output `output`: TF Serving answers {"outputs": value} for a signature with one output (the
// value whatever its name) and {"outputs": {name: value, ...}} for several.
async function predict(model, signature, inputs, output) {
  const { outputs } = await api(modelPath(model, ":predict"), { signature_name: signature, inputs });
  const named = outputs !== null && typeof outputs === "object" && !Array.isArray(outputs);
  const value = named ? outputs[output] : outputs;
  if (value === undefined) throw new Error(`${model}'s ${signature} has no output '${output}'`);
  return value;
}

function pixelsOf(image) {  // [28][28][1] (or [28][28]) -> flat array of 784 values in [0, 1]
  return image.flat(2);
}

function drawDigit(canvas, image) {
  const values = pixelsOf(image);
  const small = document.createElement("canvas");
  small.width = SIZE; small.height = SIZE;
  const context = small.getContext("2d");
  const data = context.createImageData(SIZE, SIZE);
  values.forEach((v, i) => {
    const grey = Math.max(0, Math.min(255, Math.round(v * 255)));
    data.data.set([grey, grey, grey, 255], 4 * i);
  });
  context.putImageData(data, 0, 0);
  const target = canvas.getContext("2d");
  target.imageSmoothingEnabled = false;
  target.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function tile(label, image, scale = 3) {
  const canvas = element("canvas", { width: SIZE * scale, height: SIZE * scale });
  drawDigit(canvas, image);
  return element("div", { className: "tile" }, canvas, element("span", {}, label));
}

function signatureInputs(model, signature) {
  const sig = state.byName[model] && state.byName[model].signatures[signature];
  return sig ? Object.keys(sig) : null;
}

function takesOnly(model, signature, inputs) {
  const names = signatureInputs(model, signature);
  return names !== null && names.length === inputs.length && inputs.every((n) => names.includes(n));
}

// Drawing pad -> a 28x28 digit as MNIST prepares them: the ink's bounding box scaled into 20x20, centred by its
// centre of mass.
function setUpPad() {
  const pad = document.getElementById("pad");
  const context = pad.getContext("2d");
  const clear = () => { context.fillStyle = "#000"; context.fillRect(0, 0, pad.width, pad.height); };
  clear();
  let drawing = false;
  const point = (event) => {
    const box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  };
  pad.addEventListener("pointerdown", (event) => {
    drawing = true; pad.setPointerCapture(event.pointerId);
    context.strokeStyle = "#fff"; context.lineWidth = 20; context.lineCap = "round"; context.lineJoin = "round";
    context.beginPath(); context.moveTo(...point(event)); context.lineTo(...point(event)); context.stroke();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    context.lineTo(...point(event)); context.stroke();
  });
  const end = () => { if (drawing) { drawing = false; onDigitDrawn(); } };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  document.getElementById("clear").addEventListener("click", () => {
    clear(); document.getElementById("reconstructions").replaceChildren();
    document.getElementById("scores").replaceChildren(); document.getElementById("prediction").textContent = "";
  });
  document.getElementById("as-a").addEventListener("click", () => useDigit("A"));
  document.getElementById("as-b").addEventListener("click", () => useDigit("B"));
}

function padDigit() {
  const pad = document.getElementById("pad");
  const { data, width, height } = pad.getContext("2d").getImageData(0, 0, pad.width, pad.height);
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    if (data[4 * (y * width + x)] > 20) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1, h = y1 - y0 + 1, scale = 20 / Math.max(w, h);
  const small = document.createElement("canvas");
  small.width = SIZE; small.height = SIZE;
  const context = small.getContext("2d");
  context.fillStyle = "#000"; context.fillRect(0, 0, SIZE, SIZE);
  context.imageSmoothingQuality = "high";
  context.drawImage(pad, x0, y0, w, h, (SIZE - w * scale) / 2, (SIZE - h * scale) / 2, w * scale, h * scale);
  const grey = context.getImageData(0, 0, SIZE, SIZE).data;
  const values = Array.from({ length: SIZE * SIZE }, (_, i) => grey[4 * i] / 255);
  let total = 0, cx = 0, cy = 0;
  values.forEach((v, i) => { total += v; cx += v * (i % SIZE); cy += v * Math.floor(i / SIZE); });
  const dx = Math.round(SIZE / 2 - 0.5 - cx / total), dy = Math.round(SIZE / 2 - 0.5 - cy / total);
  const image = [];
  for (let y = 0; y < SIZE; y++) {
    const row = [];
    for (let x = 0; x < SIZE; x++) {
      const sx = x - dx, sy = y - dy;
      row.push([sx >= 0 && sx < SIZE && sy >= 0 && sy < SIZE ? values[sy * SIZE + sx] : 0]);
    }
    image.push(row);
  }
  return image;
}

const onDigitDrawn = latest(async () => {
  const image = padDigit();
  if (!image) return;
  drawDigit(document.getElementById("input28"), image);
  await askModels(image);
}, "asking the models ...");

async function askModels(image) {
  const recon = state.models.filter((m) => takesOnly(m.name, "reconstruct", ["images"]));
  const scored = state.models.filter((m) => takesOnly(m.name, "score", ["images"]));
  const classifier = state.models.find((m) => takesOnly(m.name, "classify", ["images"]));
  const [reconstructions, scoreValues, probs] = await Promise.all([
    Promise.all(recon.map((m) => predict(m.name, "reconstruct", { images: [image] }, "probs"))),
    Promise.all(scored.map((m) => predict(m.name, "score", { images: [image] }, "score"))),
    classifier ? predict(classifier.name, "classify", { images: [image] }, "probs") : null,
  ]);
  const tiles = document.getElementById("reconstructions");
  tiles.replaceChildren(...reconstructions.map((out, i) => tile(recon[i].name, out[0])));
  // The VAE first: its score is -ELBO in nats.
  const isVae = ([m]) => m.model === "vae";
  showScores(scored.map((m, i) => [m, scoreValues[i][0]]).sort((a, b) => isVae(b) - isVae(a)));
  if (probs) {
    const p = probs[0];
    const best = p.indexOf(Math.max(...p));
    document.getElementById("prediction").textContent =
      `${classifier.name} reads a ${best} (probability ${p[best].toFixed(3)})`;
  }
  tiles.dataset.ready = String(Number(tiles.dataset.ready || 0) + 1);
}

// The score table: [[model, score], ...] as one group of rows per measure (the card's anomaly.score), each row with
// its card's threshold and the verdict.
function showScores(scores) {
  const anomaly = (m) => m.anomaly || {};
  const groups = new Map();
  for (const [m, value] of scores) {
    const measure = String(anomaly(m).score ?? "measure not on the card");
    if (!groups.has(measure)) groups.set(measure, []);
    groups.get(measure).push([m, value]);
  }
  const rates = [...new Set(scores.map(([m]) => anomaly(m).target_false_positive_rate))]
    .filter((rate) => typeof rate === "number").map((rate) => `${+(100 * rate).toPrecision(3)}%`);
  const flags = rates.length ? `; the card's threshold flags the top ${rates.join(" or ")} of normal digits` : "";
  const row = ([m, value]) => {
    const { threshold } = anomaly(m);
    const verdict = typeof threshold !== "number" ? "" : value > threshold ? "unusual" : "normal";
    return element("tr", {}, element("td", {}, breakable(m.name)),
      element("td", {}, formatted(value, 1)), element("td", {}, formatted(threshold, 1)),
      element("td", { className: verdict }, verdict || "-"));
  };
  const headers = ["model", "anomaly score", "card threshold", "verdict"];
  document.getElementById("scores").replaceChildren(
    element("caption", {}, `anomaly score (higher = more unusual)${flags}`),
    element("thead", {}, element("tr", {}, ...headers.map((header) => element("th", { scope: "col" }, header)))),
    ...[...groups].map(([measure, rows]) => element("tbody", {},
      element("tr", {}, element("th", { colSpan: headers.length, scope: "rowgroup", className: "measure" }, measure)),
      ...rows.map(row))));
}

// Latent explorer
const chooseLatentModel = latest(async () => {
  const name = document.getElementById("latent-model").value;
  if (!name) return;
  state.latent = { name, ...(await api(modelPath(name, "/latent"))) };
  const what = state.byName[name].code;
  document.getElementById("latent-note").textContent =
    `principal directions of ${state.latent.images} test codes (code size ${state.latent.code_size})` +
    (what ? `; the code is ${what}` : "");
  await Promise.all([updateLatent(), updateSlerp()]);
});

function sliderValue(id) {
  const value = Number(document.getElementById(id).value);
  document.getElementById(`${id}-value`).textContent = value.toFixed(2);
  return value;
}

const updateLatent = latest(async () => {
  const a = sliderValue("pc1"), b = sliderValue("pc2");
  if (!state.latent) return;
  const { name, mean, directions, scales } = state.latent;
  const code = mean.map((m, i) => m + a * scales[0] * directions[0][i] + b * scales[1] * directions[1][i]);
  const probs = await predict(name, "decode", { code: [code] }, "probs");
  const canvas = document.getElementById("latent-image");
  drawDigit(canvas, probs[0]);
  canvas.dataset.drawn = `${name} ${a.toFixed(2)} ${b.toFixed(2)}`;
});

function useDigit(which) {
  const image = padDigit();
  if (!image) return;
  state[`digit${which}`] = image;
  drawDigit(document.getElementById(`digit-${which.toLowerCase()}`), image);
  updateSlerp();
}

function slerp(a, b, t) {
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  const cos = a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));
  const omega = Math.acos(Math.max(-1, Math.min(1, cos)));
  if (omega < 1e-4) return a.map((x, i) => (1 - t) * x + t * b[i]);
  const s = Math.sin(omega);
  return a.map((x, i) => (Math.sin((1 - t) * omega) / s) * x + (Math.sin(t * omega) / s) * b[i]);
}

const updateSlerp = latest(async () => {
  const t = sliderValue("slerp-t");
  if (!state.latent || !state.digitA || !state.digitB) return;
  const { name } = state.latent;
  const codes = await predict(name, "encode", { images: [state.digitA, state.digitB] }, "code");
  const steps = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => slerp(codes[0], codes[1], i / 7));
  const probs = await predict(name, "decode", { code: [slerp(codes[0], codes[1], t), ...steps] }, "probs");
  const canvas = document.getElementById("slerp-image");
  drawDigit(canvas, probs[0]);
  const strip = probs.slice(1).map((image, i) => tile((i / 7).toFixed(2), image, 2));
  document.getElementById("slerp-strip").replaceChildren(...strip);
  canvas.dataset.drawn = `${name} t=${t.toFixed(2)}`;
});

// Generators
const sampleCvae = latest(async () => {
  const model = document.getElementById("cvae-model").value;
  if (!model) return;
  const digit = Number(document.getElementById("cvae-digit").value);
  const seed = Math.floor(Math.random() * 100000);
  const images = await predict(model, "sample", { num: 8, seed, digit }, "images");
  const row = document.getElementById("cvae-row");
  row.replaceChildren(...images.map((image) => tile(String(digit), image)));
  row.dataset.drawn = `${model} digit ${digit} seed ${seed}`;
});

let gridSeed = 1;
const sampleGrid = latest(async () => {
  const model = document.getElementById("gen-model").value;
  if (!model) return;
  const seed = gridSeed;
  const images = await predict(model, "sample", { num: 64, seed }, "images");
  const canvas = document.getElementById("gen-grid");
  const cell = canvas.width / 8;
  images.forEach((image, i) => {
    const tileCanvas = document.createElement("canvas");
    tileCanvas.width = cell; tileCanvas.height = cell;
    drawDigit(tileCanvas, image);
    canvas.getContext("2d").drawImage(tileCanvas, (i % 8) * cell, Math.floor(i / 8) * cell);
  });
  document.getElementById("gen-seed").textContent = `seed ${seed}`;
  canvas.dataset.drawn = `${model} seed ${seed}`;
});

// Gallery: every piece of card text set as text, never parsed as HTML.
function renderGallery() {
  const row = (name, value) => element("tr", {}, element("td", {}, name), element("td", {}, value));
  const cards = state.models.map((m) => {
    const rows = Object.entries(m.metrics).map(([k, v]) => row(k, formatted(v, k === "test_accuracy" ? 4 : 2)));
    if (m.parameters) rows.push(row("parameters", m.parameters.toLocaleString()));
    if (m.anomaly) rows.push(row("score threshold", formatted(m.anomaly.threshold, 1)));
    const card = element("div", { className: "card" },
      element("h3", {}, m.name),
      element("div", {}, `${m.model || ""}: ${m.description || ""}`),
      element("table", {}, ...rows),
      element("div", {}, `signatures: ${Object.keys(m.signatures).join(", ")}`),
      ...(m.command ? [element("code", {}, m.command)] : []),
      ...m.figures.map((f) => element("a", { href: f, target: "_blank", rel: "noopener" },
        element("img", { loading: "lazy", alt: decodeURIComponent(f.split("/").pop()), src: f }))));
    card.dataset.model = m.name;
    return card;
  });
  document.getElementById("cards").replaceChildren(...cards);
}

function fillSelect(id, names, preferred) {
  const select = document.getElementById(id);
  select.replaceChildren(...names.map((name) => element("option", { value: name }, name)));
  if (names.includes(preferred)) select.value = preferred;
}

function showView(name) {
  document.querySelectorAll(".view").forEach((v) => v.classList.toggle("active", v.id === name));
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.view === name));
}

function on(id, event, action) { document.getElementById(id).addEventListener(event, action); }

async function start() {
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
  setUpPad();
  state.models = (await api("/v1/models")).models;
  state.models.forEach((m) => { state.byName[m.name] = m; });
  idleStatus = `${state.models.length} models`;
  status(idleStatus);
  renderGallery();
  const names = (filter) => state.models.filter(filter).map((m) => m.name);
  const latent = (m) => m.latent && takesOnly(m.name, "encode", ["images"]) && takesOnly(m.name, "decode", ["code"]);
  fillSelect("latent-model", names(latent), "vae_mnist");
  fillSelect("cvae-model", names((m) => takesOnly(m.name, "sample", ["num", "seed", "digit"])), "cvae_mnist");
  fillSelect("gen-model", names((m) => takesOnly(m.name, "sample", ["num", "seed"])), "gan_mnist");
  fillSelect("cvae-digit", [...Array(10).keys()].map(String));
  on("latent-model", "change", chooseLatentModel);
  on("pc1", "input", updateLatent);
  on("pc2", "input", updateLatent);
  on("slerp-t", "input", updateSlerp);
  ["cvae-model", "cvae-digit"].forEach((id) => on(id, "change", sampleCvae));
  on("cvae-sample", "click", sampleCvae);
  on("gen-model", "change", sampleGrid);
  on("gen-sample", "click", sampleGrid);
  on("gen-reseed", "click", () => { gridSeed = Math.floor(Math.random() * 100000); sampleGrid(); });
  if (!state.models.some(latent)) {
    document.getElementById("latent-note").textContent = "no latent directions: no served artifact's card holds them";
  }
  await Promise.all([chooseLatentModel(), sampleCvae(), sampleGrid()]);
  document.body.dataset.ready = "true";
}

attempt(start);
