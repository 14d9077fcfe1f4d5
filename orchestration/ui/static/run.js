// The run page: the task graph laid out by dagre (vendored, dagre.min.js), task details with their
// logs, the repair and cancel actions, and live refresh while the run is going or an action runs.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  let busy = false; // an action is running: keep refreshing
  const opened = new Set(); // task details the reader opened (kept across refreshes)

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function api(suffix) {
    const run = document.getElementById("run");
    const path = encodeURIComponent(run.dataset.workflow) + "/" + encodeURIComponent(run.dataset.run);
    return "/api/runs/" + path + suffix;
  }

  function drawGraph() {
    const svg = document.getElementById("graph-svg");
    const data = JSON.parse(document.getElementById("run-graph").textContent);
    if (!svg || !data.graph) return;
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 48, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const name of Object.keys(data.graph)) g.setNode(name, { width: 22 + 7.2 * name.length, height: 28 });
    for (const [name, ups] of Object.entries(data.graph)) for (const up of ups) if (g.hasNode(up)) g.setEdge(up, name);
    dagre.layout(g);
    const box = g.graph();
    svg.setAttribute("width", box.width);
    svg.setAttribute("height", box.height);
    svg.setAttribute("viewBox", `0 0 ${box.width} ${box.height}`);
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" }, defs);
    el("path", { d: "M0,0L10,5L0,10z", class: "arrowhead" }, marker);
    for (const e of g.edges()) {
      const pts = g.edge(e).points;
      const d = pts.map((p, i) => (i ? "L" : "M") + p.x.toFixed(1) + "," + p.y.toFixed(1)).join("");
      el("path", { d, class: "edge", "marker-end": "url(#arrow)" }, svg);
    }
    for (const name of g.nodes()) {
      const n = g.node(name);
      const status = data.status[name] || "PENDING";
      const group = el("g", { class: "node s-" + status, "data-task": name, transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})` }, svg);
      el("rect", { width: n.width, height: n.height, rx: 5 }, group);
      const text = el("text", { x: n.width / 2, y: n.height / 2 + 4, "text-anchor": "middle" }, group);
      text.textContent = name;
      el("title", {}, group).textContent = name + ": " + status;
      group.addEventListener("click", () => toggle(name, true, true));
    }
  }

  async function loadLogs(pre) {
    const res = await fetch(api("/logs?task=" + encodeURIComponent(pre.dataset.task)));
    const body = await res.json();
    if (body.error) { pre.textContent = body.error; return; }
    pre.textContent = body.lines.length
      ? body.lines.map((l) => `${l.at} ${l.attempt != null ? "#" + l.attempt + " " : ""}${l.message}`).join("\n")
      : "no log lines";
  }

  function toggle(task, open, scroll) {
    const row = document.querySelector(`tr.detail[data-task="${CSS.escape(task)}"]`);
    const button = document.querySelector(`tr.task[data-task="${CSS.escape(task)}"] .toggle`);
    if (!row) return;
    const show = open === undefined ? row.hidden : open;
    row.hidden = !show;
    button.setAttribute("aria-expanded", String(show));
    if (show) {
      opened.add(task);
      loadLogs(row.querySelector("pre.logs"));
      if (scroll) row.previousElementSibling.scrollIntoView({ block: "center" });
    } else opened.delete(task);
  }

  function say(text, isError) {
    const p = document.getElementById("action-message");
    p.textContent = text;
    p.className = isError ? "error" : "";
  }

  async function act(action, body) {
    busy = true;
    say(action === "repair" ? "repairing…" : "cancelling…");
    poll();
    try {
      const res = await fetch(api("/" + action), {
        method: "POST",
        headers: { "content-type": "application/json", "x-orch-ui": "1" },
        body: JSON.stringify(body),
      });
      const out = await res.json();
      await refresh(true);
      if (out.error) say(out.error, true);
      else say(`${action === "repair" ? "repair " + out.repair : "cancel"}: run ${out.status}`);
    } catch (err) {
      say(String(err), true);
    } finally {
      busy = false;
    }
  }

  function bind() {
    drawGraph();
    for (const b of document.querySelectorAll("tr.task .toggle")) {
      b.addEventListener("click", () => toggle(b.closest("tr").dataset.task));
    }
    for (const task of [...opened]) toggle(task, true); // reopen what the reader had open
    const form = document.getElementById("repair-form");
    if (form) form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act("repair", { tasks: form.tasks.value, allow_changed_definition: form.allow_changed_definition.checked });
    });
    const cancel = document.getElementById("cancel");
    if (cancel) cancel.addEventListener("click", () => act("cancel", {}));
  }

  async function refresh(force) {
    const run = document.getElementById("run");
    const res = await fetch(api(""));
    if (!res.ok) return;
    const view = await res.json();
    if (!force && view.version === run.dataset.version) return;
    const page = new DOMParser().parseFromString(await (await fetch(location.href)).text(), "text/html");
    const fresh = page.getElementById("run");
    const message = document.getElementById("action-message").outerHTML;
    run.replaceWith(fresh);
    document.getElementById("action-message").outerHTML = message;
    bind();
  }

  let timer = null;
  function poll() {
    if (timer) return;
    const every = 1000 * parseFloat(document.getElementById("run").dataset.refresh || "1.5");
    const tick = async () => {
      try { await refresh(false); } catch (err) { /* the server may be restarting: try again */ }
      const going = document.getElementById("run").dataset.terminal !== "true";
      timer = going || busy ? setTimeout(tick, every) : null;
    };
    timer = setTimeout(tick, every);
  }

  bind();
  if (document.getElementById("run").dataset.terminal !== "true") poll();
})();
