// rplsim serve: the page. Every number comes from the JSON API (/api/, docs/web.md); this script
// only lays them out. The charts are inline SVG drawn here: two simple charts do not need a
// charting library, and a vendored one would be ~100 kB of someone else's code to keep current.
"use strict";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const state = { scenario: "", fields: [], seq: 0, controller: null, job: null, events: null, pinned: null, last: null };
window.rplsim = { timings: [], analyticTimings: [], state };

const fmt = {
  int: (x) => (x == null ? "—" : Math.round(x).toLocaleString("en-US")),
  pct: (x, d = 1) => (x == null ? "—" : (100 * x).toFixed(d) + "%"),
  num: (x, d = 1) => (x == null ? "—" : Number(x).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d })),
};

function query(extra = {}) {
  const q = new URLSearchParams({ scenario: state.scenario });
  for (const f of state.fields) q.set(f.param, $("in-" + f.param).value.trim());
  const reps = $("replicates").value.trim();
  if (reps !== "") q.set("replicates", reps);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q.toString();
}

// the design's inputs only: a result stays current when just the replicate count changes
function designQuery(q) {
  const p = new URLSearchParams(q);
  p.delete("replicates");
  return p.toString();
}

async function api(path, opts = {}) {
  const r = await fetch(path, opts);
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  return { ok: r.ok, status: r.status, body };
}

// ----------------------------------------------------------------------------- inputs
function buildInputs(fields, given) {
  const form = $("inputs");
  form.replaceChildren();
  const groups = { trial: "Trial", recruitment: "Recruitment", prior: "Prior (assurance)" };
  for (const [group, title] of Object.entries(groups)) {
    const mine = fields.filter((f) => f.group === group);
    if (!mine.length) continue;
    const fs = document.createElement("fieldset");
    fs.innerHTML = `<legend>${title}</legend>`;
    for (const f of mine) {
      const div = document.createElement("div");
      div.className = "field";
      div.id = "field-" + f.param;
      const label = document.createElement("label");
      label.htmlFor = "in-" + f.param;
      label.textContent = f.label;
      let input;
      if (f.kind === "choice") {
        input = document.createElement("select");
        for (const c of f.choices) input.add(new Option(c, c));
      } else {
        input = document.createElement("input");
        input.type = "text";
        input.inputMode = f.kind === "toml" ? "text" : "decimal";
      }
      input.id = "in-" + f.param;
      input.name = f.param;
      input.value = given.has(f.param) ? given.get(f.param) : f.value;
      input.addEventListener("input", onInput);
      input.addEventListener("change", onInput);
      const err = document.createElement("div");
      err.className = "error";
      err.id = "err-" + f.param;
      div.append(label, input, err);
      fs.append(div);
    }
    form.append(fs);
  }
}

let debounce = null;
let inputAt = 0;
function onInput(ev) {
  inputAt = ev.timeStamp || performance.now(); // both count from the page's time origin
  clearTimeout(debounce);
  // typing gets 40 ms to finish a number; a committed change (select, Enter, blur) goes at once
  debounce = setTimeout(update, ev.type === "change" ? 0 : 40);
}

function showProblems(body) {
  for (const f of state.fields) {
    $("err-" + f.param).textContent = "";
    $("field-" + f.param).classList.remove("bad");
  }
  $("errors").textContent = "";
  if (!body) return;
  for (const [param, lines] of Object.entries(body.fields || {})) {
    const el = param && $("err-" + param);
    if (el) {
      el.textContent = lines.join("\n");
      $("field-" + param).classList.add("bad");
    } else {
      $("errors").textContent += lines.join("\n") + "\n";
    }
  }
  if (!Object.keys(body.fields || {}).length) $("errors").textContent = body.detail || String(body);
}

function blank() {
  // nothing of the last valid design stays beside the error, and nothing bad can be downloaded
  for (const id of ["n-per-arm", "power", "n-randomised", "n-screened", "years", "ivig-grams", "ivig-cost"]) $(id).textContent = "—";
  for (const id of ["method", "type1", "centres-note", "exact-note", "assurance-note"]) $(id).textContent = "";
  $("curve").replaceChildren();
  $("heatmap").replaceChildren();
  $("assurance").tBodies[0].replaceChildren();
  $("assurance-panel").hidden = true;
  for (const id of ["dl-toml", "dl-csv"]) $(id).removeAttribute("href");
  $("dl-report").disabled = true;
}

