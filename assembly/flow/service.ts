// conn.log `service`: Zeek's dynamic protocol detection signatures for the common TCP protocols
// (scripts/base/protocols/*/dpd.sig), matched against the first payload bytes of each side.
//
// What is matched: the segment that starts a side's byte stream (relative sequence 1), as captured.
// Zeek's signature payload patterns are anchored at the start of the stream and may read up to
// dpd_buffer_size (1024) bytes of it; flowrecon reads the first segment only, up to MAX_SCAN bytes,
// so a pattern that needs a later segment (the FTP server's 230/331 after USER) is approximated
// (below, per signature). A first segment cut by the snaplen is not matched: the side is marked
// SIG_CUT and the connection gets no service, rather than a guess from a prefix.
//
// Per side, the matched signatures are bits in the extension block (X_SIGS, X_SIGS2: one slot per
// side, swapped by a role flip like the extension's other pairs), written only when something
// matched; whether a side's first segment was read, or cut, are EP_FLAGS2 bits. When the record is emitted, serviceOf() combines both sides as the
// signatures do: `tcp-state originator/responder` picks the side, `requires-reverse-signature`
// needs the peer's signature too. Zeek adds a service when the enabled analyzer confirms the
// protocol; flowrecon has no analyzers, so a signature match stands for the confirmation, and the
// port-registered analyzers without signatures (MySQL 3306, DNS 53) get a plausibility check of
// their first message instead. One service is reported (the first in Service order); Zeek can log
// several after a protocol upgrade (`ftp,ssl`, `http,ssl` after CONNECT).
//
// Allocation-free: reads only [p, p + n) of the captured payload.

import { X_SIGS, X_SIGS2, EP_FLAGS, EP_FLAGS2, EF_SYN_SEEN, EF2_SIG_DONE, EF2_SIG_CUT, FR_ORIG, FR_RESP, FR_RESP_PORT } from "./live";
import { currentExt } from "./anomaly";

/** Service names are these members in snake_case (src/wasm/layout.ts reads them). */
export enum Service { None = 0, Http, Ssl, Ssh, Smtp, Ftp, Pop3, Irc, Xmpp, Rdp, Mysql, Dns, Redis }

// Per-side signature bits (X_SIGS, u16).
const SIG_HTTP_REQUEST: u32 = 1 << 0;   // dpd_http_client
const SIG_HTTP_REPLY: u32 = 1 << 1;     // dpd_http_server
const SIG_TLS_CLIENT: u32 = 1 << 2;     // dpd_tls_client (ClientHello)
const SIG_TLS_SERVER: u32 = 1 << 3;     // dpd_tls_server (ServerHello)
const SIG_SSH: u32 = 1 << 4;            // dpd_ssh_client / dpd_ssh_server (same pattern)
const SIG_SMTP_HELO: u32 = 1 << 5;      // dpd_smtp_client
const SIG_SMTP_220: u32 = 1 << 6;       // dpd_smtp_server
const SIG_FTP_USER: u32 = 1 << 7;       // dpd_ftp_client
const SIG_FTP_GREETING: u32 = 1 << 8;   // dpd_ftp_server, first part (the 230/331 reply comes later)
const SIG_POP3_COMMAND: u32 = 1 << 9;   // dpd_pop3_client
const SIG_POP3_OK: u32 = 1 << 10;       // dpd_pop3_server
const SIG_IRC_CLIENT: u32 = 1 << 11;    // irc_client1 / irc_client2
const SIG_IRC_REPLY: u32 = 1 << 12;     // irc_server_reply
const SIG_XMPP: u32 = 1 << 13;          // dpd_xmpp
const SIG_RDP_CLIENT: u32 = 1 << 14;    // dpd_rdp_client
const SIG_RDP_SERVER: u32 = 1 << 15;    // dpd_rdp_server
// X_SIGS2 (u8).
const SIG2_REDIS_CLIENT: u32 = 1 << 0;  // resp-client, narrowed to a RESP array (redisClient)
const SIG2_REDIS_REPLY: u32 = 1 << 1;   // resp-serialized-server
const SIG2_MYSQL_GREETING: u32 = 1 << 2; // MySQL protocol-10 handshake (analyzer registered on 1434, 3306)
const SIG2_DNS_MESSAGE: u32 = 1 << 3;   // a length-prefixed DNS message (analyzer registered on 53)
const SIG2_LINE: u32 = 1 << 4;          // any CRLF line (resp-client as written, used on port 6379)
const SIG2_TLS_RECORD: u32 = 1 << 5;    // a TLS record header (content type 20-23, version 3.x): no violation of TLS

