// Zeek's Site::is_local_addr for the local_orig/local_resp columns (fields.ts), over the networks
// the host installed (abi.ts fmtLocalNets, built by src/net/local-nets.ts from `--local-nets`):
// IPv4 networks as (net, mask) word pairs compared against a v4-mapped address's last word, the
// others as four address words then four mask words. Words are in host order of the big-endian
// address bytes, as LocalNets keeps them.

import { isV4Mapped } from "./text";
import { S_NETS, S_NETS_V4, S_NETS_V6 } from "./state";

@inline function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

/** Whether the 16-byte address at `a` is in one of the networks. */
export function containsLocal(s: usize, a: usize): bool {
  const nets = <usize>load<u32>(s + S_NETS);
  const n4 = <usize>load<u32>(s + S_NETS_V4);
  const n6 = <usize>load<u32>(s + S_NETS_V6);
  if (isV4Mapped(a)) {
    const w = be32(a + 12);
    for (let i: usize = 0; i < n4; i++) {
      const e = nets + (i << 3);
      if ((w & load<u32>(e, 4)) == load<u32>(e)) return true;
    }
  }
  if (n6 == 0) return false;
  const w0 = be32(a), w1 = be32(a + 4), w2 = be32(a + 8), w3 = be32(a + 12);
  const v6 = nets + (n4 << 3);
  for (let i: usize = 0; i < n6; i++) {
    const e = v6 + (i << 5);
    if ((w0 & load<u32>(e, 16)) == load<u32>(e) && (w1 & load<u32>(e, 20)) == load<u32>(e, 4) &&
      (w2 & load<u32>(e, 24)) == load<u32>(e, 8) && (w3 & load<u32>(e, 28)) == load<u32>(e, 12)) return true;
  }
  return false;
}
