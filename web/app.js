// The flowrecon page: upload a capture (stored through /v1/captures), see its summary, browse its
// flows (paged, sorted and filtered on the server, so 100k+ flows stay fast), open one flow: every
// field, its anomalies with their evidence, its ladder diagram, its packets as pcap.
// Preact + htm, served from the package (no build step, no CDN: it works offline).

import { h, render } from "preact";
import { useEffect, useState, useCallback } from "preact/hooks";
import htm from "htm";

const html = htm.bind(h);
const PAGE = 100;
const CONN_STATES = ["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"];
const COLUMNS = [
  ["ts", "ts"],
  ["id.orig_h", "orig"],
  ["id.orig_p", "port"],
  ["id.resp_h", "resp"],
  ["id.resp_p", "port"],
  ["conn_state", "state"],
  ["duration", "duration"],
  ["orig_bytes", "orig bytes"],
  ["resp_bytes", "resp bytes"],
];

/** Bearer token for servers started with FLOWRECON_TOKEN (kept in this browser). */
const token = () => localStorage.getItem("flowrecon-token") || "";
const authHeaders = () => (token() ? { authorization: `Bearer ${token()}` } : {});

async function api(path) {
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok)
    throw new Error((await res.json().catch(() => ({}))).error?.message || `${res.status} ${res.statusText}`);
  return res;
}

/** Uploads with progress (fetch has no upload progress; XMLHttpRequest does). */
function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/captures?name=${encodeURIComponent(file.name)}`);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      const body = JSON.parse(xhr.responseText || "{}");
      xhr.status === 201 ? resolve(body) : reject(new Error(body.error?.message || `upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error("upload failed (network)"));
    xhr.send(file);
  });
}

function Upload({ onStored }) {
  const [progress, setProgress] = useState(null);
  const [error, setError] = useState("");
  const [over, setOver] = useState(false);
  const send = async (file) => {
    if (!file) return;
    setError("");
    setProgress(0);
    try {
      onStored(await upload(file, setProgress));
    } catch (e) {
      setError(e.message);
    } finally {
      setProgress(null);
    }
  };
  return html`<section>
    <h2>Analyse a capture</h2>
    <div class=${"drop" + (over ? " over" : "")}
      onDragOver=${(e) => {
        e.preventDefault();
        setOver(true);
      }} onDragLeave=${() => setOver(false)}
      onDrop=${(e) => {
        e.preventDefault();
        setOver(false);
        send(e.dataTransfer.files[0]);
      }}>
      Drop a pcap or pcapng file here, or <input id="file" type="file" onChange=${(e) => send(e.target.files[0])} />
    </div>
    ${progress !== null && html`<progress id="upload-progress" value=${progress} max="1"></progress>`}
    ${error && html`<p class="error" id="upload-error">${error}</p>`}
  </section>`;
}

function Bars({ counts, cls }) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return html`<div class="bars">${entries.map(
    ([k, n]) => html`
    <span>${k}</span><div class=${"bar " + (cls || "")} style=${`width:${(100 * n) / max}%`}></div><span>${n}</span>`,
  )}</div>`;
}

function Summary({ capture }) {
  return html`<section id="summary">
    <h2>${capture.name}: <span id="flow-count">${capture.flows}</span> flows, ${capture.stats.segments} segments</h2>
    <div class="columns">
      <div><h2>conn_state</h2><${Bars} counts=${capture.summary.conn_state} /></div>
      <div><h2>anomalies</h2><${Bars} counts=${capture.summary.anomalies} cls="anom" /></div>
    </div>
  </section>`;
}

function FlowTable({ capture, onOpen, selected }) {
  const [query, setQuery] = useState({ sort: "ts", conn_state: "", anomaly: "", host: "", port: "", offset: 0 });
  const [page, setPage] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const q = new URLSearchParams({ sort: query.sort, offset: String(query.offset), limit: String(PAGE) });
    for (const k of ["conn_state", "anomaly", "host", "port"]) if (query[k]) q.set(k, query[k]);
    api(`/v1/captures/${capture.id}/flows?${q}`)
      .then((r) => r.json())
      .then(
        (p) => {
          setPage(p);
          setError("");
        },
        (e) => setError(e.message),
      );
  }, [capture.id, query]);
  const set = (k, v) => setQuery({ ...query, [k]: v, offset: 0 });
  const sortBy = (field) => set("sort", query.sort === field ? `-${field}` : field);
  const anomalies = Object.keys(capture.summary.anomalies).sort();
  return html`<section>
    <h2>Flows</h2>
    <div class="filters">
      <select id="filter-state" onChange=${(e) => set("conn_state", e.target.value)}>
        <option value="">any conn_state</option>${CONN_STATES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
      <select id="filter-anomaly" onChange=${(e) => set("anomaly", e.target.value)}>
        <option value="">any or no anomaly</option><option value="any">with an anomaly</option>
        ${anomalies.map((a) => html`<option value=${a}>${a}</option>`)}
      </select>
      <input id="filter-host" placeholder="host" onChange=${(e) => set("host", e.target.value.trim())} />
      <input id="filter-port" placeholder="port" size="6" onChange=${(e) => set("port", e.target.value.trim())} />
      ${page && html`<span id="row-count">${page.total}</span> flows`}
    </div>
    ${error && html`<p class="error">${error}</p>`}
    <div style="max-height:50vh;overflow:auto">
    <table id="flows"><thead><tr>
      ${COLUMNS.map(([f, label]) => html`<th onClick=${() => sortBy(f)}>${label}${query.sort === f ? " ▲" : query.sort === `-${f}` ? " ▼" : ""}</th>`)}
      <th>history</th><th>anomalies</th></tr></thead>
      <tbody>${page?.flows.map(
        (f) => html`<tr class=${f.uid === selected ? "selected" : ""} data-uid=${f.uid} onClick=${() => onOpen(f.uid)}>
        ${COLUMNS.map(([k]) => html`<td>${k === "ts" ? new Date(f.ts * 1000).toISOString().slice(11, 26) : (f[k] ?? "")}</td>`)}
        <td>${f.history ?? ""}</td><td>${f.anomalies.map((a) => a.type).join(", ")}</td></tr>`,
      )}</tbody>
    </table></div>
    ${
      page &&
      html`<div class="pager">
      <button disabled=${query.offset === 0} onClick=${() => setQuery({ ...query, offset: Math.max(0, query.offset - PAGE) })}>‹ previous</button>
      <span>${page.total === 0 ? 0 : query.offset + 1}–${Math.min(query.offset + PAGE, page.total)} of ${page.total}</span>
      <button disabled=${query.offset + PAGE >= page.total} onClick=${() => setQuery({ ...query, offset: query.offset + PAGE })}>next ›</button>
    </div>`
    }
  </section>`;
}

