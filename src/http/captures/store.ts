/**
 * @module
 * Stored captures: uploaded captures kept on disk with their analysis, so their flows can be
 * browsed, drawn (ladder) and cut out (pcap) later, across server restarts.
 *
 * Layout under the data directory (FLOWRECON_DATA_DIR, default `<os tmpdir>/flowrecon-data`), one
 * folder per capture named by its id (a UUID):
 *   capture      the uploaded bytes, as sent
 *   flows.json   the flows (the same objects /v1/analyze answers), a JSON array
 *   meta.json    {id, name, created, size, stats, flows, options}; written last, so a folder
 *                without it is an upload that never finished and is removed at start-up
 * Limits: the stored captures together stay under `maxBytes` (the oldest are removed to make room;
 * one capture larger than the cap is refused), and each lives `ttlMs` after its upload.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { Flow } from "../../flow.js";
import type { ReconstructorOptions } from "../../reconstructor.js";
import type { Stats } from "../../stats.js";

export interface CaptureMeta {
  id: string;
  /** The tenant whose token uploaded it (FLOWRECON_TOKENS); only that tenant sees it. Absent without tokens. */
  tenant?: string;
  /** The name the uploader gave (`?name=` or the file name), for lists. */
  name: string;
  /** Upload time, ISO 8601. */
  created: string;
  /** Capture bytes. */
  size: number;
  flows: number;
  stats: Stats;
  /** Engine options the capture was analysed with (the ladder and pcap routes use them again). */
  options: ReconstructorOptions;
  /** Flows per conn_state and per anomaly type (the page's summary chart). */
  summary: { conn_state: Record<string, number>; anomalies: Record<string, number> };
}

/** The summary counts of a capture's flows. */
export function summarize(flows: readonly Flow[]): CaptureMeta["summary"] {
  const conn_state: Record<string, number> = {},
    anomalies: Record<string, number> = {};
  for (const f of flows) {
    conn_state[f.conn_state] = (conn_state[f.conn_state] ?? 0) + 1;
    for (const t of new Set(f.anomalies.map((a) => a.type))) anomalies[t] = (anomalies[t] ?? 0) + 1;
  }
  return { conn_state, anomalies };
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class CaptureStore {
  readonly dir: string;
  readonly maxBytes: number;
  readonly ttlMs: number;
  readonly #metas = new Map<string, CaptureMeta>();
  /** The flows of the most recently read captures (parsed once, reused by list and view requests). */
  readonly #cache = new Map<string, Flow[]>();

  constructor(dir: string, maxBytes: number, ttlMs: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.ttlMs = ttlMs;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      if (!ID.test(name)) continue;
      const metaPath = join(dir, name, "meta.json");
      try {
        this.#metas.set(name, JSON.parse(readFileSync(metaPath, "utf8")) as CaptureMeta);
      } catch {
        rmSync(join(dir, name), { recursive: true, force: true }); // an upload that never finished
      }
    }
    this.sweep();
  }

  /** A new folder for an upload; `capturePath(id)` is where its bytes go. */
  begin(): string {
    this.sweep();
    const id = randomUUID();
    mkdirSync(join(this.dir, id));
    return id;
  }

  capturePath(id: string): string {
    return join(this.dir, id, "capture");
  }

  /** Makes an upload visible: writes its flows and meta (meta last). Evicts the oldest captures over the cap. */
  commit(meta: CaptureMeta, flows: Flow[]): void {
    const folder = join(this.dir, meta.id);
    writeFileSync(join(folder, "flows.json"), JSON.stringify(flows));
    writeFileSync(join(folder, "meta.json.tmp"), JSON.stringify(meta));
    renameSync(join(folder, "meta.json.tmp"), join(folder, "meta.json"));
    this.#metas.set(meta.id, meta);
    this.#cache.set(meta.id, flows);
    this.#trimCache(meta.id);
    this.#evictFor(meta.id);
  }

  /** Drops an upload that failed (or a stored capture). Returns whether it existed. */
  remove(id: string): boolean {
    const known = this.#metas.delete(id);
    this.#cache.delete(id);
    const folder = join(this.dir, id);
    const existed = ID.test(id) && existsSync(folder);
    if (existed) rmSync(folder, { recursive: true, force: true });
    return known || existed;
  }

  get(id: string): CaptureMeta | undefined {
    const m = this.#metas.get(id);
    if (m !== undefined && this.#expired(m)) {
      this.remove(id);
      return undefined;
    }
    return m;
  }

  /** Newest first. */
  list(): CaptureMeta[] {
    this.sweep();
    return [...this.#metas.values()].sort((a, b) => (a.created < b.created ? 1 : -1));
  }

  flows(id: string): Flow[] {
    let flows = this.#cache.get(id);
    if (flows === undefined) {
      flows = JSON.parse(readFileSync(join(this.dir, id, "flows.json"), "utf8")) as Flow[];
      this.#cache.set(id, flows);
      this.#trimCache(id);
    }
    return flows;
  }

  /** Bytes of every stored capture's folder files (capture, flows, meta). */
  usedBytes(): number {
    let total = 0;
    for (const id of this.#metas.keys()) total += this.#folderBytes(id);
    return total;
  }

  /** Removes expired captures. */
  sweep(): void {
    for (const m of [...this.#metas.values()]) if (this.#expired(m)) this.remove(m.id);
  }

  #expired(m: CaptureMeta): boolean {
    return Date.now() - Date.parse(m.created) > this.ttlMs;
  }

  #folderBytes(id: string): number {
    let total = 0;
    for (const f of ["capture", "flows.json", "meta.json"]) {
      try {
        total += statSync(join(this.dir, id, f)).size;
      } catch {
        // absent: counts nothing
      }
    }
    return total;
  }

  #evictFor(keep: string): void {
    let used = this.usedBytes();
    for (const m of [...this.#metas.values()].sort((a, b) => (a.created < b.created ? -1 : 1))) {
      if (used <= this.maxBytes) break;
      if (m.id === keep) continue;
      used -= this.#folderBytes(m.id);
      this.remove(m.id);
    }
  }

  #trimCache(keep: string): void {
    for (const id of this.#cache.keys()) {
      if (this.#cache.size <= 2) break;
      if (id !== keep) this.#cache.delete(id);
    }
  }
}
