// Shopper view: one shopper's stage, audiences, arm and recent events, and the exact page they would
// get (with reasons): the test and control pages side by side, as served now, or as each audience.
// Suggestions cover each arm of the storefront experiment and each audience.
import { storePage } from "../storepage.js";
import { card, clear, empty, field, fill, fmtInt, fmtMoney, h, dateInput, stageBadge, table } from "../ui.js";

export async function render(view, ctx) {
  if (!ctx.last) { view.append(empty("No events in the store yet", "Load data first: the shopper view needs shoppers' events.")); return; }
  const asOfDay = ctx.params.as_of || ctx.last;
  const user = h("input", { placeholder: "user id", value: ctx.params.user || "", list: "shopper-ids", "data-testid": "shopper-id", style: "width:200px" });
  const ids = h("datalist", { id: "shopper-ids" });
  const asOf = dateInput(asOfDay, { "data-testid": "shopper-as-of" });
  const go = h("button", { class: "primary", "data-testid": "shopper-go" }, "Look up");
  const picks = h("div", { "data-testid": "suggestions", style: "margin-bottom:16px" });
  view.append(h("div", { class: "toolbar" }, field("Shopper", user), ids, field("Stage as of", asOf), go,
    h("span", { class: "hint" }, "Pages are composed as the storefront would serve them now; previews are not logged.")), picks);
  const out = h("div", { class: "stack" });
  view.append(out);

  const look = () => {
    const id = user.value.trim();
    if (!id) { clear(out, empty("Type a shopper's id", "Or pick one of the suggested shoppers above: one per experiment arm and per audience.")); return; }
    history.replaceState(null, "", `#/shopper?user=${encodeURIComponent(id)}&as_of=${asOf.value}`);
    const who = h("div"), events = h("div"), page = h("div");
    clear(out, h("div", { class: "grid two", style: "margin:0" }, who, events), page);
    const shopper = ctx.api.get(`/v1/shoppers/${encodeURIComponent(id)}`, { as_of: asOf.value, recent: 15 });
    fill(who, async () => profile(await shopper));
    fill(events, async () => recentEvents(await shopper));
    preview(ctx, id, page, shopper);
  };
  const choose = (id) => { user.value = id; look(); };
  go.addEventListener("click", look);
  user.addEventListener("keydown", (e) => { if (e.key === "Enter") look(); });

  fill(picks, async () => {
    const [sug, active] = await Promise.all([ctx.api.get("/v1/shoppers/suggestions", { as_of: asOfDay }), ctx.api.get("/v1/shoppers", { as_of: asOfDay, limit: 30 })]);
    active.forEach((r) => ids.append(h("option", { value: r.user_id }, `${r.events} events, ${r.buys} buys`)));
    if (!user.value) {  // open on a test-arm shopper whose audience has its own page, so personalization shows
      const first = sug.shoppers.find((s) => s.arm === "test") || sug.shoppers[0] || active[0];
      if (first) user.value = first.user_id;
    }
    look();
    return suggestionsCard(sug, choose);
  });
}

function suggestionsCard(sug, choose) {
  if (!sug.shoppers.length) return empty("No shopper to suggest", "Suggestions come from shoppers with events: load events, create audiences, and set QIANMIAN_STOREFRONT_EXPERIMENT to compare arms.");
  const chip = (s) => h("button", { class: "link suggestion", "data-user": s.user_id, "data-arm": s.arm || "", "data-audience": s.audience || "", title: s.why, onclick: () => choose(s.user_id) },
    h("b", {}, s.user_id), ` · ${s.arm ? `${s.variant} arm` : "no experiment"}${s.audience ? ` · ${s.audience}` : " · no audience"} · ${fmtInt(s.events)} events`);
  const byArm = sug.shoppers.filter((s) => s.why.includes(" arm "));
  const byAudience = sug.shoppers.filter((s) => !s.why.includes(" arm "));
  return card(null, {},
    h("div", { class: "row small" }, h("b", {}, "Try a shopper"),
      sug.experiment ? h("span", { class: "muted" }, `experiment ${sug.experiment.name}: ${sug.experiment.variants.join(" vs ")}`) : h("span", { class: "muted" }, "no storefront experiment running")),
    byArm.length ? h("div", { class: "row small", style: "margin-top:6px" }, h("span", { class: "muted" }, "by arm:"), byArm.map(chip)) : null,
    byAudience.length ? h("div", { class: "row small", style: "margin-top:4px" }, h("span", { class: "muted" }, "by audience:"), byAudience.map(chip)) : null);
}

