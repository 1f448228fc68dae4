/**
 * @module
 * The minimum-rate rule (Apache mod_reqtimeout's MinRate), over waiting time only: the bytes a
 * client moved during each `windowMs` the server spent waiting for it must be at least `minRate`
 * a second. One rule for both directions: a request body the client sends (body.ts) and an
 * answer the client takes (response-stream.ts). A rate or window of 0 turns it off.
 */
export class MinRateWindow {
  #waitMs = 0;
  #bytes = 0;
  constructor(
    readonly minRate: number,
    readonly windowMs: number,
  ) {}

  /** Waiting time left in the current window (Infinity when there is no minimum rate). */
  leftMs(): number {
    return this.minRate > 0 && this.windowMs > 0 ? this.windowMs - this.#waitMs : Infinity;
  }

  /**
   * Adds `bytes` moved after `waitedMs` of waiting; closes the window once it is full. Returns the
   * full window's rate in bytes a second when it is below the minimum, else null.
   */
  add(bytes: number, waitedMs: number): number | null {
    this.#bytes += bytes;
    this.#waitMs += waitedMs;
    if (this.minRate <= 0 || this.windowMs <= 0 || this.#waitMs < this.windowMs) return null;
    const rate = (this.#bytes * 1000) / this.#waitMs;
    this.#waitMs = 0;
    this.#bytes = 0;
    return rate < this.minRate ? rate : null;
  }
}
