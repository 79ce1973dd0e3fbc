// Draws a storefront page (the JSON of GET /v1/storefront/{user}) the way a shopper would see it,
// with the reason for every product and the reasons for the page's choices.
import { h } from "./ui.js";

function hue(text) {
  let x = 0;
  for (const c of String(text)) x = (x * 31 + c.charCodeAt(0)) % 360;
  return x;
}

function item(id, label, why) {
  const cat = label && label.category_id;
  return h("div", { class: "item", "data-item": id },
    h("div", { class: "pic", style: `background:hsl(${hue(cat || id)} 55% 82%)`, title: cat ? `category ${cat}` : "" }),
    h("div", { class: "id" }, label && label.title ? label.title : `item ${id}`),
    cat ? h("div", { class: "muted" }, `cat. ${cat}`) : null,
    why ? h("div", { class: "why" }, why) : null);
}

const MODULES = {
  hero: (m) => h("div", { class: "mod hero" }, h("div", { class: "t" }, m.title), m.subtitle ? h("div", { class: "s" }, m.subtitle) : null),
  greeting: (m) => h("div", { class: "mod greeting", "data-testid": "page-greeting" }, m.text),
  guide: (m) => h("div", { class: "mod guide" }, h("div", {}, h("b", {}, "Guide  "), m.question.text),
    h("div", { class: "opts" }, m.question.options.map((o) => h("span", { class: "chip", title: `sets the tag ${o.tag}` }, o.label)))),
  rail: (m, labels) => h("div", { class: "mod rail", "data-testid": "page-rail" }, h("b", {}, m.title), h("span", { class: "muted small" }, `  ${m.scene}`),
    h("div", { class: "items" }, m.items.map((x) => item(x.item_id, labels[x.item_id], x.reason)))),
  bundle: (m, labels) => h("div", { class: "mod" }, h("b", {}, `Bundle · ${m.title}`), m.price ? h("span", { class: "muted" }, `  ${m.price}`) : null,
    h("div", { class: "items", style: "display:flex;gap:8px;margin-top:6px" }, m.item_ids.map((i) => item(i, labels[i])))),
  coupon: (m) => h("div", { class: "mod coupon", "data-testid": "page-coupon" }, h("b", {}, `Coupon · ${m.title}`), "  ", h("span", { class: "code" }, m.code),
    m.value ? h("span", { class: "muted" }, `  (${m.value} off${m.min_spend ? ` over ${m.min_spend}` : ""})`) : null),
  nearby_store: (m) => h("div", { class: "mod" }, h("b", {}, `Nearby · ${m.title}`), h("div", {}, [m.store.name, m.store.address, m.store.city].filter(Boolean).join(" · "))),
};

export function storePage(page) {
  const labels = page.items || {};
  const who = page.audience ? `audience ${page.audience}` : "default experience";
  const exp = page.experiment ? ` · experiment ${page.experiment.name}: ${page.experiment.variant}` : "";
  return h("div", { class: "stack", "data-testid": "store-page" },
    h("div", { class: "row small" },
      h("span", { class: `badge ${page.personalized ? "ok" : "warn"}` }, page.personalized ? "personalized" : "not personalized"),
      h("span", { class: "badge info" }, `${who} v${page.experience.version}${exp}`),
      page.tags.length ? h("span", { class: "badge" }, `tags: ${page.tags.join(", ")}`) : null),
    h("div", { class: "store" }, page.modules.map((m) => (MODULES[m.type] ? MODULES[m.type](m, labels) : null))),
    h("div", {}, h("h3", {}, "Why this page"), h("ul", { class: "reasons", "data-testid": "page-reasons" }, page.reasons.map((r) => h("li", {}, r)))));
}
