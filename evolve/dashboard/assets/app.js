// arbor dashboard: hand-written, no dependencies, no build step.
// Every string that comes from a run (source, LLM text, rationales, module
// names) is put on the page with text nodes only, never parsed as HTML.
"use strict";

(function () {
  const app = document.getElementById("app");
  const crumbs = document.getElementById("crumbs");
  const tip = document.getElementById("tip");
  const liveDot = document.getElementById("live");
  const SVGNS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000", "#b8a300"];

  // ---- DOM helpers (text only) ----
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    setProps(el, props);
    append(el, kids);
    return el;
  }
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVGNS, tag);
    setProps(el, attrs);
    append(el, kids);
    return el;
  }
  function setProps(el, props) {
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = String(v);
      else el.setAttribute(k, String(v));
    }
  }
  function append(el, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === undefined || k === null || k === false) continue;
      el.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
    }
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  // ---- formatting ----
  const fmtPct = (v) => (v || v === 0) ? v.toFixed(2) + "%" : "-";
  // human writes 5210 as 5.2k; digits (default 2 for M and G, 1 for k)
  // is raised by tick labels that would otherwise repeat.
  function human(n, digits) {
    if (n === undefined || n === null) return "-";
    const a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(digits === undefined ? 2 : digits) + "G";
    if (a >= 1e6) return (n / 1e6).toFixed(digits === undefined ? 2 : digits) + "M";
    if (a >= 1e3) return (n / 1e3).toFixed(digits === undefined ? 1 : digits) + "k";
    return digits === undefined ? String(n) : String(+n.toFixed(digits));
  }
  // tickLabels formats ticks so that no two read the same: a narrow
  // range (5,210 to 5,260 parameters) gets more digits, not five "5.2k".
  function tickLabels(ticks, f) {
    const labels = ticks.map((t) => f ? f(t) : String(t));
    if (f !== human || new Set(labels).size === labels.length) return labels;
    for (let d = 2; d <= 6; d++) {
      const l = ticks.map((t) => human(t, d));
      if (new Set(l).size === l.length) return l;
    }
    return ticks.map((t) => t.toLocaleString());
  }
  function dur(sec) {
    if (sec === undefined || sec === null || sec < 0) return "?";
    sec = Math.round(sec);
    if (sec < 60) return sec + "s";
    if (sec < 3600) return Math.floor(sec / 60) + "m" + String(sec % 60).padStart(2, "0") + "s";
    return Math.floor(sec / 3600) + "h" + String(Math.floor(sec % 3600 / 60)).padStart(2, "0") + "m";
  }
  const usd = (v) => "$" + (v || 0).toFixed(4);

  // ---- data ----
  async function api(path) {
    const r = await fetch(path, { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
    return r.json();
  }
  const q = (o) => new URLSearchParams(o).toString();

  // ---- tooltip ----
  function showTip(ev, text) {
    tip.textContent = text;
    tip.hidden = false;
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hideTip() { tip.hidden = true; }

  // ---- routing ----
  let route = {};
  let current = null; // {run, refresh(): Promise}
  function parseRoute() {
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    if (parts[0] === "run" && parts[1]) {
      if (parts[2] === "c" && parts[3]) return { page: "candidate", run: parts[1], id: parts[3] };
      if (parts[2] === "lineage") return { page: "lineage", run: parts[1] };
      return { page: "run", run: parts[1] };
    }
    if (parts[0] === "bench" && parts[1]) return { page: "bench", name: parts[1] };
    if (parts[0] === "compare" && parts[1] === "runs" && parts[2]) return { page: "compare", runs: parts[2].split(",") };
    if (parts[0] === "compare" && parts[1] === "bench" && parts[2]) return { page: "compare", bench: parts[2] };
    return { page: "home" };
  }
  const runLink = (run) => "#/run/" + encodeURIComponent(run);
  const candLink = (run, id) => runLink(run) + "/c/" + encodeURIComponent(id);
  function go(hash) { location.hash = hash; }

  function setCrumbs(...items) {
    clear(crumbs);
    for (const [label, href] of items) crumbs.appendChild(href ? h("a", { href }, label) : h("span", null, label));
  }

  // gen counts navigations: a page's late answer (or a live refresh that
  // was under way) must not draw over the page shown since.
  let gen = 0;
  async function render() {
    route = parseRoute();
    hideTip();
    current = null;
    const my = ++gen, alive = () => my === gen;
    const pages = { home: pageHome, run: pageRun, candidate: pageCandidate, lineage: pageLineage, bench: pageBench, compare: pageCompare };
    try {
      const view = await pages[route.page](route, alive);
      if (alive()) current = view;
    } catch (e) {
      if (!alive()) return;
      clear(app);
      app.appendChild(h("p", { class: "err" }, String(e.message || e)));
    }
  }
  window.addEventListener("hashchange", render);

  // ---- live updates: server-sent events say which run changed ----
  let pending = false, lastRefresh = 0;
  function scheduleRefresh() {
    if (pending || !current || !current.refresh) return;
    pending = true;
    // At most one refresh a second, and none while the tab is hidden.
    const wait = Math.max(0, 1000 - (Date.now() - lastRefresh));
    setTimeout(async function tick() {
      if (document.hidden) { document.addEventListener("visibilitychange", tick, { once: true }); return; }
      pending = false;
      lastRefresh = Date.now();
      try { if (current && current.refresh) await current.refresh(); } catch (e) { console.warn("refresh", e); }
    }, wait);
  }
  function connectLive() {
    const es = new EventSource("/api/events");
    es.onopen = () => liveDot.classList.add("on");
    es.onerror = () => liveDot.classList.remove("on");
    es.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (!current) return;
      if ((msg.runs && current.home) || (msg.run && msg.run === current.run) || current.home ||
        (msg.run && current.compare && current.compare(msg.run))) scheduleRefresh();
    };
  }

  // ---- charts ----
  function nice(lo, hi, n) {
    if (!isFinite(lo) || !isFinite(hi)) { lo = 0; hi = 1; }
    if (lo === hi) { lo -= 1; hi += 1; }
    const span = hi - lo, step0 = span / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => span / st <= n) || 10 * mag;
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
    return ticks;
  }
  // chart draws series of points: {name, color, points:[{x,y,id}], line, step, dots, r, band}
  function chart(o) {
    const W = o.width || 620, H = o.height || 300, m = { l: 56, r: 14, t: 10, b: 40 };
    let xs = [], ys = [];
    for (const se of o.series) for (const p of se.points) { xs.push(p.x); ys.push(p.y); if (p.lo !== undefined) { ys.push(p.lo, p.hi); } }
    if (o.xmin !== undefined) xs.push(o.xmin);
    if (o.extraX) xs.push(...o.extraX);
    const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": o.title || "" });
    if (xs.length === 0) {
      svg.appendChild(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", text: o.empty || "no data yet" }));
      return svg;
    }
    let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (o.ymin !== undefined) y0 = Math.min(y0, o.ymin);
    if (o.ymax !== undefined) y1 = Math.max(y1, o.ymax);
    const pad = (y1 - y0) * 0.06 || 1;
    y0 -= pad; y1 += pad;
    if (o.ymin !== undefined && y0 < o.ymin) y0 = o.ymin;
    if (o.ymax !== undefined && y1 > o.ymax) y1 = o.ymax;
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    const X = (v) => m.l + (v - x0) / (x1 - x0) * (W - m.l - m.r);
    const Y = (v) => H - m.b - (v - y0) / (y1 - y0) * (H - m.t - m.b);
    const grid = s("g", { class: "grid" }), axis = s("g", { class: "axis" });
    const yt = nice(y0, y1, 6), yl = tickLabels(yt, o.yfmt);
    yt.forEach((t, i) => {
      grid.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: Y(t), y2: Y(t) }));
      axis.appendChild(s("text", { x: m.l - 6, y: Y(t) + 4, "text-anchor": "end", text: yl[i] }));
    });
    const xt = nice(x0, x1, 7), xl = tickLabels(xt, o.xfmt);
    xt.forEach((t, i) => {
      grid.appendChild(s("line", { y1: m.t, y2: H - m.b, x1: X(t), x2: X(t) }));
      axis.appendChild(s("text", { class: "xtick", x: X(t), y: H - m.b + 15, "text-anchor": "middle", text: xl[i] }));
    });
    axis.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
    axis.appendChild(s("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
    axis.appendChild(s("text", { x: (m.l + W - m.r) / 2, y: H - 6, "text-anchor": "middle", text: o.xlabel || "" }));
    axis.appendChild(s("text", { x: 12, y: (m.t + H - m.b) / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})`, text: o.ylabel || "" }));
    svg.appendChild(grid);
    svg.appendChild(axis);
    for (const v of (o.vlines || [])) {
      if (v.x < x0 || v.x > x1) continue;
      svg.appendChild(s("line", { x1: X(v.x), x2: X(v.x), y1: m.t, y2: H - m.b, stroke: "#333", "stroke-dasharray": "4 3" }));
      svg.appendChild(s("text", { x: X(v.x) - 4, y: m.t + 10, "text-anchor": "end", text: v.label }));
    }
    for (const se of o.series) {
      const pts = se.points;
      if (se.band && pts.length) {
        const up = pts.map((p) => `${X(p.x)},${Y(p.hi)}`), dn = pts.slice().reverse().map((p) => `${X(p.x)},${Y(p.lo)}`);
        svg.appendChild(s("polygon", { points: up.concat(dn).join(" "), fill: se.color, "fill-opacity": 0.15, stroke: "none" }));
      }
      if (se.line && pts.length) {
        let d = "";
        pts.forEach((p, i) => {
          if (i === 0) d += `M${X(p.x)},${Y(p.y)}`;
          else if (se.step) d += `H${X(p.x)}V${Y(p.y)}`;
          else d += `L${X(p.x)},${Y(p.y)}`;
        });
        if (se.step && se.extendTo !== undefined && pts.length) d += `H${X(se.extendTo)}`;
        svg.appendChild(s("path", { d, fill: "none", stroke: se.color, "stroke-width": se.width || 2 }));
      }
      if (se.dots) {
        const g = s("g");
        for (const p of pts) {
          const c = s("circle", { class: p.id ? "pt" : null, cx: X(p.x), cy: Y(p.y), r: se.r || 3, fill: se.color, "fill-opacity": se.opacity || 0.85 });
          if (p.id) {
            c.addEventListener("mousemove", (ev) => showTip(ev, (o.tip ? o.tip(p, se) : p.id)));
            c.addEventListener("mouseleave", hideTip);
            c.addEventListener("click", () => { hideTip(); if (o.onclick) o.onclick(p); });
          }
          g.appendChild(c);
        }
        svg.appendChild(g);
      }
    }
    return svg;
  }
  function legend(items) {
    return h("div", { class: "legend" }, items.map(([name, color]) => {
      const el = h("span", null, name);
      el.style.setProperty("--c", color);
      return el;
    }));
  }
  function bars(items, color) {
    const W = 620, rowH = 22, m = { l: 150, r: 60 };
    const H = Math.max(30, items.length * rowH + 8);
    const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}` });
    if (!items.length) { svg.appendChild(s("text", { x: W / 2, y: 20, "text-anchor": "middle", text: "none" })); return svg; }
    const mx = Math.max(...items.map((i) => i[1]));
    items.forEach(([name, n, c], i) => {
      const w = mx ? (W - m.l - m.r) * n / mx : 0, y = 4 + i * rowH;
      svg.appendChild(s("text", { x: m.l - 8, y: y + 14, "text-anchor": "end", text: name }));
      svg.appendChild(s("rect", { x: m.l, y, width: Math.max(1, w), height: rowH - 6, fill: c || color, rx: 2 }));
      svg.appendChild(s("text", { x: m.l + w + 6, y: y + 14, text: n }));
    });
    return svg;
  }

  // ---- home: every run and bench directory ----
  async function pageHome(rt, alive) {
    setCrumbs();
    const data = await api("/api/runs");
    if (!alive()) return null;
    const view = { home: true, refresh: async () => { const d = await api("/api/runs"); if (alive()) draw(d); } };
    const selected = new Set();
    function draw(d) {
      clear(app);
      app.appendChild(h("h1", null, "Runs"));
      if (!d.runs.length && !d.benches.length) app.appendChild(h("p", { class: "muted" }, "No run found yet; runs started under the given directories appear here."));
      const cmp = h("button", { id: "compare-selected", onclick: () => go("#/compare/runs/" + encodeURIComponent([...selected].join(","))) });
      const setCmp = () => { cmp.textContent = `compare ${selected.size} selected runs`; cmp.disabled = selected.size < 2; };
      setCmp();
      if (d.runs.length > 1) app.appendChild(h("div", { class: "filters" }, cmp, h("span", { class: "muted" }, "tick runs to draw them on one chart (runs of one strategy form a band over their seeds)")));
      const list = h("div", { class: "runs-list" });
      for (const o of d.runs) {
        const box = h("input", { type: "checkbox", class: "pick", "data-run": o.name, title: "select for comparison",
          onchange: (e) => { if (e.target.checked) selected.add(o.name); else selected.delete(o.name); setCmp(); } });
        box.checked = selected.has(o.name);
        list.appendChild(h("div", { class: "panel run-panel" },
          h("h3", null, d.runs.length > 1 ? box : null, h("a", { href: runLink(o.name) }, o.name), h("span", { class: "badge " + badgeClass(o.state) }, o.state), h("span", { class: "muted" }, o.dir)),
          o.error ? h("p", { class: "err" }, o.error) : null,
          o.state === "stopped" ? h("p", { class: "note" }, o.stop_reason) : null,
          cards(o)));
      }
      app.appendChild(list);
      if (d.benches.length) {
        app.appendChild(h("h2", null, "Benchmarks (arbor bench)"));
        app.appendChild(h("ul", null, d.benches.map((b) => h("li", null, h("a", { href: "#/bench/" + encodeURIComponent(b.name) }, b.name), " · ",
          h("a", { href: "#/compare/bench/" + encodeURIComponent(b.name) }, "compare view"), " ", h("span", { class: "muted" }, b.dir)))));
      }
    }
    draw(data);
    return view;
  }

  function llmLines(l) {
    if (!l) return ["-"];
    if ("decisions" in l || "requests" in l) {
      return [`${l.decisions || 0} decisions · ${l.requests || 0} requests`,
        `${l.retries || 0} retries · ${l.repairs || 0} repairs · ${l.fallbacks || 0} fallbacks`,
        `${human(l.tokens || 0)} tokens · ${usd(l.usd)}`];
    }
    return [`${l.calls || 0} calls`, `${human(l.tokens || 0)} tokens`];
  }
  // perTrained is LLM use per trained candidate, whatever the store names it.
  function perTrained(p) {
    if (!p || typeof p !== "object") return null;
    const parts = Object.entries(p).filter(([, v]) => typeof v === "number").map(([k, v]) => `${v.toFixed(2)} ${k}`);
    return parts.length ? h("div", { class: "muted" }, "per trained: " + parts.join(" · ")) : null;
  }
  const llmCost = (l) => usd(l ? ("usd" in l ? l.usd : l.cost) : 0);

  // cards is the overview of one run.
  function cards(o) {
    const rej = Object.entries(o.rejected_by_gate || {}).sort((a, b) => b[1] - a[1]);
    const nrej = rej.reduce((a, [, n]) => a + n, 0);
    const pct = o.budget ? Math.min(100, 100 * o.trained / o.budget) : 0;
    const bar = h("div", { class: "bar" }, h("div"));
    bar.firstChild.style.width = pct + "%";
    const state = o.state === "finished" ? ("stopped: " + (o.stop_reason || "finished")) : o.state === "stopped" ? o.stop_reason : (o.state === "running" ? "in progress" : o.state);
    return h("div", { class: "cards" },
      h("div", { class: "card" }, h("div", { class: "k" }, "trained"),
        h("div", { class: "v" }, h("span", { class: "trained-count", "data-run": o.name }, o.trained), o.budget ? h("span", { class: "muted" }, " / " + o.budget) : null),
        bar, h("div", { class: "s" }, `${o.candidates} proposed · ${(o.by_status || {}).pending || 0} pending`)),
      h("div", { class: "card" }, h("div", { class: "k" }, "best so far"),
        h("div", { class: "v" }, o.best ? fmtPct(o.best.val_acc) : "-"),
        o.best ? h("div", { class: "s" }, h("a", { href: candLink(o.name, o.best.id) }, o.best.id), ` · ${human(o.best.params)} params · ${human(o.best.flops)} FLOPs · ${o.best.nodes} nodes`) : h("div", { class: "s muted" }, "none trained yet")),
      o.retrained ? h("div", { class: "card", id: "retrained" }, h("div", { class: "k" }, "retrained (test split)"),
        h("div", { class: "v" }, `${o.retrained.test_mean.toFixed(2)}%`, h("span", { class: "muted" }, o.retrained.n > 1 ? ` ± ${o.retrained.test_std.toFixed(2)}` : "")),
        h("div", { class: "s" }, h("a", { href: candLink(o.name, o.retrained.id) }, o.retrained.id),
          ` · ${o.retrained.n} seed${o.retrained.n === 1 ? "" : "s"} · ${o.retrained.epochs} epochs · best of ${o.retrained.finalists} finalists by validation`)) : null,
      h("div", { class: "card" }, h("div", { class: "k" }, "in flight"),
        h("div", { class: "v" }, (o.in_flight || []).length),
        h("div", { class: "s" }, (o.in_flight || []).slice(0, 6).map((f, i) => [i ? ", " : "", h("a", { href: candLink(o.name, f.id) }, f.id), " " + f.op]))),
      h("div", { class: "card" }, h("div", { class: "k" }, "rejected by the gate"),
        h("div", { class: "v" }, nrej),
        h("div", { class: "s" }, rej.map(([g, n]) => `${g || "-"} ${n}`).join(" · ") || "none"),
        Object.keys(o.pregate_filtered || {}).length ? h("div", { class: "s muted" }, "filtered before any proposal: " +
          Object.entries(o.pregate_filtered).sort((a, b) => b[1] - a[1]).map(([g, n]) => `${g} ${n}`).join(" · ")) : null),
      h("div", { class: "card" }, h("div", { class: "k" }, "LLM"),
        h("div", { class: "v" }, llmCost(o.llm)),
        h("div", { class: "s" }, llmLines(o.llm).map((l) => h("div", null, l)),
          perTrained(o.llm_per_trained))),
      h("div", { class: "card" }, h("div", { class: "k" }, o.state === "finished" ? "finished" : "ETA"),
        h("div", { class: "v" }, o.state === "finished" ? dur(o.elapsed_s) : (o.eta_s >= 0 ? dur(o.eta_s) : "?")),
        h("div", { class: "s" }, state, h("br"), `elapsed ${dur(o.elapsed_s)}` + (o.strategy ? ` · ${o.strategy}` : "") + (o.evaluator ? ` · ${o.evaluator}` : ""))));
  }

  // badgeClass maps a run state to its badge style ("stopped (process
  // gone)" is drawn as a warning).
  const badgeClass = (st) => st && st.startsWith("stopped") ? "stopped" : st;

  // ---- run page: overview, charts, candidates table ----
  async function pageRun(rt, alive) {
    const run = rt.run;
    setCrumbs(["runs", "#/"], [run, null]);
    const state = { sort: "seq", dir: 1, page: 0, f: { status: "", op: "", category: "", text: "", min: "" }, xAxis: "candidates", cost: "params", post: "op", imp: "ops" };
    const head = h("div"), cardsBox = h("div"), chartsBox = h("div", { class: "grid2" }), tableBox = h("div", { class: "panel" }), impBox = h("div", { class: "panel", id: "importance" });
    let ov, rows, ch, imp;
    async function load() {
      [ov, rows, ch, imp] = await Promise.all([
        api("/api/run/overview?" + q({ run })), api("/api/run/candidates?" + q({ run })), api("/api/run/charts?" + q({ run })), api("/api/run/importance?" + q({ run }))]);
    }
    function drawHead() {
      clear(head);
      append(head, [h("h1", null, run, " ", h("span", { class: "badge " + badgeClass(ov.state), id: "run-state" }, ov.state)),
        h("p", { class: "muted" }, ov.dir, " · ", h("a", { href: runLink(run) + "/lineage" }, "lineage view"), " · ",
          h("a", { href: "/api/download/csv?" + q({ run }), download: "", id: "download-csv" }, "download the table (CSV)")),
        ov.state === "stopped" ? h("p", { class: "note", id: "state-note" }, ov.stop_reason) : null,
        ov.error ? h("p", { class: "err" }, ov.error) : null]);
      clear(cardsBox);
      cardsBox.appendChild(cards(ov));
    }
    await load();
    if (!alive()) return null;
    document.body.dataset.dataLoaded = String(performance.now());
    clear(app);
    app.append(head, cardsBox, h("h2", null, "Charts"), chartsBox, h("h2", null, "What paid off"), impBox, h("h2", null, "Candidates"), tableBox);
    drawHead();
    drawTable();
    drawCharts();
    drawImportance();
    performance.mark("arbor-first-paint");
    document.body.dataset.firstPaint = String(performance.now());
    return {
      run, refresh: async () => {
        await load();
        if (!alive()) return;
        drawHead(); drawTable(); drawCharts(); drawImportance();
      },
    };

    // drawImportance: per operation, category or module, how many children
    // it made and trained, how often they beat their parent, the mean
    // reward and accuracy change, beside the planner's posterior mean.
    function drawImportance() {
      clear(impBox);
      const sel = h("select", { onchange: (e) => { state.imp = e.target.value; drawImportance(); } },
        h("option", { value: "ops" }, "per operation"), h("option", { value: "categories" }, "per operation and prompt category"), h("option", { value: "modules" }, "per module (insert, swap)"));
      sel.value = state.imp;
      const rs = imp[state.imp] || [];
      impBox.appendChild(h("h3", null, "Success rate (child beats parent) and mean reward", sel));
      if (!rs.length) { impBox.appendChild(h("p", { class: "muted" }, "nothing yet: no child has been proposed")); return; }
      const mx = Math.max(...rs.map((r) => r.trained), 1);
      const barCell = (v, n, color) => {
        const b = h("div", { class: "hbar" }, h("div"));
        b.firstChild.style.width = (100 * v) + "%";
        b.firstChild.style.background = color;
        return h("td", { class: "num" }, h("div", { class: "barcell" }, b, n === 0 ? "-" : (100 * v).toFixed(0) + "%"));
      };
      impBox.appendChild(h("table", { id: "importance-table" },
        h("thead", null, h("tr", null, [["name"], ["proposed", 1], ["rejected", 1], ["trained", 1], ["success (n wins)", 1], ["mean reward", 1], ["mean Δ val (pts)", 1], ["posterior mean", 1]].map(([t, n]) => h("th", { class: n ? "num" : null }, t)))),
        h("tbody", null, rs.map((r) => {
          const w = h("div", { class: "hbar count" }, h("div"));
          w.firstChild.style.width = (100 * r.trained / mx) + "%";
          return h("tr", null, h("td", null, r.name), h("td", { class: "num" }, r.proposed), h("td", { class: "num" }, r.rejected),
            h("td", { class: "num" }, h("div", { class: "barcell" }, w, String(r.trained))),
            h("td", { class: "num", title: `${r.wins} of ${r.trained} trained children beat their parent` }, h("div", { class: "barcell" }, barCell(r.success, r.trained, "#009e73").firstChild, ` (${r.wins})`)),
            h("td", { class: "num" }, r.rewarded ? r.mean_reward.toFixed(2) : "-"),
            h("td", { class: "num " + (r.mean_delta > 0 ? "delta-pos" : r.mean_delta < 0 ? "delta-neg" : "") }, r.deltas ? (r.mean_delta >= 0 ? "+" : "") + r.mean_delta.toFixed(2) : "-"),
            r.posterior >= 0 ? barCell(r.posterior, 1, "#0072b2") : h("td", { class: "num muted" }, "-"));
        }))));
      impBox.appendChild(h("p", { class: "muted" }, "Success: share of the trained children (failures count) that beat their parent's validation accuracy. " +
        "Mean reward: the planner's reward (rejections count 0). Posterior: the planner's Beta posterior mean" + (imp.has_posterior ? "." : " (this run's strategy keeps none).")));
    }

    function byID() {
      const m = new Map(), c = rows.columns;
      for (const r of rows.rows) { const o = {}; c.forEach((k, i) => o[k] = r[i]); m.set(o.id, o); }
      return m;
    }
    function drawCharts() {
      clear(chartsBox);
      const cands = byID();
      const open = (p) => go(candLink(run, p.id));
      const tipOf = (p) => { const c = cands.get(p.id); return c ? `${c.id} (${c.op}${c.category ? ", " + c.category : ""})\nval ${fmtPct(c.val_acc)} · ${human(c.params)} params · ${human(c.flops)} FLOPs` : p.id; };
      // best so far
      const byTime = state.xAxis === "time";
      const bestPts = byTime ? ch.best_by_time : ch.best_by_candidate;
      let trainedPts = ch.trained_points || [];
      if (byTime) trainedPts = trainedPts.map((p) => ({ x: (cands.get(p.id) || {}).finished_s, y: p.y, id: p.id })).filter((p) => p.x >= 0);
      const sel = h("select", { onchange: (e) => { state.xAxis = e.target.value; drawCharts(); } },
        h("option", { value: "candidates" }, "over candidates trained"), h("option", { value: "time" }, "over time"));
      sel.value = state.xAxis;
      chartsBox.appendChild(h("div", { class: "panel", id: "chart-best" }, h("h3", null, "Best validation accuracy so far", sel),
        legend([["one trained candidate", "#9aa3ad"], ["best so far", PALETTE[0]]]),
        chart({
          series: [{ name: "trained", color: "#9aa3ad", points: trainedPts, dots: true, r: 2.5, opacity: 0.7 },
            { name: "best", color: PALETTE[0], points: bestPts || [], line: true, step: true, extendTo: trainedPts.length ? Math.max(...trainedPts.map((p) => p.x)) : undefined },
            { name: "new best", color: PALETTE[0], points: (bestPts || []).filter((p, i, a) => i === 0 || p.id !== a[i - 1].id), dots: true, r: 3.5 }],
          xlabel: byTime ? "time since the run started" : "candidates trained (in the order they finished)", ylabel: "val accuracy (%)",
          xfmt: byTime ? dur : undefined, tip: tipOf, onclick: open, empty: "no candidate trained yet",
        })));
      // accuracy vs cost with Pareto front
      const costSel = h("select", { onchange: (e) => { state.cost = e.target.value; drawCharts(); } },
        ["params", "flops", "latency"].map((k) => h("option", { value: k }, k === "latency" ? "latency (ms)" : k)));
      costSel.value = state.cost;
      const costOf = (c) => state.cost === "params" ? c.params : state.cost === "flops" ? c.flops : c.latency_ms;
      const ok = rows.rows.length ? [...cands.values()].filter((c) => c.status === "trained" && c.outcome === "ok") : [];
      const front = new Set(ch.pareto[state.cost] || []);
      const pts = ok.filter((c) => state.cost !== "latency" || c.latency_ms > 0).map((c) => ({ x: costOf(c), y: c.val_acc, id: c.id }));
      const frontPts = (ch.pareto[state.cost] || []).map((id) => cands.get(id)).filter(Boolean).map((c) => ({ x: costOf(c), y: c.val_acc, id: c.id }));
      const limit = state.cost === "params" ? ch.max_params : state.cost === "flops" ? ch.max_flops : 0;
      chartsBox.appendChild(h("div", { class: "panel", id: "chart-pareto" }, h("h3", null, "Accuracy against", costSel, "with the Pareto front"),
        legend([["one trained candidate", "#9aa3ad"], [`Pareto front (${front.size})`, PALETTE[5]]]),
        chart({
          series: [{ color: "#9aa3ad", points: pts.filter((p) => !front.has(p.id)), dots: true, r: 2.5, opacity: 0.7 },
            { color: PALETTE[5], points: frontPts, line: true, step: true, dots: true, r: 3.5 }],
          xlabel: state.cost === "latency" ? "latency (ms)" : state.cost, ylabel: "val accuracy (%)", xfmt: human,
          vlines: limit ? [{ x: limit, label: "limit " + human(limit) }] : [], tip: tipOf, onclick: open,
          empty: state.cost === "latency" ? "no latency measured by this evaluator" : "no candidate trained yet",
        })));
      // posteriors
      const postSel = h("select", { onchange: (e) => { state.post = e.target.value; drawCharts(); } },
        h("option", { value: "op" }, "per operation"), h("option", { value: "cat" }, "per operation and category"));
      postSel.value = state.post;
      const post = state.post === "op" ? ch.op_posterior : ch.cat_posterior;
      const names = Object.keys(post || {}).sort();
      chartsBox.appendChild(h("div", { class: "panel", id: "chart-posterior" }, h("h3", null, "Planner posterior mean", postSel),
        legend(names.map((n, i) => [n, PALETTE[i % PALETTE.length]])),
        chart({
          series: names.map((n, i) => ({ name: n, color: PALETTE[i % PALETTE.length], points: post[n], line: true, dots: post[n].length <= 150, r: 2 })),
          xlabel: "planner updates (rejected proposals and trained candidates)", ylabel: "posterior mean", ymin: 0, ymax: 1,
          tip: (p, se) => `${se.name} after ${p.id}: ${p.y.toFixed(3)}`, onclick: open,
          empty: "no planner state (a baseline strategy, or nothing rewarded yet)",
        }), ch.posterior_exact === false && names.length ? h("p", { class: "muted" }, "Replayed from the stored rewards; it does not end exactly at the saved planner state (a resumed run with another planner configuration?).") : null));
      // rejections
      const items = Object.entries(ch.rejections || {}).sort((a, b) => b[1] - a[1]).map(([k, n]) => ["gate: " + (k || "-"), n, PALETTE[0]])
        .concat(Object.entries(ch.failures || {}).sort((a, b) => b[1] - a[1]).map(([k, n]) => ["training: " + k, n, PALETTE[5]]))
        .concat(Object.entries(ch.pregate_filtered || {}).sort((a, b) => b[1] - a[1]).map(([k, n]) => ["pre-gate: " + k, n, PALETTE[2]]));
      const rot = Object.keys(ch.rejections_over_time || {}).sort();
      chartsBox.appendChild(h("div", { class: "panel", id: "chart-rejections" }, h("h3", null, "Rejections per gate stage, training failures, children filtered before proposal"),
        bars(items),
        rot.length ? legend(rot.map((n, i) => [n, PALETTE[i % PALETTE.length]])) : null,
        rot.length ? chart({ height: 200, series: rot.map((n, i) => ({ name: n, color: PALETTE[i % PALETTE.length], points: ch.rejections_over_time[n], line: true })), xlabel: "proposals", ylabel: "rejected (cumulative)" }) : null));
    }

    function drawTable() {
      clear(tableBox);
      const cols = [["seq", "#", 1], ["id", "id"], ["parent", "parent"], ["op", "operation"], ["category", "category"], ["outcome", "status"],
        ["val_acc", "val %", 1], ["test_acc", "test %", 1], ["params", "params", 1], ["flops", "FLOPs", 1], ["latency_ms", "latency ms", 1], ["wall_s", "train s", 1], ["module", "module"], ["path", "path"]];
      const idx = {};
      rows.columns.forEach((c, i) => idx[c] = i);
      const uniq = (k) => [...new Set(rows.rows.map((r) => r[idx[k]]))].filter((v) => v !== "").sort();
      const f = state.f;
      const mk = (k, label, values) => {
        const el = h("select", { "data-filter": k, onchange: (e) => { f[k] = e.target.value; state.page = 0; drawRows(); } }, h("option", { value: "" }, "all " + label), values.map((v) => h("option", { value: v }, v)));
        el.value = f[k];
        return el;
      };
      const text = h("input", { type: "search", placeholder: "id, module, path…", value: f.text, oninput: (e) => { f.text = e.target.value; state.page = 0; drawRows(); } });
      const min = h("input", { type: "number", step: "0.1", placeholder: "min val %", value: f.min, oninput: (e) => { f.min = e.target.value; state.page = 0; drawRows(); } });
      min.style.width = "7em";
      const count = h("span", { class: "muted" });
      tableBox.append(h("div", { class: "filters" }, mk("status", "statuses", uniq("status")), mk("op", "operations", uniq("op")), mk("category", "categories", uniq("category")), text, min, count));
      const thead = h("tr", null, cols.map(([k, label, num]) => h("th", { class: num ? "num" : null, "data-col": k, onclick: () => { if (state.sort === k) state.dir = -state.dir; else { state.sort = k; state.dir = num ? -1 : 1; } drawRows(); } }, label)));
      const tbody = h("tbody");
      const pager = h("div", { class: "pager" });
      tableBox.append(h("table", { id: "candidates" }, h("thead", null, thead), tbody), pager);
      const PAGE = 50;
      function drawRows() {
        let rs = rows.rows;
        const t = f.text.toLowerCase(), mn = parseFloat(f.min);
        rs = rs.filter((r) => (!f.status || r[idx.status] === f.status) && (!f.op || r[idx.op] === f.op) && (!f.category || r[idx.category] === f.category) &&
          (!t || [r[idx.id], r[idx.module], r[idx.path], r[idx.parent]].some((v) => String(v).toLowerCase().includes(t))) && (isNaN(mn) || r[idx.val_acc] >= mn));
        const si = idx[state.sort], d = state.dir;
        rs = rs.slice().sort((a, b) => (a[si] < b[si] ? -d : a[si] > b[si] ? d : a[0] - b[0]));
        for (const th of thead.children) th.textContent = cols.find((c) => c[0] === th.dataset.col)[1] + (th.dataset.col === state.sort ? (d > 0 ? " ▲" : " ▼") : "");
        const pages = Math.max(1, Math.ceil(rs.length / PAGE));
        state.page = Math.min(state.page, pages - 1);
        count.textContent = `${rs.length} of ${rows.rows.length} candidates`;
        clear(tbody);
        for (const r of rs.slice(state.page * PAGE, state.page * PAGE + PAGE)) {
          const id = r[idx.id];
          tbody.appendChild(h("tr", { class: "cand-row", "data-id": id, onclick: () => go(candLink(run, id)) }, cols.map(([k, , num]) => {
            let v = r[idx[k]];
            if (k === "val_acc" || k === "test_acc") v = v ? v.toFixed(2) : "-";
            else if (k === "params" || k === "flops") v = human(v);
            else if (k === "latency_ms" || k === "wall_s") v = v ? v.toFixed(1) : "-";
            else if (k === "id") v = h("a", { href: candLink(run, id) }, id);
            else if (k === "parent" && v) v = h("a", { href: candLink(run, v) }, v);
            return h("td", { class: num ? "num" : null }, v === "" ? "-" : v);
          })));
        }
        clear(pager);
        pager.append(h("button", { disabled: state.page === 0 ? "" : null, onclick: () => { state.page--; drawRows(); } }, "‹ prev"),
          h("span", null, `page ${state.page + 1} of ${pages}`),
          h("button", { disabled: state.page >= pages - 1 ? "" : null, onclick: () => { state.page++; drawRows(); } }, "next ›"));
      }
      drawRows();
    }
  }

  // ---- candidate page ----
  async function pageCandidate(rt, alive) {
    const { run, id } = rt;
    setCrumbs(["runs", "#/"], [run, runLink(run)], [id, null]);
    const c = await api("/api/run/candidate?" + q({ run, id }));
    if (!alive()) return null;
    clear(app);
    const delta = c.delta;
    app.append(h("h1", null, c.id, " ", h("span", { class: "badge" }, c.status)),
      h("div", { class: "cards" },
        h("div", { class: "card" }, h("div", { class: "k" }, "validation accuracy"), h("div", { class: "v" }, c.status === "ok" ? fmtPct(c.result.val_acc) : "-"),
          h("div", { class: "s" }, delta !== undefined ? h("span", { class: delta > 0 ? "delta-pos" : "delta-neg" }, `${delta >= 0 ? "+" : ""}${delta.toFixed(2)} vs parent`) : "", c.result.test_acc ? ` · test ${fmtPct(c.result.test_acc)}` : "")),
        h("div", { class: "card" }, h("div", { class: "k" }, "size"), h("div", { class: "v" }, human(c.params)), h("div", { class: "s" }, `parameters · ${human(c.flops)} FLOPs`)),
        h("div", { class: "card" }, h("div", { class: "k" }, "made by"), h("div", { class: "v" }, c.op),
          h("div", { class: "s" }, [c.transform, c.category, c.path, c.module].filter(Boolean).join(" · ") || "-")),
        h("div", { class: "card" }, h("div", { class: "k" }, "parent"), h("div", { class: "v" }, c.parent_id ? h("a", { href: candLink(run, c.parent_id) }, c.parent_id) : "-"),
          h("div", { class: "s" }, c.children.length ? ["children: ", c.children.slice(0, 8).map((k, i) => [i ? ", " : "", h("a", { href: candLink(run, k) }, k)]), c.children.length > 8 ? ` (+${c.children.length - 8})` : ""] : "no children"))),
      h("div", { class: "panel" }, h("div", { class: "kv" },
        h("span", { class: "k" }, "rationale"), h("span", { class: "rationale", id: "rationale" }, (c.fallback ? "(fallback: the resolver's answer was invalid; a random valid option was used) " : "") + (c.rationale || "-")),
        c.args ? [h("span", { class: "k" }, "arguments"), h("code", null, JSON.stringify(c.args))] : null,
        c.reason ? [h("span", { class: "k" }, "gate"), h("span", null, `${c.gate}: ${c.reason}`)] : null,
        c.result && c.result.error ? [h("span", { class: "k" }, "error"), h("span", { class: "err" }, c.result.error)] : null,
        c.result && c.result.wall_s ? [h("span", { class: "k" }, "training"), h("span", null, `${c.result.wall_s.toFixed(1)} s on ${c.result.device || "?"}`)] : null,
        c.hash ? [h("span", { class: "k" }, "hash"), h("code", null, c.hash.slice(0, 16))] : null)));

    // downloads
    app.appendChild(h("p", { class: "downloads", id: "downloads" }, "Download: ",
      c.tree ? h("a", { href: "/api/download/source?" + q({ run, id: c.id }), download: "" }, `${c.id}.py (standalone PyTorch)`) : null,
      c.weights ? h("a", { href: "/api/download/weights?" + q({ run, id: c.id }), download: "" }, "weights (.pt)") : h("span", { class: "muted" }, "no weights kept for this candidate")));

    // learning curve
    const curve = (c.result && c.result.curve) || [];
    app.appendChild(h("h2", null, "Learning curve"));
    if (!curve.length) {
      app.appendChild(h("p", { class: "muted", id: "learning-curve" }, c.status === "pending" ? "training: the curve appears when it finishes" : "no per-epoch curve stored (a tabular evaluator, a failure before the first epoch, or a rejected child)"));
    } else {
      const ep = (k) => curve.filter((e) => e[k] !== undefined && e[k] !== null).map((e) => ({ x: e.epoch, y: e[k] }));
      const hasTrainAcc = curve.some((e) => e.train_acc > 0);
      app.appendChild(h("div", { class: "grid2", id: "learning-curve" },
        h("div", { class: "panel" }, h("h3", null, "Accuracy per epoch"),
          legend([["validation", PALETTE[0]], hasTrainAcc ? ["training", PALETTE[1]] : null].filter(Boolean)),
          chart({ height: 240, series: [{ color: PALETTE[0], points: ep("val_acc"), line: true, dots: true, r: 3 }].concat(hasTrainAcc ? [{ color: PALETTE[1], points: ep("train_acc"), line: true, dots: true, r: 3 }] : []),
            xlabel: "epoch", ylabel: "accuracy (%)" })),
        h("div", { class: "panel" }, h("h3", null, "Loss per epoch"),
          legend([["validation", PALETTE[0]], ["training", PALETTE[1]]]),
          chart({ height: 240, series: [{ color: PALETTE[0], points: ep("val_loss"), line: true, dots: true, r: 3 }, { color: PALETTE[1], points: ep("train_loss"), line: true, dots: true, r: 3 }],
            xlabel: "epoch", ylabel: "loss" }))));
    }

    // lineage chain
    app.appendChild(h("h2", null, "Lineage from the seed"));
    app.appendChild(h("div", { class: "panel", id: "lineage" }, h("table", null,
      h("thead", null, h("tr", null, ["step", "candidate", "operation", "category", "path", "module / args", "rationale", "status", "val %", "Δ"].map((t) => h("th", null, t)))),
      h("tbody", null, c.lineage.map((st, i) => h("tr", { class: st.id === c.id ? "chg-changed" : null },
        h("td", { class: "num" }, i), h("td", null, h("a", { href: candLink(run, st.id) }, st.id)),
        h("td", null, st.op + (st.transform && st.transform.replace(/_/g, "-") !== st.op ? ` (${st.transform})` : "")),
        h("td", null, st.category || "-"), h("td", null, st.path || "-"),
        h("td", { class: "wrap" }, [st.module, st.args ? JSON.stringify(st.args) : ""].filter(Boolean).join(" ") || "-"),
        h("td", { class: "wrap rationale" }, (st.fallback ? "(fallback) " : "") + (st.rationale || "-")),
        h("td", null, st.status), h("td", { class: "num" }, st.status === "ok" ? st.val_acc.toFixed(2) : "-"),
        h("td", { class: "num " + (st.delta > 0 ? "delta-pos" : st.delta < 0 ? "delta-neg" : "") }, st.delta !== undefined ? (st.delta >= 0 ? "+" : "") + st.delta.toFixed(2) : "-")))))));

    // tree with diff
    app.appendChild(h("h2", null, "Architecture tree"));
    const treePanel = h("div", { class: "panel tree", id: "tree" });
    if (c.tree_error) treePanel.appendChild(h("p", { class: "muted" }, c.tree_error));
    if (c.parent_id && c.tree) {
      treePanel.appendChild(h("p", null, (c.changed || []).length || (c.removed || []).length ? [
        "Against its parent ", h("a", { href: candLink(run, c.parent_id) }, c.parent_id), ": ",
        (c.changed || []).length ? ["changed or added ", (c.changed || []).map((p, i) => [i ? ", " : "", h("code", null, p)])] : "",
        (c.removed || []).length ? ["; removed ", c.removed.map((p, i) => [i ? ", " : "", h("code", null, p)])] : ""] :
        ["Same tree structure as its parent ", h("a", { href: candLink(run, c.parent_id) }, c.parent_id), "."]),
      legend([["added", "#7bc89a"], ["changed", "#e6b800"]]));
    }
    if (c.tree) {
      const hot = new Set();
      for (const p of c.changed || []) { let x = p; while (x) { hot.add(x); x = x.lastIndexOf("/") > 0 ? x.slice(0, x.lastIndexOf("/")) : (x === "/" ? "" : "/"); } }
      treePanel.appendChild(treeNode(c.tree, 0, hot));
    }
    app.appendChild(treePanel);

    // source, and its diff against the parent's
    app.appendChild(h("h2", null, "PyTorch source"));
    const srcBox = h("div");
    const showSrc = (which) => {
      clear(srcBox);
      if (c.diff && c.parent_id) {
        srcBox.appendChild(h("div", { class: "tabs" },
          h("a", { role: "button", class: which === "diff" ? "on" : null, id: "tab-diff", onclick: (e) => { e.preventDefault(); showSrc("diff"); } }, "diff against the parent " + c.parent_id),
          h("a", { role: "button", class: which === "full" ? "on" : null, id: "tab-full", onclick: (e) => { e.preventDefault(); showSrc("full"); } }, "full source")));
      }
      if (which === "diff" && c.diff) {
        const add = c.diff.filter((d) => d.op === "+").length, del = c.diff.filter((d) => d.op === "-").length;
        srcBox.appendChild(h("p", { class: "muted" }, `${add} lines added, ${del} removed against ${c.parent_id}'s source`));
        srcBox.appendChild(h("pre", { class: "diff", id: "source-diff" }, c.diff.map((d) => d.op === "@" ?
          h("span", { class: "fold" }, `  … ${d.text} …`) :
          h("span", { class: d.op === "+" ? "add" : d.op === "-" ? "del" : null }, h("span", { class: "ln" }, d.op === "+" ? d.b : d.a), (d.op === " " ? "  " : d.op + " ") + d.text + "\n"))));
      } else {
        srcBox.appendChild(h("pre", { id: "source" }, c.source || "(no source stored)"));
      }
    };
    showSrc(c.diff && c.parent_id ? "diff" : "full");
    app.appendChild(srcBox);

    // LLM calls
    app.appendChild(h("h2", null, `LLM calls (${c.calls.length})`));
    const callsBox = h("div", { id: "llm-calls" });
    if (!c.calls.length) callsBox.appendChild(h("p", { class: "muted" }, c.op === "seed" ? "A seed: no decision." : "No LLM call: the offline resolver (or a baseline strategy) decided."));
    for (const k of c.calls) {
      callsBox.appendChild(h("details", { class: "panel" },
        h("summary", null, `${new Date(k.time).toLocaleTimeString()} · ${k.model} · ${k.category}${k.operation ? " · " + k.operation : ""} · ${k.outcome} · ${k.requests} requests, ${k.repairs} repairs, ${k.retries} retries · ${k.tokens_in}+${k.tokens_out} tokens · ${usd(k.cost_usd)} · ${Math.round(k.latency_ms)} ms`),
        h("div", { class: "kv" }, h("span", { class: "k" }, "validated choice"), h("code", null, k.choice || "-"),
          k.error ? [h("span", { class: "k" }, "error"), h("span", { class: "err" }, k.error)] : null),
        h("h3", null, "prompt"), k.prompt ? h("pre", { class: "wrap" }, k.prompt) : h("p", { class: "muted" }, "not recorded (set llm.record_text: true to keep prompts and answers)"),
        h("h3", null, "raw answer"), k.answer ? h("pre", { class: "wrap" }, k.answer) : h("p", { class: "muted" }, "not recorded")));
    }
    app.appendChild(callsBox);
    return { run, refresh: null };
  }

  function treeNode(n, depth, hot) {
    const label = [h("span", { class: "nm" }, n.name), " ", h("span", { class: "kd" }, n.kind), n.what ? [" ", h("span", { class: "wh" }, n.what)] : null,
      n.args ? [" ", h("span", { class: "ar" }, "(" + n.args + ")")] : null,
      n.counted ? h("span", { class: "ct" }, `${human(n.params)} params · ${human(n.macs)} MACs · → ${n.out}`) : null];
    const cls = n.change ? "chg-" + n.change : null;
    if (!n.children || !n.children.length) return h("div", { class: "leaf " + (cls || ""), "data-path": n.path }, label);
    const d = h("details", { "data-path": n.path }, h("summary", { class: cls }, label), n.children.map((k) => treeNode(k, depth + 1, hot)));
    if (depth < 2 || hot.has(n.path)) d.open = true;
    return d;
  }

  // ---- lineage view ----
  async function pageLineage(rt, alive) {
    const run = rt.run;
    setCrumbs(["runs", "#/"], [run, runLink(run)], ["lineage", null]);
    const v = await api("/api/run/lineage?" + q({ run }));
    if (!alive()) return null;
    clear(app);
    app.appendChild(h("h1", null, "Family tree of ", run));
    app.appendChild(h("p", { class: "muted" }, `${v.nodes.length} candidates that reached training (rejected proposals left out). Colour: validation accuracy; red: failed; grey: pending; thick orange: the path from the seed to the best.`));
    const accs = v.nodes.filter((n) => n.status === "ok").map((n) => n.val_acc);
    const lo = Math.min(...accs), hi = Math.max(...accs);
    const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    function colour(a) {
      if (!accs.length || hi === lo) return "rgb(33,145,140)";
      const t = (a - lo) / (hi - lo) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(t)), f = t - i;
      const c = stops[i].map((x, j) => Math.round(x + (stops[i + 1][j] - x) * f));
      return `rgb(${c.join(",")})`;
    }
    const colW = 70, rowH = 9, m = 20;
    const W = m * 2 + (v.max_depth + 1) * colW, H = m * 2 + Math.max(1, v.leaves) * rowH;
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, id: "lineage-svg" });
    const pos = new Map(v.nodes.map((n) => [n.id, [m + n.x * colW, m + n.y * rowH]]));
    const onPath = new Set(v.best_path || []);
    const edges = s("g"), hotEdges = s("g");
    for (const n of v.nodes) {
      if (!n.parent || !pos.has(n.parent)) continue;
      const [x1, y1] = pos.get(n.parent), [x2, y2] = pos.get(n.id);
      const hotE = onPath.has(n.id) && onPath.has(n.parent);
      (hotE ? hotEdges : edges).appendChild(s("path", { d: `M${x1},${y1}C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`, fill: "none", stroke: hotE ? "#e69f00" : "#c5cad3", "stroke-width": hotE ? 3 : 1 }));
    }
    svg.append(edges, hotEdges);
    const g = s("g");
    for (const n of v.nodes) {
      const [x, y] = pos.get(n.id);
      const fill = n.status === "ok" ? colour(n.val_acc) : n.status === "pending" ? "#bbb" : "#fff";
      const c = s("circle", { class: "pt", cx: x, cy: y, r: onPath.has(n.id) ? 5 : 3.5, fill, stroke: n.status === "ok" || n.status === "pending" ? (onPath.has(n.id) ? "#e69f00" : "none") : "#d55e00", "stroke-width": 2, "data-id": n.id });
      c.addEventListener("mousemove", (ev) => showTip(ev, `${n.id} (${n.op}) ${n.status === "ok" ? n.val_acc.toFixed(2) + "%" : n.status}`));
      c.addEventListener("mouseleave", hideTip);
      c.addEventListener("click", () => { hideTip(); go(candLink(run, n.id)); });
      g.appendChild(c);
    }
    svg.appendChild(g);
    if (accs.length) app.appendChild(legend([[`${lo.toFixed(2)}%`, colour(lo)], [`${((lo + hi) / 2).toFixed(2)}%`, colour((lo + hi) / 2)], [`${hi.toFixed(2)}%`, colour(hi)], ["failed", "#d55e00"], ["pending", "#bbb"]]));
    app.appendChild(h("div", { class: "panel" }, svg));
    return { run, refresh: () => pageLineage(rt, alive).then(() => {}) };
  }

  // ---- bench page ----
  async function pageBench(rt, alive) {
    setCrumbs(["runs", "#/"], [rt.name, null]);
    const b = await api("/api/bench?" + q({ name: rt.name }));
    if (!alive()) return null;
    clear(app);
    app.appendChild(h("h1", null, "Benchmark ", b.name));
    app.appendChild(h("p", { class: "muted" }, b.dir));
    if (b.kind === "compare") app.appendChild(h("p", null, "A comparison of strategies on one task: ", h("a", { href: "#/compare/bench/" + encodeURIComponent(b.name), id: "to-compare" }, "open the compare view"),
      " (live, from its runs, with paired differences per seed)."));
    const names = b.curves.map((c) => c.strategy + (b.curves.filter((d) => d.strategy === c.strategy).length > 1 ? " @" + c.budget : ""));
    app.appendChild(h("div", { class: "panel", id: "bench-curves" }, h("h3", null, b.title),
      legend(names.map((n, i) => [n, PALETTE[i % PALETTE.length]])),
      chart({
        series: b.curves.map((c, i) => ({ name: names[i], color: PALETTE[i % PALETTE.length], band: true, line: true, points: c.points.map(([x, m, sd]) => ({ x, y: m, lo: m - sd, hi: m + sd })) })),
        xlabel: b.xlabel, ylabel: b.ylabel, empty: b.kind === "compare" ? "curves.csv is written when the comparison ends; the compare view shows the runs so far" : "no data",
      })));
    if (b.summary) append(app, [h("h2", null, "Summary"), h("pre", { id: "bench-summary" }, b.summary)]);
    app.appendChild(h("h2", null, `Runs (${b.runs.rows.length})`));
    let sortCol = 0, dir = 1;
    const tbody = h("tbody");
    const numeric = (i) => b.runs.rows.every((r) => r[i] === "" || !isNaN(+r[i]));
    function draw() {
      const rs = b.runs.rows.slice().sort((x, y) => { const a = numeric(sortCol) ? +x[sortCol] : x[sortCol], c = numeric(sortCol) ? +y[sortCol] : y[sortCol]; return a < c ? -dir : a > c ? dir : 0; });
      clear(tbody);
      for (const r of rs.slice(0, 1000)) tbody.appendChild(h("tr", null, r.map((v, i) => h("td", { class: numeric(i) ? "num" : null }, v))));
    }
    app.appendChild(h("div", { class: "panel" }, h("table", { id: "bench-runs" }, h("thead", null, h("tr", null, b.runs.header.map((t, i) => h("th", { onclick: () => { dir = sortCol === i ? -dir : 1; sortCol = i; draw(); } }, t)))), tbody)));
    draw();
    return { refresh: null };
  }

  // ---- compare view: several runs (or a bench compare directory) ----
  async function pageCompare(rt, alive) {
    setCrumbs(...[["runs", "#/"], rt.bench ? [rt.bench, "#/bench/" + encodeURIComponent(rt.bench)] : null, ["compare", null]].filter(Boolean));
    const path = "/api/compare?" + (rt.bench ? q({ bench: rt.bench }) : q({ runs: rt.runs.join(",") }));
    let v = await api(path);
    if (!alive()) return null;
    let names = new Set(v.runs.map((r) => r.name));
    function draw() {
      clear(app);
      app.appendChild(h("h1", null, "Compare: ", v.title));
      app.appendChild(h("p", { class: "muted" }, `${v.runs.length} runs in ${v.groups.length} groups (one per strategy). The line is the mean best validation accuracy so far over a group's runs, the band ±1 std; a point is drawn only where every run of the group has reached that many trained candidates.`));
      if (v.missing && v.missing.length) app.appendChild(h("p", { class: "err" }, "not readable (yet): " + v.missing.join(", ")));
      const color = (i) => PALETTE[i % PALETTE.length];
      app.appendChild(h("div", { class: "panel", id: "compare-chart" }, h("h3", null, "Best validation accuracy so far, mean ± std over seeds"),
        legend(v.groups.map((g, i) => [`${g.name} (n=${g.runs.length})`, color(i)])),
        chart({
          width: 1100, height: 420,
          series: v.groups.map((g, i) => ({ name: g.name, color: color(i), band: g.runs.length > 1, line: true, points: g.points.map(([x, m, sd]) => ({ x, y: m, lo: m - sd, hi: m + sd })) })),
          xlabel: "candidates trained", ylabel: "best validation accuracy (%)", empty: "no run has a trained candidate yet",
        })));
      app.appendChild(h("h2", null, "Paired differences (same seed, same budget)"));
      const pairs = h("div", { class: "panel", id: "compare-pairs" });
      if (!v.pairs.length) pairs.appendChild(h("p", { class: "muted" }, "one group only: select runs of at least two strategies"));
      else {
        pairs.appendChild(h("table", null,
          h("thead", null, h("tr", null, ["A − B", "seeds", "mean (pts)", "std", "SE", "A ahead / behind / tied", "per seed (trained: A − B)"].map((t, i) => h("th", { class: i && i < 5 ? "num" : null }, t)))),
          h("tbody", null, v.pairs.map((p) => h("tr", null, h("td", null, p.name), h("td", { class: "num" }, p.n),
            h("td", { class: "num " + (p.n ? (p.mean > 0 ? "delta-pos" : p.mean < 0 ? "delta-neg" : "") : "") }, p.n ? (p.mean >= 0 ? "+" : "") + p.mean.toFixed(2) : "-"),
            h("td", { class: "num" }, p.n > 1 ? p.std.toFixed(2) : "-"), h("td", { class: "num" }, p.n > 1 ? p.se.toFixed(2) : "-"),
            h("td", null, p.n ? `${p.wins} / ${p.losses} / ${p.ties}` : "-"),
            h("td", { class: "wrap" }, p.diffs.map((d) => `seed ${d.seed} (${d.trained}): ${d.diff >= 0 ? "+" : ""}${d.diff.toFixed(2)}`).join(" · ") || "no seed in common"))))));
        pairs.appendChild(h("p", { class: "muted" }, "Each seed's difference is A's best validation accuracy minus B's after the same number of trained candidates (the smaller of the two runs' counts). SE = std/√n."));
      }
      app.appendChild(pairs);
      app.appendChild(h("h2", null, "Runs"));
      app.appendChild(h("div", { class: "panel", id: "compare-runs" }, h("table", null,
        h("thead", null, h("tr", null, ["run", "strategy", "seed", "state", "trained", "best val %", "best"].map((t, i) => h("th", { class: i === 2 || i === 4 || i === 5 ? "num" : null }, t)))),
        h("tbody", null, v.runs.map((r) => h("tr", null, h("td", null, h("a", { href: runLink(r.name) }, r.name)), h("td", null, r.group), h("td", { class: "num" }, r.seed),
          h("td", null, h("span", { class: "badge " + badgeClass(r.state) }, r.state)), h("td", { class: "num" }, r.trained),
          h("td", { class: "num" }, r.best_val >= 0 ? r.best_val.toFixed(2) : "-"), h("td", null, r.best_id ? h("a", { href: candLink(r.name, r.best_id) }, r.best_id) : "-")))))));
    }
    draw();
    return {
      compare: (run) => names.has(run),
      refresh: async () => { const n = await api(path); if (!alive()) return; v = n; names = new Set(v.runs.map((r) => r.name)); draw(); },
    };
  }

  connectLive();
  render();
})();
