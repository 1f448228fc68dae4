/**
 * @module
 * The engine's memory layout and enums, read by export name from the compiled module.
 *
 * `assembly/flow/record.ts`, `assembly/stats.ts`, `assembly/errors.ts`, `assembly/options.ts` and
 * `assembly/packet.ts` are the single source of truth: the module exports every offset as a global
 * (`FR_TS_START`, `EP_PKTS`, ...) and every enum member as a global named `Enum.Member`
 * (`Stat.Records`, `ConnState.SF`, ...). Nothing here repeats a number from those files, so a
 * layout change on the AssemblyScript side needs no host change, and a missing export fails loudly
 * at load time instead of decoding garbage.
 */

/** Offsets (bytes) inside one flow record, and record-level constants. */
const RECORD_CONSTANTS = [
  "FR_ORIG_ADDR",
  "FR_RESP_ADDR",
  "FR_ORIG_PORT",
  "FR_RESP_PORT",
  "FR_VLAN",
  "FR_FLAGS",
  "FR_TS_START",
  "FR_TS_LAST",
  "FR_HS_RTT",
  "FR_HIST_LEN",
  "FR_END_REASON",
  "FR_TUNNEL",
  "FR_CONN_STATE",
  "FR_HISTORY",
  "HIST_CAP",
  "FR_ORIG",
  "FR_RESP",
  "FR_SIZE",
  "EP_WSCALE",
  "EP_OPTS",
  "EP_MSS",
  "EP_PKTS",
  "EP_IP_BYTES",
  "EP_MISSED",
  "EP_BYTES",
  "OUT_CAP",
  "OPT_MSS",
  "OPT_WSCALE",
  "OPT_SACK_PERM",
  "OPT_TS",
  // endpoint facts behind orig_state/resp_state and the end-of-input anomalies (src/anomalies)
  "FR_TS_ACTIVE",
  "FR_DEADLINE",
  "FR_TS_END",
  "FF_ENDED",
  "FF_SYNACK_AFTER_ACK",
  "FF_RESP_NONSYN",
  "EP_STATE",
  "EP_FLAGS",
  "EP_START",
  "EP_LAST_SEQ",
  "EP_SEQ_WRAPS",
  "EP_ACK_SEQ",
  "EP_ACK_WRAPS",
  "EP_FIN_SEQ",
  "EP_SEEN",
  "EP_RTX_QUIET",
  "EP_SYNS",
  "EP_FLAGS2",
  "EF2_BEYOND_SYN",
  "EF_FIN_SEEN",
  "EF_RST_SEEN",
  "EF_SYN_SEEN",
  "EF_FIN_AFTER_PEER",
  "EF_FIN_RETX",
  // extension block: anomalies and HTTP (offsets inside it, FR_EXT is where it starts)
  "FR_EXT",
  "X_ANOM",
  "ANOM_SLOTS",
  "X_ANOM_LOST",
  "X_HTTP_REQ",
  "X_HTTP_RESP",
  "X_HTTP_METHODS",
  "X_HTTP_VERSIONS",
  "X_HTTP_CLASSES",
  "X_HTTP_CODES",
  "HTTP_CODE_SLOTS",
  // conn.log columns: service, the VLAN key flag (uid), the tunnel's outer connection (tunnel_parents)
  "FR_SERVICE",
  "FF_VLAN_KEY",
  "X_OUTER_SRC",
  "X_OUTER_DST",
  "X_OUTER_SPORT",
  "X_OUTER_DPORT",
  "X_OUTER_VLAN",
  "X_OUTER_PROTO",
] as const;

export type RecordConstant = (typeof RECORD_CONSTANTS)[number];

/** One AssemblyScript enum: member names by value and values by name. */
export interface EnumInfo {
  /** `names[value]` is the member name; holes (unused values) are `undefined`. */
  readonly names: readonly (string | undefined)[];
  readonly values: Readonly<Record<string, number>>;
}

export interface Layout {
  readonly constants: Readonly<Record<RecordConstant, number>>;
  readonly stat: EnumInfo;
  readonly err: EnumInfo;
  readonly option: EnumInfo;
  readonly connState: EnumInfo;
  readonly endReason: EnumInfo;
  readonly tunnel: EnumInfo;
  readonly half: EnumInfo;
  readonly anomaly: EnumInfo;
  readonly httpMethod: EnumInfo;
  readonly service: EnumInfo;
}

/** Thrown when the module lacks an export the host needs: host and engine were built apart. */
export class AbiMismatchError extends Error {
  constructor(what: string) {
    super(
      `flowrecon.wasm does not export ${what}: the host and the engine are out of sync (rebuild with npm run build)`,
    );
    this.name = "AbiMismatchError";
  }
}

function globalValue(exports: WebAssembly.Exports, name: string): number | undefined {
  const g = exports[name] as { value?: unknown } | undefined;
  return g !== undefined && typeof g.value === "number" ? g.value : undefined;
}

/**
 * Every `Enum.Member` global of one exports object, by enum name: collected in one pass over the
 * ~430 exports, where reading each of the ~13 enums a run reads walked all of them (~1 ms of the
 * CLI's start in the interpreter).
 */
const enumsOf = new WeakMap<WebAssembly.Exports, Map<string, EnumInfo>>();

function allEnums(exports: WebAssembly.Exports): Map<string, EnumInfo> {
  let enums = enumsOf.get(exports);
  if (enums !== undefined) return enums;
  enums = new Map();
  for (const key of Object.keys(exports)) {
    const dot = key.indexOf(".");
    if (dot < 0) continue;
    const member = key.slice(dot + 1);
    const value = globalValue(exports, key);
    if (value === undefined || member === "Count") continue;
    const enumName = key.slice(0, dot);
    let info = enums.get(enumName) as { names: (string | undefined)[]; values: Record<string, number> } | undefined;
    if (info === undefined) enums.set(enumName, (info = { names: [], values: {} }));
    info.values[member] = value;
    info.names[value] = member;
  }
  enumsOf.set(exports, enums);
  return enums;
}

/** Collects `Enum.Member` globals; members named `Count` (array sizes, not values) are skipped. */
export function readEnum(exports: WebAssembly.Exports, enumName: string): EnumInfo {
  const info = allEnums(exports).get(enumName);
  if (info === undefined) throw new AbiMismatchError(`any ${enumName}.* enum member`);
  return info;
}

export function readLayout(exports: WebAssembly.Exports): Layout {
  const constants = {} as Record<RecordConstant, number>;
  for (const name of RECORD_CONSTANTS) {
    const value = globalValue(exports, name);
    if (value === undefined) throw new AbiMismatchError(name);
    constants[name] = value;
  }
  return {
    constants,
    stat: readEnum(exports, "Stat"),
    err: readEnum(exports, "Err"),
    option: readEnum(exports, "Option"),
    connState: readEnum(exports, "ConnState"),
    endReason: readEnum(exports, "EndReason"),
    tunnel: readEnum(exports, "Tunnel"),
    half: readEnum(exports, "Half"),
    anomaly: readEnum(exports, "Anomaly"),
    httpMethod: readEnum(exports, "HttpMethod"),
    service: readEnum(exports, "Service"),
  };
}

/** `UnsupportedLink` -> `unsupported_link`, `NonIp` -> `non_ip`, `IpInIp` -> `ip_in_ip`. */
export function snakeCase(pascal: string): string {
  return pascal.replace(/(?<=[a-z0-9])(?=[A-Z])/g, "_").toLowerCase();
}
