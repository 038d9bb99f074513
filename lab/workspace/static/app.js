/* The workspace page: listens to /api/events (server-sent events) and draws what it hears.
 * No framework, no build step. Every text goes in with textContent (never innerHTML). Amounts arrive as
 * exact strings; they are parsed here only to place points on the chart, and every figure shown as text is
 * the server's own string. Actions are POSTs carrying the X-Lab-Action header (the server refuses any
 * action without it). */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }
  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.setAttribute("class", v);
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  function fill(el, ...children) {  // replaceChildren, with nested arrays flattened
    el.replaceChildren();
    append(el, children);
  }
  function setText(id, text) {
    const el = $(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  const state = { snap: null, chart: null, check: null, reset: null, hint: null, clockAt: 0, lastSnapAt: 0,
                  selected: null, range: "recent", toastTimer: null };

  // --- the event stream ---------------------------------------------------------------------------------
  function connect() {
    const es = new EventSource("/api/events");
    es.addEventListener("snapshot", (e) => {
      state.snap = JSON.parse(e.data);
      state.clockAt = performance.now();
      state.lastSnapAt = performance.now();
      renderSnapshot();
    });
    es.addEventListener("chart", (e) => { state.chart = JSON.parse(e.data); renderChart(); });
    es.addEventListener("check", (e) => { state.check = JSON.parse(e.data); renderCheck(); });
    es.addEventListener("reset", (e) => { state.reset = JSON.parse(e.data); renderBanner(); });
    es.addEventListener("hint", (e) => { state.hint = JSON.parse(e.data); renderHints(); });
    es.onopen = () => setConn("live");
    es.onerror = async () => {
      setConn("lost");
      try {  // a server that answers but refuses us: the token changed (the lab was made anew)
        const res = await fetch("/api/state", { credentials: "same-origin" });
        if (res.status === 403) {
          es.close();
          const el = $("banner");
          el.textContent = "This page no longer holds the workspace's token: open the URL that `bin/lab open --print-url` prints.";
          el.className = "banner bad";
          el.hidden = false;
        }
      } catch (err) {
        // the server is down: EventSource keeps trying by itself
      }
    };
  }
  function setConn(what) {
    const el = $("conn");
    el.dataset.state = what;
    el.textContent = what === "live" ? "live" : what === "lost" ? "reconnecting…" : "connecting…";
  }
  setInterval(() => {  // a stream that is open but silent is not live either
    if (state.lastSnapAt && performance.now() - state.lastSnapAt > 6000 && $("conn").dataset.state === "live") {
      setConn("lost");
    }
  }, 1000);

  // --- actions ------------------------------------------------------------------------------------------
  async function post(url, body) {
    let res;
    try {
      res = await fetch(url, { method: "POST", credentials: "same-origin",
        headers: { "X-Lab-Action": "1", "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
    } catch (err) {
      return { ok: false, error: "the workspace did not answer" };
    }
    let data = {};
    try { data = await res.json(); } catch (err) { data = {}; }
    return Object.assign({ ok: res.ok, status: res.status }, data);
  }
  function toast(text, bad) {
    const el = $("toast");
    el.textContent = text;
    el.className = "toast" + (bad ? " bad" : "");
    el.hidden = false;
    clearTimeout(state.toastTimer);
    state.toastTimer = setTimeout(() => { el.hidden = true; }, bad ? 9000 : 5000);
  }
  function confirmThen(text, okLabel, action) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    $("confirm-ok").onclick = () => { dialog.close(); action(); };
    $("confirm-cancel").onclick = () => dialog.close();
    dialog.showModal();
  }

  $("hint-btn").addEventListener("click", async () => {
    const r = await post("/api/hint");
    if (!r.ok) toast(r.error || "no hint could be given", true);
  });
  $("ship-btn").addEventListener("click", async () => {
    const r = await post("/api/ship");
    if (!r.ok) toast(r.error || "the check could not start", true);
  });
  $("reset-btn").addEventListener("click", () => {
    const seedText = $("seed").value.trim();
    const keep = $("keep-code").checked;
    const which = seedText ? `variant seed ${seedText}` : "the current variant";
    confirmThen(`Reset the lab to ${which}? The data is restored, the clock restarts and the hints go back to zero` +
      (keep ? "; dbt_project/ is left as it is." : "; dbt_project/ is restored to the shipped models (edits are saved)."),
      "Reset the lab", async () => {
        const r = await post("/api/reset", { seed: seedText === "" ? null : Number(seedText), keep_code: keep });
        if (!r.ok) toast(r.error || "the reset could not start", true);
      });
  });
  $("pause-btn").addEventListener("click", () => confirmThen(
    "Pause the shop's orders? No new orders or refunds are written until you resume.", "Pause orders",
    async () => { const r = await post("/api/orders/pause"); toast(r.ok ? "orders paused" : r.error, !r.ok); }));
  $("resume-btn").addEventListener("click", () => confirmThen(
    "Resume the shop's orders?", "Resume orders",
    async () => { const r = await post("/api/orders/resume"); toast(r.ok ? "orders resumed" : r.error, !r.ok); }));
  for (const btn of document.querySelectorAll(".range-btn")) {
    btn.addEventListener("click", () => {
      state.range = btn.dataset.range;
      for (const b of document.querySelectorAll(".range-btn")) b.setAttribute("aria-pressed", String(b === btn));
      renderChart();
    });
  }

  // --- the clock ----------------------------------------------------------------------------------------
  const two = (n) => String(n).padStart(2, "0");
  function renderClock() {
    const c = state.snap && state.snap.clock;
    if (!c) return;
    const clock = $("clock");
    const hintsText = `hints used: ${c.hints_used} / ${c.hints_total}`;
    setText("hints-used", hintsText);
    if (!c.started || c.remaining_s === null) {
      setText("countdown", "13:00");
      setText("clock-label", c.text);
      return;
    }
    const elapsed = (performance.now() - state.clockAt) / 1000;
    const left = c.remaining_s - elapsed;
    const story = new Date(Date.parse(c.story_now) + elapsed * 1000);
    const hhmmss = `${two(story.getUTCHours())}:${two(story.getUTCMinutes())}:${two(story.getUTCSeconds())}`;
    const day = story.toLocaleDateString("en-GB", { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" });
    setText("story-time", `${day} · ${hhmmss} UTC (story time)`);
    const secs = Math.floor(Math.abs(left));
    const mmss = `${two(Math.floor(secs / 60))}:${two(secs % 60)}`;
    if (left > 0) {
      setText("countdown", mmss);
      setText("clock-label", "to the board meeting");
    } else {
      setText("countdown", "+" + mmss);
      setText("clock-label", "the board meeting has started");
    }
    clock.classList.toggle("late", left <= 0);
    clock.classList.toggle("soon", left > 0 && left < 180);
  }
  setInterval(renderClock, 250);

  // --- the snapshot -------------------------------------------------------------------------------------
  function renderSnapshot() {
    const snap = state.snap;
    renderFigures(snap.figures);
    renderSymptoms(snap.symptoms || []);
    renderMap(snap.map);
    renderClock();
    renderBanner();
    const paused = snap.orders_paused;
    setText("orders-state", paused ? "Now: paused." : "Now: running.");
    if (state.selected) refreshDetail(false);
  }

  function renderFigures(f) {
    if (!f) return;
    setText("quarter", f.quarter);
    setText("tile-short", f.tile.short);
    setText("tile-exact", f.tile.exact);
    setText("erp-short", f.erp.short);
    setText("erp-exact", f.erp.exact);
    setText("gap-short", f.gap.short);
    setText("gap-exact", f.gap.value === null ? "" : `${f.gap.exact}${f.gap.direction ? " " + f.gap.direction : ""}`);
    $("gap-box").classList.toggle("zero", f.gap.value !== null && Number(f.gap.value) === 0);
  }

  function renderBanner() {
    const el = $("banner");
    const snap = state.snap || {};
    const reset = state.reset || snap.reset || {};
    let text = "";
    let bad = false;
    if (reset.running) {
      text = `Resetting the lab${reset.seed !== null && reset.seed !== undefined ? " to seed " + reset.seed : ""}… ` +
        "the figures come back by themselves when it is done.";
    } else if (reset.error) {
      text = reset.error; bad = true;
    } else if (snap.problems && snap.problems.length) {
      text = "Not everything can be read right now: " + snap.problems.join("; ");
    } else if (snap.healthy === false) {
      const down = (snap.components || []).filter((c) => !c.healthy).map((c) => c.name);
      if (down.length) { text = `Down: ${down.join(", ")} — \`bin/lab up\` starts what is down.`; bad = true; }
    }
    el.textContent = text;
    el.className = "banner" + (bad ? " bad" : "");
    el.hidden = !text;
  }

  // --- symptoms -----------------------------------------------------------------------------------------
  function highlighted(text, word) {
    if (!word || !text.includes(word)) return [text];
    const parts = text.split(word);
    const out = [];
    parts.forEach((p, i) => { out.push(p); if (i < parts.length - 1) out.push(h("mark", { text: word })); });
    return out;
  }
  function renderSymptoms(cards) {
    const root = $("symptoms");
    const nodes = cards.map((c) => h("article", { class: "card", "data-signal": c.signal, "data-key": c.key, "data-testid": "symptom" },
      h("div", { class: "card-head" },
        h("h3", { text: c.title }),
        h("span", { class: "pill" + (c.signal === "red" ? " red" : ""), text: c.signal === "red" ? "● red" : "● green" })),
      h("div", { class: "claim", text: c.claim }),
      h("dl", { class: "evidence" }, c.evidence.map(([k, v]) => [h("dt", { text: k }), h("dd", {}, highlighted(v, c.highlight))])),
      c.note ? h("div", { class: "note", text: c.note }) : null));
    fill(root, nodes);
  }

  // --- the component map --------------------------------------------------------------------------------
  function sparkline(values) {
    const w = 120, hgt = 26;
    const svg = s("svg", { class: "spark", viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: "none" });
    if (!values || values.length < 2) return svg;
    const max = Math.max(...values, 0.001);
    const pts = values.map((v, i) => `${(i / (values.length - 1)) * w},${hgt - 2 - (v / max) * (hgt - 4)}`);
    svg.append(s("polyline", { points: pts.join(" "), fill: "none", stroke: "#1d4f91", "stroke-width": 1.5 }));
    return svg;
  }
  function renderMap(map) {
    if (!map) return;
    const root = $("map");
    for (const b of map.boxes) {
      let el = root.querySelector(`[data-box="${b.id}"]`);
      if (!el) {
        el = h("button", { type: "button", class: "box", "data-box": b.id, "data-testid": "box-" + b.id,
          onclick: () => selectBox(b.id) });
        el.style.gridRow = String(b.row);
        el.style.gridColumn = String(b.col);
        root.append(el);
      }
      el.dataset.healthy = String(b.healthy);
      el.setAttribute("aria-pressed", String(state.selected === b.id));
      fill(el,
        h("span", { class: "title", text: b.title }),
        h("span", { class: "what", text: b.what }),
        h("span", { class: "state", text: b.healthy ? "healthy" : b.state || "down" }),
        b.lines.map((l) => h("span", { class: "line", text: l, title: l })),
        b.spark ? [sparkline(b.spark), h("span", { class: "spark-label", text: b.spark_label })] : null);
    }
    drawEdges(map);
  }
  function drawEdges(map) {
    const svg = $("edges");
    const wrap = $("map-wrap").getBoundingClientRect();
    const rect = (id) => {
      const el = document.querySelector(`[data-box="${id}"]`);
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { l: r.left - wrap.left, r: r.right - wrap.left, t: r.top - wrap.top, b: r.bottom - wrap.top };
    };
    const healthy = Object.fromEntries(map.boxes.map((b) => [b.id, b.healthy]));
    const defs = s("defs", {},
      s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
        s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8b96a5" })),
      s("marker", { id: "arrow-down", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
        s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#c0392b" })));
    const paths = [];
    for (const [from, to] of map.edges) {
      const a = rect(from), b = rect(to);
      if (!a || !b) continue;
      const down = !(healthy[from] && healthy[to]);
      let d;
      if (Math.abs(a.t - b.t) < 5) {
        const y = (a.t + a.b) / 2;
        d = `M${a.r},${y} L${b.l - 2},${(b.t + b.b) / 2}`;
      } else {
        const x = Math.min((a.l + a.r) / 2, b.l - 14);
        const y = (b.t + b.b) / 2;
        d = `M${x},${a.b} L${x},${y} L${b.l - 2},${y}`;
      }
      paths.push(s("path", { d, class: "edge" + (down ? " down" : ""), "marker-end": `url(#${down ? "arrow-down" : "arrow"})` }));
    }
    svg.replaceChildren(defs, ...paths);
  }
  window.addEventListener("resize", () => { if (state.snap) drawEdges(state.snap.map); renderChart(); });

  async function selectBox(id) {
    state.selected = state.selected === id ? null : id;
    for (const el of document.querySelectorAll(".box")) el.setAttribute("aria-pressed", String(el.dataset.box === state.selected));
    if (!state.selected) {
      $("detail").hidden = true;
      if (document.activeElement) document.activeElement.blur();
      return;
    }
    await refreshDetail(true);
  }
  let detailBusy = false;
  let detailAt = 0;
  async function refreshDetail(force) {
    if (detailBusy || (!force && performance.now() - detailAt < 3000)) return;
    detailBusy = true;
    detailAt = performance.now();
    try {
      const res = await fetch(`/api/components/${encodeURIComponent(state.selected)}`, { credentials: "same-origin" });
      const data = await res.json();
      if (!res.ok) { toast(data.error || "no details", true); return; }
      renderDetail(data);
    } catch (err) {
      // the next snapshot tries again
    } finally {
      detailBusy = false;
    }
  }
  function renderDetail(d) {
    const box = d.box || {};
    const comp = d.component || {};
    $("detail").hidden = false;
    setText("detail-title", `${box.title || ""} — component ${comp.name || "?"}`);
    const facts = [["what", box.what], ["component", d.description], ["health", comp.healthy ? "healthy" : "DOWN"],
      ["detail", comp.detail], ["port", comp.port ? `127.0.0.1:${comp.port}` : "—"], ["running as", comp.handle || "not running"],
      ...(box.lines || []).map((l, i) => [i === 0 ? "now" : "", l])];
    fill($("detail-facts"), facts.filter(([, v]) => v).map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
    setText("log-where", `last lines of ${d.log.where}`);
    const pre = $("detail-log");
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = d.log.lines || "(the log is empty)";
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }
  $("detail-close").addEventListener("click", () => selectBox(state.selected));

  // --- the chart ----------------------------------------------------------------------------------------
  function niceStep(span, ticks) {
    const raw = span / ticks;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
    return 10 * mag;
  }
  function fmtAxis(v) {
    if (Math.abs(v) >= 1e6) return "$" + (v / 1e6).toFixed(v % 1e6 === 0 ? 0 : 1) + "M";
    if (Math.abs(v) >= 1e3) return "$" + Math.round(v / 1e3) + "k";
    return "$" + Math.round(v);
  }
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const shortDate = (iso) => `${Number(iso.slice(8, 10))} ${MONTHS[Number(iso.slice(5, 7)) - 1]}`;

  function renderChart() {
    const svg = $("chart"), bars = $("drift");
    if (!state.chart || !state.chart.rows.length) return;
    let rows = state.chart.rows;
    if (state.range === "recent") rows = rows.slice(-21);
    const driftDays = new Set(state.chart.drift_days);
    const W = Math.max(svg.clientWidth, 400), H = svg.clientHeight || 300;
    const padL = 64, padR = 180, padT = 16, padB = 28;
    const n = rows.length;
    const erp = rows.map((r) => Number(r.erp)), dash = rows.map((r) => Number(r.dashboard));
    const x = (i) => padL + (n === 1 ? 0 : (i * (W - padL - padR)) / (n - 1));
    let lo = Math.min(...erp, ...dash), hi = Math.max(...erp, ...dash);
    lo = state.range === "q2" ? 0 : lo - (hi - lo) * 0.15;
    const step = niceStep(hi - lo || 1, 5);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil((hi * 1.04) / step) * step;
    const y = (v) => padT + (H - padT - padB) * (1 - (v - lo) / (hi - lo || 1));
    const half = n > 1 ? (x(1) - x(0)) / 2 : 10;

    const grid = s("g", { class: "axis" });
    for (let v = lo; v <= hi + 1e-6; v += step) {
      grid.append(s("line", { x1: padL, x2: W - padR, y1: y(v), y2: y(v) }),
        s("text", { x: padL - 8, y: y(v) + 4, "text-anchor": "end", text: fmtAxis(v) }));
    }
    rows.forEach((r, i) => {
      if (r.date.endsWith("-01") || i === n - 1 || (state.range === "recent" && i % 7 === 0)) {
        grid.append(s("text", { x: x(i), y: H - 8, "text-anchor": i === n - 1 ? "end" : "middle", text: shortDate(r.date) }));
      }
    });
    const band = s("g", {});
    const between = s("g", {});
    rows.forEach((r, i) => {
      if (!driftDays.has(r.date)) return;
      band.append(s("rect", { x: x(i) - half, y: padT, width: 2 * half, height: H - padT - padB, fill: "#fdecea" }));
      if (i > 0) {
        const pts = [[x(i - 1), y(dash[i - 1])], [x(i), y(dash[i])], [x(i), y(erp[i])], [x(i - 1), y(erp[i - 1])]];
        between.append(s("polygon", { points: pts.map((p) => p.join(",")).join(" "), fill: "#f3b6ab", opacity: 0.8 }));
      }
    });
    const line = (vals, colour, width) => s("polyline", { points: vals.map((v, i) => `${x(i)},${y(v)}`).join(" "),
      fill: "none", stroke: colour, "stroke-width": width, "stroke-linejoin": "round" });
    const last = rows[n - 1];
    const labels = s("g", {},
      s("text", { x: x(n - 1) + 10, y: y(dash[n - 1]) + 5, fill: "#d4471c", "font-weight": 700, "font-size": 15,
        text: `dashboard ${fmtShort(last.dashboard)}` }),
      s("text", { x: x(n - 1) + 10, y: y(erp[n - 1]) + 5, fill: "#1d4f91", "font-weight": 700, "font-size": 15,
        text: `ERP ${fmtShort(last.erp)}` }));
    const firstDrift = rows.findIndex((r) => driftDays.has(r.date));
    const note = firstDrift >= 0 ? s("text", { x: x(firstDrift) - half - 6, y: padT + 14, "text-anchor": "end",
      fill: "#c0392b", "font-size": 14, "font-weight": 600, text: `refund flow v2 live ${shortDate(rows[firstDrift].date)} →` }) : null;
    const tip = s("g", { class: "tip", visibility: "hidden" });
    svg.replaceChildren(band, grid, between, line(erp, "#1d4f91", 3), line(dash, "#d4471c", 3), labels, note || "", tip);
    svg.onmousemove = (ev) => {
      const box = svg.getBoundingClientRect();
      const i = Math.max(0, Math.min(n - 1, Math.round(((ev.clientX - box.left - padL) / (W - padL - padR)) * (n - 1))));
      const r = rows[i];
      const lines = [shortDate(r.date), `dashboard ${r.dashboard_text}`, `ERP ${r.erp_text}`, `gap ${r.gap_text}`];
      const tx = Math.min(x(i) + 10, W - 230);
      tip.replaceChildren(s("line", { x1: x(i), x2: x(i), y1: padT, y2: H - padB, stroke: "#16202c", "stroke-dasharray": "3 3" }),
        s("rect", { x: tx, y: padT + 20, width: 220, height: 84, rx: 6 }),
        ...lines.map((t, k) => s("text", { x: tx + 10, y: padT + 40 + k * 18, text: t, "font-weight": k === 0 ? 700 : 400 })));
      tip.setAttribute("visibility", "visible");
    };
    svg.onmouseleave = () => tip.setAttribute("visibility", "hidden");

    // the drift: how much the gap grew each day
    const BW = Math.max(bars.clientWidth, 400), BH = bars.clientHeight || 120;
    const drift = rows.map((r) => Number(r.drift));
    const dmax = Math.max(...drift.map(Math.abs), 1);
    const by = (v) => 10 + (BH - 34) * (1 - Math.max(v, 0) / (dmax * 1.15));
    const g = s("g", {});
    g.append(s("line", { x1: padL, x2: BW - padR, y1: by(0), y2: by(0), stroke: "#c7ccd4" }));
    rows.forEach((r, i) => {
      const v = drift[i];
      if (v === 0) return;
      const top = by(Math.abs(v));
      g.append(s("rect", { x: x(i) - half * 0.7, y: top, width: half * 1.4, height: by(0) - top, fill: v > 0 ? "#c0392b" : "#1d4f91", rx: 2 }));
      if (driftDays.has(r.date) && half >= 21) {
        g.append(s("text", { x: x(i), y: top - 4, "text-anchor": "middle", "font-size": 11, fill: "#16202c",
          text: r.drift_text }));
      }
    });
    const axis = s("g", { class: "axis" });
    rows.forEach((r, i) => {
      if (r.date.endsWith("-01") || i === n - 1 || (state.range === "recent" && i % 7 === 0)) {
        axis.append(s("text", { x: x(i), y: BH - 4, "text-anchor": i === n - 1 ? "end" : "middle", text: shortDate(r.date) }));
      }
    });
    bars.replaceChildren(g, axis);
    setText("drift-summary", state.chart.drift_summary ? "— " + state.chart.drift_summary : "");
  }
  function fmtShort(text) {  // for the chart's end labels only; the exact figures are the server's strings
    const v = Number(text);
    return Math.abs(v) >= 1e6 ? "$" + (v / 1e6).toFixed(2) + "M" : fmtAxis(v);
  }

  // --- hints --------------------------------------------------------------------------------------------
  function renderHints() {
    const hint = state.hint || {};
    const shown = hint.shown || [];
    $("hints-panel").hidden = !shown.length;
    fill($("hint-list"), shown.map((x) => h("li", { value: x.number, text: x.text, "data-testid": "hint" })));
    if (hint.text && hint.number && state.hintsSeen !== undefined && hint.number !== state.hintsSeen) {
      toast(`Hint ${hint.number} of ${hint.total} — shown at the top of the page`);
    }
    state.hintsSeen = hint.number;
  }

  // --- Ship the fix -------------------------------------------------------------------------------------
  const ICON = { pass: "✓", fail: "✗", error: "!", skip: "–" };
  let shipTimer = null;
  function renderCheck() {
    const c = state.check || {};
    const status = $("ship-status");
    clearInterval(shipTimer);
    if (c.running && !c.verdict) {
      const tick = () => {
        const secs = Math.max(0, Math.round(Date.now() / 1000 - c.started_at));
        status.textContent = `Checking your working tree… ${c.phase ? "now: " + c.phase + " · " : ""}${secs} s`;
      };
      tick();
      shipTimer = setInterval(tick, 1000);
      status.className = "ship-status running";
    } else if (c.id) {
      status.className = "ship-status";
      status.textContent = c.verdict || c.finished_at ? `Check #${c.id} finished.` : "";
    } else {
      status.className = "ship-status";
      status.textContent = "";
    }
    const order = (k) => (k.number === null ? 99 : k.number);  // as decided, in the order of the criteria
    const criteria = (c.criteria || []).slice().sort((a, b) => order(a) - order(b));
    fill($("criteria"), criteria.map((k) => {
      const guard = k.number === null;
      const title = guard ? k.title.charAt(0).toUpperCase() + k.title.slice(1) : `${k.number}. ${k.title}`;
      const score = guard && k.max_score ? ` — ${k.score}/${k.max_score} caught` : "";
      return h("li", { class: "criterion", "data-status": k.status, "data-testid": "criterion", "data-key": k.key },
        h("span", { class: "icon", text: ICON[k.status] || "?" }),
        h("span", { class: "ctitle", text: title + score }),
        k.message ? h("span", { class: "cmsg", text: k.message }) : null);
    }));
    renderVerdict(c);
    renderPostmortem(c.postmortem);
  }
  function renderVerdict(c) {
    const el = $("verdict");
    const v = c.verdict;
    if (!v && !c.error) { el.hidden = true; el.replaceChildren(); return; }
    const status = v ? v.status : "error";
    el.dataset.status = status;
    const word = { pass: "PASS", fail: "FAIL", error: "ERROR" }[status] || status.toUpperCase();
    const facts = status === "pass" ? h("div", { class: "facts",
      text: `Time to fix: ${v.time_to_fix} · hints used: ${v.hints_used ?? "?"}` }) : null;
    const reasons = v ? v.reasons : [c.error];
    fill(el, h("div", { class: "word", text: word }), facts,
      status === "pass" ? h("p", { text: reasons[0] }) : h("ul", {}, reasons.map((r) => h("li", { text: r }))),
      v && v.duration ? h("div", { class: "h-note", text: `the check took ${v.duration}` }) : null);
    el.hidden = false;
  }
  function renderPostmortem(pm) {
    const el = $("postmortem");
    if (!pm) { el.hidden = true; el.replaceChildren(); return; }
    if (el.dataset.rendered === JSON.stringify(pm).length + "" && !el.hidden) return;
    el.dataset.rendered = JSON.stringify(pm).length + "";
    const g = pm.guard_result;
    let guard;
    if (g) {
      guard = [h("div", { class: "guard-score", text: `${g.score} of ${g.max_score} wrong variants caught by your tests` }),
        h("p", { text: pm.guard.text }),
        h("table", { class: "guard-table" },
          h("thead", {}, h("tr", {}, h("th", { text: "if the models had…" }), h("th", { text: "your tests" }), h("th", { text: "caught by" }))),
          h("tbody", {}, g.variants.map((v) => h("tr", {},
            h("td", { text: v.description }),
            h("td", { class: v.caught ? "yes" : "no", text: v.caught ? "would have caught it" : "would NOT have caught it" }),
            h("td", { text: v.caught ? v.caught_by.join(", ") : (v.problem || "no test failed") })))))];
    } else {
      guard = [h("p", { text: pm.guard.not_judged })];
    }
    fill(el,
      h("h2", { text: pm.title }),
      h("h3", { text: pm.changed.heading }), h("p", { text: pm.changed.text }),
      h("h3", { text: pm.green.heading }), h("ul", {}, pm.green.items.map((t) => h("li", { text: t }))),
      h("h3", { text: pm.guard.heading }), guard,
      h("h3", { text: pm.others.heading }), h("p", { text: pm.others.text }),
      h("div", { class: "ways" }, pm.others.ways.map((w) => h("div", { class: "way" }, h("h4", { text: w.name }), h("p", { text: w.how })))));
    el.hidden = false;
  }

  connect();
})();
