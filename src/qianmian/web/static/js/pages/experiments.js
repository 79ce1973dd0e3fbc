// Experiments: list, create (split, audience, metrics), results with lifts and intervals, SRM warning,
// the plain-language summary, and the campaign close-out (结案) by customer, audience and creative.
import { tip } from "../glossary.js";
import { lifts } from "../charts.js";
import { adminButton, card, clear, empty, errorBox, field, fill, fmtInt, fmtNum, fmtPct, fmtSignedPct, h, dateInput, table } from "../ui.js";

const isRate = (m) => /conversion|rate|through/.test(m);
const fmtMean = (m, v) => (isRate(m) ? fmtPct(v, 2) : fmtNum(v));

export async function render(view, ctx) {
  const list = h("div"), form = h("div"), results = h("div");
  view.append(card("Experiments", { sub: "Deterministic assignment by hash; exposures come from the storefront (or a file)", actions: null, id: "card-experiments" }, list), form, results);
  const state = { selected: ctx.params.name || null };
  const refresh = () => fill(list, async () => {
    const rows = await ctx.api.get("/v1/experiments");
    const newBtn = adminButton(ctx, "New experiment", { "data-testid": "exp-new" });
    newBtn.addEventListener("click", () => clear(form, createForm(ctx, (name) => { state.selected = name; clear(form); refresh(); })));
    if (!state.selected && rows.length) state.selected = (rows.find((r) => r.shoppers > 0) || rows[0]).name;  // one with results first
    if (state.selected) showResults(ctx, rows.find((r) => r.name === state.selected), results);
    const body = rows.length ? table([
      { label: "name", render: (r) => h("b", {}, r.name) },
      { label: "split", render: (r) => JSON.parse(r.variants).map(([n, w]) => `${n} ${w}`).join(" : ") },
      { label: "audience", render: (r) => r.audience || "everyone" }, { label: "campaign", render: (r) => r.campaign || "—" },
      { label: "shoppers exposed", num: true, render: (r) => fmtInt(r.shoppers) },
      { label: "exposures from", render: (r) => (r.first_exposure ? String(r.first_exposure).slice(0, 10) : "—") },
      { label: "to", render: (r) => (r.last_exposure ? String(r.last_exposure).slice(0, 10) : "—") },
    ], rows, { onRow: (r) => { state.selected = r.name; refresh(); }, selected: (r) => r.name === state.selected, testid: "experiment-list" })
      : empty("No experiments yet", "Create one: pick the split (2:8 test:control as in the seeds), the audience and the metrics. Results appear once the storefront logs exposures.");
    return h("div", { class: "stack" }, body, h("div", { class: "row" }, newBtn));
  });
  refresh();
}

function createForm(ctx, done) {
  const name = h("input", { placeholder: "e.g. hero-test-week-49", "data-testid": "new-exp-name", style: "width:100%" });
  const variants = [["test", 2], ["control", 8]].map(([n, w]) => ({ name: h("input", { value: n, style: "width:110px" }), weight: h("input", { type: "number", value: w, min: 0.01, step: "any", style: "width:70px" }) }));
  const vbox = h("div", { class: "stack" });
  const drawV = () => clear(vbox, variants.map((v) => h("div", { class: "row" }, v.name, v.weight)),
    h("button", { class: "small", onclick: () => { variants.push({ name: h("input", { value: `variant${variants.length}`, style: "width:110px" }), weight: h("input", { type: "number", value: 1, style: "width:70px" }) }); drawV(); } }, "+ variant"));
  drawV();
  const audience = h("select", { "data-testid": "new-exp-audience" }, h("option", { value: "" }, "everyone"));
  ctx.api.get("/v1/audiences").then((rows) => rows.forEach((a) => audience.append(h("option", { value: a.name }, a.name)))).catch(() => {});
  const campaign = h("input", { placeholder: "optional, for the close-out" });
  const start = dateInput(""), end = dateInput("");
  const windowDays = h("input", { type: "number", value: 14, min: 1, style: "width:80px" });
  const mbox = h("div", { "data-testid": "new-exp-metrics" });
  ctx.api.get("/v1/experiments/metrics").then((ms) => ms.forEach((m) => mbox.append(h("label", { class: "inline" },
    h("input", { type: "checkbox", value: m.name, checked: m.default }), h("span", { title: tip(m.name) }, m.label))))).catch(() => {});
  const msg = h("div");
  const save = adminButton(ctx, "Create experiment", { class: "primary", "data-testid": "new-exp-save" });
  save.addEventListener("click", async () => {
    const metrics = [...mbox.querySelectorAll("input:checked")].map((x) => x.value);
    const body = { name: name.value.trim(), variants: variants.map((v) => ({ name: v.name.value.trim(), weight: Number(v.weight.value) })),
      audience: audience.value || null, campaign: campaign.value.trim() || null, metrics: metrics.length ? metrics : null,
      start: start.value || null, end: end.value || null, window_days: Number(windowDays.value) };
    try {
      const r = await ctx.api.post("/v1/experiments", body);
      done(r.name);
    } catch (err) { clear(msg, errorBox(err)); }
  });
  return card("New experiment", { sub: "Units are assigned by a hash of the experiment's salt and the shopper id: the same shopper always gets the same variant" },
    h("div", { class: "grid two", style: "margin:0" },
      h("div", { class: "stack" }, field("Name", name), field("Variants and weights (2 : 8 = 20% test)", vbox), field("Audience", audience), field("Campaign", campaign)),
      h("div", { class: "stack" }, field("Metrics", mbox), h("div", { class: "row" }, field("Exposures from", start), field("until", end), field("Attribution window (days)", windowDays)))),
    h("div", { class: "row", style: "margin-top:10px" }, save, h("button", { onclick: (e) => e.target.closest(".card").remove() }, "Cancel")), msg);
}

