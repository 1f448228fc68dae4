/**
 * @module
 * UTC calendar time for any capture timestamp. A pcapng timestamp is a 64-bit tick count plus a
 * 64-bit if_tsoffset, so the engine's µs can be anything an i64 holds (about ±292,277 years), far
 * past what `Date` represents (±273,790 years around 1970): the date is computed here instead, in
 * the proleptic Gregorian calendar (Howard Hinnant's civil_from_days, exact for every integer day).
 */

import { fixed6 } from "./formatter.js";

/** Days since 1970-01-01 -> [year, month 1-12, day 1-31]. */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468; // days since 0000-03-01
  const era = Math.floor(z / 146_097); // 400-year cycles
  const doe = z - era * 146_097; // day of the cycle, [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // from March 1st
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

const pad2 = (n: number): string => (n < 10 ? "0" : "") + n;

/** Years 0-9999 in four digits, others signed in six (ISO 8601 expanded years, as `Date` prints them). */
function yearText(y: number): string {
  if (y >= 0 && y <= 9999) return String(y).padStart(4, "0");
  return (y < 0 ? "-" : "+") + String(Math.abs(y)).padStart(6, "0");
}

/**
 * `2011-12-16 21:35:33.493287` for a time in seconds since the epoch: the same microseconds that
 * {@link fixed6} prints for it (so the table agrees with the other formats), as a UTC date.
 */
export function utcDateTime(seconds: number): string {
  const text = fixed6(seconds);
  const dot = text.indexOf(".");
  let whole = Number(text.slice(0, dot));
  let micros = Number(text.slice(dot + 1));
  // fixed6 writes -1.5 s as "-1.500000"; the calendar counts down to the second before: 23:59:58.500000.
  if (text.startsWith("-") && micros > 0) {
    whole -= 1;
    micros = 1_000_000 - micros;
  }
  const days = Math.floor(whole / 86_400);
  const sod = whole - days * 86_400;
  const [y, m, d] = civilFromDays(days);
  const time = `${pad2(Math.floor(sod / 3600))}:${pad2(Math.floor(sod / 60) % 60)}:${pad2(sod % 60)}`;
  return `${yearText(y)}-${pad2(m)}-${pad2(d)} ${time}.${String(micros).padStart(6, "0")}`;
}
