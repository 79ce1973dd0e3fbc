// Small DOM helpers: elements are built with textContent (never innerHTML with data).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "disabled" || k === "selected") el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const numFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

export function fmtInt(v) { return v === null || v === undefined ? "—" : intFmt.format(v); }
export function fmtNum(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (Math.abs(v) >= 1000) return intFmt.format(v);
  return new Intl.NumberFormat("en-US", { maximumFractionDigits: digits }).format(v);
}
export function fmtMoney(v) { return v === null || v === undefined ? "—" : numFmt.format(v); }
export function fmtPct(v, digits = 1) { return v === null || v === undefined ? "—" : `${(v * 100).toFixed(digits)}%`; }
export function fmtSignedPct(v, digits = 1) { return v === null || v === undefined ? "—" : `${v >= 0 ? "+" : ""}${(v * 100).toFixed(digits)}%`; }

export function card(title, { sub, actions, cls = "", id } = {}, ...body) {
  return h("section", { class: `card ${cls}`, id },
    title || sub || actions ? h("div", { class: "head" }, h("div", {}, title ? h("h2", {}, title) : null, sub ? h("div", { class: "sub" }, sub) : null), actions || null) : null,
    ...body);
}

export function empty(title, text, ...extra) {
  return h("div", { class: "empty", "data-testid": "empty" }, h("b", {}, title), text ? h("span", {}, text) : null, ...extra);
}

export function errorBox(err, hint) {
  const what = err && err.field ? `${err.field}: ` : "";
  const msg = err && err.message ? err.message : String(err);
  return h("div", { class: "error", role: "alert", "data-testid": "error" },
    h("div", { class: "what" }, err && err.status === 401 ? "Sign-in needed" : err && err.status === 403 ? "Not allowed with this key" : "Could not load this"),
    h("div", {}, msg.startsWith(what) ? msg : what + msg), hint ? h("div", { class: "small", style: "margin-top:4px;color:#7a1f1f" }, hint) : null);
}

export function loading(text = "Loading…") { return h("p", { class: "loading" }, text); }

export function field(label, input, attrs = {}) { return h("label", { class: "field", ...attrs }, label, input); }

export function dateInput(value, attrs = {}) { return h("input", { type: "date", value, ...attrs }); }

export function table(columns, rows, { onRow, selected, testid, empty: emptyText } = {}) {
  if (!rows.length) return empty(emptyText || "Nothing to show", emptyText ? "" : "No rows for these settings.");
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "", title: c.tip || null }, c.label)));
  const body = rows.map((r, i) => h("tr", {
    class: [onRow ? "clickable" : "", selected && selected(r) ? "selected" : ""].join(" "),
    onclick: onRow ? () => onRow(r, i) : null,
  }, columns.map((c) => {
    const v = c.render ? c.render(r) : r[c.key];
    return h("td", { class: c.num ? "num" : "", title: c.title ? c.title(r) : null }, v instanceof Node ? v : v === null || v === undefined ? "—" : String(v));
  })));
  return h("div", { class: "hscroll" }, h("table", { class: "data", "data-testid": testid }, h("thead", {}, head), h("tbody", {}, body)));
}

// Async section: shows a spinner, then the result of `build()` or the error.
export async function fill(el, build, { hint } = {}) {
  clear(el, loading());
  try {
    const out = await build();
    clear(el, out);
  } catch (err) {
    console.warn(err);
    clear(el, errorBox(err, hint ? hint(err) : null));
  }
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

export function addDays(iso, n) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(a, b) { return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86400000); }

export function stageBadge(stage) {
  return stage ? h("span", { class: `stage ${stage}`, title: `AIPL stage ${stage}` }, stage) : h("span", { class: "muted" }, "no stage");
}

export function canAdmin(ctx) { return ctx.session.scopes.includes("admin"); }

export function adminButton(ctx, label, attrs = {}) {
  const ok = canAdmin(ctx);
  return h("button", { ...attrs, disabled: !ok || attrs.disabled, title: ok ? attrs.title : "Needs an API key with the admin scope" }, label);
}
