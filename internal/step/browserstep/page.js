// seam's page helper: finds elements by seam's selectors (css, text=,
// role=), says whether they can be acted on, and describes what the page
// shows when they cannot. Kept in globalThis.__seam; every call defines it
// again after a navigation.
(() => {
  const norm = s => (s || "").replace(/\s+/g, " ").trim();
  const implicitRole = el => {
    const t = el.tagName.toLowerCase();
    const type = (el.getAttribute("type") || "").toLowerCase();
    switch (t) {
      case "button": return "button";
      case "a": return el.hasAttribute("href") ? "link" : "";
      case "select": return el.multiple ? "listbox" : "combobox";
      case "textarea": return "textbox";
      case "option": return "option";
      case "img": return "img";
      case "ul": case "ol": return "list";
      case "li": return "listitem";
      case "table": return "table";
      case "tr": return "row";
      case "td": return "cell";
      case "th": return "columnheader";
      case "form": return "form";
      case "nav": return "navigation";
      case "main": return "main";
      case "dialog": return "dialog";
      case "h1": case "h2": case "h3": case "h4": case "h5": case "h6": return "heading";
      case "input":
        if (["button", "submit", "reset", "image"].includes(type)) return "button";
        if (type === "checkbox") return "checkbox";
        if (type === "radio") return "radio";
        if (type === "number") return "spinbutton";
        if (type === "range") return "slider";
        if (type === "search") return "searchbox";
        if (type === "hidden") return "";
        return "textbox";
    }
    return "";
  };
  const role = el => (el.getAttribute("role") || "").split(" ")[0] || implicitRole(el);
  const name = el => {
    const l = el.getAttribute("aria-label");
    if (l) return norm(l);
    const by = el.getAttribute("aria-labelledby");
    if (by) return norm(by.split(" ").map(id => { const x = document.getElementById(id); return x ? x.textContent : ""; }).join(" "));
    if (el.labels && el.labels.length) return norm(Array.from(el.labels).map(x => x.textContent).join(" "));
    if (el.tagName === "INPUT" && ["button", "submit", "reset"].includes(el.type)) return norm(el.value);
    if (el.tagName === "IMG") return norm(el.getAttribute("alt"));
    if (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) return norm(el.getAttribute("placeholder") || el.getAttribute("title"));
    return norm(el.textContent);
  };
  const visible = el => {
    if (!el.isConnected) return false;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.display === "none") return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const all = () => Array.from(document.querySelectorAll("body *"));
  const textMatch = (text, want, exact) => exact ? norm(text) === want : norm(text).toLowerCase().includes(want.toLowerCase());
  const find = sel => {
    switch (sel.kind) {
      case "css": return Array.from(document.querySelectorAll(sel.value));
      case "text": {
        // The innermost elements whose text matches: a <b> inside a
        // matching <button> is not a second match, the button is.
        const hits = all().filter(el => !["SCRIPT", "STYLE", "TITLE", "HEAD"].includes(el.tagName) && textMatch(el.innerText || el.textContent, sel.value, sel.exact) ||
          (el.tagName === "INPUT" && ["button", "submit"].includes(el.type) && textMatch(el.value, sel.value, sel.exact)));
        return hits.filter(el => !hits.some(o => o !== el && el.contains(o)));
      }
      case "role":
        return all().filter(el => role(el) === sel.role && (!sel.name || textMatch(name(el), sel.name, sel.exact)));
    }
    return [];
  };
  const describe = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const r = role(el);
    const n = name(el).slice(0, 60);
    return (r ? r + " " : "") + JSON.stringify(n) + " (" + s + ")";
  };
  const state = (sel) => {
    const els = find(sel);
    const el = els[0];
    const out = { count: els.length, visible: !!el && visible(el) };
    if (el) {
      out.text = norm(el.innerText !== undefined ? el.innerText : el.textContent);
      out.value = "value" in el ? el.value : null;
      out.checked = "checked" in el ? !!el.checked : null;
      out.enabled = !el.disabled;
      out.attributes = {};
      for (const a of el.attributes) out.attributes[a.name] = a.value;
      out.texts = els.slice(0, 100).map(e => norm(e.innerText || e.textContent));
    }
    return out;
  };
  // ready is the first match's count when it can be acted on; else why
  // not, so the caller waits and, at the timeout, says so.
  const ready = (sel, need) => {
    const els = find(sel);
    if (!els.length) return { wait: "no element matches" };
    const el = els[0];
    if (!visible(el)) return { wait: "the element is not visible: " + describe(el) };
    if (need.enabled && el.disabled) return { wait: "the element is disabled: " + describe(el) };
    if (need.editable && !(el.isContentEditable || ["INPUT", "TEXTAREA"].includes(el.tagName)) ) return { fail: "the element cannot be filled: " + describe(el) };
    if (need.editable && el.readOnly) return { wait: "the element is read-only: " + describe(el) };
    return { count: els.length };
  };
  // short names an element as a message about a point does: h2 "Report".
  const short = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const n = norm(el.innerText || el.textContent || el.getAttribute("aria-label") || "").slice(0, 40);
    return n ? s + " " + JSON.stringify(n) : s;
  };
  const frame = () => new Promise(res => { requestAnimationFrame(() => res()); setTimeout(res, 100); });
  const sameBox = (a, b) => a.left === b.left && a.top === b.top && a.width === b.width && a.height === b.height;
  // stable scrolls the first match into view when it is not, then waits
  // two animation frames: when its box did not change between them, its
  // centre is where the mouse goes; else it is moving, and the caller
  // tries again.
  const stable = async (sel) => {
    const el = find(sel)[0];
    if (!el) return { wait: "no element matches" };
    let r = el.getBoundingClientRect();
    const vw = innerWidth, vh = innerHeight;
    if (r.top < 0 || r.left < 0 || r.bottom > vh || r.right > vw) el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
    await frame();
    const r1 = el.getBoundingClientRect();
    await frame();
    r = el.getBoundingClientRect();
    if (!el.isConnected) return { wait: "the element went away" };
    if (!sameBox(r1, r)) return { wait: describe(el) + " is moving (its box changed between two animation frames)" };
    const x = Math.min(Math.max(r.left + r.width / 2, 0), vw - 1), y = Math.min(Math.max(r.top + r.height / 2, 0), vh - 1);
    if (r.width === 0 || r.height === 0 || r.bottom <= 0 || r.right <= 0 || r.top >= vh || r.left >= vw) return { wait: describe(el) + " is outside the viewport" };
    return { x, y };
  };
  // hits says whether an event at target reaches el: el itself, inside
  // it, or its label.
  const hits = (el, target) => !!target && (target === el || el.contains(target) || !!(el.labels && Array.from(el.labels).some(l => l.contains(target))));
  // aim checks, right before the mouse goes, that what is at (x, y) is
  // the first match or inside it; with arm, it also guards the mouse's
  // events until disarm: one that would reach another element (the
  // layout moved in between) is stopped before the page sees it.
  const aim = (sel, x, y, arm) => {
    const el = find(sel)[0];
    if (!el) return { wait: "no element matches" };
    const top = document.elementFromPoint(x, y);
    if (!hits(el, top)) return { wait: "would land on " + (top ? short(top) : "nothing") + " (it covers the point)" };
    if (arm) {
      disarm();
      const guard = { blocked: "" };
      const check = e => {
        if (guard.blocked || !hits(el, e.target)) {
          if (!guard.blocked) guard.blocked = e.target && e.target.tagName ? short(e.target) : "nothing";
          e.preventDefault();
          e.stopImmediatePropagation();
        }
      };
      const types = ["pointerdown", "mousedown", "pointerup", "mouseup", "click", "auxclick", "dblclick"];
      for (const t of types) addEventListener(t, check, true);
      guard.off = () => { for (const t of types) removeEventListener(t, check, true); };
      globalThis.__seamGuard = guard;
    }
    return {};
  };
  // disarm ends aim's guard: blocked names what the mouse's events would
  // have reached, when one was stopped.
  const disarm = () => {
    const g = globalThis.__seamGuard;
    if (!g) return {};
    g.off();
    globalThis.__seamGuard = undefined;
    return { blocked: g.blocked };
  };
  const setValue = (el, v) => {
    const proto = el.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : el.tagName === "SELECT" ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
    const d = Object.getOwnPropertyDescriptor(proto, "value");
    d && d.set ? d.set.call(el, v) : (el.value = v);
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  };
  const fill = (sel, v) => {
    const el = find(sel)[0];
    el.focus();
    if (el.isContentEditable) { el.textContent = v; el.dispatchEvent(new Event("input", { bubbles: true })); return {}; }
    setValue(el, v);
    return {};
  };
  const select = (sel, want) => {
    const el = find(sel)[0];
    if (el.tagName !== "SELECT") return { fail: "the element is not a <select>: " + describe(el) };
    const opts = Array.from(el.options);
    const o = opts.find(o => o.value === want) || opts.find(o => norm(o.label) === want);
    if (!o) return { fail: "no option " + JSON.stringify(want) + "; options: " + opts.map(o => JSON.stringify(o.value) + (o.label !== o.value ? " (" + norm(o.label) + ")" : "")).join(", ") };
    setValue(el, o.value);
    return {};
  };
  // near lists what the page shows that looks most like the selector:
  // elements one can act on or read, ranked by shared words.
  const near = sel => {
    const want = (sel.value || sel.name || sel.role || "").toLowerCase();
    const words = want.split(/[^a-z0-9]+/).filter(w => w.length > 1);
    const cands = all().filter(el => visible(el) && (role(el) || el.id) && !["list", "listitem", "row", "cell", "table", "form", "main", "navigation"].includes(role(el)));
    const score = el => {
      const hay = (describe(el) + " " + Array.from(el.classList).join(" ")).toLowerCase();
      let s = 0;
      for (const w of words) if (hay.includes(w)) s += w.length;
      if (sel.kind === "role" && role(el) === sel.role) s += 3;
      return s;
    };
    return cands.map(el => [score(el), describe(el)]).sort((a, b) => b[0] - a[0]).slice(0, 5).map(x => x[1]);
  };
  const page = () => ({ url: location.href, title: document.title, text: norm(document.body ? document.body.innerText : "") });
  const storage = () => { const o = {}; for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i); o[k] = localStorage.getItem(k); } return o; };
  const element = sel => find(sel)[0];
  return { find, state, ready, stable, aim, disarm, fill, select, near, page, storage, element, visible, textMatch, norm };
})()
