// Overview: AIPL funnel, AIPL flow (Sankey) between two dates, FAST cards, GROW waterfall, shop funnel.
import { tip } from "../glossary.js";
import { aiplFunnel, bars, legend, sankey, STAGE_COLORS, STAGE_NAMES, waterfall } from "../charts.js";
import { clvCard } from "./clv.js";
import { addDays, card, daysBetween, empty, field, fill, fmtInt, fmtMoney, fmtPct, h, dateInput } from "../ui.js";

function defaults(ctx) {
  const asOf = ctx.params.as_of || ctx.last;
  const back = (iso, n) => (daysBetween(ctx.first, addDays(iso, -n)) < 0 ? ctx.first : addDays(iso, -n));
  const span = daysBetween(ctx.first, asOf) + 1;
  const len = Math.max(1, Math.min(7, Math.floor(span / 2)));
  return {
    asOf, since: ctx.params.since || back(asOf, 7),
    current: [addDays(asOf, -(len - 1)), asOf], base: [addDays(asOf, -(2 * len - 1)), addDays(asOf, -len)],
  };
}

export async function render(view, ctx) {
  if (!ctx.last) {
    view.append(empty("No events in the store yet", "Load data with `qianmian ingest FILE --layout taobao` (or run `make demo`), then come back."));
    return;
  }
  const d = defaults(ctx);
  const asOf = dateInput(d.asOf, { "data-testid": "as-of", min: ctx.first, max: ctx.last });
  const since = dateInput(d.since, { "data-testid": "since", min: ctx.first, max: ctx.last });
  const baseFrom = dateInput(d.base[0]), baseTo = dateInput(d.base[1]), curFrom = dateInput(d.current[0]), curTo = dateInput(d.current[1]);
  const apply = h("button", { class: "primary", "data-testid": "apply" }, "Apply");
  view.append(h("div", { class: "toolbar" },
    field("As of", asOf), field("Flow and FAST from", since),
    field("GROW base period", h("span", { class: "row" }, baseFrom, "→", baseTo)),
    field("GROW current period", h("span", { class: "row" }, curFrom, "→", curTo)),
    apply, h("span", { class: "hint" }, `Dates are days in the brand's time zone; "as of" counts to the end of the day. Data: ${ctx.first} → ${ctx.last}.`)));

  const aipl = h("div"), fast = h("div"), flow = h("div"), grow = h("div"), funnel = h("div"), clv = h("div");
  view.append(
    h("div", { class: "grid wide-right" }, card("AIPL consumers", { sub: "Highest stage each consumer holds within its window", id: "card-aipl" }, aipl),
      card("FAST", { sub: "Quantity and quality of consumer assets", id: "card-fast" }, fast)),
    h("div", { class: "grid wide-left" }, card("AIPL flow", { sub: "Where consumers moved between the two dates", id: "card-flow" }, flow),
      card("Shop funnel", { sub: "Consumers at each step in the period", id: "card-funnel" }, funnel)),
    card("GROW", { sub: "GMV change split into Gain (more buyers), Retain (frequency), bOost (order value), Widen (new categories)", id: "card-grow" }, grow),
    card("Customer lifetime value", { sub: "Who is still buying, how much more to expect, what it is worth (BG/NBD + Gamma-Gamma fitted up to 'as of')", id: "card-clv" }, clv),
  );

  const load = () => {
    const a = asOf.value, s = since.value;
    fill(aipl, () => aiplCard(ctx, a));
    fill(fast, () => fastCard(ctx, a, s));
    fill(flow, () => flowCard(ctx, s, a));
    fill(funnel, () => funnelCard(ctx, `${s}..${a}`));
    fill(grow, () => growCard(ctx, `${baseFrom.value}..${baseTo.value}`, `${curFrom.value}..${curTo.value}`));
    fill(clv, () => clvCard(ctx, a));
  };
  apply.addEventListener("click", load);
  load();
}

async function aiplCard(ctx, asOf) {
  const r = await ctx.api.get("/v1/reports/aipl", { as_of: asOf });
  if (!r.total) return empty(`No consumer holds an AIPL stage as of ${asOf}`, `Stages come from events with a user id up to that day: pick a day inside the data (${ctx.first} → ${ctx.last}) or load events that carry user ids.`);
  return h("div", { title: tip("share") }, aiplFunnel(r.counts, r.shares),
    h("div", { class: "row small muted", style: "margin-top:6px" }, h("span", { "data-testid": "aipl-total", "data-value": r.total }, `${fmtInt(r.total)} consumers hold a stage as of ${r.as_of}`)));
}

const FAST_TERMS = { A: "deepening_rate", T: "active_rate" };

function kpi(key, value, text, meaning, raw) {
  return h("div", { class: `kpi ${value === null ? "na" : ""}`, "data-testid": `fast-${key}`, "data-value": raw === null || raw === undefined ? "" : raw,
    title: FAST_TERMS[key] ? tip(FAST_TERMS[key]) : null },
    h("div", { class: "k" }, key), h("div", { class: "v" }, text), h("div", { class: "m" }, meaning));
}

