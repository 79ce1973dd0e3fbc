// The console shell: session (sign-in by API key when auth is on), navigation, routing by #/page.
import { loadGlossary } from "./glossary.js";
import { api, apiKey, setApiKey } from "./api.js";
import { clear, errorBox, fmtInt, h } from "./ui.js";

const PAGES = [
  { id: "overview", title: "Overview", icon: "◔", load: () => import("./pages/overview.js") },
  { id: "gta", title: "GTA planner", icon: "◎", load: () => import("./pages/gta.js") },
  { id: "audiences", title: "Audiences", icon: "◉", load: () => import("./pages/audiences.js") },
  { id: "shopper", title: "Shopper view", icon: "☺", load: () => import("./pages/shopper.js") },
  { id: "experiences", title: "Experiences", icon: "▦", load: () => import("./pages/experiences.js") },
  { id: "experiments", title: "Experiments", icon: "⚖", load: () => import("./pages/experiments.js") },
  { id: "data", title: "Data", icon: "▤", load: () => import("./pages/data.js") },
];

const ctx = { api, session: null, summary: null, first: null, last: null, params: {} };

function route() {
  const [path, q] = (location.hash.replace(/^#\/?/, "") || "overview").split("?");
  return { id: PAGES.some((p) => p.id === path) ? path : "overview", params: Object.fromEntries(new URLSearchParams(q || "")) };
}

export function go(id, params = {}) {
  const q = new URLSearchParams(params).toString();
  location.hash = `#/${id}${q ? `?${q}` : ""}`;
}
ctx.go = go;

function nav(active) {
  clear(document.getElementById("nav"), PAGES.map((p) => h("li", {}, h("a", { href: `#/${p.id}`, class: p.id === active ? "active" : "", "data-page": p.id },
    h("span", { class: "ico", "aria-hidden": "true" }, p.icon), p.title))));
}

function topbar() {
  const s = ctx.session, info = document.getElementById("topbar-info");
  const span = ctx.first ? h("span", { class: "badge info", "data-testid": "span" }, `data ${ctx.first} → ${ctx.last}`) : h("span", { class: "badge warn" }, "no events yet");
  const size = ctx.summary ? h("span", { class: "badge" }, `${fmtInt(ctx.summary.tables.events)} events · ${fmtInt(ctx.summary.users)} consumers`) : null;
  const access = !s.auth
    ? h("span", { class: "badge warn", "data-testid": "auth-badge", title: "Anyone who can reach this address can read and change everything. Turn on QIANMIAN_AUTH for a shared server." },
      s.loopback ? "open access · auth off (loopback demo)" : "open access · auth off")
    : h("span", { class: "badge ok", "data-testid": "auth-badge" }, `signed in · key ${s.key_id} · ${s.scopes.join(", ")}`);
  clear(info, span, size, access);
  const foot = document.getElementById("sidebar-foot");
  clear(foot, h("div", {}, `v${s.version} · ${s.engine}`), h("div", {}, h("a", { href: "/docs", style: "color:#cfe0ff" }, "API reference")),
    s.auth ? h("button", { class: "small", onclick: () => { setApiKey(""); boot(); } }, "Sign out") : null);
}

function signIn(message) {
  document.getElementById("page-title").textContent = "Sign in";
  clear(document.getElementById("nav"));
  clear(document.getElementById("topbar-info"), h("span", { class: "badge" }, "authentication is on"));
  const key = h("input", { type: "password", placeholder: "qm_…", autocomplete: "off", "aria-label": "API key", style: "width:100%" });
  const submit = (e) => { e.preventDefault(); setApiKey(key.value.trim()); boot(); };
  clear(document.getElementById("view"), h("form", { class: "card signin", onsubmit: submit },
    h("h2", {}, "Sign in with an API key"),
    h("p", { class: "muted" }, "Use a key with the read scope to look, or the admin scope to also save audiences, experiences and experiments. Create one with ",
      h("code", {}, "qianmian keys create --scope read"), "."),
    message ? h("div", { class: "error", style: "margin:10px 0" }, message) : null,
    h("div", { class: "stack" }, key, h("button", { class: "primary", type: "submit" }, "Sign in"))));
  key.focus();
}

async function show() {
  const { id, params } = route();
  const page = PAGES.find((p) => p.id === id);
  nav(id);
  document.getElementById("page-title").textContent = page.title;
  document.title = `${page.title} · Qianmian 千面`;
  const view = document.getElementById("view");
  ctx.params = params;
  clear(view, h("p", { class: "loading" }, "Loading…"));
  try {
    const mod = await page.load();
    clear(view);
    await mod.render(view, ctx);
  } catch (err) {
    console.error(err);
    clear(view, errorBox(err));
  }
}

async function boot() {
  try {
    ctx.session = await api.get("/v1/console/session");
  } catch (err) {
    clear(document.getElementById("view"), errorBox(err));
    return;
  }
  if (ctx.session.auth && !ctx.session.signed_in) {
    signIn(apiKey() ? ctx.session.message || "That key was not accepted." : null);
    return;
  }
  try {
    ctx.summary = await api.get("/v1/summary");
    ctx.first = ctx.summary.first_ts ? ctx.summary.first_ts.slice(0, 10) : null;
    ctx.last = ctx.summary.last_ts ? ctx.summary.last_ts.slice(0, 10) : null;
  } catch (err) {
    ctx.summary = null;
  }
  await loadGlossary(api);
  topbar();
  await show();
}

window.addEventListener("hashchange", show);
window.addEventListener("DOMContentLoaded", boot);
export { ctx };
