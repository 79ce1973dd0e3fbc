// Experiences: what each audience sees (modules, hero, greeting, rails, coupon, bundle), edited with a
// live preview of the unsaved draft for a real shopper (nothing is saved or logged until "Save").
import { storePage } from "../storepage.js";
import { adminButton, card, clear, debounce, empty, errorBox, field, h, loading } from "../ui.js";

const MODULES = ["hero", "greeting", "guide", "rails", "bundle", "coupon", "nearby_store"];
const SCENES = ["home", "similar", "cart", "post_purchase", "popular"];

export async function render(view, ctx) {
  const left = h("div"), right = h("div");
  view.append(left, right);
  const state = { list: [], audiences: [], selected: ctx.params.audience || "default" };
  const reload = async (select) => {
    state.list = await ctx.api.get("/v1/experiences");
    state.audiences = await ctx.api.get("/v1/audiences").catch(() => []);
    if (select) state.selected = select;
    drawList();
    drawEditor();
  };
  const drawList = () => {
    const have = new Set(state.list.map((e) => e.audience));
    const free = state.audiences.filter((a) => !have.has(a.name));
    const pick = h("select", { "data-testid": "new-experience-audience" }, free.map((a) => h("option", { value: a.name }, a.name)));
    const add = adminButton(ctx, "Create", { "data-testid": "new-experience", disabled: !free.length });
    add.addEventListener("click", () => { state.selected = pick.value; state.draftFrom = "default"; drawEditor(); });
    const tabs = h("div", { class: "tabs", "data-testid": "experience-list", style: "margin:0" }, state.list.map((e) => h("button", {
      class: e.audience === state.selected ? "on" : "", "data-audience": e.audience,
      onclick: () => { state.selected = e.audience; state.draftFrom = null; drawList(); drawEditor(); } }, `${e.audience} v${e.version}`)));
    clear(left, h("div", { class: "toolbar" },
      h("div", { class: "stack" }, h("div", { class: "small muted" }, "A shopper gets the experience of their first audience (by priority) that has one; everyone else gets default."), tabs),
      h("span", { class: "spacer" }),
      free.length ? field("New experience for audience", h("span", { class: "row" }, pick, add)) : h("span", { class: "small muted" }, "Every saved audience has an experience (save audiences to add more).")));
  };
  const drawEditor = () => {
    const saved = state.list.find((e) => e.audience === state.selected);
    const base = saved || { ...state.list.find((e) => e.audience === (state.draftFrom || "default")), audience: state.selected, version: 0 };
    clear(right, editor(ctx, base, !saved, reload));
  };
  try { await reload(); } catch (err) { clear(left, errorBox(err)); }
}

function input(value, attrs = {}) { return h("input", { value: value ?? "", ...attrs }); }

