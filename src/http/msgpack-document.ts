/**
 * @module
 * The layout of the API's `application/msgpack` answer: one map, `flows` first (an array32 of
 * plain msgpack maps, no msgpackr extensions), then the run's members (`stats`, `error`, ...) in
 * their order, each key and value as msgpackr packs them. The array header holds the number of
 * flows, so the body is known only at its end: whoever writes one (src/http/flow-writer.ts record
 * by record, {@link HeldMaps} for maps printed by engines) holds the flows until then and takes the
 * bytes around them from here.
 */

import { Packr } from "msgpackr";
import type { AsciiWriter } from "../format/ascii.js";
import type { InsightContext } from "../anomalies/index.js";
import { FlowDecoder } from "../flow.js";
import { LocalNets } from "../net/local-nets.js";
import type { Layout } from "../wasm/layout.js";
import type { MovedLines } from "./flow-job.js";

/** msgpackr as the answer packs with it: plain maps, no record extension. */
export const packr = new Packr({ useRecords: false, variableMapSize: true });

/**
 * The decoder of the flows a msgpack answer packs on the host (one the engine leaves, a session's
 * flow with its state): {@link Flow} objects with the answer's options, judged against `clock`.
 */
export function hostFlowDecoder(
  layout: Layout,
  options: { communityIdSeed?: number; localNets?: string },
  clock: InsightContext | undefined,
): FlowDecoder {
  return new FlowDecoder(layout, {
    communityIdSeed: options.communityIdSeed,
    insight: clock,
    localNets: new LocalNets(options.localNets),
  });
}

/** `meta`'s members as the document holds them (an undefined one is left out). */
function members(meta: Record<string, unknown>): [string, unknown][] {
  return Object.entries(meta).filter(([, v]) => v !== undefined);
}

/** The bytes in front of the flows: the map header (`flows` and `meta`'s members), `flows`, the array header of `count`. */
export function msgpackDocumentHead(count: number, meta: Record<string, unknown>): Buffer {
  const entries = members(meta).length + 1;
  // The map header: fixmap up to 15 entries, else map16 (msgpack spec, "map format family").
  const map = entries <= 15 ? 1 : 3;
  const head = Buffer.alloc(map + 6 + 5);
  if (map === 1) head[0] = 0x80 | entries;
  else {
    head[0] = 0xde;
    head.writeUInt16BE(entries, 1);
  }
  head[map] = 0xa5; // fixstr "flows"
  head.write("flows", map + 1, "ascii");
  head[map + 6] = 0xdd; // array32
  head.writeUInt32BE(count, map + 7);
  return head;
}

/** The bytes after the flows: `meta`'s members, key then value. */
export function msgpackDocumentTail(meta: Record<string, unknown>): Buffer[] {
  return members(meta).flatMap(([key, value]) => [packr.pack(key), packr.pack(value)]);
}

/** Held maps are gathered into buffers of about this size (a piece to write). */
export const HELD_PIECE_BYTES = 256 * 1024;

/**
 * A msgpack answer's flows printed by engines (src/http/flow-job.ts: one engine's, or every engine's
 * of a sharded upload), held until the end, where they go out after the document's head without
 * being copied again: small pieces are copied together here, large ones kept in the buffer they
 * arrived in.
 */
export class HeldMaps {
  #pieces: MovedLines[] = [];
  #open: Uint8Array | null = null;
  #openLength = 0;
  #bytes = 0;
  #count = 0;

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `flows` more flows were printed (in the pieces given or to come). */
  counted(flows: number): void {
    this.#count += flows;
  }

  /** Maps copied in (the caller keeps `bytes`). */
  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#open === null || this.#openLength + bytes.length > this.#open.length) {
      this.#close();
      this.#open = new Uint8Array(Math.max(HELD_PIECE_BYTES, bytes.length));
    }
    this.#open.set(bytes, this.#openLength);
    this.#openLength += bytes.length;
    this.#bytes += bytes.length;
  }

  /**
   * Maps kept in their buffer (`done` is called once the answer wrote them); a piece that fills
   * less than 3/4 of its buffer is copied instead, and its buffer given back at once, so that what
   * is held is what the document takes.
   */
  hold(lines: MovedLines): void {
    if (lines.bytes.length < lines.bytes.buffer.byteLength * 0.75) {
      this.add(lines.bytes);
      lines.done();
      return;
    }
    this.#close();
    this.#pieces.push(lines);
    this.#bytes += lines.bytes.length;
  }

  /**
   * Ends the document: its head goes into `out`; returns what follows it in order, the held maps
   * and the tail (`meta`'s members).
   */
  end(meta: Record<string, unknown>, out: AsciiWriter): MovedLines[] {
    out.append(msgpackDocumentHead(this.#count, meta));
    this.#close();
    const pieces = this.#pieces;
    this.#pieces = [];
    this.#bytes = 0;
    const tail = Buffer.concat(msgpackDocumentTail(meta));
    if (tail.length > 0) pieces.push({ bytes: new Uint8Array(tail), done: () => {} });
    return pieces;
  }

  /** Ends the piece being filled (a held piece goes after it); one that fills less than 3/4 of its buffer is trimmed. */
  #close(): void {
    const open = this.#open;
    if (open === null || this.#openLength === 0) return;
    const n = this.#openLength;
    this.#pieces.push({ bytes: n < open.length * 0.75 ? open.slice(0, n) : open.subarray(0, n), done: () => {} });
    this.#open = null;
    this.#openLength = 0;
  }
}