// ----------------------------------------------------------------------------- live results
async function update() {
  const seq = ++state.seq;
  const q = query();
  history.replaceState(null, "", "?" + q);
  $("dl-toml").href = "/api/scenario.toml?" + q;
  $("dl-csv").href = "/api/curve.csv?" + q;
  $("dl-report").disabled = !!state.job; // a job running keeps it off until it ends
  if (state.controller) state.controller.abort();
  const controller = (state.controller = new AbortController());
  const started = inputAt || performance.now();
  inputAt = 0;
  document.body.dataset.state = "loading";
  const shownFor = $("sim-result").dataset.query;
  $("sim-result").classList.toggle("stale", !!shownFor && shownFor !== designQuery(q));
  const get = (p) => api(`/api/${p}?${q}`, { signal: controller.signal });
  // the closed form answers in milliseconds; the exact search follows (docs/web.md, latency).
  // One after the other: run together, the search would hold the server's GIL from the first.
  let r;
  try {
    const a = await get("analytic");
    if (seq !== state.seq) return;
    if (a.ok && document.body.dataset.state === "loading") {
      showProblems(null);
      $("n-per-arm").textContent = "≈ " + fmt.int(a.body.n_per_arm);
      $("power").textContent = "≈ " + fmt.pct(a.body.power);
      $("headline").classList.add("pending");
      window.rplsim.analyticTimings.push(performance.now() - started);
    }
    r = await get("design");
  } catch (e) {
    if (e.name === "AbortError") return;
    throw e;
  }
  if (seq !== state.seq) return;
  $("headline").classList.remove("pending");
  if (!r.ok) {
    showProblems(r.body);
    blank(); // nothing is computed from a bad value
    document.body.dataset.state = "error";
    return;
  }
  showProblems(null);
  renderDesign(r.body);
  window.rplsim.timings.push(performance.now() - started);
  state.last = { query: q, design: r.body };
  document.body.dataset.state = "design";
  const [c, h, as] = await Promise.all(["curve", "sensitivity", "assurance"].map((p) => get(p).catch(() => null)));
  if (seq !== state.seq) return;
  // a chart the design cannot have (the library says why) is cleared, with the reason under it
  const failed = (r) => (r ? (r.body && r.body.detail) || `HTTP ${r.status}` : "no answer");
  $("curve").replaceChildren();
  $("heatmap").replaceChildren();
  $("curve-note").textContent = c && c.ok ? "" : failed(c);
  $("heatmap-note").textContent = h && h.ok ? "" : failed(h);
  if (c && c.ok) drawCurve(c.body);
  if (h && h.ok) drawHeat(h.body);
  if (as && as.ok) renderAssurance(as.body);
  else $("assurance-note").textContent = failed(as);
  renderSide();
  document.body.dataset.state = "ready";
}

function renderDesign(d) {
  $("n-per-arm").textContent = fmt.int(d.n_per_arm);
  $("power").textContent = fmt.pct(d.power);
  $("power").dataset.value = d.power;
  $("n-per-arm").dataset.value = d.n_per_arm;
  $("method").textContent =
    d.method === "exact" ? `exact (analytic formula: ${d.analytic_n_per_arm})` : "analytic: Simulate for the simulated search";
  $("type1").textContent = d.type1_error == null ? "" : `type-I error ${fmt.pct(d.type1_error, 2)}`;
  $("n-randomised").textContent = fmt.int(d.n_randomised);
  $("n-screened").textContent = fmt.int(d.n_screened);
  $("years").textContent = fmt.num(d.years_to_recruit, 1);
  $("centres-note").textContent = `at ${d.centres} centre${d.centres === 1 ? "" : "s"}`;
  $("ivig-grams").textContent = fmt.num(d.ivig_grams / 1000, 1) + " kg";
  $("ivig-cost").textContent = fmt.int(d.ivig_cost) + " " + d.currency;
  $("exact-note").textContent = d.exact_note;
  if (!$("replicates").value) $("replicates").placeholder = String(d.replicates);
}

