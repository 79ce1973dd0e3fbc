// Charts as inline SVG, drawn here (no chart library, nothing fetched). Each function returns an <svg>.
import { fmtInt, fmtNum, fmtPct, fmtSignedPct, h } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
export const STAGE_COLORS = { A: "#8cc0ff", I: "#3d7fe0", P: "#f59f00", L: "#e8590c", none: "#c3cad6", new: "#7b61ff", anonymous: "#9aa5b5" };
export const STAGE_NAMES = { A: "Awareness", I: "Interest", P: "Purchase", L: "Loyalty", none: "no stage", new: "new buyers", anonymous: "anonymous" };
export const PALETTE = ["#2f6fdd", "#f59f00", "#1e8e5a", "#e8590c", "#7b61ff", "#0ea5b7", "#d6336c", "#8d6e63", "#5c7cfa", "#94a3b8"];

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function frame(width, height, label) {
  return s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, preserveAspectRatio: "xMidYMid meet" });
}

let tipEl = null;
export function tip(el, text) {
  el.addEventListener("mouseenter", () => {
    tipEl = tipEl || document.body.appendChild(h("div", { class: "tooltip" }));
    tipEl.textContent = typeof text === "function" ? text() : text;
    tipEl.style.display = "block";
  });
  el.addEventListener("mousemove", (e) => { if (tipEl) { tipEl.style.left = `${e.clientX + 12}px`; tipEl.style.top = `${e.clientY + 12}px`; } });
  el.addEventListener("mouseleave", () => { if (tipEl) tipEl.style.display = "none"; });
  return el;
}