function showResults(ctx, exp, el) {
  if (!exp) { clear(el); return; }
  const asOf = dateInput(ctx.last || "", { "data-testid": "exp-as-of" });
  const cuped = h("input", { type: "checkbox", checked: true });
  const seq = h("input", { type: "checkbox" });
  const out = h("div"), close = h("div");
  const run = () => {
    if (!exp.shoppers) {
      clear(out, empty("No exposures yet", `Results appear once shoppers are exposed: serve it from the storefront (QIANMIAN_STOREFRONT_EXPERIMENT=${exp.name}) or load exposures with \`qianmian experiment log FILE\`.`));
      clear(close, empty("Nothing to close out yet", "The close-out compares the campaign's exposed shoppers by customer type, audience and creative: it fills once the experiment has exposures."));
      return;
    }
    fill(out, () => report(ctx, exp, asOf.value, cuped.checked, seq.checked), { hint: (e) => (e.status === 404 ? "No exposures yet: the experiment has results once the storefront serves its pages (or exposures are loaded with `qianmian experiment log`)." : null) });
    if (exp.campaign) fill(close, () => closeout(ctx, exp, asOf.value));
  };
  clear(el, card(`Results: ${exp.name}`, { sub: `control: ${exp.control} · metrics counted in the ${fmtNum(exp.window_days)} days after each shopper's first exposure`, id: "card-results" },
    h("div", { class: "row", style: "margin-bottom:10px" }, field("As of", asOf), h("label", { class: "inline" }, cuped, "CUPED (pre-period adjustment)"),
      h("label", { class: "inline" }, seq, "always-valid intervals (peeking is safe)"), h("button", { onclick: run }, "Update")), out),
  exp.campaign ? card(`Close-out (结案): campaign ${exp.campaign}`, { sub: "The same comparison by new vs returning customer, audience and creative (Benjamini-Hochberg corrected: leads, not proof)", id: "card-closeout" }, close) : null);
  run();
}

function liftRows(results, alpha) {
  return results.filter((r) => r.lift_rel !== null || r.error).map((r) => ({
    label: `${r.metric.replaceAll("_", " ")} (${r.variant})`, lift_rel: r.lift_rel, ci_low: r.ci_low, ci_high: r.ci_high, error: r.error,
    significant: (r.p_adjusted ?? r.p_value) < alpha, higher_is_better: r.higher_is_better,
  }));
}

function srmBadge(srm) {
  const rule = `flagged when p < ${srm.threshold} (the srm_threshold setting, QIANMIAN_SRM_THRESHOLD)`;
  const observed = `observed ${srm.observed.map(fmtInt).join(" : ")}, expected ${srm.expected.map((x) => fmtInt(x)).join(" : ")}`;
  return srm.mismatch
    ? h("div", { class: "error", "data-testid": "srm", "data-mismatch": "true", "data-threshold": srm.threshold }, h("b", {}, "Sample-ratio mismatch. "),
      `Observed ${srm.observed.map(fmtInt).join(" : ")} against an expected ${srm.expected.map((x) => fmtInt(x)).join(" : ")} (p = ${srm.p_value.toPrecision(2)} < ${srm.threshold}). Find the cause before trusting these results.`)
    : h("span", { class: "badge ok", "data-testid": "srm", "data-mismatch": "false", "data-threshold": srm.threshold, title: `${observed}; ${rule}` },
      `split matches the plan (SRM p = ${srm.p_value.toPrecision(2)}; flagged below ${srm.threshold})`);
}

