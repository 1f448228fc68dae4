// TEMPORARY skeleton so the module compiles while the decoders are written; replaced by the real one.
export function readerReset(): void {}
export function feedCapture(ptr: usize, len: i32, eof: bool): i32 { return len; }
export function decodeFrame(linktype: i32, ptr: usize, caplen: i32, wirelen: i32, tsUs: i64): i32 { return -1; }
