// GTA planner: a GMV goal and a period → consumers needed per AIPL stage, against the current pools.
import { tip } from "../glossary.js";
import { groupedBars, legend, STAGE_NAMES } from "../charts.js";
import { addDays, card, clear, daysBetween, empty, errorBox, field, fmtInt, fmtMoney, fmtPct, h, dateInput, loading } from "../ui.js";

const STAGES = ["A", "I", "P", "L", "new"];
// Starting values for the benchmark table, clearly labelled as examples in the page.
const EXAMPLE = { A: [2, 150, 10], I: [6, 180, 20], P: [15, 220, 30], L: [35, 320, 30], new: [null, 160, 10] };

export async function render(view, ctx) {
  if (!ctx.last) { view.append(empty("No events in the store yet", "Load data first (Data page).")); return; }
  const span = Math.min(30, daysBetween(ctx.first, ctx.last) + 1);
  const goal = h("input", { type: "number", value: 1000000, min: 1, step: "any", "data-testid": "gta-goal" });
  const goalKind = h("select", { "data-testid": "gta-goal-kind" }, h("option", { value: "amount" }, "GMV amount"), h("option", { value: "ratio" }, "% of reference GMV"));
  const from = dateInput(addDays(ctx.last, 1), { "data-testid": "gta-from" }), to = dateInput(addDays(ctx.last, span), { "data-testid": "gta-to" });
  const asOf = dateInput(ctx.last, { "data-testid": "gta-as-of" });
  const refKind = h("select", { "data-testid": "gta-reference" },
    h("option", { value: "previous" }, "Previous period (same length, just before)"), h("option", { value: "last-year" }, "Last year (same dates)"),
    h("option", { value: "custom" }, "Another period…"));
  const refFrom = dateInput(ctx.first), refTo = dateInput(ctx.last);
  const custom = h("span", { class: "row", style: "display:none" }, refFrom, "→", refTo);
  refKind.addEventListener("change", () => { custom.style.display = refKind.value === "custom" ? "" : "none"; });
  const useBench = h("input", { type: "checkbox", "data-testid": "gta-benchmark" });
  const benchRows = Object.fromEntries(STAGES.map((st) => [st, EXAMPLE[st].map((v, i) => h("input", {
    type: "number", step: "any", min: 0, value: v ?? "", disabled: st === "new" && i === 0, style: "width:74px", "aria-label": `${st} ${["conversion", "GMV per buyer", "share"][i]}`,
  }))]));
  const benchTable = h("table", { class: "data" }, h("thead", {}, h("tr", {}, h("th", {}, "stage"), h("th", {}, "conv. %"), h("th", {}, "GMV/buyer"), h("th", {}, "share %"))),
    h("tbody", {}, STAGES.map((st) => h("tr", {}, h("td", { title: STAGE_NAMES[st] }, st), benchRows[st].map((inp) => h("td", {}, inp))))));
  const benchBox = h("div", { style: "display:none", class: "stack" },
    h("div", { class: "notice small" }, "Example rates to start from: replace them with your category's benchmark. Each stage's conversion is buyers ÷ consumers in the stage; shares should add up to 100%."),
    benchTable);
  useBench.addEventListener("change", () => { benchBox.style.display = useBench.checked ? "" : "none"; });
  const go = h("button", { class: "primary", "data-testid": "gta-run" }, "Plan");
  const out = h("div");

  view.append(h("div", { class: "grid side" },
    card("Goal and reference", { sub: "From a GMV goal back to the consumers each stage must hold" },
      h("div", { class: "stack" },
        field("GMV goal", h("span", { class: "row" }, goal, goalKind)),
        field("Period to plan", h("span", { class: "row" }, from, "→", to)),
        field("Reference (conversion, value per buyer and GMV mix)", h("div", { class: "stack" }, refKind, custom)),
        h("label", { class: "inline" }, useBench, "Use benchmark rates instead of the reference's"),
        benchBox,
        field("Current stage pools as of", asOf),
        h("div", { class: "row" }, go))),
    h("div", {}, out)));

  const body = () => {
    const b = { as_of: asOf.value, period: `${from.value}..${to.value}` };
    if (goalKind.value === "amount") b.goal = Number(goal.value); else b.goal_ratio = Number(goal.value) / 100;
    b.reference = refKind.value === "custom" ? `${refFrom.value}..${refTo.value}` : refKind.value;
    if (useBench.checked) {
      b.benchmark = Object.fromEntries(STAGES.map((st) => {
        const [c, v, sh] = benchRows[st].map((i) => (i.value === "" ? null : Number(i.value)));
        return [st, { conversion: st === "new" || c === null ? null : c / 100, value_per_buyer: v, share: (sh || 0) / 100 }];
      }));
    }
    return b;
  };
  const useBenchmark = () => { useBench.checked = true; benchBox.style.display = ""; };
  // `opening`: the first, automatic plan. A store whose purchases carry no amounts (the Taobao demo
  // slice) has no reference GMV, so the page opens on the benchmark rates and says why.
  const run = async ({ opening = false } = {}) => {
    clear(out, loading("Planning…"));
    try {
      clear(out, result(await ctx.api.post("/v1/reports/gta", body())));
    } catch (err) {
      const noGmv = /GMV > 0/.test(err.message || "");
      if (noGmv && opening && !useBench.checked) {
        useBenchmark();
        await run();
        out.prepend(h("div", { class: "notice", "data-testid": "gta-note" }, h("b", {}, "Planned from the benchmark rates. "),
          "This store's purchases carry no amounts (as in the Taobao demo slice), so the reference period has no GMV to learn each stage's conversion, "
          + "value per buyer and GMV mix from. The example rates on the left stand in: replace them with your category's, or load purchases with amounts to plan from your own reference."));
        return;
      }
      clear(out, errorBox(err, noGmv ? "The reference period has no GMV (this store's purchases carry no amounts, as in the Taobao demo slice). Tick “Use benchmark rates” to plan from rates you supply." : null),
        noGmv ? h("button", { style: "margin-top:10px", onclick: () => { useBenchmark(); run(); } }, "Use the benchmark rates") : null);
    }
  };
  go.addEventListener("click", () => run());
  run({ opening: true });
}