function FlowView({ capture, uid }) {
  const [flow, setFlow] = useState(null);
  const [svg, setSvg] = useState("");
  const [all, setAll] = useState(false);
  useEffect(() => {
    setFlow(null);
    api(`/v1/captures/${capture.id}/flows/${uid}`)
      .then((r) => r.json())
      .then(setFlow);
  }, [capture.id, uid]);
  useEffect(() => {
    setSvg("");
    api(`/v1/captures/${capture.id}/flows/${uid}/ladder.svg${all ? "?all=1" : ""}`)
      .then((r) => r.text())
      .then(setSvg);
  }, [capture.id, uid, all]);
  if (flow === null) return html`<section>Loading ${uid}…</section>`;
  const fields = Object.entries(flow).filter(([k]) => k !== "anomalies");
  const value = (v) => (typeof v === "object" ? JSON.stringify(v) : String(v));
  return html`<section id="flow-view">
    <h2>Flow ${flow.uid} <a id="pcap" href=${`/v1/captures/${capture.id}/flows/${uid}/pcap`} download=${`${uid}.pcap`}>download pcap</a></h2>
    <div class="columns">
      <div>
        <table class="fields">${fields.map(([k, v]) => html`<tr><td>${k}</td><td>${value(v)}</td></tr>`)}</table>
        <h2>Anomalies</h2>
        ${
          flow.anomalies.length === 0
            ? html`<p>none</p>`
            : html`<table id="anomalies"><tr><th>type</th><th>side</th><th>first at</th><th>count</th><th>evidence</th></tr>
          ${flow.anomalies.map(
            (a) => html`<tr><td>${a.type}</td><td>${a.side}</td><td>${a.ts}</td><td>${a.count}</td>
            <td>${[a.idle_s !== undefined ? `idle ${a.idle_s} s` : "", a.detail ?? ""].filter(Boolean).join("; ")}</td></tr>`,
          )}</table>`
        }
      </div>
      <div>
        <label><input type="checkbox" checked=${all} onChange=${(e) => setAll(e.target.checked)} /> every segment</label>
        <div class="ladder" id="ladder" dangerouslySetInnerHTML=${{ __html: svg }}></div>
      </div>
    </div>
  </section>`;
}

function App() {
  const [captures, setCaptures] = useState([]);
  const [current, setCurrent] = useState(null);
  const [uid, setUid] = useState(null);
  const [error, setError] = useState("");
  const refresh = useCallback(
    () =>
      api("/v1/captures")
        .then((r) => r.json())
        .then(
          (b) => setCaptures(b.captures),
          (e) => setError(e.message),
        ),
    [],
  );
  useEffect(() => {
    refresh();
  }, []);
  const open = (c) => {
    setCurrent(c);
    setUid(null);
  };
  return html`
    <header><h1>flowrecon</h1><span>TCP connections as Zeek and the engine see them</span>
      <input placeholder="API token (if set)" type="password" value=${token()} onChange=${(e) => {
        localStorage.setItem("flowrecon-token", e.target.value);
        refresh();
      }} /></header>
    <main>
      ${error && html`<p class="error">${error}</p>`}
      <${Upload} onStored=${(c) => {
        open(c);
        refresh();
      }} />
      <section><h2>Stored captures</h2>
        ${
          captures.length === 0
            ? html`<p>none yet</p>`
            : html`<ul class="captures" id="captures">${captures.map(
                (c) => html`<li>
          <a onClick=${() => open(c)}>${c.name}</a> — ${c.flows} flows, ${(c.size / 1e6).toFixed(2)} MB, ${c.created}
          <button onClick=${async () => {
            await fetch(`/v1/captures/${c.id}`, { method: "DELETE", headers: authHeaders() });
            if (current?.id === c.id) setCurrent(null);
            refresh();
          }}>delete</button></li>`,
              )}</ul>`
        }
      </section>
      ${current && html`<${Summary} capture=${current} />`}
      ${current && html`<${FlowTable} capture=${current} onOpen=${setUid} selected=${uid} />`}
      ${current && uid && html`<${FlowView} capture=${current} uid=${uid} />`}
    </main>`;
}

const root = document.getElementById("app");
root.textContent = ""; // drop the "Loading…" placeholder
render(html`<${App} />`, root);
