/**
 * @module
 * The sessions one engine thread holds (src/http/engine-worker.ts), or the main thread when the API
 * has no engine threads (`FLOWRECON_THREADS=0`): each {@link SessionCore} by id, and the message
 * protocol the main thread's {@link Session} speaks to them. A session lives on one thread from
 * its creation (or its reload) to its end, so its engine's state stays there between batches; the
 * main thread sends one call at a time per session (its FIFO lock), so a session's batches run in
 * order. Every answer carries the session's {@link SessionView} and the metric deltas of the work.
 */

import { ApiError } from "../errors.js";
import type { WorkOptions } from "../engine-work.js";
import type { ThreadError } from "../engine-pool.js";
import type { OutputFormat } from "../negotiate.js";
import type { FlowFilter, ListParams } from "../params.js";
import { createEngine } from "../../wasm/engine.js";
import type { CaptureError } from "../../wasm/errors.js";
import {
  type SavedSession,
  SessionCore,
  type SessionDelta,
  type SessionIdentity,
  type SessionView,
} from "./session-core.js";
import { sessionPath } from "./session-file.js";

/** What a call asks of a session. */
export type SessionOp =
  | /** A new session (saved before the answer), or one reloaded at start (`saved`, not written again). */ {
      sop: "open";
      identity: SessionIdentity;
      dir: string;
      lastUsed: number;
      saved?: SavedSession;
    }
  /** A session whose thread stopped, reloaded from its file (its last acknowledged state). */
  | { sop: "reload"; dir: string; maxFlows: number }
  | { sop: "capture"; chunks: Uint8Array[]; work: WorkOptions; lastUsed: number }
  | { sop: "segments"; bytes: Uint8Array; count: number; work: WorkOptions; lastUsed: number }
  | { sop: "list"; params: ListParams; format: OutputFormat }
  | { sop: "finish"; filter: FlowFilter; format: OutputFormat; work: WorkOptions }
  | { sop: "close" };

/** A call to session `sid`; `call` numbers the answer. */
export type ToSessionHost = { call: number; sid: string } & SessionOp;

export interface FromSessionHost {
  kind: "session";
  call: number;
  /** What the call returns: a batch summary, or a body's bytes. */
  result?: unknown;
  /** The call's error (an ApiError's status and body travel with it). */
  error?: ThreadError;
  /** The session's state after the call (null once it is closed, or when it could not be opened). */
  view: SessionView | null;
  delta: SessionDelta | null;
}

/** A body as the host answers it: its bytes in one buffer (transferable), and a capture error if any. */
export interface BodyResult {
  body: Uint8Array;
  error?: CaptureError | null;
}

/** The error as it crosses threads (the pool turns it back with `threadError`). */
export function toThreadError(e: unknown): ThreadError {
  const err = e as Error;
  return {
    name: err?.name ?? "Error",
    message: err?.message ?? String(e),
    stack: err?.stack,
    ...(e instanceof ApiError ? { status: e.status, body: e.body, headers: e.headers } : {}),
  };
}

/**
 * The pieces copied into one fresh ArrayBuffer of their own: it is transferred to the main thread,
 * so not Buffer.concat, whose small results share Node's pooled slab with other buffers.
 */
function oneBuffer(pieces: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of pieces) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of pieces) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export class SessionHost {
  readonly #sessions = new Map<string, SessionCore>();
  #recordSize = 0;

  /** Sessions held. */
  get size(): number {
    return this.#sessions.size;
  }

  /** FR_SIZE, the record size of session files (read from an engine once). */
  #records(): number {
    if (this.#recordSize === 0) this.#recordSize = createEngine().layout.constants.FR_SIZE;
    return this.#recordSize;
  }

  #core(sid: string): SessionCore {
    const core = this.#sessions.get(sid);
    if (core === undefined) throw new Error(`engine thread: no session ${sid} here`);
    return core;
  }

  /**
   * Runs one call. Errors are answered, never thrown: `raw` keeps the error object itself (the main
   * thread's host), else it is flattened to cross threads.
   */
  async handle(m: ToSessionHost, raw = false): Promise<FromSessionHost & { rawError?: unknown }> {
    let core: SessionCore | undefined = this.#sessions.get(m.sid);
    try {
      const result = await this.#run(m);
      core = this.#sessions.get(m.sid);
      return { kind: "session", call: m.call, result, view: core?.view() ?? null, delta: core?.delta() ?? null };
    } catch (e) {
      core = this.#sessions.get(m.sid);
      return {
        kind: "session",
        call: m.call,
        ...(raw ? { rawError: e } : {}),
        error: toThreadError(e),
        view: core?.view() ?? null,
        delta: core?.delta() ?? null,
      };
    }
  }

  async #run(m: ToSessionHost): Promise<unknown> {
    switch (m.sop) {
      case "open": {
        if (this.#sessions.has(m.sid)) throw new Error(`engine thread: session ${m.sid} is open already`);
        const core = new SessionCore(m.identity, m.dir, this.#records(), m.saved);
        if (m.saved === undefined) core.save(m.lastUsed);
        this.#sessions.set(m.sid, core);
        return undefined;
      }
      case "reload": {
        const core = SessionCore.fromFile(sessionPath(m.dir, m.sid), m.maxFlows, m.dir, this.#records());
        if (core.identity.id !== m.sid) throw new Error(`the file of session ${m.sid} holds ${core.identity.id}`);
        core.delta(); // the metrics counted this work before
        this.#sessions.set(m.sid, core);
        return undefined;
      }
      case "capture":
        return this.#core(m.sid).appendCapture(m.chunks, m.work, m.lastUsed);
      case "segments":
        return this.#core(m.sid).appendSegments(m.bytes, m.count, m.work, m.lastUsed);
      case "list":
        return { body: oneBuffer(await this.#core(m.sid).list(m.params, m.format)) } satisfies BodyResult;
      case "finish": {
        const { pieces, error } = await this.#core(m.sid).finish(m.filter, m.format, m.work);
        return { body: oneBuffer(pieces), error } satisfies BodyResult;
      }
      case "close":
        this.#sessions.delete(m.sid);
        return undefined;
    }
  }
}