/** Bytes of the first segment the patterns may read (Zeek's dpd_buffer_size). */
const MAX_SCAN: u32 = 1024;

const PORT_DNS: u32 = 53;
const PORT_REDIS: u32 = 6379;
const PORT_MYSQL: u32 = 3306;
const PORT_MYSQL_ALT: u32 = 1434;

@inline function b(p: usize, i: u32): u32 { return <u32>load<u8>(p + <usize>i); }
/** ASCII lower case for letters (other bytes unchanged except bit 5: only used on letters). */
@inline function lower(c: u32): u32 { return c | 0x20; }
/** Regex [[:space:]]: space, \t \n \v \f \r. */
@inline function isSpace(c: u32): bool { return c == 0x20 || (c >= 0x09 && c <= 0x0D); }
@inline function isDigit(c: u32): bool { return c - 0x30 < 10; }
@inline function isLineEnd(c: u32): bool { return c == 0x0A || c == 0x0D; }

/** The `len` bytes at p + i equal `s` (ASCII, exact case). */
function at(p: usize, n: u32, i: u32, s: string): bool {
  const len = <u32>s.length;
  if (i + len > n) return false;
  for (let k: u32 = 0; k < len; k++) if (b(p, i + k) != <u32>s.charCodeAt(k)) return false;
  return true;
}

/** The bytes at p + i equal lower-case `s` ignoring the case of letters. */
function atNoCase(p: usize, n: u32, i: u32, s: string): bool {
  const len = <u32>s.length;
  if (i + len > n) return false;
  for (let k: u32 = 0; k < len; k++) if (lower(b(p, i + k)) != <u32>s.charCodeAt(k)) return false;
  return true;
}

@inline function skipSpaces(p: usize, n: u32, i: u32): u32 { while (i < n && isSpace(b(p, i))) i++; return i; }

// dpd_http_client: /^[[:space:]]*(OPTIONS|GET|HEAD|POST|...)[[:space:]]*/ (the trailing
// [[:space:]]* may be empty, so the method word alone decides). The common methods of the list.
const HTTP_METHODS: StaticArray<string> = [
  "GET", "POST", "HEAD", "PUT", "OPTIONS", "DELETE", "CONNECT", "PATCH", "TRACE", "QUERY", "PROPFIND",
  "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT", "NOTIFY", "SUBSCRIBE",
  "UNSUBSCRIBE", "POLL", "BCOPY", "BDELETE", "BMOVE", "BPROPFIND", "BPROPPATCH", "RPC_IN_DATA", "RPC_OUT_DATA",
  "ACL", "BIND", "UNBIND", "REBIND", "CHECKIN", "CHECKOUT", "UNCHECKOUT", "LABEL", "LINK", "UNLINK", "MERGE",
  "MKACTIVITY", "MKCALENDAR", "MKREDIRECTREF", "MKWORKSPACE", "ORDERPATCH", "UPDATE", "VERSION-CONTROL",
  "BASELINE-CONTROL", "X-MS-ENUMATTS",
];

function httpRequest(p: usize, n: u32): bool {
  const i = skipSpaces(p, n, 0);
  for (let k = 0; k < HTTP_METHODS.length; k++) if (at(p, n, i, unchecked(HTTP_METHODS[k]))) return true;
  return false;
}