function result(r) {
  const rows = r.rows.filter((x) => x.stage !== "anonymous");
  const cats = rows.map((x) => x.stage);
  const note = (gap) => (Math.round(gap) > 0 ? { text: `gap +${fmtInt(gap)}`, color: "#c62828" }
    : Math.round(gap) < 0 ? { text: `ahead by ${fmtInt(-gap)}`, color: "#1e8e5a" } : { text: "on target", color: "#5f6b7e" });
  const notes = Object.fromEntries(rows.filter((x) => x.gap !== null).map((x) => [x.stage, note(x.gap)]));
  const chart = groupedBars(cats, [
    { name: "needed", color: "#2f6fdd", values: rows.map((x) => x.needed) },
    { name: "current", color: "#f59f00", values: rows.map((x) => x.current) },
  ], { notes, height: 300 });
  const th = (t, num, term) => h("th", { class: num ? "num" : "", title: term ? tip(term) : null }, t);
  const table = h("div", { class: "hscroll" }, h("table", { class: "data", "data-testid": "gta-table" },
    h("thead", {}, h("tr", {}, th("stage"), th("share", 1, "gmv_share"), th("conv.", 1, "conversion"), th("GMV/buyer", 1, "value_per_buyer"), th("needed GMV", 1), th("buyers", 1), th("needed", 1), th("current", 1), th("gap", 1))),
    h("tbody", {}, r.rows.map((x) => h("tr", { "data-stage": x.stage },
      h("td", { title: STAGE_NAMES[x.stage] }, x.stage), h("td", { class: "num" }, fmtPct(x.share)), h("td", { class: "num" }, fmtPct(x.conversion, 2)),
      h("td", { class: "num" }, fmtMoney(x.value_per_buyer)), h("td", { class: "num" }, fmtMoney(x.needed_gmv)), h("td", { class: "num" }, fmtInt(x.needed_buyers)),
      h("td", { class: "num" }, fmtInt(x.needed)), h("td", { class: "num" }, fmtInt(x.current)),
      h("td", { class: "num", style: x.gap > 0 ? "color:#c62828;font-weight:600" : x.gap !== null ? "color:#1e8e5a" : "" }, x.gap === null ? "—" : `${x.gap > 0 ? "+" : ""}${fmtInt(x.gap)}`))))));
  const src = r.rates_source === "reference" ? `the reference ${r.reference} (GMV ${fmtMoney(r.reference_gmv)})` : `benchmark rates (reference ${r.reference}, GMV ${fmtMoney(r.reference_gmv)}, fills any stage without one)`;
  return h("div", { class: "stack" },
    card("Needed vs current", { sub: `Goal ${fmtMoney(r.goal)} · rates from ${src} · current pools as of ${r.as_of}` },
      chart, legend([["needed consumers", "#2f6fdd"], ["current consumers", "#f59f00"]])),
    card("Per stage", { sub: "needed GMV = goal × share · buyers = needed GMV ÷ GMV per buyer · needed consumers = buyers ÷ conversion (new: the buyers themselves) · gap = needed − current" }, table));
}
