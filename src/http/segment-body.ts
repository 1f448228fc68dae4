/**
 * @module
 * A segment-record body (JSON or msgpack) in, encoded engine records out, with the body held only
 * as long as it takes to parse it and every problem turned into a 400 with its position.
 */

import { ApiError } from "./errors.js";
import type { Reservation } from "./memory.js";
import { readChunks } from "./body.js";
import {
  encodeSegments,
  MalformedBodyError,
  parseSegmentBody,
  SegmentInputError,
  type SegmentEncoding,
  type SegmentRecords,
} from "../ingest/segments.js";
import type { SegmentLayout } from "../ingest/segment-layout.js";

/**
 * Reads, parses and validates a whole segment body. The raw body and the parsed values are
 * reserved against the memory budget while they exist; the returned records stay reserved in
 * `reservation` (the caller releases it once they are fed).
 */
export async function readSegmentBody(
  chunks: AsyncIterable<Uint8Array>,
  encoding: SegmentEncoding,
  layout: SegmentLayout,
  reservation: Reservation,
): Promise<SegmentRecords> {
  const raw = await readChunks(chunks, reservation);
  let records: SegmentRecords;
  try {
    const body = raw.length === 1 ? raw[0] : Buffer.concat(raw);
    // Parsed values take a few times the text; count them as twice the body meanwhile.
    reservation.add(body.length * 2);
    const values = parseSegmentBody(body, encoding);
    records = encodeSegments(values, layout);
  } catch (e) {
    reservation.release();
    if (e instanceof MalformedBodyError) throw new ApiError(400, "malformed_body", e.message, { offset: e.offset });
    if (e instanceof SegmentInputError) {
      throw new ApiError(400, "invalid_segment", e.message, { details: { index: e.index, field: e.field } });
    }
    throw e;
  }
  reservation.release();
  reservation.add(records.bytes.length);
  return records;
}
