// deepscreen live page: renders /api/events (server-sent events), falls back to polling
// /api/state. Plain DOM, no framework, no build step, nothing fetched from elsewhere.
"use strict";

const streamsEl = document.getElementById("streams");
const connEl = document.getElementById("conn");
const runEl = document.getElementById("run");
const cards = new Map();

function setConn(state, text) {
  connEl.dataset.state = state;
  connEl.textContent = text;
}

function fmt(p) {
  return p === null || p === undefined ? "-" : p.toFixed(3);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function card(name) {
  let c = cards.get(name);
  if (c) return c;
  const root = el("section", "stream");
  root.dataset.stream = name;
  const top = el("div", "top");
  const title = el("span", "name", name);
  const verdict = el("span", "verdict", "uncertain");
  top.append(title, verdict);
  const stats = el("div", "stats");
  const canvas = document.createElement("canvas");
  canvas.width = 600;
  canvas.height = 160;
  const tracks = el("div", "tracks");
  root.append(top, stats, canvas, tracks);
  c = { root, verdict, stats, canvas, tracks, imgs: new Map() };
  cards.set(name, c);
  return c;
}

function stat(label, value) {
  const s = el("span");
  s.append(label + " ", el("b", "", String(value)));
  return s;
}

function drawHistory(canvas, history) {
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#2a323b";
  g.lineWidth = 1;
  for (const y of [0.25, 0.5, 0.75]) {
    g.beginPath(); g.moveTo(0, h - y * h); g.lineTo(w, h - y * h); g.stroke();
  }
  g.fillStyle = "#8b96a1";
  g.font = "20px system-ui, sans-serif";
  g.fillText("p_fake", 8, 22);
  g.fillStyle = "#4ea1ff";
  g.fillText("stream score", 90, 22);
  g.fillStyle = "#6b7580";
  g.fillText("face crops", 230, 22);
  if (history.length < 2) return;
  const t0 = history[0][0], t1 = history[history.length - 1][0];
  const span = Math.max(t1 - t0, 1);
  // column 2: mean p_fake of the crops classified in each sample; column 1: the stream score
  line(g, history, 2, t0, span, w, h, "#6b7580", 2);
  line(g, history, 1, t0, span, w, h, "#4ea1ff", 3);
}

function line(g, history, col, t0, span, w, h, color, width) {
  g.strokeStyle = color;
  g.lineWidth = width;
  g.beginPath();
  let started = false;
  for (const p of history) {
    if (p[col] === null || p[col] === undefined) { started = false; continue; }
    const x = ((p[0] - t0) / span) * (w - 4) + 2;
    const y = h - p[col] * (h - 4) - 2;
    if (started) g.lineTo(x, y); else g.moveTo(x, y);
    started = true;
  }
  g.stroke();
}

function renderTracks(c, s) {
  const frag = document.createDocumentFragment();
  for (const t of s.tracks) {
    const box = el("div", "track" + (t.visible ? "" : " gone"));
    box.dataset.track = t.track;
    box.dataset.verdict = t.verdict;
    if (t.crop !== null) {
      const key = t.track + ":" + t.crop;
      let img = c.imgs.get(key);
      if (!img) {  // a new crop version: fetch it once, keep the element while it is current
        img = document.createElement("img");
        img.alt = "track " + t.track;
        img.src = "api/crop?stream=" + encodeURIComponent(s.stream) + "&track=" + t.track +
          "&v=" + t.crop;
        c.imgs.set(key, img);
      }
      box.append(img);
    } else {
      box.append(el("div", "noimg"));
    }
    // The score that decided the track's verdict (its voter's rule score), not one frame's
    // p_fake: a label reading "real p=0.79" under a 0.64 threshold looked like a contradiction.
    box.append(el("div", "", "#" + t.track + " " + t.verdict),
      el("div", "", "score " + fmt(t.p_fake)));
    frag.append(box);
  }
  const keep = new Set(s.tracks.map((t) => t.track + ":" + t.crop));
  for (const key of [...c.imgs.keys()]) if (!keep.has(key)) c.imgs.delete(key);
  c.tracks.replaceChildren(frag);
}

function render(snap) {
  if (!snap.streams.length) return;
  const empty = streamsEl.querySelector(".empty");
  if (empty) empty.remove();
  runEl.textContent = (snap.running ? "running " : "finished ") + snap.time.toFixed(0) + " s";
  document.body.dataset.running = snap.running ? "1" : "0";
  for (const s of snap.streams) {
    const c = card(s.stream);
    if (!c.root.isConnected) streamsEl.append(c.root);
    c.root.dataset.verdict = s.verdict;
    // No verdict yet: say why (e.g. "faces too small or soft": the faces are below the floor).
    c.verdict.textContent = s.verdict === "uncertain" && s.reason ? s.verdict + ": " + s.reason
      : s.verdict;
    c.verdict.className = "verdict " + s.verdict;
    c.stats.replaceChildren(
      stat("p_fake", fmt(s.p_fake)), stat("fps", s.fps.toFixed(1)),
      stat("processed", s.processed), stat("dropped", s.dropped),
      stat("faces", s.classified), stat("source", s.state));
    if (s.history) drawHistory(c.canvas, s.history);
    renderTracks(c, s);
  }
}

let polling = null;

function poll() {
  fetch("api/state", { cache: "no-store" })
    .then((r) => r.json())
    .then((snap) => {
      if (polling) setConn("live", "polling");  // the first poll only fills the page
      render(snap);
    })
    .catch(() => setConn("lost", "engine not reachable"));
}

function connect() {
  if (!window.EventSource) {
    polling = setInterval(poll, 1000);
    return;
  }
  const es = new EventSource("api/events");
  es.onopen = () => setConn("live", "live");
  es.onmessage = (m) => render(JSON.parse(m.data));
  es.onerror = () => setConn("lost", "reconnecting");  // EventSource retries by itself
}

poll();
connect();
