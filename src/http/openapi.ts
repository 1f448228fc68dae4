/**
 * @module
 * The OpenAPI 3.1 description served at `/openapi.json`. Parameters come from the same tables the
 * handlers parse with (src/http/params.ts, src/http/negotiate.ts), the Flow's properties from the
 * engine's column table (assembly/format/fields.ts, through zeekFieldTable), and
 * test/http/ops.test.ts checks that its paths and methods are exactly the app's routes.
 */

import type { ApiConfig } from "./config.js";
import { CAPTURE_TYPES, MSGPACK_TYPES, NDJSON_TYPES } from "./negotiate.js";
import { CONN_STATES, DEFAULT_PAGE, MAX_PAGE, OPTION_PARAMETERS } from "./params.js";
import { VERSION } from "../version.js";
import { ANOMALIES, TCP_STATES } from "../anomalies/index.js";
import { CAPTURE_SCHEMAS, capturePaths } from "./captures/openapi.js";
import { zeekFieldTable } from "../format/engine-lines.js";
import { ZEEK_FROM_NESTED } from "../format/zeek.js";

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const param = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });
const response = (name: string): Json => ({ $ref: `#/components/responses/${name}` });

function optionSchema(name: string): Json {
  if (["ignore_checksums", "vlan_in_key", "report_gaps_for_partial"].includes(name)) return { type: "boolean" };
  if (name === "likely_server_ports") return { type: "string", examples: ["default", "none", "80,443,8080"] };
  if (name === "local_nets") return { type: "string", examples: ["10.1.0.0/16,2001:db8::/32", "-"] };
  if (name.endsWith("_timeout")) return { type: "number", minimum: 0 };
  return { type: "integer", minimum: 0 };
}

/** The JSON value of each Zeek log type in flowrecon's JSON (times and intervals in seconds). */
const ZEEK_TYPE_SCHEMA: Readonly<Record<string, Json>> = {
  time: { type: "number" },
  interval: { type: "number" },
  count: { type: "integer" },
  int: { type: "integer" },
  port: { type: "integer" },
  bool: { type: "boolean" },
  addr: { type: "string" },
  string: { type: "string" },
  enum: { type: "string" },
  "set[string]": { type: "array", items: { type: "string" } },
};

/**
 * The Flow's properties in column order, the members of its nested groups (`orig_tcp_options`),
 * and which of both are required, from the Zeek view of the engine's column table: dotted names
 * other than `id.*` are members of the group they name, as the nested JSON writes them, and the
 * Zeek-only columns stand for the nested key that holds them (src/format/zeek.ts). A column the
 * table says is written for every flow is required, and so is the key that holds it.
 * `refine` replaces or completes a property's schema with what the table does not say (enums,
 * descriptions, objects).
 */
function flowProperties(refine: Readonly<Record<string, Json>>): {
  flow: Json;
  required: string[];
  groups: Record<string, Json>;
  groupRequired: Record<string, string[]>;
} {
  const { names, types, always } = zeekFieldTable();
  const flow: Json = {};
  const required = new Set<string>();
  const groups: Record<string, Json> = {};
  const groupRequired: Record<string, string[]> = {};
  names.forEach((name, i) => {
    const schema = ZEEK_TYPE_SCHEMA[types[i]];
    if (schema === undefined) throw new Error(`no JSON schema for the Zeek type ${types[i]} of ${name}`);
    const dot = name.indexOf(".");
    const key = ZEEK_FROM_NESTED[name]?.nested ?? (dot < 0 || name.startsWith("id.") ? name : name.slice(0, dot));
    if (key !== name && dot > 0 && !name.startsWith("id.")) {
      (groups[key] ??= {})[name.slice(dot + 1)] = schema;
      if (always[i]) (groupRequired[key] ??= []).push(name.slice(dot + 1));
    }
    flow[key] = refine[key] ?? (key === name ? schema : { type: "object" });
    if (always[i]) required.add(key);
  });
  return { flow, required: [...required], groups, groupRequired };
}