function profile(s) {
  const life = s.lifecycle;
  const x = s.experiment;
  const head = h("div", { class: "row", style: "gap:14px" }, h("span", { style: "font-size:18px;font-weight:700" }, s.profile && s.profile.name ? s.profile.name : `Shopper ${s.user_id}`),
    h("span", { "data-testid": "shopper-stage", "data-value": s.stage || "" }, stageBadge(s.stage)),
    life ? h("span", { class: "badge", "data-testid": "shopper-lifecycle" }, `${life.customer} · ${life.state}`) : h("span", { class: "badge" }, "no purchase yet"),
    x ? h("span", { class: `badge ${x.arm === "test" ? "ok" : "warn"}`, "data-testid": "shopper-arm", "data-value": x.arm }, `${x.name}: ${x.variant} (${x.arm})`) : null,
    s.consent ? null : h("span", { class: "badge bad" }, "opted out: never profiled"));
  if (!s.known) {
    return card(null, {}, head, empty(`No events for ${s.user_id} up to ${s.as_of}`, "Events with this user id fill the profile; the storefront still answers with its default page (below)."));
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
    h("div", { "data-testid": "shopper-tags" }, s.tags.length ? s.tags.map((t) => h("span", { class: "chip" }, t)) : h("span", { class: "muted small" }, "None declared (the guide question on the page asks for them).")));
}

function recentEvents(s) {
  const words = s.categories || {};
  return card(`Recent events (to ${s.as_of})`, {}, h("div", { class: "scroll", style: "max-height:300px" }, table([
    { label: "time", render: (e) => String(e.ts).replace("T", " ").slice(0, 16) }, { label: "behaviour", key: "behavior" },
    { label: "item", key: "item_id" }, { label: "category", render: (e) => (e.category_id ? words[e.category_id] || `category ${e.category_id}` : "—") },
    { label: "amount", num: true, render: (e) => (e.amount === null ? "" : fmtMoney(e.amount)) },
  ], s.recent, { testid: "shopper-events", empty: "No events up to this day: events with this user id fill it" })));
}

function column(title, sub, page, mine) {
  return h("div", { class: "stack", "data-testid": `arm-${page.experiment ? page.experiment.variant : "none"}` },
    h("div", {}, h("b", {}, title), mine ? h("span", { class: "badge info", style: "margin-left:6px" }, "this shopper's arm") : null, h("div", { class: "small muted" }, sub)),
    storePage(page));
}

async function sideBySide(ctx, id, shopper) {
  const x = (await shopper).storefront_experiment;
  if (!x) return empty("No storefront experiment", "Set QIANMIAN_STOREFRONT_EXPERIMENT to an experiment's name (the demo runs storefront-2-8) to compare its arms.");
  const url = `/v1/shoppers/${encodeURIComponent(id)}/page`;
  const [own, ...pages] = await Promise.all([ctx.api.get(url), ...x.variants.map((v) => ctx.api.get(url, { variant: v }))]);
  const mine = own.experiment ? own.experiment.variant : null;
  const cols = x.variants.map((v, i) => column(v === x.control ? `Control arm: ${v}` : `Test arm: ${v}`,
    v === x.control ? "the default page, the same for every shopper in control" : "the page of the shopper's audience, personalized", pages[i], v === mine));
  return h("div", { class: "grid two compare", style: "margin:0", "data-testid": "compare" }, cols);
}

function preview(ctx, id, el, shopper) {
  const tabs = h("div", { class: "tabs", "data-testid": "preview-tabs" });
  const body = h("div");
  clear(el, card("Storefront page", { sub: "千人千面: what this shopper sees in each arm, and why" }, tabs, body));
  const modes = [];
  const show = (mode) => {
    [...tabs.children].forEach((b) => b.classList.toggle("on", b.dataset.mode === mode.key));
    fill(body, mode.build);
  };
  const tab = (label, key, build) => { const m = { key, build }; modes.push(m); return h("button", { dataset: { mode: key }, onclick: () => show(m) }, label); };
  const url = `/v1/shoppers/${encodeURIComponent(id)}/page`;
  const asAudience = (a) => async () => storePage(await ctx.api.get(url, { audience: a }));
  ctx.api.get("/v1/experiences").then((exps) => {
    const names = exps.map((e) => e.audience).filter((a) => a !== "default");
    clear(tabs, tab("Test vs control", "compare", () => sideBySide(ctx, id, shopper)), tab("As served now", "served", async () => storePage(await ctx.api.get(url))),
      names.map((n) => tab(`as ${n}`, `as:${n}`, asAudience(n))), tab("as default", "as:default", asAudience("default")));
    show(modes[0]);
  }).catch(() => { clear(tabs); fill(body, async () => storePage(await ctx.api.get(url))); });
}