function renderAssurance(a) {
  $("assurance-panel").hidden = !a.available && a.note === "the scenario has no [prior]";
  const body = $("assurance").tBodies[0];
  body.replaceChildren();
  for (const r of a.rows) {
    const tr = body.insertRow();
    for (const v of [r.prior, fmt.pct(r.assurance), fmt.pct(r.ceiling), fmt.pct(r.power_at_prior_mean), r.method]) tr.insertCell().textContent = v;
  }
  $("assurance-note").textContent = a.note;
}

// ----------------------------------------------------------------------------- charts (SVG)
function el(name, attrs, text) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}

function drawCurve(c) {
  const svg = $("curve");
  svg.replaceChildren();
  const W = 420, H = 260, L = 42, R = 12, T = 12, B = 34;
  const xs = c.rows.map((r) => r.n_per_arm);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const X = (n) => L + ((n - x0) / (x1 - x0 || 1)) * (W - L - R);
  const Y = (p) => T + (1 - p) * (H - T - B);
  for (let p = 0; p <= 1.0001; p += 0.2) {
    svg.append(el("line", { class: "grid", x1: L, x2: W - R, y1: Y(p), y2: Y(p) }));
    svg.append(el("text", { x: L - 4, y: Y(p) + 3, "text-anchor": "end" }, Math.round(p * 100) + "%"));
  }
  const step = Math.max(1, Math.round((x1 - x0) / 5));
  for (let n = x0; n <= x1; n += step) svg.append(el("text", { x: X(n), y: H - B + 14, "text-anchor": "middle" }, n));
  svg.append(el("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, "women per arm (randomised)"));
  svg.append(el("line", { class: "axis", x1: L, x2: W - R, y1: Y(0), y2: Y(0) }));
  svg.append(el("line", { class: "target", x1: L, x2: W - R, y1: Y(c.target_power), y2: Y(c.target_power) }));
  svg.append(el("line", { class: "chosen", x1: X(c.n_per_arm), x2: X(c.n_per_arm), y1: T, y2: Y(0) }));
  const pts = c.rows.map((r) => `${X(r.n_per_arm).toFixed(1)},${Y(r.power).toFixed(1)}`).join(" ");
  svg.append(el("polyline", { class: "line", points: pts }));
  const m = c.rows[0] ? c.rows[0].method : "";
  svg.append(el("text", { x: W - R, y: Y(0) - 6, "text-anchor": "end" }, `${m}; n = ${c.n_per_arm}`));
}

function heatColour(n, lo, hi) {
  if (n == null) return "#eeeeee";
  const t = Math.min(1, Math.max(0, Math.log(n / lo) / Math.log(hi / lo || 2)));
  const a = [235, 244, 255], b = [24, 64, 140];
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * t)).join(",")})`;
}

function drawHeat(h) {
  const svg = $("heatmap");
  svg.replaceChildren();
  const W = 420, H = 300, L = 46, T = 10, R = 8, B = 40;
  const cs = h.control_lbr, ts = h.treatment_lbr;
  const cw = (W - L - R) / ts.length, ch = (H - T - B) / cs.length;
  const ns = h.cells.map((c) => c.n_per_arm).filter((n) => n != null);
  const lo = Math.min(...ns), hi = Math.max(...ns);
  for (const c of h.cells) {
    const i = ts.indexOf(c.treatment_lbr), j = cs.indexOf(c.control_lbr);
    const x = L + i * cw, y = T + (cs.length - 1 - j) * ch;
    svg.append(el("rect", { x, y, width: cw - 1, height: ch - 1, fill: heatColour(c.n_per_arm, lo, hi) }));
    const t = heatColour(c.n_per_arm, lo, hi);
    const dark = c.n_per_arm != null && Math.log(c.n_per_arm / lo) / Math.log(hi / lo || 2) > 0.5;
    svg.append(el("text", { class: "cell-text", x: x + cw / 2, y: y + ch / 2, fill: dark ? "#fff" : "#222", "data-fill": t }, c.n_per_arm == null ? "–" : fmt.int(c.n_per_arm)));
  }
  ts.forEach((t, i) => svg.append(el("text", { x: L + (i + 0.5) * cw, y: H - B + 13, "text-anchor": "middle" }, fmt.pct(t, 1))));
  cs.forEach((c, j) => svg.append(el("text", { x: L - 4, y: T + (cs.length - 1 - j + 0.5) * ch + 3, "text-anchor": "end" }, fmt.pct(c, 0))));
  svg.append(el("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "IVIG live-birth rate →  (rows: placebo rate)"));
  const [pc, pt] = h.current;
  const i = ts.findIndex((t) => Math.abs(t - pt) < 1e-9), j = cs.findIndex((c) => Math.abs(c - pc) < 1e-9);
  if (i >= 0 && j >= 0) svg.append(el("rect", { class: "here", x: L + i * cw, y: T + (cs.length - 1 - j) * ch, width: cw - 1, height: ch - 1 }));
}

// ----------------------------------------------------------------------------- jobs
function follow(job, onDone, statusEl) {
  const es = new EventSource(`/api/jobs/${job.id}/events`);
  state.events = es;
  es.onmessage = (m) => {
    const s = JSON.parse(m.data);
    if (s.kind === "simulate") {
      $("progress").max = s.total || 1;
      $("progress").value = s.done;
    }
    statusEl.textContent = `${s.state}: ${s.message} ${s.total ? `${fmt.int(s.done)} / ${fmt.int(s.total)}` : ""} (${s.seconds.toFixed(1)} s)`;
    if (s.state !== "running") {
      es.close();
      if (state.job && state.job.id === s.id) state.job = null;
      $("cancel").disabled = true;
      $("simulate").disabled = false;
      $("dl-report").disabled = false;
      if (s.state === "done") onDone({ ...s, query: job.query });
      else statusEl.textContent = `${s.state}${s.error ? ": " + s.error : ""}`;
      document.body.dataset[s.kind] = s.state;
    }
  };
}

async function startJob(kind, onDone, statusEl) {
  const q = query();
  const r = await api("/api/jobs?" + query({ kind }), { method: "POST" });
  if (!r.ok) {
    statusEl.textContent = r.body.detail || String(r.body);
    if (r.status === 422) showProblems(r.body);
    document.body.dataset[kind] = "failed";
    return;
  }
  state.job = { ...r.body, query: q };
  document.body.dataset[kind] = "running";
  $("cancel").disabled = false;
  $("simulate").disabled = true;
  $("dl-report").disabled = true;
  follow(state.job, onDone, statusEl);
}

function simulated(s) {
  const r = s.result;
  const rows = [
    ["women per arm", fmt.int(r.n_per_arm) + (r.searched ? " (searched)" : "")],
    ["simulated power", `${fmt.pct(r.power)} (95% CI ${fmt.pct(r.power_ci[0])}–${fmt.pct(r.power_ci[1])})`],
    ["type-I error", fmt.pct(r.type1_error, 2)],
    ["replicates", fmt.int(r.replicates)],
    ["seconds", r.seconds.toFixed(1)],
  ];
  if (r.exact_power != null) rows.splice(2, 0, ["exact power", fmt.pct(r.exact_power)]);
  if (r.years_to_decision != null) rows.push(["years to the decision (calendar, median)", fmt.num(r.years_to_decision, 1)]);
  for (const a of r.assurance) rows.push([`assurance, ${a.prior}`, `${fmt.pct(a.assurance)} (${a.method})`]);
  const t = document.createElement("table");
  t.id = "sim-table";
  for (const [k, v] of rows) {
    const tr = t.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  $("sim-result").replaceChildren(t);
  $("sim-result").dataset.n = r.n_per_arm;
  $("sim-result").dataset.query = designQuery(s.query);
  $("sim-result").classList.remove("stale");
}

// ----------------------------------------------------------------------------- side by side
function renderSide() {
  const t = $("side");
  t.replaceChildren();
  if (!state.pinned || !state.last) return;
  const a = state.pinned.design, b = state.last.design;
  const rows = [
    ["women per arm", fmt.int(a.n_per_arm), fmt.int(b.n_per_arm)],
    ["power", fmt.pct(a.power), fmt.pct(b.power)],
    ["method", a.method, b.method],
    ["total randomised", fmt.int(a.n_randomised), fmt.int(b.n_randomised)],
    ["women to screen", fmt.int(a.n_screened), fmt.int(b.n_screened)],
    ["years of recruitment", fmt.num(a.years_to_recruit), fmt.num(b.years_to_recruit)],
    ["IVIG cost", fmt.int(a.ivig_cost), fmt.int(b.ivig_cost)],
  ];
  const head = t.createTHead().insertRow();
  for (const h of ["", "pinned", "current"]) head.append(Object.assign(document.createElement("th"), { textContent: h }));
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const v of r) tr.insertCell().textContent = v;
  }
  compare();
}

let compareSeq = 0;
async function compare() {
  const seq = ++compareSeq;
  const designs = [
    { name: "pinned", query: state.pinned.query },
    { name: "current", query: state.last.query },
  ];
  const r = await api("/api/compare", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ designs }) });
  if (seq !== compareSeq || !r.ok) return;
  const t = $("compare");
  t.replaceChildren();
  const cols = ["design", "true_control_lbr", "n_per_arm", "power", "type1_error", "expected_n_h1", "method"];
  const head = t.createTHead().insertRow();
  for (const c of ["design", "true placebo rate", "n per arm", "power", "type-I error", "expected n (H1)", "method"]) head.append(Object.assign(document.createElement("th"), { textContent: c }));
  const body = t.createTBody();
  for (const row of r.body.rows) {
    const tr = body.insertRow();
    for (const c of cols) {
      const v = row[c];
      tr.insertCell().textContent = c === "power" || c === "type1_error" || c === "true_control_lbr" ? fmt.pct(v) : typeof v === "number" ? fmt.int(v) : v;
    }
  }
}

// ----------------------------------------------------------------------------- start
async function loadScenario(name, given) {
  state.scenario = name;
  const r = await api("/api/fields?scenario=" + encodeURIComponent(name));
  if (!r.ok) {
    showProblems(r.body);
    return;
  }
  state.fields = r.body.fields;
  buildInputs(state.fields, given);
  $("replicates").value = given.get("replicates") || "";
  $("replicates").placeholder = String(r.body.replicates);
  const opt = [...$("scenario").options].find((o) => o.value === name);
  $("description").textContent = opt ? opt.title : "";
  await update();
}

async function main() {
  const given = new URLSearchParams(location.search);
  const r = await api("/api/scenarios");
  const pick = $("scenario");
  for (const s of r.body.scenarios) {
    const o = new Option(`${s.file} — ${s.name}`, s.file);
    o.title = s.description;
    pick.add(o);
  }
  const name = given.get("scenario") || r.body.default;
  pick.value = name;
  pick.addEventListener("change", () => loadScenario(pick.value, new URLSearchParams()));
  $("replicates").addEventListener("change", () => update());
  $("simulate").addEventListener("click", () => startJob("simulate", simulated, $("sim-status")));
  $("cancel").addEventListener("click", async () => {
    if (state.job) await api(`/api/jobs/${state.job.id}`, { method: "DELETE" });
  });
  $("dl-report").addEventListener("click", () =>
    startJob("report", (s) => {
      const a = $("report-link");
      a.href = `/api/jobs/${s.id}/report.html`;
      a.hidden = false;
      $("report-status").textContent = `report of n = ${s.result.n_per_arm} per arm ready (${s.seconds.toFixed(1)} s)`;
    }, $("report-status"))
  );
  $("pin").addEventListener("click", () => {
    state.pinned = state.last;
    $("unpin").hidden = false;
    $("pin-note").textContent = "Pinned. Change the inputs to compare.";
    renderSide();
  });
  $("unpin").addEventListener("click", () => {
    state.pinned = null;
    $("unpin").hidden = true;
    $("side").replaceChildren();
    $("compare").replaceChildren();
  });
  // a running job dies with its page (the event stream closing cancels it too)
  window.addEventListener("pagehide", () => {
    if (state.job) navigator.sendBeacon(`/api/jobs/${state.job.id}/cancel`);
  });
  await loadScenario(name, given);
}

main();