async function fastCard(ctx, asOf, since) {
  if (since >= asOf) return empty("Pick a 'from' date before 'as of'", "The deepening rate compares stages at the two dates.");
  const r = await ctx.api.get("/v1/reports/fast", { as_of: asOf, since });
  const sWhat = r.s_rule === "members" ? "members" : "high-value consumers (no member data)";
  return h("div", { class: "kpis", style: "grid-template-columns:1fr 1fr" },
    kpi("F", r.F, fmtInt(r.F), "consumers holding an AIPL stage", r.F),
    kpi("A", r.A, fmtPct(r.A), `deepening rate: ${fmtInt(r.rose)} of ${fmtInt(r.could_rise)} A/I/P consumers rose since ${r.since}`, r.A),
    kpi("S", r.S, fmtInt(r.S), sWhat, r.S),
    kpi("T", r.T, r.T === null ? "n/a" : fmtPct(r.T), r.T === null ? `no ${sWhat}: no active rate` : `active rate: ${fmtInt(r.active_members)} active`, r.T));
}

async function flowCard(ctx, start, end) {
  if (start >= end) return empty("Pick a 'from' date before 'as of'", "The flow follows each consumer's stage from the first date to the second.");
  const r = await ctx.api.get("/v1/reports/flow", { start, end });
  if (!r.links.length) return empty("No consumer held a stage at either date", `Events with user ids before these dates fill the flow: pick dates inside the data (${ctx.first} → ${ctx.last}).`);
  const chip = (k, label) => h("span", { class: "chip", "data-testid": `flow-${k}`, "data-value": r[k] }, `${label} ${fmtInt(r[k])}`);
  return h("div", {}, sankey(r.links, { leftLabel: `as of ${r.start}`, rightLabel: `as of ${r.end}` }),
    legend(["A", "I", "P", "L", "none"].map((st) => [STAGE_NAMES[st], STAGE_COLORS[st]])),
    h("div", { class: "row", style: "margin-top:8px" }, chip("up", "▲ moved up"), chip("down", "▼ moved down"), chip("stayed", "= stayed"),
      chip("churned", "✕ lost their stage"), chip("new", "+ new")));
}

async function funnelCard(ctx, period) {
  const r = await ctx.api.get("/v1/reports/funnel", { period, steps: "view>cart,fav>buy" });
  const row = r.funnel[0];
  const rates = r.rates[0] || {};
  if (!row || !row.users[0]) return empty("No views in this period", "The funnel starts from shoppers with a view event: pick a period with views, or load view events (not only purchases).");
  const labels = r.steps.map((st) => st.join(" / "));
  return h("div", {}, bars(labels, row.users, { colors: ["#8cc0ff", "#3d7fe0", "#f59f00"], sub: row.overall_rate.map((x) => fmtPct(x)) }),
    h("div", { class: "row small", style: "margin-top:4px" },
      h("span", { class: "chip", title: tip("visitor_conversion"), "data-testid": "rate-visitor_conversion" }, `visitor conversion ${fmtPct(rates.visitor_conversion)}`),
      h("span", { class: "chip", title: tip("browse_conversion") }, `browse conversion ${fmtPct(rates.browse_conversion)}`),
      h("span", { class: "chip", title: tip("bounce_rate") }, `bounce rate ${fmtPct(rates.bounce_rate)}`),
      h("span", { class: "chip", title: tip("repurchase_rate") }, `repurchase ${fmtPct(rates.repurchase_rate)}`),
      h("span", { class: "chip", title: tip("aov") }, `AOV ${rates.gmv ? fmtMoney(rates.aov) : "n/a (no amounts)"}`)),
    h("div", { class: "small muted", style: "margin-top:4px", title: tip("overall_rate"), "data-testid": "funnel-note" },
      "% under each step: the viewers who also did every step up to it (overall rate); visitor conversion counts every buyer of every visitor."),
    h("div", { class: "small muted", style: "margin-top:4px" }, `${r.period}`));
}

async function growCard(ctx, base, current) {
  const r = await ctx.api.get("/v1/reports/grow", { base, current, top: 10 });
  if (!r.gmv_base && !r.gmv_current) {
    return empty("No GMV in either period", "GROW needs purchases with amounts. This store's buy events carry none (the Taobao demo slice records purchases without prices), so there is nothing to split.");
  }
  const steps = [
    { key: "base", label: "GMV base", value: r.gmv_base, kind: "total" }, { key: "gain", label: "Gain", value: r.gain },
    { key: "retain", label: "Retain", value: r.retain }, { key: "boost", label: "bOost", value: r.boost },
    { key: "widen", label: "Widen", value: r.widen }, { key: "current", label: "GMV current", value: r.gmv_current, kind: "total" },
  ];
  const top = r.groups.slice(0, 6).map((g) => h("tr", {}, h("td", {}, g.group), ...["gmv_base", "gmv_current", "gain", "retain", "boost", "widen"].map((k) => h("td", { class: "num" }, fmtMoney(g[k])))));
  return h("div", { class: "grid wide-left", style: "margin:0" }, waterfall(steps, { format: fmtMoney }),
    h("div", {}, h("h3", {}, `Largest changes by ${r.by}`),
      h("table", { class: "data" }, h("thead", {}, h("tr", {}, ["group", "base", "current", "gain", "retain", "boost", "widen"].map((x, i) => h("th", { class: i ? "num" : "" }, x)))), h("tbody", {}, top))));
}
