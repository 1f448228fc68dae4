// Framing check: the capture readers walk a batch on a copy of their state and deliver no frame, so
// the host learns the first container error the batch would hit (same code, stream offset and record
// number as decoding it) before the engine tracks a byte of it. A session batch is then accepted or
// rejected whole without a second container parser on the host.
//
// Protocol (assembly/index.ts): checkBegin(); feed() the batch exactly as for decoding (the host
// keeps its window and tail as usual); read errCode()/errOffset()/errRecord(); checkEnd(). checkEnd()
// puts back everything the walk changed: the whole state block (reader, pcap, pcapng, error; the
// check flag itself), the counters and the pcapng interface table. Nothing else changes, because
// deliverFrame() returns at once while checking: no decoding, no tracking, no allocation.

import { STATE, STATE_SIZE, READER } from "../state";
import { STATS, Stat } from "../stats";
import { IFACES, IFACES_SIZE } from "./pcapng";

const SAVED_STATE: usize = memory.data(<i32>STATE_SIZE, 16);
const SAVED_STATS: usize = memory.data(<i32>Stat.Count * 8, 16);
const SAVED_IFACES: usize = memory.data(<i32>IFACES_SIZE, 16);

export function checkBegin(): void {
  memory.copy(SAVED_STATE, STATE, STATE_SIZE);
  memory.copy(SAVED_STATS, STATS, <usize>Stat.Count * 8);
  memory.copy(SAVED_IFACES, IFACES, IFACES_SIZE);
  READER.checkOnly = true;
}

export function checkEnd(): void {
  memory.copy(STATE, SAVED_STATE, STATE_SIZE);
  memory.copy(STATS, SAVED_STATS, <usize>Stat.Count * 8);
  memory.copy(IFACES, SAVED_IFACES, IFACES_SIZE);
}
