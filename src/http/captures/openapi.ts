/**
 * @module
 * The OpenAPI paths and schemas of the stored-capture routes (src/http/routes/captures.ts), merged
 * into the document of src/http/openapi.ts. Query parameters come from the table the handler
 * parses with (query.ts).
 */

import { CAPTURE_TYPES } from "../negotiate.js";
import { CONN_STATES, DEFAULT_PAGE, MAX_PAGE, OPTION_PARAMETERS } from "../params.js";
import { SORT_FIELDS } from "./query.js";

type Json = Record<string, unknown>;
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

export function capturePaths(secured: Json, errors: (...codes: number[]) => Json): Json {
  const id = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };
  const uid = { name: "uid", in: "path", required: true, schema: { type: "string" }, description: "The flow's uid." };
  const q = (name: string, schema: Json, description: string): Json => ({
    name,
    in: "query",
    required: false,
    schema,
    description,
  });
  const flowParams = [
    q("conn_state", { type: "string" }, `Comma-separated Zeek conn_state codes: ${CONN_STATES.join(", ")}.`),
    q("anomaly", { type: "string" }, "Comma-separated anomaly names, or any."),
    q("host", { type: "string" }, "Either endpoint's address."),
    q("port", { type: "integer", minimum: 0, maximum: 65535 }, "Either endpoint's port."),
    q("from", { type: "number" }, "Flows active at or after this time (s since the epoch)."),
    q("to", { type: "number" }, "Flows that started at or before this time."),
    q(
      "sort",
      { type: "string", enum: SORT_FIELDS.flatMap((f) => [f, `-${f}`]) },
      "Sort field, - for descending (default ts).",
    ),
    q("offset", { type: "integer", minimum: 0, default: 0 }, "Flows to skip."),
    q("limit", { type: "integer", minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE }, "Flows per page."),
  ];
  const capture = { schema: { type: "string", contentMediaType: "application/octet-stream" } };
  return {
    "/": {
      get: {
        operationId: "page",
        summary: "The web page (upload, flows, ladders); works offline",
        responses: { "200": { description: "HTML.", content: { "text/html": { schema: { type: "string" } } } } },
      },
    },
    "/assets/{name}": {
      parameters: [
        {
          name: "name",
          in: "path",
          required: true,
          schema: { type: "string", enum: ["app.js", "style.css", "preact.js", "hooks.js", "htm.js"] },
        },
      ],
      get: {
        operationId: "pageAsset",
        summary: "The page's scripts and styles",
        responses: { "200": { description: "The file." }, ...errors(404) },
      },
    },
    "/v1/captures": {
      post: {
        operationId: "storeCapture",
        summary: "Store and analyse a capture",
        description:
          "The capture is kept on disk (FLOWRECON_DATA_DIR) with its flows, within a total size cap (FLOWRECON_MAX_STORED_BYTES, the oldest go first) and a lifetime (FLOWRECON_STORED_TTL); stored captures survive a restart.",
        ...secured,
        parameters: [
          q("name", { type: "string", maxLength: 200 }, "A name for lists (the file name)."),
          ...OPTION_PARAMETERS.map(([name, , , doc]) => q(name, { type: "string" }, doc)),
        ],
        requestBody: {
          required: true,
          content: {
            ...Object.fromEntries(CAPTURE_TYPES.map((t) => [t, capture])),
            "application/octet-stream": capture,
          },
        },
        responses: {
          "201": { description: "Stored.", content: { "application/json": { schema: ref("StoredCapture") } } },
          ...errors(400, 401, 413, 415, 422, 503, 507),
        },
      },
      get: {
        operationId: "listCaptures",
        summary: "The stored captures, newest first",
        ...secured,
        responses: {
          "200": {
            description: "The list.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    captures: { type: "array", items: ref("StoredCapture") },
                    used_bytes: { type: "integer" },
                    max_bytes: { type: "integer" },
                    ttl_s: { type: "number" },
                  },
                },
              },
            },
          },
          ...errors(401),
        },
      },
    },
    "/v1/captures/{id}": {
      parameters: [id],
      get: {
        operationId: "getCapture",
        summary: "A stored capture",
        ...secured,
        responses: {
          "200": { description: "Its meta.", content: { "application/json": { schema: ref("StoredCapture") } } },
          ...errors(401, 404),
        },
      },
      delete: {
        operationId: "deleteCapture",
        summary: "Delete a stored capture",
        ...secured,
        responses: { "204": { description: "Deleted." }, ...errors(401, 404) },
      },
    },
    "/v1/captures/{id}/flows": {
      parameters: [id],
      get: {
        operationId: "listCaptureFlows",
        summary: "A stored capture's flows: filtered, sorted, paged",
        ...secured,
        parameters: flowParams,
        responses: {
          "200": {
            description: "A page.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["total", "offset", "limit", "flows"],
                  properties: {
                    total: { type: "integer" },
                    offset: { type: "integer" },
                    limit: { type: "integer" },
                    flows: { type: "array", items: ref("Flow") },
                  },
                },
              },
            },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    "/v1/captures/{id}/flows/{uid}": {
      parameters: [id, uid],
      get: {
        operationId: "getCaptureFlow",
        summary: "One flow",
        ...secured,
        responses: {
          "200": { description: "The flow.", content: { "application/json": { schema: ref("Flow") } } },
          ...errors(401, 404),
        },
      },
    },
    "/v1/captures/{id}/flows/{uid}/ladder.svg": {
      parameters: [id, uid],
      get: {
        operationId: "getLadderSvg",
        summary: "The flow's ladder diagram",
        ...secured,
        parameters: [q("all", { type: "boolean" }, "Draw every segment (no folding).")],
        responses: {
          "200": { description: "SVG.", content: { "image/svg+xml": { schema: { type: "string" } } } },
          ...errors(401, 404),
        },
      },
    },
    "/v1/captures/{id}/flows/{uid}/ladder.json": {
      parameters: [id, uid],
      get: {
        operationId: "getLadderEvents",
        summary: "The flow's per-segment trace events",
        ...secured,
        responses: {
          "200": { description: "The events.", content: { "application/json": { schema: ref("LadderEvents") } } },
          ...errors(401, 404),
        },
      },
    },
    "/v1/captures/{id}/flows/{uid}/pcap": {
      parameters: [id, uid],
      get: {
        operationId: "getFlowPcap",
        summary: "The flow's packets as pcap, original timestamps",
        ...secured,
        responses: {
          "200": {
            description: "pcap.",
            content: {
              "application/vnd.tcpdump.pcap": {
                schema: { type: "string", contentMediaType: "application/octet-stream" },
              },
            },
          },
          ...errors(401, 404),
        },
      },
    },
  };
}

