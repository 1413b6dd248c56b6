// seam's report page. Every piece of run data reaches the page through
// textContent or an attribute, never as markup: a body, header or log line
// that holds HTML is shown as text.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var CHUNK = 200, MAXROWS = 3000;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function dur(ms) {
    if (ms < 1) return Math.round(ms * 1000) + "µs";
    if (ms < 1000) return (Math.round(ms * 10) / 10) + "ms";
    return (Math.round(ms / 10) / 100) + "s";
  }

  // ---- the system map ----
  function drawMap() {
    var host = document.getElementById("mapview");
    if (!host || !D.edges.length) return;
    var names = [], seen = {};
    function add(n) { if (!seen[n]) { seen[n] = true; names.push(n); } }
    D.services.forEach(function (s) { add(s.name); });
    D.edges.forEach(function (e) { add(e.from); add(e.to); });
    var depth = {};
    names.forEach(function (n) { depth[n] = 0; });
    for (var round = 0; round < names.length; round++) { // longest path, bounded for cycles
      var changed = false;
      D.edges.forEach(function (e) {
        if (depth[e.to] < depth[e.from] + 1 && depth[e.from] + 1 < names.length) { depth[e.to] = depth[e.from] + 1; changed = true; }
      });
      if (!changed) break;
    }
    var cols = {}, pos = {}, maxRows = 0, maxDepth = 0;
    names.forEach(function (n) {
      var d = depth[n]; cols[d] = (cols[d] || 0) + 1;
      pos[n] = { x: 20 + d * 230, y: 20 + (cols[d] - 1) * 64 };
      maxRows = Math.max(maxRows, cols[d]); maxDepth = Math.max(maxDepth, d);
    });
    var W = 40 + (maxDepth + 1) * 230, H = 40 + maxRows * 64, NW = 150, NH = 36;
    var s = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "system map" });
    var defs = svg("defs", {});
    ["seen", "none", "injected", "unwired", "failing"].forEach(function (k) {
      var m = svg("marker", { id: "arrow-" + k, viewBox: "0 0 10 10", refX: 10, refY: 5, markerUnits: "userSpaceOnUse", markerWidth: 11, markerHeight: 11, orient: "auto-start-reverse" });
      m.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", "class": "head " + k }));
      defs.appendChild(m);
    });
    s.appendChild(defs);
    D.edges.forEach(function (e, i) {
      var a = pos[e.from], b = pos[e.to];
      var x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2;
      if (b.x <= a.x) { x1 = a.x + NW / 2; y1 = a.y + NH; x2 = b.x + NW / 2; y2 = b.y; }
      var mx = (x1 + x2) / 2;
      var d = "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2;
      if (depth[e.to] - depth[e.from] > 1) {
        // It skips a column: a straight line would run behind the boxes
        // between (and look like their edges), so it arcs through the
        // gap under the row instead.
        var low = Math.max(a.y, b.y) + NH + 18;
        d = "M" + x1 + "," + y1 + " C" + (x1 + 60) + "," + low + " " + (x2 - 60) + "," + low + " " + x2 + "," + y2;
      }
      var g = svg("g", { "class": "edge state-" + e.state + (e.failing ? " failing" : ""), "data-edge": e.edge, tabindex: 0 });
      g.appendChild(svg("path", { d: d, "class": "hit" }));
      g.appendChild(svg("path", { d: d, "class": "line", "marker-end": "url(#arrow-" + (e.failing ? "failing" : e.state) + ")" }));
      var t = svg("title", {}); t.textContent = e.edge + ": " + e.state + (e.failing ? ", likeliest cause of " + e.failing + " failure(s)" : "");
      g.appendChild(t);
      g.addEventListener("click", function () { showEdge(i); });
      g.addEventListener("keydown", function (ev) { if (ev.key === "Enter") showEdge(i); });
      s.appendChild(g);
    });
    names.forEach(function (n) {
      var p = pos[n], svc = D.services.filter(function (x) { return x.name === n; })[0];
      var g = svg("g", { "class": "node" + (svc && svc.kind === "stub" ? " stub" : ""), "data-service": n });
      g.appendChild(svg("rect", { x: p.x, y: p.y, width: NW, height: NH, rx: 6 }));
      var t = svg("text", { x: p.x + NW / 2, y: p.y + 15, "text-anchor": "middle" }); t.textContent = n;
      var k = svg("text", { x: p.x + NW / 2, y: p.y + 29, "text-anchor": "middle", "class": "kind" });
      k.textContent = svc ? svc.kind + (svc.stands_in_for ? " (stand-in)" : "") : "";
      g.appendChild(t); g.appendChild(k);
      s.appendChild(g);
    });
    host.appendChild(s);
    var legend = el("p", "legend");
    [["seen", "operations seen"], ["none", "not exercised"], ["injected", "only injected answers"], ["failing", "likeliest cause of failures"]].forEach(function (x) {
      var sp = el("span", "key " + x[0], x[1]); legend.appendChild(sp);
    });
    host.appendChild(legend);
    host.appendChild(el("div", "", "")).id = "edgeinfo";
  }

  function showEdge(i) {
    var e = D.edges[i], box = document.getElementById("edgeinfo");
    box.textContent = "";
    box.appendChild(el("h3", "", e.edge + " · " + e.state + (e.failing ? " · likeliest cause of " + e.failing + " failure(s)" : "")));
    if (!e.ops || !e.ops.length) box.appendChild(el("p", "", "No test used this edge."));
    var ul = el("ul", "ops");
    (e.ops || []).forEach(function (o) {
      var li = el("li", o.injected ? "injected" : "");
      li.appendChild(el("code", "", o.op));
      li.appendChild(el("span", "count", " ×" + o.count + (o.injected ? " (injected by a fault)" : "")));
      var tl = el("span", "tests");
      o.tests.slice(0, 50).forEach(function (ti) {
        var a = el("a", "t " + D.tests[ti].status, D.tests[ti].name);
        a.href = "#t" + ti; a.dataset.test = ti; tl.appendChild(a);
      });
      if (o.tests.length > 50) tl.appendChild(el("span", "", " … and " + (o.tests.length - 50) + " more"));
      li.appendChild(tl);
      ul.appendChild(li);
    });
    box.appendChild(ul);
    var f = document.getElementById("f-edge");
    var btn = el("button", "", "show only the tests that used it");
    btn.addEventListener("click", function () { f.value = e.edge; refilter(); });
    box.appendChild(btn);
    document.querySelectorAll("#mapview .edge.selected").forEach(function (x) { x.classList.remove("selected"); });
    document.querySelector('#mapview .edge[data-edge="' + CSS.escape(e.edge) + '"]').classList.add("selected");
  }

  // ---- the test list, filters and search ----
  var list = document.getElementById("list"), shown = [], rendered = 0, observer = null, sentinel = el("li", "more", "…");
  var haystack = null;
  function textOf(t) {
    var parts = [t.name, t.pos, (t.tags || []).join(" "), t.status];
    if (t.failure) parts.push(t.failure.message, t.failure.step, t.failure.diff || "", t.failure.request || "", t.failure.response || "");
    (t.events || []).forEach(function (ev) { parts.push(ev[5]); });
    return parts.join("\n").toLowerCase();
  }
  function fill(sel, values) {
    values.sort().forEach(function (v) { var o = el("option", "", v); o.value = v; sel.appendChild(o); });
  }
  function setupFilters() {
    var tags = {}, svcs = {};
    D.tests.forEach(function (t) { (t.tags || []).forEach(function (g) { tags[g] = true; }); });
    D.services.forEach(function (s) { svcs[s.name] = true; });
    fill(document.getElementById("f-tag"), Object.keys(tags));
    fill(document.getElementById("f-service"), Object.keys(svcs));
    fill(document.getElementById("f-edge"), D.edges.map(function (e) { return e.edge; }));
    ["f-status", "f-tag", "f-service", "f-edge"].forEach(function (id) { document.getElementById(id).addEventListener("change", refilter); });
    var timer = 0;
    document.getElementById("q").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refilter, 120); });
    document.getElementById("filters").hidden = false;
  }
  function refilter() {
    var st = document.getElementById("f-status").value, tag = document.getElementById("f-tag").value;
    var svc = document.getElementById("f-service").value, edge = document.getElementById("f-edge").value;
    var q = document.getElementById("q").value.trim().toLowerCase();
    if (q && !haystack) haystack = D.tests.map(textOf);
    var svcLane = svc ? D.lanes.indexOf(svc) : -1;
    shown = [];
    D.tests.forEach(function (t, i) {
      if (st && t.status !== st) return;
      if (tag && (t.tags || []).indexOf(tag) < 0) return;
      if (edge && (t.edges || []).indexOf(edge) < 0) return;
      if (svc && (t.lanes || []).indexOf(svcLane) < 0) return;
      if (q && haystack[i].indexOf(q) < 0) return;
      shown.push(i);
    });
    // Failures first, in their groups' order, then the rest as they ran.
    shown.sort(function (a, b) {
      var ga = D.tests[a].group, gb = D.tests[b].group;
      if ((ga < 0) !== (gb < 0)) return ga < 0 ? 1 : -1;
      return ga !== gb ? ga - gb : a - b;
    });
    list.textContent = ""; rendered = 0;
    document.getElementById("shown").textContent = shown.length + " of " + D.tests.length + " tests";
    more();
  }
  function row(i) {
    var t = D.tests[i], li = el("li", "test " + t.status);
    li.id = "t" + i; li.dataset.test = i; li.tabIndex = 0;
    li.appendChild(el("span", "badge " + t.status, t.status === "failed" ? "FAIL" : t.status === "passed" ? "PASS" : "SKIP"));
    li.appendChild(el("span", "name", t.name));
    li.appendChild(el("span", "dur", t.status === "skipped" ? (t.skip || "") : dur(t.duration_ms)));
    li.appendChild(el("span", "pos", t.pos || ""));
    return li;
  }
  function more() {
    if (sentinel.parentNode) sentinel.remove();
    var end = Math.min(shown.length, rendered + CHUNK), frag = document.createDocumentFragment();
    for (; rendered < end; rendered++) frag.appendChild(row(shown[rendered]));
    list.appendChild(frag);
    if (rendered < shown.length) {
      list.appendChild(sentinel);
      if (observer) observer.observe(sentinel);
    }
  }
  list.addEventListener("click", function (ev) {
    var li = ev.target.closest("li.test");
    if (li) open(+li.dataset.test, true);
  });
  list.addEventListener("keydown", function (ev) {
    var li = ev.target.closest("li.test");
    if (li && ev.key === "Enter") open(+li.dataset.test, true);
  });
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest("a[data-test]");
    if (a) { ev.preventDefault(); open(+a.dataset.test, true); }
  });

  // ---- one test: its failure and timeline ----
  function block(parent, title, text, cls) {
    if (!text) return;
    var d = el("div", "block " + (cls || ""));
    d.appendChild(el("h4", "", title));
    var pre = el("pre", "");
    String(text).split("\n").forEach(function (line) {
      var c = cls === "diff" ? (line.indexOf("- ") === 0 ? "del" : line.indexOf("+ ") === 0 ? "ins" : "") : "";
      pre.appendChild(el("span", c, line + "\n"));
    });
    d.appendChild(pre);
    parent.appendChild(d);
  }
  function artifacts(box, f, shots) {
    if (!f.artifacts || !f.artifacts.length) return;
    box.appendChild(el("h4", "", "saved when it failed"));
    var ul = el("ul", "artifacts");
    f.artifacts.forEach(function (a, k) {
      var li = el("li", "");
      li.appendChild(el("span", "", a.name + ": "));
      var link = el("a", "", a.path);
      link.href = "file://" + encodeURI(a.path);
      li.appendChild(link);
      if (shots && shots[k]) {
        var img = el("img", "shot");
        img.alt = a.name;
        img.src = shots[k];
        li.appendChild(img);
      }
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }
  function failureBox(f, shots) {
    var box = el("div", "failure");
    box.appendChild(el("p", "where", f.pos + ": step \u201c" + f.step + "\u201d (" + f.kind + ")"));
    box.appendChild(el("pre", "message", f.message));
    block(box, "diff", f.diff, "diff");
    block(box, "request", f.request, "req");
    block(box, "response", f.response, "resp");
    if (f.suspects && f.suspects.length) {
      box.appendChild(el("h4", "", "suspicious interactions, likeliest cause first"));
      var ol = el("ol", "suspects");
      f.suspects.forEach(function (s, i) {
        var li = el("li", "s" + (i + 1));
        li.appendChild(el("code", "", s.edge + " | " + s.line));
        li.appendChild(el("span", "why", "why: " + s.reason));
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
    artifacts(box, f, shots);
    return box;
  }
  var current = -1;
  function open(i, push) {
    var t = D.tests[i];
    if (!t) return;
    current = i;
    document.querySelectorAll("#list li.selected").forEach(function (x) { x.classList.remove("selected"); });
    var li = document.getElementById("t" + i);
    if (li) li.classList.add("selected");
    if (push && history.replaceState) history.replaceState(null, "", "#t" + i);
    var det = document.getElementById("detail");
    det.textContent = "";
    var h = el("h3", "title " + t.status);
    h.appendChild(el("span", "badge " + t.status, t.status.toUpperCase()));
    h.appendChild(el("span", "", " " + t.name));
    det.appendChild(h);
    var meta = [t.pos, dur(t.duration_ms)];
    if (t.tags) meta.push("tags: " + t.tags.join(", "));
    if (t.priority) meta.push("priority " + t.priority);
    if (t.worker) meta.push("worker " + t.worker);
    det.appendChild(el("p", "meta", meta.join(" · ")));
    if (t.skip) det.appendChild(el("p", "", "skipped: " + t.skip));
    if (t.failure) {
      if (t.group >= 0) det.appendChild(el("p", "group", "cause shared by " + D.groups[t.group].tests.length + " test(s): " + D.groups[t.group].cause));
      det.appendChild(failureBox(t.failure, t.shots));
    }
    det.appendChild(timeline(t, MAXROWS));
    det.scrollTop = 0;
    var sus = det.querySelector(".ev.s1");
    if (sus && sus.scrollIntoView) sus.scrollIntoView({ block: "nearest" });
  }
  function timeline(t, limit) {
    var wrap = el("div", "timeline");
    var lanes = t.lanes || [0], col = {};
    lanes.forEach(function (l, k) { col[l] = k + 2; });
    var grid = el("div", "grid");
    grid.style.gridTemplateColumns = "5.5em repeat(" + lanes.length + ", minmax(9em, 1fr))";
    grid.appendChild(el("div", "lane-head time", "+ms"));
    lanes.forEach(function (l) { grid.appendChild(el("div", "lane-head", D.lanes[l])); });
    var evs = t.events || [], n = Math.min(evs.length, limit);
    var info = el("div", "evinfo");
    var rowN = 1;
    for (var k = 0; k < n; k++) {
      var ev = evs[k], kind = ev[2], flags = ev[6] || "";
      rowN++;
      var tm = el("div", "time", (ev[0] >= 0 ? "+" : "") + ev[0].toFixed(1));
      tm.style.gridRow = rowN;
      grid.appendChild(tm);
      var c = el("div", "ev k-" + kind);
      c.style.gridRow = rowN;
      c.dataset.i = k;
      var a = col[ev[4]], b = col[ev[3]];
      if (kind === "w") {
        var lo = Math.min(a, b), hi = Math.max(a, b);
        c.style.gridColumn = lo + " / " + (hi + 1);
        c.classList.add(a <= b ? "right" : "left");
        if (flags.indexOf("w") >= 0) c.classList.add("sus");
        if (flags.indexOf("i") >= 0) c.classList.add("injected");
        var m = /s([123])/.exec(flags);
        if (m) { c.classList.add("suspect"); c.classList.add("s" + m[1]); }
        c.appendChild(el("span", "arrow", a <= b ? "\u2192" : "\u2190"));
        c.appendChild(el("span", "txt", ev[5]));
      } else {
        c.style.gridColumn = String(b);
        if (kind === "s") c.classList.add(flags === "f" ? "failed" : "passed");
        c.appendChild(el("span", "txt", ev[5]));
      }
      c.title = ev[5];
      grid.appendChild(c);
      if (kind === "s" && flags === "f" && t.failure) { // the failing step's diff, in place
        rowN++;
        var d = el("div", "inplace");
        d.style.gridRow = rowN; d.style.gridColumn = "2 / " + (lanes.length + 2);
        block(d, t.failure.message.split("\n")[0], t.failure.diff || t.failure.message, t.failure.diff ? "diff" : "");
        grid.appendChild(d);
      }
    }
    grid.addEventListener("click", function (e2) {
      var c2 = e2.target.closest(".ev");
      if (!c2) return;
      grid.querySelectorAll(".ev.picked").forEach(function (x) { x.classList.remove("picked"); });
      c2.classList.add("picked");
      showEvent(info, t, evs[+c2.dataset.i]);
    });
    wrap.appendChild(info);
    wrap.appendChild(grid);
    if (evs.length === 0) wrap.appendChild(el("p", "hint", "No steps, interactions or log lines were recorded for this test."));
    if (evs.length > n) {
      var btn = el("button", "", "show all " + evs.length + " rows");
      btn.addEventListener("click", function () { wrap.replaceWith(timeline(t, Infinity)); });
      wrap.appendChild(btn);
    }
    return wrap;
  }
  function showEvent(box, t, ev) {
    box.textContent = "";
    var kind = { s: "step", w: "interaction", l: "log line" }[ev[2]] || ev[2], flags = ev[6] || "";
    var where = ev[2] === "w" ? D.lanes[ev[4]] + " \u2192 " + D.lanes[ev[3]] : D.lanes[ev[3]];
    box.appendChild(el("h4", "", kind + " · " + where + " · +" + ev[0].toFixed(3) + "ms" + (ev[1] ? " · took " + dur(ev[1]) : "")));
    box.appendChild(el("pre", "full", ev[5]));
    if (ev[2] === "s" && ev[7]) box.appendChild(el("p", "", "at " + ev[7]));
    if (ev[2] === "w") {
      var x = ev[7] !== undefined && t.exchanges ? t.exchanges[+ev[7]] : null;
      if (x) {
        var ex = el("div", "exchange");
        block(ex, "request", x.request, "req");
        block(ex, "request body", x.request_body, "req");
        block(ex, "response", x.response, "resp");
        block(ex, "response body", x.response_body, "resp");
        box.appendChild(ex);
      } else if (t.exchanges_left_out) {
        box.appendChild(el("p", "hint", "What this interaction carried was left out of the page to keep it small (failed tests' come first); the run's event log has it."));
      }
    }
    var notes = [];
    if (flags.indexOf("i") >= 0) notes.push("answered by a fault of seam's, not by " + D.lanes[ev[3]]);
    if (flags.indexOf("w") >= 0) notes.push("looks like a fault (an error answer, a reset, no answer)");
    var m = /s([123])/.exec(flags);
    if (m && t.failure && t.failure.suspects) notes.push("suspect #" + m[1] + ": " + t.failure.suspects[+m[1] - 1].reason);
    notes.forEach(function (x) { box.appendChild(el("p", "note", x)); });
  }

  // ---- start ----
  drawMap();
  setupFilters();
  if ("IntersectionObserver" in window) {
    observer = new IntersectionObserver(function (es) { if (es.some(function (x) { return x.isIntersecting; })) more(); });
  } else {
    sentinel.addEventListener("click", more);
  }
  refilter();
  var m = /^#t(\d+)$/.exec(location.hash);
  if (m) open(+m[1], false);
  document.body.dataset.readyAt = String(performance.now());
  document.body.dataset.ready = "1";
})();
