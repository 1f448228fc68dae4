// Types for bench/lib/run-child.mjs.

export const GNU_TIME: string;

/** Environment variables of this machine removed from every measured child (NODE_EXTRA_CA_CERTS). */
export const DROPPED_ENV: readonly string[];

/** The best peak-RSS method available on this machine. */
export function defaultRssMethod(): "time" | "node-hook";

/** Splits a command line into argv (whitespace, single and double quotes, backslash escapes). */
export function splitCommand(line: string): string[];

export interface RunOptions {
  rss?: "time" | "node-hook";
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Keep up to this many bytes of stdout as text (for commands that print a summary). */
  keepStdout?: number;
  /** Stdout goes straight to /dev/null, not counted (`cmd > /dev/null`). */
  discardStdout?: boolean;
  /**
   * Stdout goes straight to this file, created or truncated (`cmd > FILE`): nothing reads it while
   * the child runs; it is counted after the child exits, outside the timed span, then deleted.
   * Excludes discardStdout.
   */
  stdoutFile?: string;
  /** Count the occurrences of this ASCII string in stdout (e.g. one per flow line). */
  countNeedle?: string;
}

export interface RunResult {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  /** Spawn to exit, ms. */
  wallMs: number;
  /** Peak RSS, KiB; null when the method could not tell. */
  maxRssKb: number | null;
  /** CPU seconds (GNU time only; null with node-hook). */
  userS: number | null;
  sysS: number | null;
  outBytes: number;
  /** LF bytes in stdout. */
  outLines: number;
  /** Occurrences of countNeedle; null when none was asked for. */
  needleCount: number | null;
  /** The kept prefix of stdout (keepStdout bytes at most). */
  stdout: string;
  /** The last 4 KiB of stderr. */
  stderrTail: string;
}

export function runMeasured(argv: string[], opts?: RunOptions): Promise<RunResult>;
