// The zoo's page: calls the server's TensorFlow Serving REST API (/v1/models/...:predict) and draws the results.
"use strict";

// pairs: slerp's inputs A and B, by input shape ({"[28,28,1]": {A, B}}); inputs: the Reconstruct & score view's.
const state = { models: [], byName: {}, pairs: {}, latent: null, inputs: [] };
const SIZE = 28;  // the Draw view's digits: 28x28x1, MNIST's
const MNIST = [SIZE, SIZE, 1];

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

// An image as the server sends it, [H][W][C] (or [H][W]): its height, width and channels.
function imageShape(image) {
  const pixel = image[0][0];
  return [image.length, image[0].length, Array.isArray(pixel) ? pixel.length : 1];
}

function sameShape(a, b) { return Array.isArray(a) && Array.isArray(b) && a.join() === b.join(); }

// The whole number of canvas pixels per image pixel that makes the image's longer side about `size` pixels.
function scaleFor(shape, size) { return Math.max(1, Math.floor(size / Math.max(shape[0], shape[1]))); }

// Draws an image ([H][W][C], values in [0, 1]: grey for one channel, colour for three or four) over the whole
// canvas, each pixel a square; with `size`, the canvas is first made the image's own size times scaleFor(size).
function drawImage(canvas, image, size) {
  const [height, width, channels] = imageShape(image);
  if (size) {
    const scale = scaleFor([height, width], size);
    canvas.width = width * scale; canvas.height = height * scale;
  }
  const small = document.createElement("canvas");
  small.width = width; small.height = height;
  const context = small.getContext("2d");
  const data = context.createImageData(width, height);
  const level = (v) => Math.max(0, Math.min(255, Math.round(v * 255)));
  image.flat().forEach((pixel, i) => {
    const values = Array.isArray(pixel) ? pixel : [pixel];
    const rgb = channels >= 3 ? values.slice(0, 3).map(level) : Array(3).fill(level(values[0]));
    data.data.set([...rgb, 255], 4 * i);
  });
  context.putImageData(data, 0, 0);
  const target = canvas.getContext("2d");
  target.imageSmoothingEnabled = false;
  target.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function tile(label, image, size = 84) {
  const canvas = element("canvas");
  drawImage(canvas, image, size);
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

// What the server says of a model's data: {name: "images" or "rows", shape, kind: "images" or "table", dataset,
// preprocessing, columns}, or null.
function dataOf(model) { return (state.byName[model] && state.byName[model].data) || null; }

// Whether `signature` takes the model's data alone (images of the model's shape, or rows).
function takesData(model, signature) {
  const data = dataOf(model);
  return Boolean(data) && ["images", "table"].includes(data.kind) && takesOnly(model, signature, [data.name]);
}

// Whether the model takes 28x28x1 digits (the Draw view's).
function takesDigits(model) { return sameShape((dataOf(model) || {}).shape, MNIST); }

function shapeText(shape) { return `[${shape.join(", ")}]`; }

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
  const end = () => { if (drawing) { drawing = false; state.drawn = true; onDigitDrawn(); } };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  document.getElementById("clear").addEventListener("click", () => {
    clear(); state.drawn = false; document.getElementById("reconstructions").replaceChildren();
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
  drawImage(document.getElementById("input28"), image);
  await askModels(image);
}, "asking the models ...");

async function askModels(image) {
  const digits = (signature) => (m) => takesDigits(m.name) && takesOnly(m.name, signature, ["images"]);
  const recon = state.models.filter(digits("reconstruct"));
  const scored = state.models.filter(digits("score"));
  const classifier = state.models.find(digits("classify"));
  const [reconstructions, scoreValues, probs] = await Promise.all([
    Promise.all(recon.map((m) => predict(m.name, "reconstruct", { images: [image] }, "probs"))),
    Promise.all(scored.map((m) => predict(m.name, "score", { images: [image] }, "score"))),
    classifier ? predict(classifier.name, "classify", { images: [image] }, "probs") : null,
  ]);
  const tiles = document.getElementById("reconstructions");
  tiles.replaceChildren(...reconstructions.map((out, i) => tile(recon[i].name, out[0])));
  // The VAE first: its score is -ELBO in nats.
  const isVae = ([m]) => m.model === "vae";
  showScores(scored.map((m, i) => [m, scoreValues[i][0]]).sort((a, b) => isVae(b) - isVae(a)), "digits");
  if (probs) {
    const p = probs[0];
    const best = p.indexOf(Math.max(...p));
    document.getElementById("prediction").textContent =
      `${classifier.name} reads a ${best} (probability ${p[best].toFixed(3)})`;
  }
  tiles.dataset.ready = String(Number(tiles.dataset.ready || 0) + 1);
}

function anomaly(m) { return m.anomaly || {}; }

// "unusual" above the card's threshold, else "normal"; "" without a threshold.
function verdict(m, value) {
  const { threshold } = anomaly(m);
  return typeof threshold !== "number" ? "" : value > threshold ? "unusual" : "normal";
}

// What the card's threshold flags: "; the card's threshold flags the top 1% of normal digits".
function flagged(models, what) {
  const rates = [...new Set(models.map((m) => anomaly(m).target_false_positive_rate))]
    .filter((rate) => typeof rate === "number").map((rate) => `${+(100 * rate).toPrecision(3)}%`);
  return rates.length ? `; the card's threshold flags the top ${rates.join(" or ")} of normal ${what}` : "";
}

// The score table: [[model, score], ...] as one group of rows per measure (the card's anomaly.score), each row with
// its card's threshold and the verdict.
function showScores(scores, what) {
  const groups = new Map();
  for (const [m, value] of scores) {
    const measure = String(anomaly(m).score ?? "measure not on the card");
    if (!groups.has(measure)) groups.set(measure, []);
    groups.get(measure).push([m, value]);
  }
  const flags = flagged(scores.map(([m]) => m), what);
  const row = ([m, value]) => {
    const said = verdict(m, value);
    return element("tr", {}, element("td", {}, breakable(m.name)),
      element("td", {}, formatted(value, 1)), element("td", {}, formatted(anomaly(m).threshold, 1)),
      element("td", { className: said }, said || "-"));
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
  drawImage(canvas, probs[0], 224);
  canvas.dataset.drawn = `${name} ${a.toFixed(2)} ${b.toFixed(2)}`;
});

// Sets slerp's input A or B for models of inputs of `shape` (the Draw view's digits are [28, 28, 1]).
function useInput(shape, which, image) {
  const key = shapeText(shape);
  state.pairs[key] = { ...state.pairs[key], [which]: image };
  updateSlerp();
}

function useDigit(which) {
  const image = padDigit();
  if (image) useInput(MNIST, which, image);
}

function slerp(a, b, t) {
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  const cos = a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));
  const omega = Math.acos(Math.max(-1, Math.min(1, cos)));
  if (omega < 1e-4) return a.map((x, i) => (1 - t) * x + t * b[i]);
  const s = Math.sin(omega);
  return a.map((x, i) => (Math.sin((1 - t) * omega) / s) * x + (Math.sin(t * omega) / s) * b[i]);
}

