/**
 * @module
 * A ladder (model.ts) as a standalone SVG document: the client's lifeline on the left, the
 * server's on the right, one arrow per drawn segment sloped by the time to the next row, states
 * written on the lifelines where they change, anomalies in red on the segment that raised them,
 * bands for folded runs and dashed breaks for compressed pauses. Self-contained (no external fonts
 * or styles), so it can be saved, embedded inline in a page, or opened in a browser.
 */

import type { Ladder, Row } from "./model.js";
import { formatSeconds } from "./model.js";

const W = 980;
const XC = 260;
const XS = 720;
const TOP = 96;
const ROW = 34;
const BAND = 44;
const GAP = 34;
const FONT = 'font-family="ui-monospace,Menlo,Consolas,monospace"';

/** Escapes text for SVG content and attribute values. */
export function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function rowHeight(r: Row): number {
  return r.kind === "band" ? BAND : r.kind === "gap" ? GAP : ROW;
}

function rowTime(r: Row): number | undefined {
  return r.kind === "segment" ? r.event.ts : r.kind === "band" ? r.t0 : undefined;
}

/** Renders the ladder; `t0` (s) is the time origin of the time column (default: the first segment). */
export function ladderSvg(l: Ladder): string {
  const f = l.flow;
  const height = TOP + l.rows.reduce((h, r) => h + rowHeight(r), 0) + 70;
  const out: string[] = [];
  const t0 =
    rowTime(l.rows.find((r) => rowTime(r) !== undefined) ?? l.rows[0] ?? { kind: "gap", seconds: 0, label: "" }) ??
    f.ts;
  const client = `${f["id.orig_h"]}:${f["id.orig_p"]}`,
    server = `${f["id.resp_h"]}:${f["id.resp_p"]}`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="flowrecon-ladder" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" ${FONT} font-size="12">`,
    `<title>${xml(`TCP ladder ${f.uid}: ${client} → ${server}`)}</title>`,
    `<defs><marker id="ah" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#333"/></marker>` +
      `<marker id="ahr" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#c62828"/></marker></defs>`,
    `<rect width="${W}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="20" font-size="13" font-weight="bold">${xml(`${f.uid}  ${f.conn_state}  ${f.history ?? ""}`)}</text>`,
    `<text x="12" y="38" fill="#555">${xml(`${l.segments} segments · ${l.rows.length} rows · time from ${new Date(t0 * 1000).toISOString()}`)}</text>`,
    `<text x="${XC}" y="62" text-anchor="middle" font-weight="bold">${xml(`client ${client}`)}</text>`,
    `<text x="${XS}" y="62" text-anchor="middle" font-weight="bold">${xml(`server ${server}`)}</text>`,
    `<text class="state" x="${XC - 8}" y="82" text-anchor="end" fill="#1565c0">${l.initial.orig_state}</text>`,
    `<text class="state" x="${XS + 8}" y="82" fill="#1565c0">${l.initial.resp_state}</text>`,
    `<line x1="${XC}" y1="70" x2="${XC}" y2="${height - 50}" stroke="#999" stroke-width="2"/>`,
    `<line x1="${XS}" y1="70" x2="${XS}" y2="${height - 50}" stroke="#999" stroke-width="2"/>`,
  );
  let y = TOP;
  l.rows.forEach((r, i) => {
    if (r.kind === "gap") {
      out.push(
        `<g class="gap"><rect x="0" y="${y + 8}" width="${W}" height="${GAP - 16}" fill="#f4f4f4"/>` +
          `<line x1="${XC - 40}" y1="${y + GAP / 2}" x2="${XS + 40}" y2="${y + GAP / 2}" stroke="#888" stroke-dasharray="4 4"/>` +
          `<text x="${(XC + XS) / 2}" y="${y + GAP / 2 + 4}" text-anchor="middle" fill="#555" style="paint-order:stroke" stroke="#f4f4f4" stroke-width="4">${xml(`⋯ ${r.label} ⋯`)}</text></g>`,
      );
    } else if (r.kind === "band") {
      out.push(
        `<g class="band"><rect x="${XC}" y="${y + 6}" width="${XS - XC}" height="${BAND - 12}" fill="#e3f2fd" stroke="#90caf9"/>` +
          `<text x="12" y="${y + BAND / 2 + 4}" fill="#555">${xml(`+${(r.t0 - t0).toFixed(6)}`)}</text>` +
          `<text x="${(XC + XS) / 2}" y="${y + BAND / 2 - 2}" text-anchor="middle">${xml(r.label)}</text>` +
          `<text x="${(XC + XS) / 2}" y="${y + BAND / 2 + 12}" text-anchor="middle" fill="#555" font-size="11">${xml(`→ ${r.orig_segments}   ← ${r.resp_segments}`)}</text></g>`,
      );
    } else {
      const e = r.event;
      const next = l.rows[i + 1];
      const dt = next !== undefined ? (rowTime(next) ?? e.ts) - e.ts : 0;
      const slope = 4 + Math.round(16 * Math.min(1, Math.max(0, dt) / 0.1));
      const [x1, x2] = e.dir === "orig" ? [XC, XS] : [XS, XC];
      const y1 = y + 10,
        y2 = y1 + slope;
      const bad = e.anomalies.length > 0;
      const colour = bad ? "#c62828" : "#333";
      const mid = (XC + XS) / 2;
      let g =
        `<g class="segment" data-frame="${e.frame}"><text x="12" y="${y1 + 4}" fill="#555">${xml(`+${(e.ts - t0).toFixed(6)}`)}</text>` +
        `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${colour}" stroke-width="1.5" marker-end="url(#${bad ? "ahr" : "ah"})"/>` +
        `<text class="label" x="${mid}" y="${(y1 + y2) / 2 - 4}" text-anchor="middle" fill="${colour}" style="paint-order:stroke" stroke="#fff" stroke-width="3">${xml(r.label)}</text>`;
      if (bad) {
        g += `<text class="anomaly" x="${mid}" y="${(y1 + y2) / 2 + 12}" text-anchor="middle" fill="#c62828" font-size="11">${xml("⚠ " + e.anomalies.map((a) => a.type).join(", "))}</text>`;
      }
      if (e.history !== "")
        g += `<text x="${XS + 150}" y="${y1 + 4}" fill="#888" font-size="11">${xml(e.history)}</text>`;
      if (r.orig_states)
        g += `<text class="state" x="${XC - 8}" y="${y2 + 4}" text-anchor="end" fill="#1565c0">${xml(r.orig_states.join(" → "))}</text>`;
      if (r.resp_states)
        g += `<text class="state" x="${XS + 8}" y="${y2 + 4}" fill="#1565c0">${xml(r.resp_states.join(" → "))}</text>`;
      out.push(g + "</g>");
    }
    y += rowHeight(r);
  });
  const endAnomalies = f.anomalies.filter((a) => a.idle_s !== undefined);
  out.push(
    `<text class="state end" x="${XC - 8}" y="${y + 20}" text-anchor="end" font-weight="bold" fill="#1565c0">${xml(`end: ${l.end.orig_state}`)}</text>`,
    `<text class="state end" x="${XS + 8}" y="${y + 20}" font-weight="bold" fill="#1565c0">${xml(`end: ${l.end.resp_state}`)}</text>`,
  );
  if (endAnomalies.length > 0) {
    const text = endAnomalies.map((a) => `${a.type} (${a.side}, idle ${formatSeconds(a.idle_s!)})`).join(", ");
    out.push(
      `<text class="anomaly end" x="${(XC + XS) / 2}" y="${y + 40}" text-anchor="middle" fill="#c62828">${xml("⚠ " + text)}</text>`,
    );
  }
  out.push("</svg>\n");
  return out.join("\n");
}
