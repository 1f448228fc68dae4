/**
 * A horizontal bar chart as a standalone SVG string, written with plain string building (no chart
 * library): one bar per row at the median, a whisker for the min–max spread, a value label, and a
 * logarithmic x axis, because the contenders span four orders of magnitude (the I/O floor at
 * ~10^8 segments/s, tshark at ~10^5).
 *
 * @module
 */

const COLORS = {
  flowrecon: "#1f6feb",
  peer: "#8b949e",
  ref: "#d29922",
  floor: "#c9d1d9",
};

function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 1234567 -> "1.23M", 45600 -> "45.6k". */
export function si(x) {
  if (!Number.isFinite(x)) return "-";
  /** @type {[number, string][]} */
  const units = [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [f, u] of units) if (x >= f) return `${(x / f).toPrecision(3)}${u}`;
  return x.toPrecision(3);
}

/**
 * @param {{title: string, subtitle?: string, unit: string,
 *   rows: {label: string, value: number, min?: number, max?: number, group: "flowrecon"|"peer"|"ref"|"floor", note?: string}[],
 *   markers?: {value: number, label: string}[]}} spec  markers: dashed vertical lines (targets)
 * @returns {string} SVG document
 */
export function barChart(spec) {
  const rows = spec.rows.filter((r) => Number.isFinite(r.value) && r.value > 0);
  const labelW = 290;
  const plotW = 520;
  const rightW = 150;
  const rowH = 26;
  const top = (spec.subtitle ? 64 : 48) + (spec.markers?.length ? 14 : 0);
  const axisH = 40;
  const width = labelW + plotW + rightW;
  const height = top + rows.length * rowH + axisH + 28;
  const markers = (spec.markers ?? []).filter((mk) => mk.value > 0);
  const vals = [
    ...rows.flatMap((r) => [r.value, r.min ?? r.value, r.max ?? r.value]),
    ...markers.map((mk) => mk.value),
  ].filter((x) => x > 0);
  // Start the axis at least half a decade below the smallest value, so that every bar has length.
  const lo = Math.floor(Math.log10(Math.min(...vals)) - 0.3);
  const hi = Math.ceil(Math.log10(Math.max(...vals)));
  const x = (v) => labelW + ((Math.log10(v) - lo) / Math.max(1, hi - lo)) * plotW;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="12" y="24" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="12" y="44" fill="#57606a">${esc(spec.subtitle)}</text>`);
  // Decade grid lines and axis labels.
  const axisY = top + rows.length * rowH + 6;
  for (let e = lo; e <= hi; e++) {
    const gx = x(10 ** e).toFixed(1);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${axisY}" stroke="#d0d7de" stroke-width="1"/>`);
    out.push(`<text x="${gx}" y="${axisY + 16}" text-anchor="middle" fill="#57606a">${esc(si(10 ** e))}</text>`);
  }
  out.push(
    `<text x="${labelW + plotW / 2}" y="${axisY + 34}" text-anchor="middle" fill="#57606a">${esc(spec.unit)} (log scale; bar = median, whisker = min–max)</text>`,
  );
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const x0 = labelW;
    const x1 = x(r.value);
    out.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`);
    out.push(
      `<rect x="${x0}" y="${y + 3}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${rowH - 8}" fill="${COLORS[r.group] ?? COLORS.peer}"/>`,
    );
    if (r.min !== undefined && r.max !== undefined && r.max > r.min) {
      const a = x(r.min).toFixed(1);
      const b = x(r.max).toFixed(1);
      const cy = y + rowH / 2 - 1;
      out.push(`<line x1="${a}" y1="${cy}" x2="${b}" y2="${cy}" stroke="#24292f" stroke-width="1.2"/>`);
      out.push(`<line x1="${a}" y1="${cy - 5}" x2="${a}" y2="${cy + 5}" stroke="#24292f" stroke-width="1.2"/>`);
      out.push(`<line x1="${b}" y1="${cy - 5}" x2="${b}" y2="${cy + 5}" stroke="#24292f" stroke-width="1.2"/>`);
    }
    out.push(
      `<text x="${labelW + plotW + 8}" y="${y + 15}">${esc(si(r.value))}${r.note ? ` ${esc(r.note)}` : ""}</text>`,
    );
  });
  for (const mk of markers) {
    const mx = x(mk.value).toFixed(1);
    out.push(
      `<line x1="${mx}" y1="${top - 10}" x2="${mx}" y2="${axisY}" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="5,4"/>`,
    );
    out.push(
      `<text x="${mx}" y="${top - 13}" text-anchor="middle" fill="#cf222e" font-size="11">${esc(mk.label)}</text>`,
    );
  }
  // Legend.
  const ly = height - 12;
  let lx = 12;
  for (const [group, name] of [
    ["flowrecon", "flowrecon"],
    ["peer", "peer tools"],
    ["ref", "JavaScript references"],
    ["floor", "I/O floor"],
  ]) {
    if (!rows.some((r) => r.group === group)) continue;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[group]}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly}">${esc(name)}</text>`);
    lx += 30 + name.length * 7;
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