// A and B of the latent model's input shape drawn (or blank), and why there is no slerp yet where one is missing.
function showPair(name) {
  const { shape } = dataOf(name);
  const pair = state.pairs[shapeText(shape)] || {};
  for (const which of ["A", "B"]) {
    const canvas = document.getElementById(`digit-${which.toLowerCase()}`);
    if (pair[which]) drawImage(canvas, pair[which], 84);
    else canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }
  document.getElementById("slerp-note").textContent = pair.A && pair.B ? "" :
    `no A and B of ${name}'s input shape ${shapeText(shape)} yet`;
  return pair;
}

const updateSlerp = latest(async () => {
  const t = sliderValue("slerp-t");
  if (!state.latent) return;
  const { name } = state.latent;
  const { A, B } = showPair(name);
  if (!A || !B) return;
  const codes = await predict(name, "encode", { [dataOf(name).name]: [A, B] }, "code");
  const steps = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => slerp(codes[0], codes[1], i / 7));
  const probs = await predict(name, "decode", { code: [slerp(codes[0], codes[1], t), ...steps] }, "probs");
  const canvas = document.getElementById("slerp-image");
  drawImage(canvas, probs[0], 112);
  const strip = probs.slice(1).map((image, i) => tile((i / 7).toFixed(2), image, 56));
  document.getElementById("slerp-strip").replaceChildren(...strip);
  canvas.dataset.drawn = `${name} t=${t.toFixed(2)}`;
});

