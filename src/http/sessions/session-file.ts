/**
 * @module
 * Session files: a session's whole state on disk, so sessions survive a restart of the server.
 *
 * One file per session, `<data dir>/sessions/<id>.session`, rewritten after every accepted batch:
 * written to `<id>.session.tmp`, fsynced, renamed over the old file, and the directory fsynced
 * (POSIX rename is atomic: a reader, or a restart after SIGKILL or power loss, sees the old file or
 * the new one, never a mix). A batch is acknowledged only after its file is in place.
 *
 * Layout (little-endian):
 *   MAGIC                      "FLOWRECON-SESSION-1\n" (20 bytes)
 *   u32 header length, header  JSON: id, tenant, options, times, input kind, batches, the
 *                              Reconstructor's host state, the engine's fingerprint (SHA-256 of
 *                              build/flowrecon.wasm) and the byte counts of the two parts below
 *   engine memory              the engine's linear memory (its state: assembly/state.ts), its
 *                              64 KiB pages that hold a non-zero byte only (the header lists their
 *                              runs): most of a session's memory is zero (window, unused table)
 *   finished records           the session's finished flows, FR_SIZE bytes each
 *   SHA-256                    of every byte above (32 bytes)
 * A file that is short, fails its checksum, comes from another engine build or says something
 * impossible is refused with a reason ({@link SessionFileError}); the store logs it and skips it.
 */

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ReconstructorOptions } from "../../reconstructor.js";
import { engineBinary } from "../../wasm/engine.js";
import type { InputKind, SavedSession, SessionCore } from "./session-core.js";

let fingerprint: string | undefined;

/**
 * SHA-256 of the engine binary (hex): a snapshot restores only into the module that took it (its
 * memory layout is that module's static data and state block).
 */
function engineFingerprint(): string {
  fingerprint ??= createHash("sha256").update(engineBinary()).digest("hex");
  return fingerprint;
}

const MAGIC = Buffer.from("FLOWRECON-SESSION-1\n", "latin1");
const HASH_BYTES = 32;
export const SESSION_FILE_SUFFIX = ".session";
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Header {
  id: string;
  tenant: string | null;
  options: ReconstructorOptions;
  createdAt: number;
  lastUsed: number;
  input: InputKind | null;
  batches: number;
  host: SavedSession["snapshot"]["host"];
  engine: string;
  engineBytes: number;
  /** Runs [first page, page count] of the engine pages present in the file; the others are zero. */
  pages: [number, number][];
  recordSize: number;
  finishedRecords: number;
}

/** A session file that cannot be loaded, and why. */
export class SessionFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SessionFileError";
  }
}

/** What a session file holds, ready for a session's engine (session-core.ts). */
export interface LoadedSession extends SavedSession {
  readonly tenant: string | undefined;
  readonly options: ReconstructorOptions;
}

export function sessionPath(dir: string, id: string): string {
  return join(dir, id + SESSION_FILE_SUFFIX);
}

const PAGE = 65536;

const ZERO_PAGE = Buffer.alloc(PAGE);

/** Runs of 64 KiB pages that hold a non-zero byte (a memcmp per page). */
function nonZeroPages(memory: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  for (let page = 0; page * PAGE < memory.length; page++) {
    if (Buffer.from(memory.buffer, memory.byteOffset + page * PAGE, PAGE).equals(ZERO_PAGE)) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] + last[1] === page) last[1]++;
    else runs.push([page, 1]);
  }
  return runs;
}

function writeAll(fd: number, bytes: Uint8Array, hash: ReturnType<typeof createHash>): void {
  hash.update(bytes);
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Writes the session's file atomically (call between batches, inside the session's lock). Returns
 * the bytes written. The engine memory and the records are written from where they are, no copy.
 */