function editor(ctx, exp, isNew, reload) {
  const greeting = input(exp.greeting, { "data-testid": "exp-greeting", style: "width:100%" });
  const need = input(exp.need, { placeholder: "e.g. coffee (used by {need} for this audience)", "data-testid": "exp-need" });
  const anon = input(exp.anonymous_name, { placeholder: "empty: the greeting leaves the name out" });
  const heroTitle = input(exp.hero.title, { "data-testid": "exp-hero-title", style: "width:100%" });
  const heroSub = input(exp.hero.subtitle, { style: "width:100%" });
  const modules = h("ul", { class: "modlist", "data-testid": "exp-modules" });
  let order = [...exp.modules, ...MODULES.filter((m) => !exp.modules.includes(m))];
  const on = new Set(exp.modules);
  const rails = h("div", { class: "stack" });
  let railRows = exp.rails.map((r) => ({ ...r }));
  const couponOn = h("input", { type: "checkbox", checked: Boolean(exp.coupon), "data-testid": "exp-coupon-on" });
  const c = exp.coupon || {};
  const coupon = { code: input(c.code, { placeholder: "code", "data-testid": "exp-coupon-code" }), title: input(c.title, { placeholder: "title", "data-testid": "exp-coupon-title" }),
    value: input(c.value, { type: "number", placeholder: "value" }), min_spend: input(c.min_spend, { type: "number", placeholder: "min spend" }) };
  const bundleOn = h("input", { type: "checkbox", checked: Boolean(exp.bundle) });
  const b = exp.bundle || {};
  const bundle = { title: input(b.title, { placeholder: "title" }), item_ids: input((b.item_ids || []).join(", "), { placeholder: "item ids, comma separated" }), price: input(b.price, { type: "number", placeholder: "price" }) };
  const who = input("", { placeholder: "shopper id", "data-testid": "exp-shopper", list: "exp-shoppers", style: "width:160px" });
  const ids = h("datalist", { id: "exp-shoppers" });
  const status = h("span", { class: "badge", "data-testid": "exp-draft-state" }, isNew ? "new (unsaved)" : `saved v${exp.version}`);
  const previewBox = h("div", { "data-testid": "exp-preview" });
  const msg = h("div");

  const drawModules = () => clear(modules, order.map((m, i) => h("li", { class: on.has(m) ? "" : "off" },
    h("input", { type: "checkbox", checked: on.has(m), "aria-label": `show ${m}`, onchange: (e) => { e.target.checked ? on.add(m) : on.delete(m); changed(); drawModules(); } }),
    h("span", { class: "name" }, m.replace("_", " ")),
    h("button", { class: "small", disabled: i === 0, onclick: () => { [order[i - 1], order[i]] = [order[i], order[i - 1]]; drawModules(); changed(); } }, "↑"),
    h("button", { class: "small", disabled: i === order.length - 1, onclick: () => { [order[i + 1], order[i]] = [order[i], order[i + 1]]; drawModules(); changed(); } }, "↓"))));
  const drawRails = () => clear(rails, railRows.map((r, i) => h("div", { class: "railrow" },
    input(r.title, { oninput: (e) => { r.title = e.target.value; changed(); } }),
    h("select", { onchange: (e) => { r.scene = e.target.value; changed(); } }, SCENES.map((sc) => h("option", { value: sc, selected: sc === r.scene }, sc))),
    input(r.k, { type: "number", min: 1, max: 100, oninput: (e) => { r.k = Number(e.target.value); changed(); } }),
    h("button", { class: "small", onclick: () => { railRows.splice(i, 1); drawRails(); changed(); } }, "remove"))),
  h("button", { class: "small", onclick: () => { railRows.push({ title: "More for you", scene: "home", k: 8 }); drawRails(); changed(); } }, "+ rail"));

  const spec = () => {
    const num = (x) => (x.value === "" ? null : Number(x.value));
    return {
      greeting: greeting.value, need: need.value.trim() || null, anonymous_name: anon.value.trim(),
      hero: { title: heroTitle.value, subtitle: heroSub.value, image: exp.hero.image || "", link: exp.hero.link || "" },
      modules: order.filter((m) => on.has(m)),
      rails: railRows.map((r) => ({ title: r.title, scene: r.scene, k: Number(r.k) || 10 })),
      coupon: couponOn.checked ? { code: coupon.code.value, title: coupon.title.value, value: num(coupon.value), min_spend: num(coupon.min_spend) } : null,
      bundle: bundleOn.checked ? { title: bundle.title.value, item_ids: bundle.item_ids.value.split(",").map((x) => x.trim()).filter(Boolean), price: num(bundle.price) } : null,
    };
  };
  let dirty = false;
  const preview = async () => {
    const id = who.value.trim();
    if (!id) { clear(previewBox, empty("Pick a shopper to preview", "The preview is the page this shopper would get from this experience.")); return; }
    clear(previewBox, loading("Composing the page…"));
    try {
      const page = await ctx.api.post(`/v1/shoppers/${encodeURIComponent(id)}/page`, { audience: exp.audience, experience: spec() });
      clear(previewBox, storePage(page));
    } catch (err) { clear(previewBox, errorBox(err)); }
  };
  const later = debounce(preview, 400);
  const changed = () => { dirty = true; status.textContent = "draft (unsaved changes)"; status.className = "badge warn"; later(); };
  [greeting, need, anon, heroTitle, heroSub, ...Object.values(coupon), ...Object.values(bundle)].forEach((x) => x.addEventListener("input", changed));
  [couponOn, bundleOn].forEach((x) => x.addEventListener("change", changed));
  who.addEventListener("change", preview);

  const save = adminButton(ctx, isNew ? "Create experience" : "Save", { class: "primary", "data-testid": "exp-save" });
  save.addEventListener("click", async () => {
    clear(msg);
    try {
      const saved = await ctx.api.put(`/v1/experiences/${encodeURIComponent(exp.audience)}`, spec());
      dirty = false;
      clear(msg, h("div", { class: "success", "data-testid": "exp-saved" }, `Saved ${saved.audience} v${saved.version}: shoppers get it on their next page.`));
      setTimeout(() => reload(saved.audience), 900);
    } catch (err) { clear(msg, errorBox(err)); }
  });
  const del = exp.audience !== "default" && !isNew ? adminButton(ctx, "Delete", { "data-testid": "exp-delete" }) : null;
  if (del) del.addEventListener("click", async () => {
    try { await ctx.api.del(`/v1/experiences/${encodeURIComponent(exp.audience)}`); reload("default"); } catch (err) { clear(msg, errorBox(err)); }
  });

  drawModules();
  drawRails();
  ctx.api.get("/v1/shoppers", { as_of: ctx.last, limit: 20 }).then((rows) => {
    rows.forEach((r) => ids.append(h("option", { value: r.user_id })));
    if (!who.value && rows.length) { who.value = rows[0].user_id; preview(); }
  }).catch(() => preview());

  const form = card(`Experience: ${exp.audience}`, { sub: exp.audience === "default" ? "Everyone without an audience experience, and shoppers who opted out" : `Shoppers whose first audience with an experience is ${exp.audience}`, actions: status },
    h("div", { class: "stack" },
      h("div", { class: "subgrid" },
        h("div", { class: "full" }, field("Greeting ({name} and {need} are filled in per shopper)", greeting)),
        field("Audience's need", need), field("Name for shoppers we don't know", anon),
        h("div", { class: "full" }, field("Hero title", heroTitle)), h("div", { class: "full" }, field("Hero subtitle", heroSub))),
      h("div", {}, h("h3", {}, "Modules, in page order"), modules),
      h("div", {}, h("h3", {}, "Product rails (title, recommendation scene, items)"), rails),
      h("div", {}, h("label", { class: "inline" }, couponOn, h("b", {}, "Coupon"), h("span", { class: "muted small" }, "code · title · value · min spend")),
        h("div", { class: "quad" }, coupon.code, coupon.title, coupon.value, coupon.min_spend)),
      h("div", {}, h("label", { class: "inline" }, bundleOn, h("b", {}, "Bundle"), h("span", { class: "muted small" }, "title · item ids · price")),
        h("div", { class: "trio" }, bundle.title, bundle.item_ids, bundle.price)),
      h("div", { class: "row" }, save, del, h("span", { class: "spacer" })), msg));
  return h("div", { class: "grid two" }, form,
    card("Preview", { sub: "The draft as this shopper would see it (not saved, not logged)", actions: h("span", { class: "row" }, who, ids) }, previewBox));
}
