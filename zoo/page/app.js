// The zoo's page: calls the server's TensorFlow Serving REST API (/v1/models/...:predict) and draws the results.
"use strict";

const state = { models: [], byName: {}, digitA: null, digitB: null, latent: null };
const SIZE = 28;

function status(text) { document.getElementById("status").textContent = text; }

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) throw new Error(json.error || response.statusText);
  return json;
}

// Columnar predict: {"inputs": {...}} -> {"outputs": ...}
async function predict(model, signature, inputs) {
  return (await api(`/v1/models/${model}:predict`, { signature_name: signature, inputs })).outputs;
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
  const box = document.createElement("div");
  box.className = "tile";
  const canvas = document.createElement("canvas");
  canvas.width = SIZE * scale; canvas.height = SIZE * scale;
  drawDigit(canvas, image);
  const caption = document.createElement("span");
  caption.textContent = label;
  box.append(canvas, caption);
  return box;
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
    clear(); document.getElementById("reconstructions").innerHTML = "";
    document.getElementById("scores").innerHTML = ""; document.getElementById("prediction").textContent = "";
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

async function onDigitDrawn() {
  const image = padDigit();
  if (!image) return;
  drawDigit(document.getElementById("input28"), image);
  status("asking the models ...");
  const tiles = document.getElementById("reconstructions");
  const scores = document.getElementById("scores");
  const recon = state.models.filter((m) => takesOnly(m.name, "reconstruct", ["images"]));
  const scored = state.models.filter((m) => takesOnly(m.name, "score", ["images"]));
  const classifier = state.models.find((m) => takesOnly(m.name, "classify", ["images"]));
  try {
    const [reconstructions, scoreValues, probs] = await Promise.all([
      Promise.all(recon.map((m) => predict(m.name, "reconstruct", { images: [image] }))),
      Promise.all(scored.map((m) => predict(m.name, "score", { images: [image] }))),
      classifier ? predict(classifier.name, "classify", { images: [image] }) : null,
    ]);
    tiles.innerHTML = "";
    reconstructions.forEach((out, i) => tiles.append(tile(recon[i].name, out[0])));
    scores.innerHTML = "<tr><th>model</th><th>anomaly score</th><th>card threshold</th><th></th></tr>";
    // The VAE first: its score is -ELBO in nats.
    const order = scored.map((m, i) => [m, scoreValues[i]]).sort((a, b) => (b[0].model === "vae") - (a[0].model === "vae"));
    for (const [m, out] of order) {
      const value = out[0], threshold = m.anomaly ? m.anomaly.threshold : null;
      const row = document.createElement("tr");
      const verdict = threshold === null ? "" : value > threshold ? "unusual" : "normal";
      row.innerHTML = `<td>${m.name}</td><td class="score-value">${value.toFixed(1)}</td>` +
        `<td>${threshold === null ? "-" : threshold.toFixed(1)}</td><td class="${verdict}">${verdict}</td>`;
      scores.append(row);
    }
    if (probs) {
      const p = probs.probs[0];
      const best = p.indexOf(Math.max(...p));
      document.getElementById("prediction").textContent =
        `${classifier.name} reads a ${best} (probability ${p[best].toFixed(3)})`;
    }
    tiles.dataset.ready = String(Number(tiles.dataset.ready || 0) + 1);
    status("");
  } catch (error) { status(`error: ${error.message}`); }
}

// Latent explorer
function latentModels() { return state.models.filter((m) => m.latent); }

async function chooseLatentModel() {
  const name = document.getElementById("latent-model").value;
  if (!name) return;
  state.latent = { name, ...(await api(`/v1/models/${name}/latent`)) };
  document.getElementById("latent-note").textContent =
    `principal directions of ${state.latent.images} test codes (code size ${state.latent.code_size})`;
  updateLatent();
  updateSlerp();
}

let latentBusy = false, latentAgain = false;
async function updateLatent() {
  const a = Number(document.getElementById("pc1").value), b = Number(document.getElementById("pc2").value);
  document.getElementById("pc1-value").textContent = a.toFixed(2);
  document.getElementById("pc2-value").textContent = b.toFixed(2);
  if (!state.latent) return;
  if (latentBusy) { latentAgain = true; return; }
  latentBusy = true;
  const { mean, directions, scales } = state.latent;
  const code = mean.map((m, i) => m + a * scales[0] * directions[0][i] + b * scales[1] * directions[1][i]);
  try {
    const out = await predict(state.latent.name, "decode", { code: [code] });
    const canvas = document.getElementById("latent-image");
    drawDigit(canvas, out.probs[0]);
    canvas.dataset.code = code.slice(0, 2).map((v) => v.toFixed(3)).join(",");
  } catch (error) { status(`error: ${error.message}`); }
  latentBusy = false;
  if (latentAgain) { latentAgain = false; updateLatent(); }
}

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

async function updateSlerp() {
  const t = Number(document.getElementById("slerp-t").value);
  document.getElementById("slerp-value").textContent = t.toFixed(2);
  if (!state.latent || !state.digitA || !state.digitB) return;
  try {
    const codes = (await predict(state.latent.name, "encode", { images: [state.digitA, state.digitB] })).code;
    const steps = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => slerp(codes[0], codes[1], i / 7));
    const out = await predict(state.latent.name, "decode", { code: [slerp(codes[0], codes[1], t), ...steps] });
    drawDigit(document.getElementById("slerp-image"), out.probs[0]);
    const strip = document.getElementById("slerp-strip");
    strip.innerHTML = "";
    out.probs.slice(1).forEach((image, i) => strip.append(tile((i / 7).toFixed(2), image, 2)));
  } catch (error) { status(`error: ${error.message}`); }
}