function ticks(lo, hi, n = 5) {
  if (hi === lo) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

// AIPL funnel: one centred band per stage, width by count; counts and shares written on it.
export function aiplFunnel(counts, shares, { stages = ["A", "I", "P", "L"] } = {}) {
  const W = 560, rowH = 46, gap = 8, H = stages.length * (rowH + gap) + 4, left = 120, width = W - left - 10;
  const max = Math.max(1, ...stages.map((st) => counts[st] || 0));
  const svg = frame(W, H, "AIPL funnel");
  stages.forEach((st, i) => {
    const n = counts[st] || 0, w = Math.max(36, (n / max) * width), x = left + (width - w) / 2, y = i * (rowH + gap);
    const g = s("g", { "data-stage": st });
    g.append(s("text", { x: 0, y: y + rowH / 2 + 5, class: "label", style: "font-size:13px;font-weight:600" }, `${st} · ${STAGE_NAMES[st]}`));
    g.append(tip(s("rect", { x, y, width: w, height: rowH, rx: 7, fill: STAGE_COLORS[st] }), `${STAGE_NAMES[st]}: ${fmtInt(n)} consumers (${fmtPct(shares[st])})`));
    const text = `${fmtInt(n)} · ${fmtPct(shares[st])}`, inside = w >= 130;  // a narrow band gets its label beside it
    g.append(s("text", { x: inside ? left + width / 2 : x + w + 8, y: y + rowH / 2 + 5, "text-anchor": inside ? "middle" : "start",
      class: inside ? "big" : "value", style: inside && st === "A" ? "fill:#123" : null, "data-testid": `aipl-${st}`, "data-value": n }, text));
    svg.append(g);
  });
  return svg;
}

// Sankey of AIPL flow: left column = stage at the start date, right = stage at the end date.
export function sankey(links, { leftLabel, rightLabel, order = ["A", "I", "P", "L", "none"] } = {}) {
  const W = 620, H = 330, nodeW = 16, pad = 10, top = 22, x0 = 110, x1 = W - 110 - nodeW;
  const total = links.reduce((a, l) => a + l.consumers, 0) || 1;
  const side = (key) => order.map((st) => ({ st, n: links.filter((l) => l[key] === st).reduce((a, l) => a + l.consumers, 0) })).filter((d) => d.n > 0);
  const L = side("from"), R = side("to");
  const usable = H - top - 8 - pad * (Math.max(L.length, R.length) - 1);
  const k = usable / total;
  const place = (nodes) => { let y = top; for (const d of nodes) { d.y = y; d.h = Math.max(2, d.n * k); d.off = 0; y += d.h + pad; } return Object.fromEntries(nodes.map((d) => [d.st, d])); };
  const PL = place(L), PR = place(R);
  const svg = frame(W, H, "AIPL flow Sankey");
  svg.append(s("text", { x: x0 + nodeW / 2, y: 12, "text-anchor": "middle", class: "label" }, leftLabel || "start"));
  svg.append(s("text", { x: x1 + nodeW / 2, y: 12, "text-anchor": "middle", class: "label" }, rightLabel || "end"));
  const sorted = [...links].sort((a, b) => order.indexOf(a.from) - order.indexOf(b.from) || order.indexOf(a.to) - order.indexOf(b.to));
  for (const l of sorted) {
    const a = PL[l.from], b = PR[l.to], t = l.consumers * k;
    const ya = a.y + a.off, yb = b.y + b.off; a.off += t; b.off += t;
    const xa = x0 + nodeW, xb = x1, mx = (xa + xb) / 2;
    const d = `M${xa},${ya} C${mx},${ya} ${mx},${yb} ${xb},${yb} L${xb},${yb + t} C${mx},${yb + t} ${mx},${ya + t} ${xa},${ya + t} Z`;
    svg.append(tip(s("path", { d, class: "link", fill: STAGE_COLORS[l.to] || "#999", "data-from": l.from, "data-to": l.to, "data-value": l.consumers }),
      `${STAGE_NAMES[l.from]} → ${STAGE_NAMES[l.to]}: ${fmtInt(l.consumers)} consumers (${fmtPct(l.rate)} of ${STAGE_NAMES[l.from]})`));
  }
  const nodes = (P, x, anchor, dx) => Object.values(P).forEach((d) => {
    svg.append(s("rect", { x, y: d.y, width: nodeW, height: d.h, fill: STAGE_COLORS[d.st], rx: 2 }));
    svg.append(s("text", { x: x + dx, y: d.y + d.h / 2 + 4, "text-anchor": anchor, class: "label" }, `${d.st === "none" ? "no stage" : d.st} ${fmtInt(d.n)}`));
  });
  nodes(PL, x0, "end", -6);
  nodes(PR, x1, "start", nodeW + 6);
  return svg;
}

// Waterfall: a starting total, signed steps, an ending total.
export function waterfall(steps, { format = fmtNum } = {}) {
  const W = 620, H = 280, left = 60, bottom = 40, top = 16, right = 10;
  let run = 0;
  const bars = steps.map((st) => {
    if (st.kind === "total") { run = st.value; return { ...st, lo: 0, hi: st.value }; }
    const lo = run; run += st.value; return { ...st, lo: Math.min(lo, run), hi: Math.max(lo, run) };
  });
  const vmin = Math.min(0, ...bars.map((b) => b.lo)), vmax = Math.max(0, ...bars.map((b) => b.hi));
  const y = (v) => top + (H - top - bottom) * (1 - (v - vmin) / ((vmax - vmin) || 1));
  const bw = (W - left - right) / bars.length;
  const svg = frame(W, H, "GROW waterfall");
  const g = s("g", { class: "grid" });
  for (const t of ticks(vmin, vmax)) { g.append(s("line", { x1: left, x2: W - right, y1: y(t), y2: y(t) })); svg.append(s("text", { x: left - 6, y: y(t) + 4, "text-anchor": "end" }, fmtNum(t))); }
  svg.prepend(g);
  bars.forEach((b, i) => {
    const x = left + i * bw + bw * 0.18, w = bw * 0.64;
    const color = b.kind === "total" ? "#1f3a5f" : b.value >= 0 ? "#1e8e5a" : "#c62828";
    svg.append(tip(s("rect", { x, y: y(b.hi), width: w, height: Math.max(1, y(b.lo) - y(b.hi)), fill: color, rx: 3 }), `${b.label}: ${format(b.value)}`));
    svg.append(s("text", { x: x + w / 2, y: y(b.hi) - 5, "text-anchor": "middle", class: "value", "data-testid": `grow-${b.key || i}` }, (b.kind === "total" ? "" : b.value >= 0 ? "+" : "") + format(b.value)));
    svg.append(s("text", { x: x + w / 2, y: H - bottom + 16, "text-anchor": "middle", class: "label" }, b.label));
  });
  return svg;
}

// Grouped vertical bars: categories × series ({name, color, values}); optional note under each group.
export function groupedBars(categories, series, { notes = {}, format = fmtInt, height = 280 } = {}) {
  const W = 620, H = height, left = 60, bottom = 52, top = 18, right = 10;
  const vmax = Math.max(1, ...series.flatMap((sr) => sr.values.map((v) => v || 0)));
  const y = (v) => top + (H - top - bottom) * (1 - v / vmax);
  const gw = (W - left - right) / categories.length, bw = (gw * 0.7) / series.length;
  const svg = frame(W, H, "bar chart");
  const g = s("g", { class: "grid" });
  for (const t of ticks(0, vmax)) { g.append(s("line", { x1: left, x2: W - right, y1: y(t), y2: y(t) })); svg.append(s("text", { x: left - 6, y: y(t) + 4, "text-anchor": "end" }, fmtNum(t))); }
  svg.append(g);
  categories.forEach((c, i) => {
    series.forEach((sr, j) => {
      const v = sr.values[i];
      if (v === null || v === undefined) return;
      const x = left + i * gw + gw * 0.15 + j * bw;
      svg.append(tip(s("rect", { x, y: y(v), width: bw - 3, height: Math.max(0, y(0) - y(v)), fill: sr.color, rx: 2 }), `${c} · ${sr.name}: ${format(v)}`));
      svg.append(s("text", { x: x + (bw - 3) / 2, y: y(v) - 4, "text-anchor": "middle", class: "value", style: "font-size:11px" }, format(v)));
    });
    svg.append(s("text", { x: left + i * gw + gw / 2, y: H - bottom + 16, "text-anchor": "middle", class: "label" }, c));
    if (notes[c]) svg.append(s("text", { x: left + i * gw + gw / 2, y: H - bottom + 32, "text-anchor": "middle", fill: notes[c].color || "#5f6b7e", style: `fill:${notes[c].color || "#5f6b7e"};font-weight:600` }, notes[c].text));
  });
  return svg;
}

// Horizontal bars (e.g. TGI with a reference line at 100).
export function hbars(rows, { label, value, reference = null, format = fmtNum, color = () => "#2f6fdd", note } = {}) {
  const W = 560, rowH = 22, left = 120, right = 70, top = 6;
  const H = rows.length * rowH + top + 18;
  const vmax = Math.max(reference || 0, ...rows.map((r) => value(r) || 0)) * 1.05 || 1;
  const x = (v) => left + (W - left - right) * (v / vmax);
  const svg = frame(W, H, "bars");
  rows.forEach((r, i) => {
    const v = value(r) || 0, y = top + i * rowH;
    svg.append(s("text", { x: left - 6, y: y + rowH / 2 + 4, "text-anchor": "end", class: "label" }, label(r)));
    svg.append(tip(s("rect", { x: left, y: y + 3, width: Math.max(1, x(v) - left), height: rowH - 6, fill: color(r), rx: 3 }), note ? note(r) : `${label(r)}: ${format(v)}`));
    svg.append(s("text", { x: x(v) + 5, y: y + rowH / 2 + 4, class: "value" }, format(v)));
  });
  if (reference !== null) {
    svg.append(s("line", { x1: x(reference), x2: x(reference), y1: 0, y2: H - 14, stroke: "#1d2433", "stroke-dasharray": "4 3" }));
    svg.append(s("text", { x: x(reference), y: H - 2, "text-anchor": "middle" }, `${reference} = average`));
  }
  return svg;
}

// Bubble map: x, y, radius by size, colour by a category, a label per bubble.
export function bubbles(points, { xLabel, yLabel, xFormat = fmtInt, yFormat = fmtNum } = {}) {
  const W = 640, H = 330, left = 64, bottom = 42, top = 16, right = 24;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const xmax = Math.max(1, ...xs) * 1.12, ymin = Math.min(0, ...ys), ymax = Math.max(...ys, ymin + 1e-9) * 1.15 || 1;
  const X = (v) => left + (W - left - right) * (v / xmax), Y = (v) => top + (H - top - bottom) * (1 - (v - ymin) / ((ymax - ymin) || 1));
  const rmax = Math.max(1, ...points.map((p) => p.size));
  const svg = frame(W, H, "bubble map");
  const g = s("g", { class: "grid" });
  for (const t of ticks(0, xmax)) { g.append(s("line", { x1: X(t), x2: X(t), y1: top, y2: H - bottom })); svg.append(s("text", { x: X(t), y: H - bottom + 14, "text-anchor": "middle" }, xFormat(t))); }
  for (const t of ticks(ymin, ymax)) { g.append(s("line", { x1: left, x2: W - right, y1: Y(t), y2: Y(t) })); svg.append(s("text", { x: left - 6, y: Y(t) + 4, "text-anchor": "end" }, yFormat(t))); }
  svg.prepend(g);
  svg.append(s("text", { x: (left + W - right) / 2, y: H - 6, "text-anchor": "middle", class: "label" }, xLabel));
  svg.append(s("text", { x: 14, y: (top + H - bottom) / 2, "text-anchor": "middle", class: "label", transform: `rotate(-90 14 ${(top + H - bottom) / 2})` }, yLabel));
  [...points].sort((a, b) => b.size - a.size).forEach((p) => {
    const r = 8 + 26 * Math.sqrt(p.size / rmax);
    svg.append(tip(s("circle", { cx: X(p.x), cy: Y(p.y), r, fill: p.color, "fill-opacity": 0.55, stroke: p.color, "stroke-width": 1.5 }), p.tip || p.label));
    svg.append(s("text", { x: X(p.x), y: Y(p.y) + 4, "text-anchor": "middle", class: "value", style: "font-size:11px" }, p.label));
  });
  return svg;
}

// Relative lifts with confidence intervals: one row each; zero line; green/red when significant.
export function lifts(rows, { level = 0.95 } = {}) {
  const W = 620, rowH = 30, left = 210, right = 70, top = 20;
  const H = rows.length * rowH + top + 22;
  const vals = rows.flatMap((r) => [r.ci_low, r.ci_high, r.lift_rel]).filter((v) => v !== null && Number.isFinite(v));
  const lo = Math.min(-0.05, ...vals), hi = Math.max(0.05, ...vals);
  const x = (v) => left + (W - left - right) * ((v - lo) / (hi - lo));
  const svg = frame(W, H, "lifts with intervals");
  const g = s("g", { class: "grid" });
  for (const t of ticks(lo, hi, 6)) { g.append(s("line", { x1: x(t), x2: x(t), y1: top - 6, y2: H - 18 })); svg.append(s("text", { x: x(t), y: H - 4, "text-anchor": "middle" }, fmtSignedPct(t, 0))); }
  svg.append(g);
  svg.append(s("line", { x1: x(0), x2: x(0), y1: top - 8, y2: H - 18, stroke: "#1d2433" }));
  svg.append(s("text", { x: left, y: 10, class: "label" }, `relative lift vs control, ${Math.round(level * 100)}% interval`));
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    svg.append(s("text", { x: left - 8, y: y + 4, "text-anchor": "end", class: "label" }, r.label));
    if (r.lift_rel === null || !Number.isFinite(r.lift_rel)) {
      svg.append(s("text", { x: x(0) + 6, y: y + 4 }, r.error ? r.error.toLowerCase().replaceAll("_", " ") : "no comparison"));
      return;
    }
    const good = r.higher_is_better === false ? r.lift_rel < 0 : r.lift_rel > 0;
    const color = r.significant ? (good ? "#1e8e5a" : "#c62828") : "#5f6b7e";
    svg.append(s("line", { x1: x(r.ci_low), x2: x(r.ci_high), y1: y, y2: y, stroke: color, "stroke-width": 3, "stroke-linecap": "round" }));
    svg.append(tip(s("circle", { cx: x(r.lift_rel), cy: y, r: 5.5, fill: color }),
      `${r.label}: ${fmtSignedPct(r.lift_rel)} (CI ${fmtSignedPct(r.ci_low)} … ${fmtSignedPct(r.ci_high)})${r.significant ? ", significant" : ", not significant"}`));
    svg.append(s("text", { x: W - right + 6, y: y + 4, class: "value", fill: color, style: `fill:${color}` }, fmtSignedPct(r.lift_rel)));
  });
  return svg;
}

