// The CLV card (overview): BG/NBD + Gamma-Gamma fitted on the buys up to "as of"; links to the guide (docs/clv.md).
import { empty, fmtInt, fmtMoney, fmtNum, fmtPct, h } from "../ui.js";

const GUIDE = "/guide/clv";

function guideLink() {
  return h("a", { href: GUIDE, target: "_blank", rel: "noopener", "data-testid": "clv-guide" }, "What these numbers mean and how to act on them (docs/clv.md)");
}

function kpi(id, key, text, meaning, raw) {
  return h("div", { class: "kpi", "data-testid": `clv-${id}`, "data-value": raw === null || raw === undefined ? "" : raw },
    h("div", { class: "k" }, key), h("div", { class: "v" }, text), h("div", { class: "m" }, meaning));
}

export async function clvCard(ctx, asOf, horizon = 90) {
  let r;
  try {
    r = await ctx.api.get("/v1/reports/clv", { calibration_end: asOf, horizon_days: horizon });
  } catch (err) {
    return empty("No CLV model for this store yet", `${err.message || err} — the model needs buyers with repeat purchases on different days up to ${asOf}.`, guideLink());
  }
  const f = r.forecast, bg = r.bgnbd, gg = r.gamma_gamma;
  const params = `BG/NBD r=${fmtNum(bg.r, 3)} α=${fmtNum(bg.alpha, 3)} a=${fmtNum(bg.a, 3)} b=${fmtNum(bg.b, 3)}` +
    (gg ? ` · Gamma-Gamma p=${fmtNum(gg.p, 2)} q=${fmtNum(gg.q, 2)} v=${fmtNum(gg.v, 2)}` : " · no amounts: no spend model");
  const check = r.holdout
    ? h("div", { class: "small", "data-testid": "clv-holdout" }, `Check: ${r.holdout.start} → ${r.holdout.end}, predicted ${fmtNum(r.holdout.predicted_total, 0)} repeat purchases, actual ${fmtInt(r.holdout.actual_total)}`)
    : h("div", { class: "small muted" }, "No days after 'as of' to check the forecast against.");
  return h("div", {},
    h("div", { class: "kpis", style: "grid-template-columns:1fr 1fr" },
      kpi("buyers", "buyers", fmtInt(f.consumers), `${fmtInt(r.repeat_consumers)} bought again on a later day`, f.consumers),
      kpi("at-risk", "at risk", fmtInt(f.p_alive_below_0_3), "buyers with P(alive) < 0.3: likely gone, win back or let go", f.p_alive_below_0_3),
      kpi("purchases", `purchases ${horizon}d`, fmtNum(f.expected_purchases, 0), `expected repeat purchases in the next ${horizon} days`, f.expected_purchases),
      kpi("value", `CLV ${horizon}d`, f.clv === null ? "n/a" : fmtMoney(f.clv), f.clv === null ? "no amounts on buy events" : `discounted value expected in the next ${horizon} days (mean P(alive) ${fmtPct(f.mean_p_alive)})`, f.clv)),
    h("div", { class: "small muted", style: "margin-top:6px" }, params), check,
    ...(r.notes || []).map((n) => h("div", { class: "small", "data-testid": "clv-note" }, `Note: ${n}.`)),
    h("div", { class: "small", style: "margin-top:6px" }, guideLink()));
}
