// The web page in a real browser: headless Chromium (Debian `chromium`, installed by .ci/run)
// driven by puppeteer-core against the real server. Upload a corpus capture through the page,
// see the right number of rows, filter by an anomaly, open a flow, find its ladder's labels and
// states. A screenshot goes to test/output/page.png.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import puppeteer, { type Browser, type ElementHandle, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type Api } from "../../src/http/app.js";
import { analyzeFile } from "../../src/analyze.js";
import type { Flow } from "../../src/flow.js";
import { corpusDir } from "../golden/corpus.js";

const CHROMIUM =
  process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const OUTPUT = resolve(import.meta.dirname, "../output");
/** A Zeek corpus capture with refused and completed connections. */
const CAPTURE = join(corpusDir(), "pop3-rej-and-sf.pcap");

describe("the page at /", () => {
  let api: Api, server: ServerType, browser: Browser, page: Page, base: string, dataDir: string;
  const flows: Flow[] = [];

  beforeAll(async () => {
    if (CHROMIUM === undefined)
      throw new Error("chromium not found: apt-get install chromium (.ci/run installs it), or set CHROMIUM_PATH");
    await analyzeFile(CAPTURE, {}, (f) => void flows.push(f));
    dataDir = mkdtempSync(join(tmpdir(), "flowrecon-page-"));
    api = createApp({ dataDir });
    server = serve({ fetch: api.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((r) => server.once("listening", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1800 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    api?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const text = (sel: string) => page.$eval(sel, (e) => e.textContent ?? "");

  it("uploads a capture and lists every flow", async () => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(base + "/", { waitUntil: "networkidle0" });
    const input = (await page.waitForSelector("#file")) as ElementHandle<HTMLInputElement> | null;
    await input!.uploadFile(CAPTURE);
    await page.waitForSelector("#row-count", { timeout: 30_000 });
    expect(await text("#flow-count")).toBe(String(flows.length));
    await page.waitForFunction(
      (n) => document.querySelectorAll("#flows tbody tr").length === n,
      { timeout: 10_000 },
      flows.length,
    );
    expect(await text("#row-count")).toBe(String(flows.length));
    expect(await text("#captures")).toContain("pop3-rej-and-sf.pcap");
    expect(errors).toEqual([]);
  }, 60_000);

  it("filters by an anomaly", async () => {
    const refused = flows.filter((f) => f.anomalies.some((a) => a.type === "refused"));
    expect(refused.length).toBeGreaterThan(0);
    await page.select("#filter-anomaly", "refused");
    await page.waitForFunction(
      (n) => document.querySelector("#row-count")?.textContent === String(n),
      { timeout: 10_000 },
      refused.length,
    );
    const uids = await page.$$eval("#flows tbody tr", (rows) => rows.map((r) => r.getAttribute("data-uid")));
    expect(uids.sort()).toEqual(refused.map((f) => f.uid).sort());
  }, 30_000);

  it("opens a flow: its fields, its anomalies, its ladder with labels and states, its pcap link", async () => {
    const refused = flows.filter((f) => f.anomalies.some((a) => a.type === "refused"));
    const f = refused[0];
    await page.click(`#flows tbody tr[data-uid="${f.uid}"]`);
    await page.waitForSelector("#ladder svg", { timeout: 30_000 });
    const ladder = await text("#ladder svg");
    expect(ladder).toContain("[SYN] seq=0");
    expect(ladder).toContain("[RST, ACK] seq=1 ack=1");
    expect(ladder).toContain("SYN_SENT");
    expect(ladder).toContain("⚠ refused");
    expect(ladder).toContain(`end: ${f.orig_state}`);
    expect(await text("#flow-view")).toContain(f.uid);
    expect(await text("#anomalies")).toContain("refused");
    const href = await page.$eval("#pcap", (a) => a.getAttribute("href"));
    const res = await fetch(base + href);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.tcpdump.pcap");
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, "page.png"), fullPage: true });
  }, 60_000);

  it("serves nothing but the page's own files", async () => {
    expect((await fetch(base + "/assets/../package.json")).status).toBe(404);
    expect((await fetch(base + "/assets/secret.js")).status).toBe(404);
  });
});