export function writeSessionFile(dir: string, session: SessionCore, recordSize: number): number {
  const state = session.saved();
  const chunks = [...state.finished];
  const finishedBytes = chunks.reduce((n, c) => n + c.length, 0);
  const pages = nonZeroPages(state.engine);
  const header: Header = {
    id: state.id,
    tenant: session.tenant ?? null,
    options: session.options,
    createdAt: state.createdAt,
    lastUsed: state.lastUsed,
    input: state.input,
    batches: state.batches,
    host: state.host,
    engine: engineFingerprint(),
    engineBytes: state.engine.length,
    pages,
    recordSize,
    finishedRecords: finishedBytes / recordSize,
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const final = sessionPath(dir, state.id);
  const tmp = `${final}.tmp`;
  const hash = createHash("sha256");
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeAll(fd, MAGIC, hash);
    writeAll(fd, length, hash);
    writeAll(fd, json, hash);
    for (const [first, count] of pages) writeAll(fd, state.engine.subarray(first * PAGE, (first + count) * PAGE), hash);
    for (const c of chunks) writeAll(fd, c, hash);
    const digest = hash.digest();
    for (let off = 0; off < digest.length; ) off += writeSync(fd, digest, off, digest.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, final);
  syncDirectory(dir);
  const present = pages.reduce((n, [, count]) => n + count * PAGE, 0);
  return MAGIC.length + 4 + json.length + present + finishedBytes + HASH_BYTES;
}

/** fsync of the directory, so the rename itself is durable (POSIX). */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads and checks a session file; throws {@link SessionFileError} naming what is wrong. */
export function readSessionFile(path: string, recordSize: number): LoadedSession {
  const bytes = readFileSync(path);
  const fail = (what: string): never => {
    throw new SessionFileError(`${path}: ${what}`);
  };
  if (bytes.length < MAGIC.length + 4 + HASH_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    fail("not a flowrecon session file (no magic)");
  const body = bytes.subarray(0, bytes.length - HASH_BYTES);
  if (!createHash("sha256").update(body).digest().equals(bytes.subarray(body.length)))
    fail("checksum mismatch (a damaged or partly written file)");
  const jsonLength = bytes.readUInt32LE(MAGIC.length);
  const jsonEnd = MAGIC.length + 4 + jsonLength;
  if (jsonEnd > body.length) fail(`header length ${jsonLength} runs past the end of the file`);
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(MAGIC.length + 4, jsonEnd).toString("utf8")) as Header;
  } catch (e) {
    return fail(`malformed header: ${(e as Error).message}`);
  }
  if (typeof header !== "object" || header === null || typeof header.id !== "string" || !ID.test(header.id))
    fail("the header names no session id");
  if (header.engine !== engineFingerprint())
    fail(
      `written by another engine build (${String(header.engine).slice(0, 12)}…, this one is ${engineFingerprint().slice(0, 12)}…)`,
    );
  if (header.recordSize !== recordSize)
    fail(`flow records of ${header.recordSize} bytes, this engine's are ${recordSize}`);
  const totalPages = header.engineBytes / PAGE;
  if (!Number.isSafeInteger(totalPages) || totalPages <= 0)
    fail(`engine memory of ${header.engineBytes} bytes is not whole 64 KiB pages`);
  if (!Array.isArray(header.pages)) fail("the header lists no engine pages");
  let present = 0;
  let next = 0;
  for (const run of header.pages) {
    const [first, count] = Array.isArray(run) ? run : [Number.NaN, Number.NaN];
    if (
      !Number.isSafeInteger(first) ||
      !Number.isSafeInteger(count) ||
      first < next ||
      count <= 0 ||
      first + count > totalPages
    )
      fail(`bad page run ${JSON.stringify(run)}`);
    present += count * PAGE;
    next = first + count;
  }
  const engineEnd = jsonEnd + present;
  const finishedBytes = header.finishedRecords * recordSize;
  if (!Number.isSafeInteger(finishedBytes) || finishedBytes < 0 || engineEnd + finishedBytes !== body.length) {
    fail(
      `sizes do not add up (${present} engine bytes, ${header.finishedRecords} records, ${body.length - jsonEnd} bytes present)`,
    );
  }
  const engine = new Uint8Array(header.engineBytes);
  for (let at = jsonEnd, i = 0; i < header.pages.length; i++) {
    const [first, count] = header.pages[i];
    engine.set(bytes.subarray(at, at + count * PAGE), first * PAGE);
    at += count * PAGE;
  }
  return {
    id: header.id,
    tenant: header.tenant ?? undefined,
    options: header.options,
    createdAt: header.createdAt,
    lastUsed: header.lastUsed,
    input: header.input,
    batches: header.batches,
    snapshot: { engine, host: header.host },
    finished: bytes.subarray(engineEnd, engineEnd + finishedBytes),
  };
}