function cupedNote(r, exp) {
  if (!r.cuped) return h("div", { class: "small muted", "data-testid": "cuped-note" }, "CUPED off: means, lifts and p-values are unadjusted.");
  const adjusted = r.cuped_metrics.map((m) => m.replaceAll("_", " "));
  const plain = [...new Set(r.results.map((x) => x.metric))].filter((m) => !r.cuped_metrics.includes(m)).map((m) => m.replaceAll("_", " "));
  return h("div", { class: "small muted", "data-testid": "cuped-note" },
    adjusted.length ? `CUPED on: ${adjusted.join(", ")} adjusted with each shopper's value in the ${fmtNum(exp.pre_days)} days before exposure; their lift, interval and p-value use the adjusted means. ` : "CUPED on, but no metric has pre-period data: nothing is adjusted. ",
    plain.length ? `Not adjusted (no pre-period covariate, so the plain test): ${plain.join(", ")}.` : "");
}

async function report(ctx, exp, asOf, cuped, sequential) {
  const r = await ctx.api.get(`/v1/experiments/${encodeURIComponent(exp.name)}/report`, { as_of: asOf, cuped, sequential });
  const units = Object.entries(r.units).map(([v, n]) => h("span", { class: "chip" }, `${v}: ${fmtInt(n)}`));
  const rows = r.results.map((x) => ({ ...x }));
  const adjustedCol = r.cuped_metrics.length
    ? [{ label: "mean (CUPED-adjusted)", num: true, render: (x) => (x.adjusted_mean === null ? h("span", { class: "muted", title: "not adjusted: no pre-period covariate" }, "not adj.") : fmtMean(x.metric, x.adjusted_mean)) }]
    : [];
  return h("div", { class: "stack" },
    h("div", { class: "row" }, srmBadge(r.srm), units, r.multiple_exposures ? h("span", { class: "badge warn" }, `${fmtInt(r.multiple_exposures)} shoppers seen in several variants (excluded)`) : null),
    h("div", { class: "grid two", style: "margin:0" },
      h("div", {}, lifts(liftRows(r.results, r.alpha), { level: 1 - r.alpha })),
      h("div", {}, table([
        { label: "metric", render: (x) => h("span", { title: tip(x.metric) }, x.metric.replaceAll("_", " ")) }, { label: "variant", key: "variant" }, { label: "n", num: true, render: (x) => fmtInt(x.n) },
        { label: r.cuped_metrics.length ? "mean (raw)" : "mean", num: true, render: (x) => fmtMean(x.metric, x.mean) },
        ...adjustedCol,
        { label: "lift", num: true, render: (x) => (x.lift_rel === null ? (x.error || "") : fmtSignedPct(x.lift_rel)) },
        { label: `${Math.round((1 - r.alpha) * 100)}% CI`, num: true, render: (x) => (x.ci_low === null ? "" : `${fmtSignedPct(x.ci_low)} … ${fmtSignedPct(x.ci_high)}`) },
        { label: "p adj.", num: true, render: (x) => (x.p_adjusted === null ? "" : x.p_adjusted.toPrecision(2)) },
      ], rows, { testid: "exp-results" }), cupedNote(r, exp))),
    h("div", { class: "summary-text", "data-testid": "exp-summary" }, r.summary));
}

async function closeout(ctx, exp, asOf) {
  const c = await ctx.api.get(`/v1/closeout/${encodeURIComponent(exp.campaign)}`, { as_of: asOf, experiment: exp.name });
  const seg = c.segments.flatMap((s) => s.results.filter((x) => x.lift_rel !== null && x.metric === c.report.results[0].metric)
    .map((x) => ({ segment: `${s.dimension}: ${s.segment}`, ...x })));
  return h("div", { class: "stack" },
    h("div", { class: "grid two", style: "margin:0" },
      h("div", {}, c.lifts.length ? lifts(c.lifts, { level: 1 - c.report.alpha }) : empty("No segment has both variants", "Each segment needs exposed shoppers in test and in control: more exposures (with audience and creative recorded) fill it.")),
      h("div", { class: "scroll" }, table([{ label: "segment", key: "segment" }, { label: "n", num: true, render: (x) => fmtInt(x.n) },
        { label: "lift", num: true, render: (x) => fmtSignedPct(x.lift_rel) }, { label: "CI", num: true, render: (x) => `${fmtSignedPct(x.ci_low)} … ${fmtSignedPct(x.ci_high)}` },
        { label: "p adj.", num: true, render: (x) => (x.p_adjusted === null ? "" : x.p_adjusted.toPrecision(2)) }], seg,
        { testid: "closeout-table", empty: "No segment with a comparison: segments fill with exposed shoppers in both variants" }))),
    h("div", { class: "summary-text", "data-testid": "closeout-summary" }, c.summary));
}