/** /^(\x15\x03[\x00-\x03]....)?\x16\x03[\x00-\x03]..\x02...((\x03[\x00-\x04])|(\x7F[\x00-\x50]))/ */
function tlsServerHello(p: usize, n: u32): bool {
  let o: u32 = 0;
  if (n >= 7 && b(p, 0) == 0x15 && b(p, 1) == 0x03 && b(p, 2) <= 0x03) o = 7;  // an alert record first
  if (o + 11 > n) return false;
  if (b(p, o) != 0x16 || b(p, o + 1) != 0x03 || b(p, o + 2) > 0x03 || b(p, o + 5) != 0x02) return false;
  const major = b(p, o + 9), minor = b(p, o + 10);
  return (major == 0x03 && minor <= 0x04) || (major == 0x7F && minor <= 0x50);
}

/** /^\x16\x03[\x00-\x03]..\x01...\x03[\x00-\x03]/ */
function tlsClientHello(p: usize, n: u32): bool {
  if (n < 11) return false;
  return b(p, 0) == 0x16 && b(p, 1) == 0x03 && b(p, 2) <= 0x03 && b(p, 5) == 0x01 && b(p, 9) == 0x03 && b(p, 10) <= 0x03;
}

/** /^[sS][sS][hH]-[12]\./ */
function sshBanner(p: usize, n: u32): bool {
  return atNoCase(p, n, 0, "ssh-") && n >= 6 && (b(p, 4) == 0x31 || b(p, 4) == 0x32) && b(p, 5) == 0x2E;
}

/**
 * Positions where `(|.*[\n\r])` lets a pattern start: 0 and after every CR or LF. Returns the next
 * such position at or after `from`, or n.
 */
function nextLineStart(p: usize, n: u32, from: u32): u32 {
  if (from == 0) return 0;
  for (let i = from; i < n; i++) if (isLineEnd(b(p, i - 1))) return i;
  return n;
}

/** /(|.*[\n\r])[[:space:]]*([hH][eE][lL][oO]|[eE][hH][lL][oO])/ */
function smtpHelo(p: usize, n: u32): bool {
  for (let s = nextLineStart(p, n, 0); s < n; s = nextLineStart(p, n, s + 1)) {
    const i = skipSpaces(p, n, s);
    if (atNoCase(p, n, i, "helo") || atNoCase(p, n, i, "ehlo")) return true;
  }
  return false;
}

/** /^[[:space:]]*220[[:space:]-]/ */
function smtp220(p: usize, n: u32): bool {
  const i = skipSpaces(p, n, 0);
  return at(p, n, i, "220") && i + 3 < n && (isSpace(b(p, i + 3)) || b(p, i + 3) == 0x2D);
}

/** /(|.*[\n\r]) *[uU][sS][eE][rR] / */
function ftpUser(p: usize, n: u32): bool {
  for (let s = nextLineStart(p, n, 0); s < n; s = nextLineStart(p, n, s + 1)) {
    let i = s;
    while (i < n && b(p, i) == 0x20) i++;
    if (atNoCase(p, n, i, "user ")) return true;
  }
  return false;
}

/**
 * dpd_ftp_server is /[\n\r ]*(120|220)[^0-9].*[\n\r] *(230|331)[^0-9]/: the greeting, then the
 * login reply to USER. The reply is in a later segment, so only the greeting is matched here; the
 * signature also requires the client's USER (dpd_ftp_client), which keeps SMTP's 220 apart.
 */
function ftpGreeting(p: usize, n: u32): bool {
  let i: u32 = 0;
  while (i < n && (isLineEnd(b(p, i)) || b(p, i) == 0x20)) i++;
  return (at(p, n, i, "120") || at(p, n, i, "220")) && i + 3 < n && !isDigit(b(p, i + 3));
}

