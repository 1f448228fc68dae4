/**
 * @module
 * A ladder (model.ts) for a terminal: one line per row, the time, the client's state column, the
 * arrow with its label between the two lifelines, the server's state column; anomalies follow the
 * arrow after a `!`.
 */

import type { Ladder } from "./model.js";
import { formatSeconds } from "./model.js";

const ARROW = 64;
const STATE = 22;

function arrow(label: string, toRight: boolean): string {
  const body = ` ${label} `;
  const room = ARROW - 2 - body.length;
  const left = Math.max(2, Math.floor(room / 2)),
    right = Math.max(2, room - left);
  return toRight
    ? `|${"─".repeat(left)}${body}${"─".repeat(right)}▶|`
    : `|◀${"─".repeat(left)}${body}${"─".repeat(right)}|`;
}

export function ladderText(l: Ladder): string {
  const f = l.flow;
  const lines: string[] = [];
  const first = l.rows.find((r) => r.kind === "segment" || r.kind === "band");
  const t0 =
    first === undefined ? f.ts : first.kind === "segment" ? first.event.ts : first.kind === "band" ? first.t0 : f.ts;
  const client = `${f["id.orig_h"]}:${f["id.orig_p"]}`,
    server = `${f["id.resp_h"]}:${f["id.resp_p"]}`;
  const pad = (s: string) => s.padStart(STATE);
  const blank = "|" + " ".repeat(ARROW) + "|";
  lines.push(`${f.uid}  ${client} → ${server}  ${f.conn_state}  ${f.history ?? ""}  (${l.segments} segments)`);
  lines.push(`${"time (s)".padStart(11)} ${pad("client")} ${" ".repeat(ARROW + 2)} server`);
  lines.push(`${"".padStart(11)} ${pad(l.initial.orig_state)} ${blank} ${l.initial.resp_state}`);
  for (const r of l.rows) {
    if (r.kind === "gap") {
      lines.push(
        `${"".padStart(11)} ${pad("")} ${("⋯ " + r.label + " ⋯").padStart(ARROW / 2 + r.label.length / 2 + 2).padEnd(ARROW + 2)}`,
      );
    } else if (r.kind === "band") {
      const body = `${r.label} (→ ${r.orig_segments}, ← ${r.resp_segments})`;
      lines.push(
        `${(r.t0 - t0).toFixed(6).padStart(11)} ${pad("")} |${("░ " + body + " ░").padStart((ARROW + body.length) / 2 + 2).padEnd(ARROW)}|`,
      );
    } else {
      const e = r.event;
      let line = `${(e.ts - t0).toFixed(6).padStart(11)} ${pad(r.orig_states?.join(" → ") ?? "")} ${arrow(r.label, e.dir === "orig")} ${r.resp_states?.join(" → ") ?? ""}`;
      if (e.anomalies.length > 0) line += `  ! ${e.anomalies.map((a) => a.type).join(", ")}`;
      lines.push(line.trimEnd());
    }
  }
  lines.push(`${"end".padStart(11)} ${pad(l.end.orig_state)} ${blank} ${l.end.resp_state}`);
  for (const a of f.anomalies.filter((x) => x.idle_s !== undefined)) {
    lines.push(`${"".padStart(11)} ! ${a.type} (${a.side}, idle ${formatSeconds(a.idle_s!)})`);
  }
  return lines.join("\n") + "\n";
}