const flowsContent = (schema: Json): Json => ({
  "application/json": { schema },
  "application/msgpack": { schema },
  // Media Type objects have no description (OpenAPI 3.1 §4.8.14): it goes on the schema.
  "application/x-ndjson": {
    schema: {
      type: "string",
      description:
        'One flow per line as flows finish, then one trailer line without uid: {"stats": ...} (plus "error" when the capture turned out damaged after the response started).',
    },
  },
});

const bodyContent = (): Json => {
  const capture = { schema: { type: "string", contentMediaType: "application/octet-stream" } };
  return {
    ...Object.fromEntries(CAPTURE_TYPES.map((t) => [t, capture])),
    "application/octet-stream": {
      schema: { ...capture.schema, description: "A capture, recognised by its pcap or pcapng magic (415 otherwise)." },
    },
    "application/json": { schema: ref("SegmentBatch") },
    ...Object.fromEntries(
      MSGPACK_TYPES.map((t) => [
        t,
        {
          schema: {
            ...ref("SegmentBatch"),
            description: "One or more msgpack values back to back, each a SegmentBatch.",
          },
        },
      ]),
    ),
  };
};

export function openApiDocument(config: ApiConfig): Json {
  const flowSchemas = flowProperties({
    proto: { const: "tcp" },
    service: {
      type: "string",
      description: "Protocol found by Zeek's dynamic protocol detection signatures in the first payload bytes.",
    },
    conn_state: { enum: [...CONN_STATES] },
    tunnel_parents: {
      type: "array",
      items: { type: "string" },
      description: "uid of the tunnel's encapsulating connection.",
    },
    orig_tcp_options: ref("TcpOptions"),
    resp_tcp_options: ref("TcpOptions"),
    orig_state: {
      enum: [...TCP_STATES],
      description: "RFC 9293 state of the originator as the wire shows it at the end.",
    },
    resp_state: { enum: [...TCP_STATES] },
    anomalies: {
      type: "array",
      items: {
        type: "object",
        required: ["type", "side", "ts", "count"],
        properties: {
          type: { enum: ANOMALIES.map((a) => a.name) },
          side: { enum: ["orig", "resp"] },
          ts: { type: "number" },
          count: { type: "integer" },
          idle_s: { type: "number" },
          detail: { type: "string" },
        },
      },
    },
    http: {
      type: "object",
      description: "HTTP/1.x request and status lines seen, when the payload is HTTP.",
      properties: {
        requests: { type: "integer" },
        responses: { type: "integer" },
        methods: { type: "object", additionalProperties: { type: "integer" } },
        versions: { type: "array", items: { type: "string" } },
        status_codes: { type: "object", additionalProperties: { type: "integer" } },
        status_classes: { type: "object", additionalProperties: { type: "integer" } },
        keep_alive: { type: "boolean" },
      },
    },
  });
  const secured =
    config.token !== undefined || Object.keys(config.tenants).length > 0 ? { security: [{ bearer: [] }] } : {};
  const errors = (...codes: number[]): Json => Object.fromEntries(codes.map((s) => [String(s), response("Error")]));
  const sessionId = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };

  return {
    openapi: "3.1.0",
    info: {
      title: "flowrecon",
      version: VERSION,
      description:
        'TCP connection reconstruction from pcap/pcapng captures or pre-parsed segment records, one Zeek conn.log-compatible summary per flow. Every error is JSON {"error": {"code", "message", "offset"?}}.',
    },
    servers: [{ url: "/" }],
    paths: {
      ...capturePaths(secured, errors), // stored captures (src/http/captures/openapi.ts)
      "/v1/analyze": {
        post: {
          operationId: "analyze",
          summary: "Analyze one capture or one batch of segment records",
          description: `The capture streams into the engine (at most ${config.maxBodyBytes} bytes); a segment body is parsed whole (at most ${config.maxBatchBytes} bytes). Response format by Accept.`,
          ...secured,
          parameters: [
            ...OPTION_PARAMETERS.map(([name]) => param(name)),
            param("conn_state"),
            param("anomaly"),
            param("partial"),
            param("json_style"),
          ],
          requestBody: { required: true, content: bodyContent() },
          responses: {
            "200": { description: "Every flow and the input statistics.", content: flowsContent(ref("FlowsDocument")) },
            "422": {
              description:
                "The capture is damaged. With partial=true the body also holds the flows decoded before the damage (in the Accept format).",
              content: { "application/json": { schema: ref("FlowsDocument") } },
            },
            ...errors(400, 401, 406, 408, 413, 415, 429, 503),
          },
        },
      },
      "/v1/sessions": {
        post: {
          operationId: "createSession",
          summary: "Create a session (engine options fixed from now on)",
          ...secured,
          parameters: OPTION_PARAMETERS.map(([name]) => param(name)),
          requestBody: {
            required: false,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  description: "The same options as the query parameters, by the same names.",
                  additionalProperties: false,
                  properties: Object.fromEntries(OPTION_PARAMETERS.map(([name]) => [name, optionSchema(name)])),
                },
              },
            },
          },
          responses: {
            "201": {
              description: "Created; Location names the session.",
              content: { "application/json": { schema: ref("Session") } },
            },
            ...errors(400, 401, 415, 429, 503),
          },
        },
      },
      "/v1/sessions/{id}": {
        parameters: [sessionId],
        get: {
          operationId: "getSession",
          summary: "Describe a session",
          ...secured,
          responses: {
            "200": { description: "The session.", content: { "application/json": { schema: ref("Session") } } },
            ...errors(401, 404),
          },
        },
        delete: {
          operationId: "deleteSession",
          summary: "Delete a session and its flows",
          ...secured,
          responses: { "204": { description: "Deleted." }, ...errors(401, 404) },
        },
      },
      "/v1/sessions/{id}/batches": {
        parameters: [sessionId],
        post: {
          operationId: "appendBatch",
          summary: "Append a capture chunk (split at any byte) or a batch of segment records",
          description: `Batches apply in the order their bodies complete; send the next after the previous answer. A batch is held whole (at most ${config.maxBatchBytes} bytes) and validated before the engine sees it: a rejected batch leaves the session exactly as it was. A session takes one kind of input.`,
          ...secured,
          requestBody: { required: true, content: bodyContent() },
          responses: {
            "200": { description: "Accepted.", content: { "application/json": { schema: ref("BatchSummary") } } },
            "422": response("Error"),
            ...errors(400, 401, 404, 408, 409, 413, 415, 429, 503),
          },
        },
      },
      "/v1/sessions/{id}/flows": {
        parameters: [sessionId],
        get: {
          operationId: "listFlows",
          summary: "List the session's finished and live flows",
          description:
            'Finished flows first (in the order they finished), then live ones as they would be reported if the input ended now; each flow has a "state" member. Live flows are read from a copy of the session\'s engine.',
          ...secured,
          parameters: [
            param("state"),
            param("conn_state"),
            param("anomaly"),
            param("offset"),
            param("limit"),
            param("json_style"),
          ],
          responses: {
            "200": { description: "One page.", content: flowsContent(ref("FlowPage")) },
            ...errors(400, 401, 404, 406, 503),
          },
        },
      },
      "/v1/sessions/{id}/finish": {
        parameters: [sessionId],
        post: {
          operationId: "finishSession",
          summary: "End the input, return every flow and statistics, and close the session",
          ...secured,
          parameters: [param("conn_state"), param("anomaly")],
          responses: {
            "200": { description: "Every flow of the session.", content: flowsContent(ref("FlowsDocument")) },
            "422": {
              description: "The capture ended inside a record: every flow, with the error.",
              content: flowsContent(ref("FlowsDocument")),
            },
            ...errors(401, 404, 406),
          },
        },
      },
      "/healthz": {
        get: {
          operationId: "health",
          summary: "Liveness (503 while shutting down)",
          responses: {
            "200": { description: "Serving.", content: { "application/json": { schema: ref("Health") } } },
            "503": {
              description: "Draining: in-flight requests finish, new ones get 503; the port closes after them.",
              content: { "application/json": { schema: ref("Health") } },
            },
          },
        },
      },
      "/metrics": {
        get: {
          operationId: "metrics",
          summary: "Prometheus metrics (text exposition format 0.0.4)",
          ...secured,
          responses: {
            "200": { description: "Metrics.", content: { "text/plain": { schema: { type: "string" } } } },
            ...errors(401),
          },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "openapi",
          summary: "This document",
          responses: {
            "200": { description: "OpenAPI 3.1.", content: { "application/json": { schema: { type: "object" } } } },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "Only when the server has FLOWRECON_TOKEN or FLOWRECON_TOKENS set. With FLOWRECON_TOKENS each token names a tenant, and a session is visible only to the tenant that created it (404 for the others).",
        },
      },
      parameters: {
        ...Object.fromEntries(
          OPTION_PARAMETERS.map(([name, , , doc]) => [
            name,
            { name, in: "query", required: false, description: doc, schema: optionSchema(name) },
          ]),
        ),
        conn_state: {
          name: "conn_state",
          in: "query",
          required: false,
          description: "Keep flows with one of these Zeek conn_state codes (comma-separated).",
          schema: { type: "string", examples: ["SF,S0"] },
        },
        anomaly: {
          name: "anomaly",
          in: "query",
          required: false,
          description: `Keep flows with one of these anomalies (comma-separated names; "any" = at least one): ${ANOMALIES.map((a) => a.name).join(", ")}.`,
          schema: { type: "string" },
        },
        partial: {
          name: "partial",
          in: "query",
          required: false,
          description: "With a 422, also return the flows decoded before the damage.",
          schema: { type: "boolean" },
        },
        json_style: {
          name: "json_style",
          in: "query",
          required: false,
          description:
            "JSON shape of json/ndjson answers: nested (flowrecon's: TCP options and anomalies as objects) or zeek (Zeek's JSON log: flat dotted keys such as orig_tcp_options.mss, sets as arrays of strings, the columns of the zeek TSV). msgpack keeps the nested shape.",
          schema: { type: "string", enum: ["nested", "zeek"], default: "nested" },
        },
        state: {
          name: "state",
          in: "query",
          required: false,
          schema: { type: "string", enum: ["all", "finished", "live"], default: "all" },
        },
        offset: { name: "offset", in: "query", required: false, schema: { type: "integer", minimum: 0, default: 0 } },
        limit: {
          name: "limit",
          in: "query",
          required: false,
          schema: { type: "integer", minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE },
        },
      },
      responses: {
        Error: { description: "An error.", content: { "application/json": { schema: ref("Error") } } },
      },
      schemas: {
        ...CAPTURE_SCHEMAS,
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: {
                  type: "string",
                  description:
                    "Stable, snake_case: a capture error (bad_magic, truncated_input, absurd_caplen, ...; the same codes as the CLI's JSON output) or an API code (payload_too_large, session_not_found, method_not_allowed, ...).",
                },
                message: { type: "string" },
                offset: { type: "integer", description: "Byte offset in the input where the problem is." },
                record: { type: "integer" },
                index: { type: "integer", description: "Index of the bad segment record in its body." },
                field: { type: "string" },
              },
            },
          },
        },
        Flow: {
          type: "object",
          description:
            "One connection, keys as in Zeek's JSON conn.log plus flowrecon's own (README, Output fields). Exactly the CLI's NDJSON line.",
          required: flowSchemas.required,
          properties: {
            ...flowSchemas.flow,
            state: { enum: ["finished", "live"], description: "Only in session listings." },
          },
        },
        Health: {
          type: "object",
          required: ["status", "version"],
          properties: {
            status: { enum: ["ok", "draining"] },
            version: { type: "string" },
            sessions: { type: "integer" },
            memory_bytes: { type: "integer" },
          },
        },
        TcpOptions: {
          type: "object",
          required: flowSchemas.groupRequired.orig_tcp_options,
          properties: flowSchemas.groups.orig_tcp_options,
        },
        Stats: {
          type: "object",
          description:
            "Input counters (records, bytes, segments, skipped_records, bad_checksum, ...), snake_case engine names.",
          additionalProperties: { type: "number" },
        },
        FlowsDocument: {
          type: "object",
          required: ["flows"],
          properties: { flows: { type: "array", items: ref("Flow") }, stats: ref("Stats"), error: ref("Error") },
        },
        FlowPage: {
          type: "object",
          required: ["flows", "total", "offset", "limit"],
          properties: {
            flows: { type: "array", items: ref("Flow") },
            total: { type: "integer" },
            offset: { type: "integer" },
            limit: { type: "integer" },
            next_offset: { type: "integer" },
          },
        },
        Session: {
          type: "object",
          required: ["id"],
          properties: {
            id: { type: "string", format: "uuid" },
            input: { enum: ["capture", "segments", null] },
            batches: { type: "integer" },
            flows_finished: { type: "integer" },
            flows_live: { type: "integer" },
            created_at: { type: "string", format: "date-time" },
            expires_at: { type: "string", format: "date-time" },
            options: { type: "object" },
            ttl_seconds: { type: "number" },
            stats: ref("Stats"),
          },
        },
        BatchSummary: {
          type: "object",
          properties: {
            batch: { type: "integer" },
            input: { enum: ["capture", "segments"] },
            bytes: { type: "integer" },
            segments: { type: "integer" },
            flows_finished: { type: "integer", description: "Flows that finished during this batch." },
            flows_live: { type: "integer" },
          },
        },
        SegmentRow: {
          type: "object",
          description: "One TCP segment (src/ingest/segments.md).",
          required: ["ts", "src", "sport", "dst", "dport", "flags", "seq"],
          properties: {
            ts: { type: "number", description: "Seconds since the epoch (microsecond precision)." },
            src: { type: "string", description: "IPv4 or IPv6 address." },
            sport: { type: "integer", minimum: 0, maximum: 65535 },
            dst: { type: "string" },
            dport: { type: "integer", minimum: 0, maximum: 65535 },
            flags: {
              oneOf: [
                { type: "string", pattern: "^[FSRPAUECW.fsrpauecw]*$" },
                { type: "integer", minimum: 0, maximum: 255 },
              ],
            },
            seq: { type: "integer", minimum: 0, maximum: 4294967295 },
            ack: { type: "integer", minimum: 0, maximum: 4294967295, default: 0 },
            win: { type: "integer", minimum: 0, maximum: 65535, default: 0 },
            len: { type: "integer", minimum: 0, default: 0, description: "TCP payload bytes." },
            options: {
              type: "object",
              properties: {
                mss: { type: "integer" },
                wscale: { type: "integer" },
                sack_permitted: { type: "boolean" },
                sack: { type: "boolean" },
                timestamps: { type: "boolean" },
              },
            },
          },
        },
        SegmentColumns: {
          type: "object",
          description:
            "Columnar form: one array per field, all of one length. src/dst may also be binary (16 bytes per segment, IPv4 as ::ffff:a.b.c.d). opts is a bitmask (MSS 1, WSCALE 2, SACK_PERM 4, SACK 8, TS 16); mss/wscale are read where its bit is set.",
          required: ["ts", "src", "sport", "dst", "dport", "flags", "seq"],
          properties: Object.fromEntries(
            ["ts", "src", "sport", "dst", "dport", "flags", "seq", "ack", "win", "len", "opts", "mss", "wscale"].map(
              (k) => [k, { type: "array" }],
            ),
          ),
        },
        SegmentBatch: {
          oneOf: [
            { type: "array", items: ref("SegmentRow") },
            {
              type: "object",
              required: ["segments"],
              properties: { segments: { type: "array", items: ref("SegmentRow") } },
            },
            ref("SegmentColumns"),
          ],
        },
      },
    },
    "x-ndjson-media-types": [...NDJSON_TYPES],
  };
}