/** /(|.*[\r\n])[[:space:]]*(user[[:space:]]|apop[[:space:]]|capa|auth|stls)/ (case-insensitive words) */
function pop3Command(p: usize, n: u32): bool {
  for (let s = nextLineStart(p, n, 0); s < n; s = nextLineStart(p, n, s + 1)) {
    const i = skipSpaces(p, n, s);
    if ((atNoCase(p, n, i, "user") || atNoCase(p, n, i, "apop")) && i + 4 < n && isSpace(b(p, i + 4))) return true;
    if (atNoCase(p, n, i, "capa") || atNoCase(p, n, i, "auth") || atNoCase(p, n, i, "stls")) return true;
  }
  return false;
}

/** /^\+OK/ */
@inline function pop3Ok(p: usize, n: u32): bool { return at(p, n, 0, "+OK"); }

/** A line ` *WORD +.+` ending in CR/LF starting at s; returns the index after the line end, or 0. */
function ircLine(p: usize, n: u32, s: u32, word: string): u32 {
  let i = s;
  while (i < n && b(p, i) == 0x20) i++;
  if (!atNoCase(p, n, i, word)) return 0;
  i += <u32>word.length;
  const spaces = i;
  while (i < n && b(p, i) == 0x20) i++;
  if (i == spaces) return 0;
  const text = i;
  while (i < n && !isLineEnd(b(p, i))) i++;
  if (i == text || i >= n) return 0;
  return i + 1;
}

/**
 * irc_client1 /(|.*[\r\n]) *USER +.+[\n\r]+ *NICK +.*[\r\n]/ and irc_client2 (NICK, then USER),
 * words case-insensitive: two consecutive lines.
 */
function ircClient(p: usize, n: u32): bool {
  for (let s = nextLineStart(p, n, 0); s < n; s = nextLineStart(p, n, s + 1)) {
    for (let k = 0; k < 2; k++) {
      let e = ircLine(p, n, s, k == 0 ? "user" : "nick");
      if (e == 0) continue;
      while (e < n && isLineEnd(b(p, e))) e++;
      let i = e;
      while (i < n && b(p, i) == 0x20) i++;
      if (!atNoCase(p, n, i, k == 0 ? "nick" : "user")) continue;
      i += 4;
      if (i >= n || b(p, i) != 0x20) continue;
      while (i < n && !isLineEnd(b(p, i))) i++;
      if (i < n) return true;
    }
  }
  return false;
}

/** irc_server_reply: /^(|.*[\n\r])(:[^ \n\r]+ )?[0-9][0-9][0-9] / */
function ircReply(p: usize, n: u32): bool {
  for (let s = nextLineStart(p, n, 0); s < n; s = nextLineStart(p, n, s + 1)) {
    let i = s;
    if (b(p, i) == 0x3A) {
      const prefix = i + 1;
      i = prefix;
      while (i < n && b(p, i) != 0x20 && !isLineEnd(b(p, i))) i++;
      if (i == prefix || i >= n || b(p, i) != 0x20) { i = s; } else i++;
    }
    if (i + 4 <= n && isDigit(b(p, i)) && isDigit(b(p, i + 1)) && isDigit(b(p, i + 2)) && b(p, i + 3) == 0x20) return true;
    // Without the optional prefix, the digits must start the line.
    if (i != s && s + 4 <= n && isDigit(b(p, s)) && isDigit(b(p, s + 1)) && isDigit(b(p, s + 2)) && b(p, s + 3) == 0x20) return true;
  }
  return false;
}

/** dpd_xmpp: /^(<\?xml[^?>]*\?>)?[\n\r ]*<stream:stream [^>]*xmlns='jabber:/ */
function xmppStream(p: usize, n: u32): bool {
  let i: u32 = 0;
  if (at(p, n, 0, "<?xml")) {
    i = 5;
    while (i < n && b(p, i) != 0x3F && b(p, i) != 0x3E) i++;
    if (!at(p, n, i, "?>")) return false;
    i += 2;
  }
  while (i < n && (isLineEnd(b(p, i)) || b(p, i) == 0x20)) i++;
  if (!at(p, n, i, "<stream:stream ")) return false;
  for (i += 15; i < n && b(p, i) != 0x3E; i++) if (at(p, n, i, "xmlns='jabber:")) return true;
  return false;
}

