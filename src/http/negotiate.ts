/**
 * @module
 * Content negotiation: what a request body is (Content-Type) and what the client wants back (Accept).
 */

import { ApiError } from "./errors.js";

/** What a body holds: a capture (pcap/pcapng), a capture to recognise by magic, or segment records. */
export type BodyKind = "capture" | "sniff" | "json" | "msgpack";
export type OutputFormat = "json" | "msgpack" | "ndjson";

export const CAPTURE_TYPES = ["application/vnd.tcpdump.pcap", "application/x-pcap", "application/x-pcapng"] as const;
export const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"] as const;
export const NDJSON_TYPES = ["application/x-ndjson", "application/ndjson", "application/jsonl"] as const;

export const CONTENT_TYPES: Readonly<Record<string, BodyKind>> = {
  ...Object.fromEntries(CAPTURE_TYPES.map((t) => [t, "capture"])),
  "application/octet-stream": "sniff",
  "application/json": "json",
  ...Object.fromEntries(MSGPACK_TYPES.map((t) => [t, "msgpack"])),
};

function mediaType(header: string): string {
  return header.split(";")[0].trim().toLowerCase();
}

/** The body kind of a Content-Type header; 415 when it is missing or not one the API reads. */
export function bodyKind(contentType: string | undefined): BodyKind {
  const type = contentType === undefined ? "" : mediaType(contentType);
  const kind = CONTENT_TYPES[type];
  if (kind !== undefined) return kind;
  throw new ApiError(
    415,
    "unsupported_media_type",
    `${type === "" ? "a Content-Type header is required" : `cannot read ${type}`}: send a capture (${CAPTURE_TYPES.join(", ")}, or application/octet-stream) or segment records (application/json, application/msgpack)`,
  );
}

const OUTPUTS: Readonly<Record<string, OutputFormat>> = {
  "application/json": "json",
  ...Object.fromEntries(MSGPACK_TYPES.map((t) => [t, "msgpack"])),
  ...Object.fromEntries(NDJSON_TYPES.map((t) => [t, "ndjson"])),
};

export const OUTPUT_CONTENT_TYPES: Readonly<Record<OutputFormat, string>> = {
  json: "application/json; charset=utf-8",
  msgpack: "application/msgpack",
  ndjson: "application/x-ndjson; charset=utf-8",
};

/**
 * The response format from an Accept header (RFC 9110 §12.5.1: highest q first, then the order
 * given). JSON when the header is absent or accepts anything; 406 when nothing listed is served.
 */
export function outputFormat(
  accept: string | undefined,
  allowed: readonly OutputFormat[] = ["json", "msgpack", "ndjson"],
): OutputFormat {
  if (accept === undefined || accept.trim() === "") return "json";
  const ranges = accept
    .split(",")
    .map((part, i) => {
      const [type, ...params] = part.split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      return { type: type.trim().toLowerCase(), q: q === undefined ? 1 : Number(q.slice(2)), i };
    })
    .filter((r) => r.type !== "" && r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { type } of ranges) {
    if (type === "*/*" || type === "application/*") return "json";
    const format = OUTPUTS[type];
    if (format !== undefined && allowed.includes(format)) return format;
  }
  throw new ApiError(
    406,
    "not_acceptable",
    `cannot answer with ${accept}: choose ${allowed.map((f) => OUTPUT_CONTENT_TYPES[f].split(";")[0]).join(", ")}`,
  );
}
