// Shopper view: one shopper's stage, audiences, tags and recent events, and the exact page and
// recommendations they would get (with reasons), or the page as each audience would show it.
import { storePage } from "../storepage.js";
import { card, clear, empty, field, fill, fmtInt, fmtMoney, h, dateInput, stageBadge, table } from "../ui.js";

export async function render(view, ctx) {
  if (!ctx.last) { view.append(empty("No events in the store yet", "Load data first.")); return; }
  const asOfDay = ctx.params.as_of || ctx.last;
  const user = h("input", { placeholder: "user id", value: ctx.params.user || "", list: "shopper-ids", "data-testid": "shopper-id", style: "width:200px" });
  const ids = h("datalist", { id: "shopper-ids" });
  const asOf = dateInput(asOfDay, { "data-testid": "shopper-as-of" });
  const go = h("button", { class: "primary", "data-testid": "shopper-go" }, "Look up");
  const picks = h("span", { class: "row small" });
  view.append(h("div", { class: "toolbar" }, field("Shopper", user), ids, field("Stage as of", asOf), go, picks,
    h("span", { class: "hint" }, "The page is composed as the storefront would serve it now; previews are not logged.")));
  const out = h("div");
  view.append(out);

  ctx.api.get("/v1/shoppers", { as_of: asOfDay, limit: 30 }).then((rows) => {
    rows.forEach((r) => ids.append(h("option", { value: r.user_id }, `${r.events} events, ${r.buys} buys`)));
    clear(picks, h("span", { class: "muted" }, "Try:"), rows.slice(0, 4).map((r) => h("button", { class: "link", onclick: () => { user.value = r.user_id; look(); } }, r.user_id)));
    if (!user.value && rows.length) { user.value = rows[0].user_id; look(); }  // start from the most active shopper
  }).catch(() => {});

  const look = () => {
    const id = user.value.trim();
    if (!id) { clear(out, empty("Type a shopper's id", "Or pick one of the suggestions.")); return; }
    history.replaceState(null, "", `#/shopper?user=${encodeURIComponent(id)}&as_of=${asOf.value}`);
    clear(out);
    const who = h("div"), page = h("div");
    out.append(h("div", { class: "grid two" }, who, page));
    fill(who, () => profile(ctx, id, asOf.value));
    preview(ctx, id, page);
  };
  go.addEventListener("click", look);
  user.addEventListener("keydown", (e) => { if (e.key === "Enter") look(); });
  look();
}

async function profile(ctx, id, asOf) {
  const s = await ctx.api.get(`/v1/shoppers/${encodeURIComponent(id)}`, { as_of: asOf, recent: 15 });
  const life = s.lifecycle;
  const head = h("div", { class: "row", style: "gap:14px" }, h("span", { style: "font-size:18px;font-weight:700" }, s.profile && s.profile.name ? s.profile.name : `Shopper ${s.user_id}`),
    h("span", { "data-testid": "shopper-stage", "data-value": s.stage || "" }, stageBadge(s.stage)),
    life ? h("span", { class: "badge", "data-testid": "shopper-lifecycle" }, `${life.customer} · ${life.state}`) : h("span", { class: "badge" }, "no purchase yet"),
    s.consent ? null : h("span", { class: "badge bad" }, "opted out: never profiled"));
  if (!s.known) {
    return card(null, {}, head, empty(`No events for ${s.user_id} up to ${s.as_of}`, "The storefront still answers with its default page (right)."));
  }
  const facts = h("div", { class: "kpis", style: "grid-template-columns:repeat(3,1fr);margin:10px 0" },
    h("div", { class: "kpi" }, h("div", { class: "k" }, "orders"), h("div", { class: "v" }, fmtInt(life ? life.frequency : 0)), h("div", { class: "m" }, life ? `last ${String(life.last_purchase).slice(0, 10)}` : "")),
    h("div", { class: "kpi" }, h("div", { class: "k" }, "spend"), h("div", { class: "v" }, fmtMoney(life ? life.monetary : 0)), h("div", { class: "m" }, "purchases minus returns")),
    h("div", { class: "kpi" }, h("div", { class: "k" }, "events"), h("div", { class: "v" }, fmtInt(Object.values(s.behaviors).reduce((a, b) => a + b, 0))),
      h("div", { class: "m" }, Object.entries(s.behaviors).map(([b, n]) => `${b} ${n}`).join(" · "))));
  return card(null, {}, head, facts,
    h("h3", {}, "Audiences (by priority)"),
    h("div", { "data-testid": "shopper-audiences" }, s.audiences.length ? s.audiences.map((a, i) => h("span", { class: `chip ${i ? "" : "primary"}` }, a))
      : h("span", { class: "muted small" }, "In no materialized audience (materialize members on the Audiences page).")),
    h("h3", {}, "Self-tags"),
    h("div", { "data-testid": "shopper-tags" }, s.tags.length ? s.tags.map((t) => h("span", { class: "chip" }, t)) : h("span", { class: "muted small" }, "None declared.")),
    h("h3", {}, `Recent events (to ${s.as_of})`),
    h("div", { class: "scroll", style: "max-height:300px" }, table([
      { label: "time", render: (e) => String(e.ts).replace("T", " ").slice(0, 16) }, { label: "behaviour", key: "behavior" },
      { label: "item", key: "item_id" }, { label: "category", key: "category_id" }, { label: "amount", num: true, render: (e) => (e.amount === null ? "" : fmtMoney(e.amount)) },
    ], s.recent, { testid: "shopper-events", empty: "No events up to this day: events with this user id fill it" })));
}

function preview(ctx, id, el) {
  const tabs = h("div", { class: "tabs", "data-testid": "preview-tabs" });
  const body = h("div");
  clear(el, card("Storefront page", { sub: "千人千面: what this shopper sees, and why" }, tabs, body));
  let current = null;
  const show = (audience) => {
    current = audience;
    [...tabs.children].forEach((b) => b.classList.toggle("on", b.dataset.audience === (audience ?? "")));
    fill(body, async () => storePage(await ctx.api.get(`/v1/shoppers/${encodeURIComponent(id)}/page`, { audience: audience ?? undefined })));
  };
  ctx.api.get("/v1/experiences").then((exps) => {
    const names = exps.map((e) => e.audience).filter((a) => a !== "default");
    const tab = (label, audience) => h("button", { dataset: { audience: audience ?? "" }, onclick: () => show(audience) }, label);
    clear(tabs, tab("As served now", null), names.map((n) => tab(`as ${n}`, n)), tab("as default", "default"));
    show(current);
  }).catch(() => show(null));
}
