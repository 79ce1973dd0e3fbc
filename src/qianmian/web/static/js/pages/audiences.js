// Audiences: saved audiences, a rule editor with live validation, size and sample before saving,
// the TGI profile of an audience against all consumers or another audience, seed templates, and
// strategy crowds as a map.
import { tip } from "../glossary.js";
import { bubbles, hbars, legend, PALETTE } from "../charts.js";
import { adminButton, card, clear, debounce, empty, errorBox, field, fill, fmtInt, fmtNum, fmtPct, h, dateInput, loading, table } from "../ui.js";

export async function render(view, ctx) {
  if (!ctx.last) { view.append(empty("No events in the store yet", "Audiences are evaluated over events: load data first.")); return; }
  const state = { asOf: ctx.params.as_of || ctx.last, rule: "", valid: false };
  const list = h("div"), editor = h("div"), tgi = h("div"), crowds = h("div");
  view.append(
    h("div", { class: "grid two" },
      card("Saved audiences", { sub: "Priority decides which experience a shopper in several audiences gets (smaller first)" }, list),
      card("Rule editor", { sub: "Checked as you type; size and a sample before you save", id: "editor" }, editor)),
    card("TGI profile", { sub: "How much more (>100) or less (<100) the audience shows each value than all consumers, or than another audience", id: "card-tgi" }, tgi),
    card("Strategy crowds", { sub: "Consumers split into micro-groups, described by category preference (TGI) and re-clustered", id: "card-crowds" }, crowds));

  const refreshList = () => fill(list, () => audienceList(ctx, state, loadIntoEditor, refreshList));
  const ed = ruleEditor(ctx, state, refreshList, () => profile());
  editor.append(ed.el);
  const loadIntoEditor = (a) => ed.load(a);
  const profile = tgiProfile(ctx, state, tgi);
  crowdMap(ctx, state, crowds);
  refreshList();
}

async function audienceList(ctx, state, onPick, refresh) {
  const rows = await ctx.api.get("/v1/audiences");
  const tpl = h("select", { "data-testid": "template" }, h("option", { value: "nivea" }, "Nivea: 8 crowds (new by interest, old by lifecycle)"),
    h("option", { value: "nestle" }, "Nestlé: coffee / milk powder / candy"), h("option", { value: "zara" }, "ZARA: general / male / female"));
  const msg = h("div");
  const apply = adminButton(ctx, "Add template audiences", { "data-testid": "apply-template" });
  apply.addEventListener("click", async () => {
    clear(msg, loading("Saving the template's audiences…"));
    try {
      const r = await ctx.api.post(`/v1/audiences/templates/${tpl.value}`, { as_of: state.asOf, replace: false });
      clear(msg, h("div", { class: "success" }, `Saved ${r.audiences.length} audiences.`));
      refresh();
    } catch (err) { clear(msg, errorBox(err)); }
  });
  const asOf = dateInput(state.asOf, { "data-testid": "materialize-as-of" });
  const mat = adminButton(ctx, "Materialize members", { "data-testid": "materialize", title: "Compute every audience's members as of the day; the storefront then uses them" });
  mat.addEventListener("click", async () => {
    clear(msg, loading("Computing members…"));
    try {
      const r = await ctx.api.post("/v1/audiences/materialize", { as_of: asOf.value });
      clear(msg, h("div", { class: "success" }, `Members as of ${r.as_of}: ${fmtInt(r.consumers)} consumers in at least one audience. The storefront uses them now.`));
      refresh();
    } catch (err) { clear(msg, errorBox(err)); }
  });
  const body = rows.length
    ? h("div", { class: "scroll" }, table([
      { label: "prio", key: "priority", num: true },
      { label: "name", render: (r) => h("b", {}, r.name) },
      { label: "members", num: true, render: (r) => (r.members === null ? h("span", { class: "muted", title: "not materialized yet" }, "—") : fmtInt(r.members)) },
      { label: "rule, in words", render: (r) => h("span", { class: "small clamp", title: `${r.sentence}\n\n${r.rule}` }, r.sentence) },
      { label: "export", render: (r) => (r.members === null ? "" : exportButton(ctx, r, msg)) },
    ], rows, { onRow: (r) => onPick(r), testid: "audience-list" }))
    : empty("No audiences yet", "Write a rule on the right and save it, or start from a seed template below.");
  return h("div", { class: "stack" }, body,
    h("div", { class: "row" }, tpl, apply),
    h("div", { class: "row" }, field("Members as of", asOf), h("div", { style: "align-self:flex-end" }, mat)),
    msg);
}