// Generators
function randomSeed() { return Math.floor(Math.random() * 100000); }

const sampleCvae = latest(async () => {
  const model = document.getElementById("cvae-model").value;
  if (!model) return;
  const digit = Number(document.getElementById("cvae-digit").value);
  const seed = randomSeed();
  const images = await predict(model, "sample", { num: 8, seed, digit }, "images");
  const row = document.getElementById("cvae-row");
  row.replaceChildren(...images.map((image) => tile(String(digit), image)));
  row.dataset.drawn = `${model} digit ${digit} seed ${seed}`;
});

// A number as the page shows a table's values: four significant digits (one decimal from 100 on).
function shown(value) {
  if (typeof value !== "number") return String(value ?? "-");
  return Math.abs(value) >= 100 ? value.toFixed(1) : String(+value.toPrecision(4));
}

// The names of a table model's columns: its card's, else "column 1", "column 2", ...
function columnsOf(model) {
  const { columns, shape } = dataOf(model);
  return columns || Array.from({ length: shape[0] }, (_, i) => `column ${i + 1}`);
}

// A table of `rows` (each a row of the model's columns), one line per row, headed by the column names.
function rowsTable(table, model, rows, label) {
  table.replaceChildren(
    element("thead", {}, element("tr", {}, element("th", { scope: "col" }, ""),
      ...columnsOf(model).map((column) => element("th", { scope: "col" }, column)))),
    element("tbody", {}, ...rows.map((row, i) => element("tr", {},
      element("th", { scope: "row" }, label(i)), ...row.map((value) => element("td", {}, shown(value)))))));
}

let gridSeed = 1;
const sampleGrid = latest(async () => {
  const model = document.getElementById("gen-model").value;
  if (!model) return;
  const seed = gridSeed;
  const data = dataOf(model);
  const rows = Boolean(data) && data.kind === "table";
  const samples = await predict(model, "sample", { num: rows ? 8 : 64, seed }, data ? data.name : "images");
  const canvas = document.getElementById("gen-grid"), table = document.getElementById("gen-table");
  canvas.hidden = rows;
  table.hidden = !rows;
  if (rows) {
    rowsTable(table, model, samples, (i) => `sample ${i + 1}`);
  } else {
    const [height, width] = imageShape(samples[0]);
    const scale = scaleFor([height, width], 56);
    canvas.width = 8 * width * scale; canvas.height = Math.ceil(samples.length / 8) * height * scale;
    samples.forEach((image, i) => {
      const tileCanvas = document.createElement("canvas");
      tileCanvas.width = width * scale; tileCanvas.height = height * scale;
      drawImage(tileCanvas, image);
      canvas.getContext("2d").drawImage(tileCanvas, (i % 8) * width * scale, Math.floor(i / 8) * height * scale);
    });
  }
  document.getElementById("gen-seed").textContent = `seed ${seed}`;
  (rows ? table : canvas).dataset.drawn = `${model} seed ${seed}`;
  delete (rows ? canvas : table).dataset.drawn;  // (hidden: it shows nothing)
});

// Reconstruct & score: any model's inputs of any shape, images or table rows.
function inputsModel() { return document.getElementById("inputs-model").value; }

function takesSamples(model) { return takesOnly(model, "sample", ["num", "seed"]); }