/** dpd_rdp_client: /.*(Cookie: mstshash\=|Duca.*(rdpdr|rdpsnd|drdynvc|cliprdr))/ */
function rdpClient(p: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) {
    if (at(p, n, i, "Cookie: mstshash=")) return true;
    if (at(p, n, i, "Duca")) {
      for (let j = i + 4; j < n; j++) {
        if (at(p, n, j, "rdpdr") || at(p, n, j, "rdpsnd") || at(p, n, j, "drdynvc") || at(p, n, j, "cliprdr")) return true;
      }
      return false;
    }
  }
  return false;
}

/** dpd_rdp_server: /(.{5}\xd0|.*McDn)/ (the X.224 connection confirm, or an MCS connect response). */
function rdpServer(p: usize, n: u32): bool {
  if (n >= 6 && b(p, 5) == 0xD0) return true;
  for (let i: u32 = 0; i + 4 <= n; i++) if (at(p, n, i, "McDn")) return true;
  return false;
}

/** A line ending in CRLF: resp-client's /^.*\r\n/. */
function crlfLine(p: usize, n: u32): bool {
  for (let i: u32 = 1; i < n; i++) if (b(p, i - 1) == 0x0D && b(p, i) == 0x0A) return true;
  return false;
}

/**
 * resp-client is any CRLF line, which every line protocol's client sends (POP3's USER, SMTP's EHLO),
 * and Zeek's Redis analyzer then has to confirm. Without an analyzer, flowrecon asks for what a
 * Redis client sends: a RESP array of bulk strings (`*<n>\r\n$`), or any line on Redis's port
 * 6379 (Zeek's register_for_ports), checked in serviceOf().
 */
function redisClient(p: usize, n: u32): bool {
  if (n < 4 || b(p, 0) != 0x2A || !isDigit(b(p, 1))) return false;
  let i: u32 = 1;
  while (i < n && isDigit(b(p, i))) i++;
  return i + 2 < n && b(p, i) == 0x0D && b(p, i + 1) == 0x0A && b(p, i + 2) == 0x24;
}

/** resp-serialized-server: /^([-+_,].*\r\n|[:$*#(!=%`~>][+-]?[0-9]+(\.[0-9]*)?\r\n)/ */
function redisReply(p: usize, n: u32): bool {
  if (n < 3) return false;
  const c = b(p, 0);
  if (c == 0x2D || c == 0x2B || c == 0x5F || c == 0x2C) return crlfLine(p, n);
  if (c != 0x3A && c != 0x24 && c != 0x2A && c != 0x23 && c != 0x28 && c != 0x21 && c != 0x3D && c != 0x25 && c != 0x60 && c != 0x7E && c != 0x3E) return false;
  let i: u32 = 1;
  if (b(p, i) == 0x2B || b(p, i) == 0x2D) i++;
  const digits = i;
  while (i < n && isDigit(b(p, i))) i++;
  if (i == digits) return false;
  if (i < n && b(p, i) == 0x2E) { i++; while (i < n && isDigit(b(p, i))) i++; }
  return i + 1 < n && b(p, i) == 0x0D && b(p, i + 1) == 0x0A;
}

/** A MySQL server greeting: 3-byte length, sequence 0, protocol version 10, within the segment. */
function mysqlGreeting(p: usize, n: u32): bool {
  if (n < 5) return false;
  const len = b(p, 0) | (b(p, 1) << 8) | (b(p, 2) << 16);
  return len >= 1 && len + 4 <= n && b(p, 3) == 0 && b(p, 4) == 0x0A;
}

/** A DNS message over TCP (RFC 1035 §4.2.2): 2-byte length, a 12-byte header, one question or more. */
function dnsMessage(p: usize, n: u32): bool {
  if (n < 14) return false;
  const len = (b(p, 0) << 8) | b(p, 1);
  const opcode = (b(p, 4) >> 3) & 0x0F;
  const qdcount = (b(p, 6) << 8) | b(p, 7);
  return len >= 12 && opcode <= 6 && qdcount >= 1 && qdcount <= 16;
}