export const CAPTURE_SCHEMAS: Json = {
  StoredCapture: {
    type: "object",
    required: ["id", "name", "created", "size", "flows", "stats", "options", "summary"],
    properties: {
      id: { type: "string", format: "uuid" },
      name: { type: "string" },
      created: { type: "string", format: "date-time" },
      size: { type: "integer", description: "Capture bytes." },
      flows: { type: "integer" },
      stats: ref("Stats"),
      options: { type: "object", description: "Engine options it was analysed with." },
      summary: {
        type: "object",
        description: "Flows per conn_state and per anomaly type.",
        properties: {
          conn_state: { type: "object", additionalProperties: { type: "integer" } },
          anomalies: { type: "object", additionalProperties: { type: "integer" } },
        },
      },
    },
  },
  LadderEvents: {
    type: "object",
    required: ["flow", "events", "end", "segments"],
    properties: {
      flow: ref("Flow"),
      events: {
        type: "array",
        items: {
          type: "object",
          description:
            "One segment (src/trace/events.ts TraceEvent): frame, ts, dir, flags, flag_names, seq/ack (Wireshark's relative numbers), raw_seq, raw_ack, len, win (scaled), raw_win, options, history (letters added), anomalies (raised), orig_state, resp_state (RFC 9293), orig_via/resp_via (states passed through).",
        },
      },
      end: { type: "object", properties: { orig_state: { type: "string" }, resp_state: { type: "string" } } },
      segments: { type: "integer" },
    },
  },
};