// An image file as an input of `shape` ([H, W, C] or [H, W]): resized to H x W, grey for C = 1.
async function imageFromFile(file, shape) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (error) {
    throw new Error(`${file.name} is not an image this browser can read`);
  }
  const [height, width] = shape, channels = shape.length === 3 ? shape[2] : 0;
  const canvas = Object.assign(document.createElement("canvas"), { width, height });
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const data = context.getImageData(0, 0, width, height).data;
  return Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => {
    const rgba = Array.from(data.slice(4 * (y * width + x), 4 * (y * width + x) + 4), (v) => v / 255);
    const grey = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2];
    return channels === 0 ? grey : channels === 1 ? [grey] : rgba.slice(0, channels);
  }));
}

// The inputs' row of the results table: the input, its reconstruction, its score and verdict, and the buttons that
// make it slerp's A or B.
async function showInputs(model, images) {
  const m = state.byName[model], data = dataOf(model);
  const recon = takesData(model, "reconstruct"), scored = takesData(model, "score");
  const slerpable = state.models.some((other) => isLatent(other) && sameShape(other.data.shape, data.shape));
  const ask = (signature, output) => (images.length ? predict(model, signature, { [data.name]: images }, output) : []);
  const [reconstructions, scores] = await Promise.all([recon ? ask("reconstruct", "probs") : null,
    scored ? ask("score", "score") : null]);
  if (inputsModel() !== model) return;  // another model was chosen meanwhile
  state.inputs = images;
  const headers = ["input", ...(recon ? ["reconstruction"] : []), ...(scored ? ["score", "verdict"] : []),
    ...(slerpable ? ["slerp"] : [])];
  const rows = images.map((image, i) => {
    const buttons = ["A", "B"].map((which) => element("button", {
      type: "button", title: `use this input as the slerp's ${which}`, onclick: () => useInput(data.shape, which, image),
    }, which));
    const said = scored ? verdict(m, scores[i]) : "";
    return element("tr", {}, element("td", {}, tile(`${i + 1}`, image, 64)),
      ...(recon ? [element("td", {}, tile("", reconstructions[i], 64))] : []),
      ...(scored ? [element("td", {}, formatted(scores[i], 1)), element("td", { className: said }, said || "-")] : []),
      ...(slerpable ? [element("td", { className: "pick" }, ...buttons)] : []));
  });
  const caption = scored
    ? `${anomaly(m).score ?? "anomaly score"} (higher = more unusual); card threshold ` +
      `${formatted(anomaly(m).threshold, 1)}${flagged([m], "inputs")}`
    : `${model} has no score endpoint`;
  document.getElementById("inputs-caption").textContent = images.length ? caption
    : "no inputs yet: use the model's samples, the drawn digit or your image files";
  const table = document.getElementById("inputs-results");
  table.replaceChildren(
    element("thead", {}, element("tr", {}, ...headers.map((header) => element("th", { scope: "col" }, header)))),
    element("tbody", {}, ...rows));
  table.dataset.model = model;
  table.dataset.ready = String(Number(table.dataset.ready || 0) + 1);
}

async function sampledInputs(model, num) {
  return predict(model, "sample", { num, seed: randomSeed() }, dataOf(model).name);
}

const useSamples = latest(async () => {
  const model = inputsModel();
  if (model) await showInputs(model, await sampledInputs(model, 8));
}, "sampling ...");

const useDrawn = latest(async () => {
  const model = inputsModel(), image = padDigit();
  if (!image) throw new Error("no digit drawn: draw one on the Draw tab");
  await showInputs(model, [image]);
});

const useFiles = latest(async () => {
  const model = inputsModel();
  const files = [...document.getElementById("inputs-files").files].slice(0, 64);
  if (!model || !files.length) return;
  const images = await Promise.all(files.map((file) => imageFromFile(file, dataOf(model).shape)));
  await showInputs(model, images);
}, "reading the images ...");

function rowFields() { return [...document.querySelectorAll("#row-fields input")]; }