// The members as a CSV file (the list the storefront uses), for an ad channel or a CRM.
function exportButton(ctx, r, msg) {
  const b = adminButton(ctx, "CSV", { class: "small", "data-testid": `export-${r.name}`,
    title: `Download the ${fmtInt(r.members)} members materialized on ${r.materialized_as_of} (opted-out shoppers are never exported)` });
  b.addEventListener("click", async (ev) => {
    ev.stopPropagation();  // not a click on the row (which opens the audience)
    try {
      const rows = await ctx.api.download("/v1/exports/audience", { name: r.name, format: "csv" }, `audience-${r.name}.csv`);
      clear(msg, h("div", { class: "success" }, `Downloaded ${fmtInt(rows)} members of ${r.name}.`));
    } catch (err) { clear(msg, errorBox(err)); }
  });
  return b;
}

function ruleEditor(ctx, state, refreshList, onValid) {
  const name = h("input", { placeholder: "e.g. lapsed_vip", "data-testid": "aud-name", style: "width:100%" });
  const prio = h("input", { type: "number", value: 100, "data-testid": "aud-priority", style: "width:90px" });
  const desc = h("input", { placeholder: "What the audience is for", "data-testid": "aud-description", style: "width:100%" });
  const rule = h("textarea", { class: "rule", rows: 3, placeholder: 'count(buy, 30d) >= 2 and aipl = "L"', "data-testid": "aud-rule", spellcheck: "false" });
  const asOf = dateInput(state.asOf, { "data-testid": "aud-as-of" });
  const check = h("div", { class: "validation", "data-testid": "aud-validation", "aria-live": "polite" });
  const prev = h("div", { "data-testid": "aud-preview" });
  const msg = h("div");
  const save = adminButton(ctx, "Save audience", { class: "primary", "data-testid": "aud-save" });
  let seq = 0;

  const validate = async () => {
    const text = rule.value.trim(), mine = ++seq;
    state.valid = false;
    if (!text) { clear(check); clear(prev); rule.classList.remove("invalid"); return; }
    try {
      const r = await ctx.api.post("/v1/audiences/check", { rule: text });
      if (mine !== seq) return;
      rule.classList.toggle("invalid", !r.ok);
      if (!r.ok) {
        check.className = "validation bad";
        clear(check, h("div", {}, `✗ ${r.message}`), r.caret ? h("pre", {}, r.caret) : null);
        clear(prev);
        return;
      }
      state.valid = true; state.rule = text; state.asOf = asOf.value;
      check.className = "validation ok";
      clear(check, h("div", {}, "✓ ", r.sentence), r.rule !== text ? h("div", { class: "small muted mono" }, `reads as: ${r.rule}`) : null,
        ...(r.warnings || []).map((w) => h("div", { class: "warn", "data-testid": "aud-warning" }, `⚠ ${w.message}`)));
      preview(mine);
      onValid();
    } catch (err) { clear(check, errorBox(err)); }
  };
  const preview = async (mine) => {
    clear(prev, loading("Counting members…"));
    try {
      const p = await ctx.api.post("/v1/audiences/preview", { rule: rule.value.trim(), as_of: asOf.value, sample: 12 });
      if (mine !== seq) return;
      const bar = h("div", { style: "height:8px;background:#eef2f8;border-radius:4px;overflow:hidden;margin:6px 0" },
        h("div", { style: `height:100%;width:${Math.max(0.5, (p.share || 0) * 100)}%;background:#2f6fdd` }));
      clear(prev, h("div", { class: "card flat" },
        h("div", { class: "row" }, h("b", { "data-testid": "aud-size", "data-value": p.size }, `${fmtInt(p.size)} members`),
          h("span", { class: "muted" }, `of ${fmtInt(p.total)} consumers (${fmtPct(p.share)}) as of ${p.as_of}`)),
        bar,
        p.sample.length ? h("div", { class: "small" }, "Sample: ", p.sample.map((u) => h("a", { class: "chip", href: `#/shopper?user=${encodeURIComponent(u)}&as_of=${p.as_of}` }, u))) : h("div", { class: "small muted" }, "No member to sample.")));
    } catch (err) { clear(prev, errorBox(err)); }
  };
  const later = debounce(validate, 350);
  rule.addEventListener("input", later);
  asOf.addEventListener("change", validate);

  save.addEventListener("click", async () => {
    clear(msg);
    if (!state.valid) { clear(msg, h("div", { class: "error" }, "Fix the rule first: it must check before it can be saved.")); return; }
    try {
      const a = await ctx.api.post("/v1/audiences", { name: name.value.trim(), rule: rule.value.trim(), priority: Number(prio.value), description: desc.value, replace: replace.checked });
      clear(msg, h("div", { class: "success", "data-testid": "aud-saved" }, `Saved ${a.name} v${a.version}. Materialize members (left) so the storefront uses it.`));
      refreshList();
    } catch (err) {
      clear(msg, errorBox(err, err.status === 409 ? "Tick “new version” to replace the saved audience." : null));
    }
  });
  const replace = h("input", { type: "checkbox", "data-testid": "aud-replace" });

  const cat = h("details", { class: "small" }, h("summary", { class: "muted", style: "cursor:pointer" }, "What can a rule use?"));
  ctx.api.get("/v1/audiences/catalog").then((c) => {
    cat.append(h("div", { class: "stack", style: "margin-top:6px" },
      h("div", {}, h("b", {}, "Fields: "), c.fields.map((f) => h("span", { class: "chip", title: f.meaning + (f.values.length ? ` (${f.values.join(", ")})` : "") }, f.name))),
      h("div", {}, h("b", {}, "Functions: "), h("ul", { style: "margin:4px 0;padding-left:18px" }, c.functions.map((f) => h("li", { class: "mono" }, f.summary)))),
      h("div", {}, h("b", {}, "Behaviours: "), c.behaviors.join(", "), h("b", {}, "  ·  Filters: "), c.filters.join(", ")),
      h("div", { class: "muted" }, "Combine with and, or, not and parentheses; compare with = != < <= > >= and in (…).")));
  }).catch(() => {});

  const el = h("div", { class: "stack" },
    h("div", { class: "subgrid" }, field("Name", name), field("Priority", prio), h("div", { class: "full" }, field("Description", desc))),
    field("Rule", rule), check, cat,
    h("div", { class: "row" }, field("Preview as of", asOf)), prev,
    h("div", { class: "row" }, save, h("label", { class: "inline" }, replace, "new version of an existing audience")), msg);

  return {
    el,
    load(a) {
      name.value = a.name; prio.value = a.priority; desc.value = a.description || ""; rule.value = a.rule; replace.checked = true;
      validate();
    },
  };
}