/**
 * Matches the segment that starts one side's stream: `ep` that side's endpoint block (`side` 0 for
 * the originator, 1 for the responder), `p`/`cap` its captured payload, `len` its payload length on
 * the wire. Only the first call per side counts.
 */
export function scanService(ep: usize, side: usize, p: usize, cap: u32, len: u32): void {
  const f2 = load<u8>(ep + EP_FLAGS2);
  if ((f2 & EF2_SIG_DONE) != 0) return;
  if (cap < len || p == 0) {
    store<u8>(ep + EP_FLAGS2, f2 | EF2_SIG_DONE | EF2_SIG_CUT);
    return;
  }
  store<u8>(ep + EP_FLAGS2, f2 | EF2_SIG_DONE);
  const n = cap < MAX_SCAN ? cap : MAX_SCAN;
  let s: u32 = 0;
  if (httpRequest(p, n)) s |= SIG_HTTP_REQUEST;
  if (atNoCase(p, n, 0, "http/") && n > 5 && isDigit(b(p, 5))) s |= SIG_HTTP_REPLY;
  if (tlsClientHello(p, n)) s |= SIG_TLS_CLIENT;
  if (tlsServerHello(p, n)) s |= SIG_TLS_SERVER;
  if (sshBanner(p, n)) s |= SIG_SSH;
  if (smtpHelo(p, n)) s |= SIG_SMTP_HELO;
  if (smtp220(p, n)) s |= SIG_SMTP_220;
  if (ftpUser(p, n)) s |= SIG_FTP_USER;
  if (ftpGreeting(p, n)) s |= SIG_FTP_GREETING;
  if (pop3Command(p, n)) s |= SIG_POP3_COMMAND;
  if (pop3Ok(p, n)) s |= SIG_POP3_OK;
  if (ircClient(p, n)) s |= SIG_IRC_CLIENT;
  if (ircReply(p, n)) s |= SIG_IRC_REPLY;
  if (xmppStream(p, n)) s |= SIG_XMPP;
  if (rdpClient(p, n)) s |= SIG_RDP_CLIENT;
  if (rdpServer(p, n)) s |= SIG_RDP_SERVER;
  let s2: u32 = 0;
  if (redisClient(p, n)) s2 |= SIG2_REDIS_CLIENT;
  if (crlfLine(p, n)) s2 |= SIG2_LINE;
  if (n >= 3 && b(p, 0) - 0x14 < 4 && b(p, 1) == 0x03 && b(p, 2) <= 0x04) s2 |= SIG2_TLS_RECORD;
  if (redisReply(p, n)) s2 |= SIG2_REDIS_REPLY;
  if (mysqlGreeting(p, n)) s2 |= SIG2_MYSQL_GREETING;
  if (dnsMessage(p, n)) s2 |= SIG2_DNS_MESSAGE;
  if ((s | s2) == 0) return;
  const ext = currentExt();
  store<u16>(ext + <usize>X_SIGS + (side << 1), <u16>s);
  store<u8>(ext + <usize>X_SIGS2 + side, <u8>s2);
}

/**
 * The connection's service from both sides' signatures, in the order of the Service enum (the
 * first that holds wins). None when either side's first segment was cut by the snaplen.
 */