// The row typed into the fields, as numbers; an error naming the first field that holds none.
function typedRow(model) {
  return rowFields().map((field, i) => {
    if (field.value.trim() === "" || !Number.isFinite(Number(field.value))) {
      throw new Error(`${columnsOf(model)[i]} needs a number`);
    }
    return Number(field.value);
  });
}

// The numbers of a pasted row (the last line, if several were pasted: a header line above it is ignored), or
// why they are not a row of the model's.
function pastedRow(text, model) {
  const lines = text.split(/\r?\n/).filter((line) => line.trim());
  const values = lines.length ? lines[lines.length - 1].split(/[\s,;]+/).filter(Boolean) : [];
  const width = columnsOf(model).length;
  const wrong = values.find((value) => !Number.isFinite(Number(value)));
  if (wrong !== undefined) return { problem: `"${wrong}" is not a number` };
  if (values.length !== width) return { problem: `${values.length} of the ${width} numbers a row has` };
  return { row: values.map(Number) };
}

function fillRow(row) { rowFields().forEach((field, i) => { field.value = String(row[i]); }); }

const scoreRow = latest(async () => {
  const model = inputsModel();
  const m = state.byName[model], data = dataOf(model);
  const row = typedRow(model);
  const ask = (signature, output) => predict(model, signature, { [data.name]: [row] }, output);
  const [scores, reconstructions] = await Promise.all([takesData(model, "score") ? ask("score", "score") : null,
    takesData(model, "reconstruct") ? ask("reconstruct", "probs") : null]);
  const result = document.getElementById("row-result");
  const parts = [];
  if (scores) {
    const said = verdict(m, scores[0]);
    parts.push(element("p", { className: "row-score" }, `score ${shown(scores[0])} (${anomaly(m).score ?? "anomaly score"}, ` +
      `higher = more unusual); card threshold ${shown(anomaly(m).threshold)}${flagged([m], "rows")}: `,
      element("span", { className: said }, said || "no threshold on the card")));
  } else {
    parts.push(element("p", {}, `${model} has no score endpoint`));
  }
  if (reconstructions) {
    const table = element("table", { className: "scores" });
    rowsTable(table, model, [row, reconstructions[0]], (i) => ["row", "reconstruction"][i]);
    parts.push(element("div", { className: "table-box" }, table));
  }
  result.replaceChildren(...parts);
  result.dataset.scored = `${model} ${row.join(" ")}`;
}, "scoring ...");

const useSampledRow = latest(async () => {
  const model = inputsModel();
  fillRow((await sampledInputs(model, 1))[0]);
  document.getElementById("row-paste").value = "";
  await scoreRow();
});

function pasted() {
  const model = inputsModel();
  const { row, problem } = pastedRow(document.getElementById("row-paste").value, model);
  document.getElementById("row-paste-note").textContent = problem || "";
  if (!row) return;
  fillRow(row);
  scoreRow();
}

const chooseInputsModel = latest(async () => {
  const model = inputsModel();
  if (!model) return;
  const data = dataOf(model), table = data.kind === "table";
  const samples = takesSamples(model);
  const about = table ? `rows of ${data.shape[0]} numbers` : `images ${shapeText(data.shape)}`;
  document.getElementById("inputs-about").textContent = `${model} takes ${about}` +
    (data.dataset ? `; trained on ${data.dataset}` : "") + (data.preprocessing ? `; ${data.preprocessing}` : "");
  document.getElementById("image-inputs").hidden = table;
  document.getElementById("row-inputs").hidden = !table;
  document.getElementById("inputs-samples").hidden = !samples;
  document.getElementById("row-sample").hidden = !samples;
  document.getElementById("inputs-drawn").hidden = !takesDigits(model);
  if (table) {
    document.getElementById("row-fields").replaceChildren(...columnsOf(model).map((column) => element("label", {},
      element("span", {}, column), element("input", { type: "number", step: "any" }))));
    document.getElementById("row-paste").value = "";
    document.getElementById("row-paste-note").textContent = "";
    document.getElementById("row-result").replaceChildren();
    if (samples) {
      fillRow((await sampledInputs(model, 1))[0]);
      await scoreRow();
    }
    return;
  }
  document.getElementById("inputs-files").value = "";
  const images = samples ? await sampledInputs(model, 8) : takesDigits(model) && state.drawn ? [padDigit()] : [];
  await showInputs(model, images);
});

