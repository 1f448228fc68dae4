/**
 * @module
 * The text form of Zeek's `likely_server_ports` option, shared by the CLI (`--likely-server-ports`)
 * and the API (`likely_server_ports`): `default` (the set Zeek's default scripts register),
 * `none` (empty, as `zeek -b`), or a comma-separated list of TCP ports (exactly these).
 */

/** The option's value for `text`, or null when it is not one of the three forms. */
export function parseServerPorts(text: string): boolean | number[] | null {
  if (text === "default") return true;
  if (text === "none") return false;
  const list = text.split(",").map((p) => p.trim());
  if (list.some((p) => !/^\d+$/.test(p) || Number(p) > 65535)) return null;
  return list.map(Number);
}