// Generators
async function sampleCvae() {
  const model = document.getElementById("cvae-model").value;
  if (!model) return;
  const digit = Number(document.getElementById("cvae-digit").value);
  const seed = Math.floor(Math.random() * 100000);
  const out = await predict(model, "sample", { num: 8, seed, digit });
  const row = document.getElementById("cvae-row");
  row.innerHTML = "";
  out.forEach((image) => row.append(tile(String(digit), image)));
}

let gridSeed = 1;
async function sampleGrid() {
  const model = document.getElementById("gen-model").value;
  if (!model) return;
  const images = await predict(model, "sample", { num: 64, seed: gridSeed });
  const canvas = document.getElementById("gen-grid");
  const cell = canvas.width / 8;
  images.forEach((image, i) => {
    const tileCanvas = document.createElement("canvas");
    tileCanvas.width = cell; tileCanvas.height = cell;
    drawDigit(tileCanvas, image);
    canvas.getContext("2d").drawImage(tileCanvas, (i % 8) * cell, Math.floor(i / 8) * cell);
  });
  document.getElementById("gen-seed").textContent = `seed ${gridSeed}`;
}

// Gallery
function renderGallery() {
  const cards = document.getElementById("cards");
  cards.innerHTML = "";
  for (const m of state.models) {
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.model = m.name;
    const metrics = Object.entries(m.metrics).map(([k, v]) =>
      `<tr><td>${k}</td><td>${typeof v === "number" ? v.toFixed(k === "test_accuracy" ? 4 : 2) : v}</td></tr>`).join("");
    card.innerHTML = `<h3>${m.name}</h3><div>${m.model || ""}: ${m.description || ""}</div>` +
      `<table>${metrics}${m.parameters ? `<tr><td>parameters</td><td>${m.parameters.toLocaleString()}</td></tr>` : ""}` +
      `${m.anomaly ? `<tr><td>score threshold</td><td>${m.anomaly.threshold.toFixed(1)}</td></tr>` : ""}</table>` +
      `<div>signatures: ${Object.keys(m.signatures).join(", ")}</div>` +
      (m.command ? `<code></code>` : "") +
      m.figures.map((f) => `<a href="${f}" target="_blank"><img loading="lazy" alt="${f.split("/").pop()}" src="${f}"></a>`).join("");
    if (m.command) card.querySelector("code").textContent = m.command;
    cards.append(card);
  }
}

function fillSelect(id, models, preferred) {
  const select = document.getElementById(id);
  select.innerHTML = models.map((m) => `<option>${m.name}</option>`).join("");
  const best = models.find((m) => m.name === preferred);
  if (best) select.value = best.name;
}

function showView(name) {
  document.querySelectorAll(".view").forEach((v) => v.classList.toggle("active", v.id === name));
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.view === name));
}

async function start() {
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
  setUpPad();
  state.models = (await api("/v1/models")).models;
  state.models.forEach((m) => { state.byName[m.name] = m; });
  renderGallery();
  fillSelect("latent-model", latentModels(), "vae_mnist");
  const conditional = state.models.filter((m) => takesOnly(m.name, "sample", ["num", "seed", "digit"]));
  const samplers = state.models.filter((m) => takesOnly(m.name, "sample", ["num", "seed"]));
  fillSelect("cvae-model", conditional, "cvae_mnist");
  fillSelect("gen-model", samplers, "gan_mnist");
  document.getElementById("cvae-digit").innerHTML = [...Array(10).keys()].map((d) => `<option>${d}</option>`).join("");
  document.getElementById("latent-model").addEventListener("change", chooseLatentModel);
  document.getElementById("pc1").addEventListener("input", updateLatent);
  document.getElementById("pc2").addEventListener("input", updateLatent);
  document.getElementById("slerp-t").addEventListener("input", updateSlerp);
  document.getElementById("cvae-sample").addEventListener("click", () => sampleCvae().catch((e) => status(`error: ${e.message}`)));
  document.getElementById("gen-sample").addEventListener("click", () => sampleGrid().catch((e) => status(`error: ${e.message}`)));
  document.getElementById("gen-reseed").addEventListener("click", () => {
    gridSeed = Math.floor(Math.random() * 100000); sampleGrid().catch((e) => status(`error: ${e.message}`)); });
  if (latentModels().length) await chooseLatentModel();
  else document.getElementById("latent-note").textContent = "no latent directions: start the server with --data-dir";
  await Promise.all([sampleCvae(), sampleGrid()]).catch((e) => status(`error: ${e.message}`));
  document.body.dataset.ready = "true";
  status(`${state.models.length} models`);
}

start().catch((error) => status(`error: ${error.message}`));