function tgiProfile(ctx, state, el) {
  const by = h("select", { "data-testid": "tgi-by" }, ["category_id", "brand_id", "item_id", "channel", "city", "gender", "country"].map((b) => h("option", { value: b }, b)));
  const days = h("input", { type: "number", value: 30, min: 1, max: 3650, style: "width:80px" });
  const minCount = h("input", { type: "number", value: 20, min: 1, style: "width:80px", "data-testid": "tgi-min" });
  const against = h("select", { "data-testid": "tgi-reference" }, h("option", { value: "" }, "all consumers"));
  const reloadAudiences = async () => {  // the saved audiences, as references (kept current: the list changes as audiences are saved)
    const saved = await ctx.api.get("/v1/audiences");
    const keep = against.value;  // read after the fetch: the shopper may have picked one meanwhile
    if (saved.map((a) => a.name).join("\n") === [...against.options].slice(1).map((o) => o.value).join("\n")) return;
    clear(against, h("option", { value: "" }, "all consumers"), saved.map((a) => h("option", { value: a.name }, `audience ${a.name}`)));
    against.value = saved.some((a) => a.name === keep) ? keep : "";
  };
  reloadAudiences().catch(() => {});
  against.addEventListener("focus", () => reloadAudiences().catch(() => {}));
  const out = h("div");
  clear(el, h("div", { class: "row", style: "margin-bottom:8px" }, field("Dimension", by), field("Compared with", against),
    field("Events of the last N days", days), field("Least members per value", minCount)), out);
  clear(out, empty("Write a valid rule (or pick a saved audience)", "Its TGI profile appears here."));
  const run = () => {
    if (!state.valid) return;
    fill(out, async () => {
      const reference = against.value || null;
      const r = await ctx.api.post("/v1/audiences/tgi", { rule: state.rule, as_of: state.asOf, by: by.value, days: Number(days.value), min_count: Number(minCount.value) || 1, limit: 200, reference });
      const them = reference ? reference : "all";
      const solid = r.rows.filter((x) => !x.small && x.tgi !== null).slice(0, 15);
      if (!r.target_size) return empty("The audience has no members", "The profile needs members: loosen the rule, or pick an 'as of' day whose events match it.");
      if (!r.reference_size) return empty(`Audience ${reference} has no members as of ${r.as_of}`, "Pick another audience to compare with.");
      if (!solid.length) return empty(`No ${r.by} value with at least ${r.min_count} members`, "Too few members to profile reliably: widen the rule or the window.");
      return h("div", { class: "grid wide-left", style: "margin:0" },
        hbars(solid, { label: (x) => x.value, value: (x) => x.tgi, reference: 100, format: (v) => fmtNum(v, 0),
          color: (x) => (x.tgi >= 100 ? "#2f6fdd" : "#94a3b8"), note: (x) => `${x.value}: TGI ${fmtNum(x.tgi, 0)} · ${fmtInt(x.target_count)} members (${fmtPct(x.target_share)}) vs ${fmtPct(x.reference_share)} of ${them}` }),
        h("div", {}, h("p", { class: "small muted", "data-testid": "tgi-note" }, `${fmtInt(r.target_size)} members vs ${fmtInt(r.reference_size)} ${reference ? `members of ${reference}` : "consumers"} as of ${r.as_of}; ${r.by} of events in the last ${r.days} days. Values with fewer than ${r.min_count} members are left out (noisy).`),
          table([{ label: r.by, key: "value" }, { label: "TGI", num: true, tip: tip("tgi"), render: (x) => fmtNum(x.tgi, 0) }, { label: "members", num: true, render: (x) => fmtInt(x.target_count) },
            { label: "share", num: true, tip: "members with the value ÷ members", render: (x) => fmtPct(x.target_share) }, { label: them, num: true, render: (x) => fmtPct(x.reference_share) }], solid.slice(0, 10), { testid: "tgi-table" })));
    });
  };
  [by, days, minCount, against].forEach((x) => x.addEventListener("change", run));
  return debounce(run, 250);
}

