// Draws a storefront page (the JSON of GET /v1/storefront/{user}) the way a shopper would see it,
// with the reason for every product and "Why this page": the decision record that composed it.
import { h } from "./ui.js";

function hue(text) {
  let x = 0;
  for (const c of String(text)) x = (x * 31 + c.charCodeAt(0)) % 360;
  return x;
}

function item(id, label, why) {
  const cat = label && label.category_id;
  const words = label && label.category ? label.category : cat ? `category ${cat}` : null;
  return h("div", { class: "item", "data-item": id },
    h("div", { class: "pic", style: `background:hsl(${hue(cat || id)} 55% 82%)`, title: words || "" }),
    h("div", { class: "id" }, label && label.title ? label.title : `item ${id}`),
    words ? h("div", { class: "muted" }, words) : null,
    why ? h("div", { class: "why" }, why) : null);
}

const MODULES = {
  hero: (m) => h("div", { class: "mod hero" }, h("div", { class: "t" }, m.title), m.subtitle ? h("div", { class: "s" }, m.subtitle) : null),
  greeting: (m) => h("div", { class: "mod greeting", "data-testid": "page-greeting" }, m.text),
  guide: (m) => h("div", { class: "mod guide" }, h("div", {}, h("b", {}, "Guide  "), m.question.text),
    h("div", { class: "opts" }, m.question.options.map((o) => h("span", { class: "chip", title: `sets the tag ${o.tag}` }, o.label)))),
  rail: (m, labels) => h("div", { class: "mod rail", "data-testid": "page-rail", "data-title": m.title }, h("b", {}, m.title), h("span", { class: "muted small" }, `  ${m.scene}`),
    h("div", { class: "items" }, m.items.map((x) => item(x.item_id, labels[x.item_id], x.reason)))),
  bundle: (m, labels) => h("div", { class: "mod" }, h("b", {}, `Bundle · ${m.title}`), m.price ? h("span", { class: "muted" }, `  ${m.price}`) : null,
    h("div", { class: "items", style: "display:flex;gap:8px;margin-top:6px" }, m.item_ids.map((i) => item(i, labels[i])))),
  coupon: (m) => h("div", { class: "mod coupon", "data-testid": "page-coupon" }, h("b", {}, `Coupon · ${m.title}`), "  ", h("span", { class: "code" }, m.code),
    m.value ? h("span", { class: "muted" }, `  (${m.value} off${m.min_spend ? ` over ${m.min_spend}` : ""})`) : null),
  nearby_store: (m) => h("div", { class: "mod" }, h("b", {}, `Nearby · ${m.title}`), h("div", {}, [m.store.name, m.store.address, m.store.city].filter(Boolean).join(" · "))),
};

const row = (k, ...v) => h("tr", {}, h("th", {}, k), h("td", {}, ...v));

function experienceText(d) {
  const v = `v${d.experience_version}`;
  if (d.audience) return `${d.experience} (${v}): the page of audience ${d.audience}`;
  if (!d.consent) return `default (${v}): shoppers who opted out see it`;
  if (d.withheld) return `default (${v}): the control arm does not see ${d.withheld}'s page`;
  return d.audiences.length ? `default (${v}): no audience of this shopper has its own page` : `default (${v}): in no audience`;
}

function railText(r) {
  return r.left_out ? h("span", { class: "muted" }, `${r.title} (${r.scene}): left out: ${r.left_out}`)
    : h("span", {}, h("b", {}, r.title), ` (${r.scene}): ${r.shown} products, ${r.source}`);
}

// "Why this page", read from the same decision record that composed the page.
function why(page) {
  const d = page.decision;
  if (!d) return h("ul", { class: "reasons", "data-testid": "page-reasons" }, page.reasons.map((r) => h("li", {}, r)));
  const arm = d.experiment ? `${d.experiment} · ${d.variant} (${d.arm})${d.arm === "control" ? ": the default page, not personalized" : ": personalized"}` : "no storefront experiment";
  return h("div", { "data-testid": "page-reasons", "data-audience": d.audience || "", "data-experience": d.experience, "data-arm": d.arm || "" },
    h("table", { class: "why-table" }, h("tbody", {},
      row("Audience", d.consent ? (d.audiences.length ? d.audiences.map((a, i) => h("span", { class: `chip ${i ? "" : "primary"}` }, a)) : "in no audience") : "opted out: not profiled"),
      row("Experiment arm", arm),
      row("Experience", experienceText(d)),
      row("Need", d.personalized ? `${d.need}, from ${d.need_source}` : `not predicted (page not personalized); the greeting says “${d.need}”`),
      row("Rails", h("ul", { class: "reasons" }, d.rails.map((r) => h("li", {}, railText(r))))),
      d.notes.length ? row("Also", d.notes.join("; ")) : null)));
}

export function storePage(page) {
  const labels = page.items || {};
  const who = page.audience ? `audience ${page.audience}` : "default experience";
  const exp = page.experiment ? ` · ${page.experiment.name}: ${page.experiment.variant}` : "";
  return h("div", { class: "stack", "data-testid": "store-page", "data-personalized": String(page.personalized) },
    h("div", { class: "row small" },
      h("span", { class: `badge ${page.personalized ? "ok" : "warn"}` }, page.personalized ? "personalized" : "not personalized"),
      h("span", { class: "badge info" }, `${who} v${page.experience.version}${exp}`),
      page.tags.length ? h("span", { class: "badge" }, `tags: ${page.tags.join(", ")}`) : null),
    h("div", { class: "store" }, page.modules.map((m) => (MODULES[m.type] ? MODULES[m.type](m, labels) : null))),
    h("div", {}, h("h3", {}, "Why this page"), why(page)));
}