// Gallery: every piece of card text set as text, never parsed as HTML.
function renderGallery() {
  const row = (name, value) => element("tr", {}, element("td", {}, name), element("td", {}, value));
  const cards = state.models.map((m) => {
    const rows = Object.entries(m.metrics).map(([k, v]) => row(k, formatted(v, k === "test_accuracy" ? 4 : 2)));
    if (m.parameters) rows.push(row("parameters", m.parameters.toLocaleString()));
    if (m.anomaly) rows.push(row("score threshold", formatted(m.anomaly.threshold, 1)));
    if (m.data) {
      if (m.data.dataset) rows.push(row("data", m.data.dataset));
      rows.push(row("input", m.data.kind === "table" ? `rows of ${m.data.shape[0]} numbers`
        : `${m.data.name} ${shapeText(m.data.shape)}`));
      if (m.data.columns) rows.push(row("columns", m.data.columns.join(", ")));
    }
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

// A model the latent explorer can move through: its card's directions, an encoder of its images alone and a decoder.
function isLatent(m) {
  return m.latent && dataOf(m.name) && dataOf(m.name).kind === "images" && takesData(m.name, "encode") &&
    takesOnly(m.name, "decode", ["code"]);
}

async function start() {
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
  setUpPad();
  state.models = (await api("/v1/models")).models;
  state.models.forEach((m) => { state.byName[m.name] = m; });
  idleStatus = `${state.models.length} model${state.models.length === 1 ? "" : "s"}`;
  status(idleStatus);
  renderGallery();
  const names = (filter) => state.models.filter(filter).map((m) => m.name);
  const drawable = state.models.some((m) => takesDigits(m.name) &&
    ["reconstruct", "score", "classify"].some((signature) => takesOnly(m.name, signature, ["images"])));
  document.querySelector("nav button[data-view=draw]").hidden = !drawable;
  if (!drawable) showView("inputs");
  fillSelect("inputs-model", names((m) => takesData(m.name, "reconstruct") || takesData(m.name, "score")), "vae_mnist");
  fillSelect("latent-model", names(isLatent), "vae_mnist");
  fillSelect("cvae-model", names((m) => takesOnly(m.name, "sample", ["num", "seed", "digit"])), "cvae_mnist");
  fillSelect("gen-model", names((m) => takesSamples(m.name) &&
    (!m.data || ["images", "table"].includes(m.data.kind))), "gan_mnist");
  fillSelect("cvae-digit", [...Array(10).keys()].map(String));
  on("inputs-model", "change", chooseInputsModel);
  on("inputs-samples", "click", useSamples);
  on("inputs-drawn", "click", useDrawn);
  on("inputs-files", "change", useFiles);
  on("row-inputs", "submit", (event) => { event.preventDefault(); scoreRow(); });
  on("row-sample", "click", useSampledRow);
  on("row-paste", "input", pasted);
  on("latent-model", "change", chooseLatentModel);
  on("pc1", "input", updateLatent);
  on("pc2", "input", updateLatent);
  on("slerp-t", "input", updateSlerp);
  ["cvae-model", "cvae-digit"].forEach((id) => on(id, "change", sampleCvae));
  on("cvae-sample", "click", sampleCvae);
  on("gen-model", "change", sampleGrid);
  on("gen-sample", "click", sampleGrid);
  on("gen-reseed", "click", () => { gridSeed = randomSeed(); sampleGrid(); });
  if (!state.models.some(isLatent)) {
    document.getElementById("latent-note").textContent = "no latent directions: no served artifact's card holds them";
  }
  await Promise.all([chooseInputsModel(), chooseLatentModel(), sampleCvae(), sampleGrid()]);
  document.body.dataset.ready = "true";
}

attempt(start);