export function serviceOf(rec: usize, ext: usize): Service {
  const o = rec + <usize>FR_ORIG, r = rec + <usize>FR_RESP;
  const of2 = load<u8>(o + EP_FLAGS2), rf2 = load<u8>(r + EP_FLAGS2);
  if (((of2 | rf2) & EF2_SIG_CUT) != 0) return Service.None;
  // Zeek's signatures read a stream from its start: a connection picked up in the middle, without
  // a SYN from either side, gets none (corpus: wikipedia-default's DdA, tcp-retransmit-timeout's
  // Da, ssh-basic's DaFfA), while one whose SYN-ACK was seen does (tcp-flip-without-syn: http).
  if (((load<u8>(o + EP_FLAGS) | load<u8>(r + EP_FLAGS)) & EF_SYN_SEEN) == 0) return Service.None;
  if (ext == 0) return Service.None; // no side matched a signature
  const os = <u32>load<u16>(ext + <usize>X_SIGS), rs = <u32>load<u16>(ext + <usize>X_SIGS + 2);
  const os2 = <u32>load<u8>(ext + <usize>X_SIGS2), rs2 = <u32>load<u8>(ext + <usize>X_SIGS2 + 1);
  // dpd_http_client / dpd_http_server match each side alone (zeek#343), and the HTTP analyzer
  // confirms on a request; but a peer that then speaks another protocol is a protocol violation,
  // and Zeek removes the service (corpus http-to-ssh-rstr: a request answered by an SSH banner).
  // A reply that matches nothing is no violation (vlan-mpls: an HTTP/0.9 answer, no status line).
  if (agrees(os, rs, SIG_HTTP_REQUEST, SIG_HTTP_REPLY)) return Service.Http;
  // TLS: anything but a TLS record from the other side is a violation (corpus https-to-http-rsto:
  // a ClientHello answered by an HTML page; modbus-502-mixed: one answered by an odd TLS record is not).
  const oOk = (of2 & EF2_SIG_DONE) == 0 || (os2 & SIG2_TLS_RECORD) != 0;
  const rOk = (rf2 & EF2_SIG_DONE) == 0 || (rs2 & SIG2_TLS_RECORD) != 0;
  const tlsOrig = (os & SIG_TLS_CLIENT) != 0, tlsResp = (rs & SIG_TLS_SERVER) != 0;
  if ((tlsOrig || tlsResp) && (tlsOrig || oOk) && (tlsResp || rOk)) return Service.Ssl;
  // requires-reverse-signature: both sides.
  if ((os & SIG_SSH) != 0 && (rs & SIG_SSH) != 0) return Service.Ssh;
  if ((os & SIG_SMTP_HELO) != 0 && (rs & SIG_SMTP_220) != 0) return Service.Smtp;
  if ((os & SIG_FTP_USER) != 0 && (rs & SIG_FTP_GREETING) != 0) return Service.Ftp;
  if ((os & SIG_POP3_COMMAND) != 0 && (rs & SIG_POP3_OK) != 0) return Service.Pop3;
  if ((os & SIG_IRC_CLIENT) != 0 && (rs & SIG_IRC_REPLY) != 0) return Service.Irc;
  // dpd_xmpp has no tcp-state: either side.
  if (((os | rs) & SIG_XMPP) != 0) return Service.Xmpp;
  if ((os & SIG_RDP_CLIENT) != 0 && (rs & SIG_RDP_SERVER) != 0) return Service.Rdp;
  const port = <u32>load<u16>(rec + FR_RESP_PORT);
  if ((port == PORT_MYSQL || port == PORT_MYSQL_ALT) && (rs2 & SIG2_MYSQL_GREETING) != 0) return Service.Mysql;
  if (port == PORT_DNS && (os2 & SIG2_DNS_MESSAGE) != 0) return Service.Dns;
  // Last, and narrowed (redisClient): the reply pattern matches POP3's +OK and other line protocols.
  const redisClientSeen = (os2 & SIG2_REDIS_CLIENT) != 0 || (port == PORT_REDIS && (os2 & SIG2_LINE) != 0);
  if (redisClientSeen && (rs2 & SIG2_REDIS_REPLY) != 0) return Service.Redis;
  return Service.None;
}

/**
 * A one-sided signature pair (either side may match alone) that the other side does not
 * contradict: at least one side matched, and neither side matched another protocol's signature
 * instead of its own.
 */
@inline function agrees(os: u32, rs: u32, origSig: u32, respSig: u32): bool {
  const o = (os & origSig) != 0, r = (rs & respSig) != 0;
  return (o || r) && (o || os == 0) && (r || rs == 0);
}
