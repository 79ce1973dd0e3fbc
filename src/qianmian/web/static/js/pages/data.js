// Data: store summary, ingestion history, and the quarantine (every refused row with its reason).
import { bars } from "../charts.js";
import { card, empty, fill, fmtInt, h, table } from "../ui.js";

export async function render(view, ctx) {
  const summary = h("div"), history = h("div"), quarantine = h("div");
  view.append(
    h("div", { class: "grid wide-right" }, card("Store", { sub: "What is loaded, where", id: "card-store" }, summary),
      card("Ingestion history", { sub: "Every file load: rows read, loaded, duplicates dropped, quarantined", id: "card-ingests" }, history)),
    card("Quarantine", { sub: "Rows refused at ingestion, kept with the field and the reason (nothing is dropped silently)", id: "card-quarantine" }, quarantine));
  fill(summary, () => storeSummary(ctx));
  fill(history, () => ingests(ctx));
  quarantineBrowser(ctx, quarantine, {});
}

async function storeSummary(ctx) {
  const s = await ctx.api.get("/v1/summary");
  const rows = Object.entries(s.tables).filter(([name]) => !name.startsWith("_")).sort((a, b) => b[1] - a[1]);
  const kpi = (k, v, m, id) => h("div", { class: "kpi", "data-testid": id, "data-value": v ?? "" }, h("div", { class: "k" }, k), h("div", { class: "v" }, typeof v === "number" ? fmtInt(v) : v || "—"), h("div", { class: "m" }, m));
  return h("div", { class: "stack" },
    h("div", { class: "kpis", style: "grid-template-columns:repeat(3,1fr)" },
      kpi("events", s.tables.events, "behaviour rows", "sum-events"), kpi("consumers", s.users, "distinct user ids in events", "sum-users"),
      kpi("items", s.items, "distinct item ids in events", "sum-items")),
    h("div", { class: "small" }, h("b", {}, "Time span: "), s.first_ts ? `${s.first_ts.replace("T", " ")} → ${s.last_ts.replace("T", " ")} (brand's local time)` : "no events"),
    h("div", { class: "small" }, h("b", {}, "Store: "), h("code", {}, s.store), ` on ${s.engine}`),
    h("h3", {}, "Rows per table"),
    table([{ label: "table", key: 0 }, { label: "rows", num: true, render: (r) => fmtInt(r[1]) }], rows, { testid: "table-rows" }));
}

async function ingests(ctx) {
  const rows = await ctx.api.get("/v1/data/ingests", { limit: 50 });
  if (!rows.length) return empty("No file has been loaded", "Load one with `qianmian ingest FILE --layout taobao|online-retail|retailrocket` (the demo loads the bundled Taobao slice).");
  const last = rows[0];
  return h("div", { class: "stack" },
    bars(["read", "loaded", "duplicates", "quarantined"], [last.read, last.loaded, last.duplicates, last.quarantined], { colors: ["#94a3b8", "#1e8e5a", "#f59f00", "#c62828"], height: 170 }),
    h("div", { class: "small muted" }, `Latest load: ${String(last.source).split("/").pop()} (${last.layout})`),
    h("div", { class: "scroll", style: "max-height:220px" }, table([
      { label: "started", render: (r) => String(r.started_at || "").replace("T", " ").slice(0, 19) },
      { label: "file", render: (r) => h("span", { title: r.source }, String(r.source).split("/").pop()) }, { label: "layout", key: "layout" },
      { label: "read", num: true, render: (r) => fmtInt(r.read) }, { label: "loaded", num: true, render: (r) => fmtInt(r.loaded) },
      { label: "dupl.", num: true, render: (r) => fmtInt(r.duplicates) }, { label: "quarantined", num: true, render: (r) => fmtInt(r.quarantined) },
    ], rows, { testid: "ingest-list" })));
}

function quarantineBrowser(ctx, el, filter) {
  const page = 25;
  const load = (offset) => fill(el, async () => {
    const q = await ctx.api.get("/v1/data/quarantine", { ...filter, offset, limit: page });
    if (!q.total) return empty(filter.field ? `No row refused for ${filter.field}` : "Nothing in quarantine", "Every row read so far was valid.");
    const filtered = filter.field || filter.ingest_id;
    const nav = h("div", { class: "row" },
      h("button", { class: "small", disabled: offset === 0, onclick: () => load(Math.max(0, offset - page)) }, "← previous"),
      h("span", { class: "small muted", "data-testid": "quarantine-range" }, `rows ${fmtInt(offset + 1)}–${fmtInt(Math.min(q.total, offset + page))} of ${fmtInt(q.total)}`),
      h("button", { class: "small", disabled: offset + page >= q.total, onclick: () => load(offset + page) }, "next →"),
      filtered ? h("button", { class: "small", onclick: () => { filter = {}; load(0); } }, `clear filter (${filter.field})`) : null);
    return h("div", { class: "stack" },
      h("div", {}, h("h3", {}, "Reasons (click to filter)"), h("div", { class: "scroll", style: "max-height:200px" }, table([
        { label: "field", key: "field" }, { label: "reason", render: (r) => h("span", { class: "small" }, r.reason) }, { label: "rows", num: true, render: (r) => fmtInt(r.rows) },
      ], q.reasons, { onRow: (r) => { filter = { field: r.field }; load(0); }, selected: (r) => r.field === filter.field, testid: "quarantine-reasons" }))),
      h("div", {}, h("h3", {}, "Rows"), nav, h("div", { class: "scroll", style: "max-height:520px" }, table([
        { label: "source", render: (r) => h("span", { title: r.source }, `${String(r.source).split("/").pop()} #${r.row_number}`) },
        { label: "field", key: "field" }, { label: "raw row", render: (r) => h("code", { class: "raw", title: r.raw }, r.raw) },
        { label: "reason", render: (r) => h("span", { class: "small" }, r.reason) },
      ], q.rows, { testid: "quarantine-rows" }))));
  });
  load(0);
}