// Simple vertical bars with labels (lifecycle states, funnel steps).
export function bars(labels, values, { colors, format = fmtInt, height = 220, sub = [] } = {}) {
  const W = 560, H = height, left = 50, bottom = 44, top = 18, right = 10;
  const vmax = Math.max(1, ...values.map((v) => v || 0));
  const y = (v) => top + (H - top - bottom) * (1 - v / vmax);
  const bw = (W - left - right) / labels.length;
  const svg = frame(W, H, "bars");
  const g = s("g", { class: "grid" });
  for (const t of ticks(0, vmax, 4)) { g.append(s("line", { x1: left, x2: W - right, y1: y(t), y2: y(t) })); svg.append(s("text", { x: left - 6, y: y(t) + 4, "text-anchor": "end" }, fmtNum(t))); }
  svg.append(g);
  labels.forEach((lab, i) => {
    const v = values[i] || 0, x = left + i * bw + bw * 0.2, w = bw * 0.6;
    svg.append(tip(s("rect", { x, y: y(v), width: w, height: Math.max(0, y(0) - y(v)), fill: colors ? colors[i % colors.length] : "#2f6fdd", rx: 3 }), `${lab}: ${format(v)}`));
    svg.append(s("text", { x: x + w / 2, y: y(v) - 5, "text-anchor": "middle", class: "value" }, format(v)));
    svg.append(s("text", { x: x + w / 2, y: H - bottom + 16, "text-anchor": "middle", class: "label" }, lab));
    if (sub[i]) svg.append(s("text", { x: x + w / 2, y: H - bottom + 31, "text-anchor": "middle" }, sub[i]));
  });
  return svg;
}

export function legend(items) {
  return h("div", { class: "legend" }, items.map(([label, color]) => h("span", {}, h("i", { style: `background:${color}` }), label)));
}