function crowdMap(ctx, state, el) {
  const k = h("select", { "data-testid": "crowds-k" }, h("option", { value: "" }, "k by silhouette"), [3, 4, 5, 6, 8].map((n) => h("option", { value: n }, `${n} crowds`)));
  const asOf = dateInput(state.asOf);
  const go = h("button", { "data-testid": "crowds-run" }, "Compute crowds");
  const out = h("div");
  clear(el, h("div", { class: "row", style: "margin-bottom:8px" }, field("As of", asOf), field("Crowds", k), h("div", { style: "align-self:flex-end" }, go),
    h("span", { class: "small muted", style: "align-self:flex-end" }, "Hierarchical clustering of buyers' category mix; takes a few seconds.")), out);
  clear(out, empty("Strategy crowds are computed on demand", "Press “Compute crowds”."));
  go.addEventListener("click", () => fill(out, async () => {
    const r = await ctx.api.get("/v1/crowds", { as_of: asOf.value, k: k.value || undefined });
    return crowdView(r);
  }));
}

function crowdView(r) {
  const tops = [...new Set(r.crowds.map((c) => (c.top_categories[0] || {}).category || "—"))];
  const color = (c) => PALETTE[tops.indexOf((c.top_categories[0] || {}).category || "—") % PALETTE.length];
  const hasValue = r.crowds.some((c) => c.value_mean > 0);
  const y = (c) => (hasValue ? c.value_mean : (c.aipl.L || 0) * 100);
  const points = r.crowds.map((c) => ({ x: c.size, y: y(c), size: c.size, color: color(c), label: `#${c.crowd}`,
    tip: `#${c.crowd} ${c.name}: ${fmtInt(c.size)} consumers; top ${c.top_categories.map((t) => `${t.category} (TGI ${fmtNum(t.tgi, 0)})`).join(", ")}` }));
  return h("div", { class: "stack" },
    hasValue ? null : h("div", { class: "notice small" }, "No purchase amounts in this store, so value per consumer is 0 for every crowd: the map shows the share of loyal (L) consumers instead."),
    h("div", { class: "grid wide-left", style: "margin:0" },
      h("div", {}, bubbles(points, { xLabel: "crowd size (consumers)", yLabel: hasValue ? "value per consumer" : "loyal (L) share, %" }),
        legend(tops.map((t, i) => [`top category ${t}`, PALETTE[i % PALETTE.length]]))),
      h("div", {}, h("p", { class: "small muted" }, `${r.k} crowds over ${fmtInt(r.consumers)} consumers in ${r.micro_groups} micro-groups (silhouette ${fmtNum(r.quality, 3)}; ${fmtInt(r.unclustered)} unclustered) as of ${r.as_of}.`),
        table([{ label: "#", render: (c) => h("span", { class: "chip", style: `background:${color(c)};color:#fff` }, c.crowd) }, { label: "name", key: "name" },
          { label: "size", num: true, render: (c) => fmtInt(c.size) },
          { label: "top TGI", render: (c) => c.top_categories.map((t) => `${t.category} ${fmtNum(t.tgi, 0)}`).join(", ") },
          { label: "P/L", render: (c) => `${fmtPct(c.aipl.P, 0)}/${fmtPct(c.aipl.L, 0)}` }], r.crowds, { testid: "crowds-table" }))));
}
