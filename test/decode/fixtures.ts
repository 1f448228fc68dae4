// Real frames lifted from the Zeek corpus (shared/corpus/zeek), as hex. The expected field values
// next to each were read with tshark 4.0.17 (an independent decoder), not with our own.

import { hex } from "./wasm-harness.js";

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW12: 12,
  RAW14: 14,
  RAW: 101,
  LOOP: 108,
  SLL: 113,
  IPV4: 228,
  IPV6: 229,
  SLL2: 276,
} as const;

/** ssh-basic.pcap frame 1: Ethernet, IPv4, TCP SYN with MSS, NOP, WS, NOP, NOP, TS, SACK-permitted. */
export const ETH_IPV4_SYN = hex(`
d8 30 62 48 c5 b5 c4 2c 03 3b 6c aa 08 00 45 00
00 40 4b 27 40 00 40 06 94 f9 c0 a8 01 4f 83 9f
15 01 ca a8 00 16 a4 44 82 cb 00 00 00 00 b0 02
ff ff 87 04 00 00 02 04 05 b4 01 03 03 03 01 01
08 0a 11 f4 51 a0 00 00 00 00 04 02 00 00`);

/** ssh-basic.pcap frame 89: Ethernet, IPv4, TCP ACK with NOP, NOP, TS, NOP, NOP, SACK(1 block). */
export const ETH_IPV4_SACK = hex(`
00 24 1d 84 7e 79 44 32 c8 d1 f6 b7 08 00 45 20
00 40 e0 81 40 00 33 06 d6 aa 80 02 06 58 0a 00
00 12 a2 ac 9c f8 da f9 3c 3c 4a c3 a9 4c b0 10
00 d4 08 3c 00 00 01 01 08 0a 65 c8 d0 5e 01 74
3b c3 01 01 05 0a 4a c3 a9 ac 4a c3 a9 ad`);

/** vlan-mpls.pcap frame 1: Ethernet, MPLS (one label, bottom of stack), IPv4, TCP SYN with MSS. */
export const ETH_MPLS_SYN = hex(`
00 30 96 e6 fc 39 00 30 96 05 28 38 88 47 00 01
dd ff 45 c0 00 2c 00 00 00 00 ff 06 a4 e7 0a 01
02 01 0a 22 00 01 2a f9 00 17 98 32 0f fb 00 00
00 00 60 02 10 20 a2 40 00 00 02 04 02 18`);

/** vlan-mpls.pcap frame 34: Ethernet, 802.1Q VLAN 4093, IPv4 (60 bytes), TCP SYN; 26 trailer bytes. */
export const ETH_VLAN_SYN = hex(`
00 10 f3 02 1c 00 00 01 d7 7e cc 05 81 00 0f fd
08 00 45 00 00 3c 02 c5 40 00 ff 06 14 d3 0a 14
50 01 0a 00 00 0f c4 a7 00 50 f3 74 ec be 00 00
00 00 a0 02 16 80 86 a3 00 00 02 04 05 a0 04 02
08 0a b2 8b ef 15 00 00 00 00 01 03 03 07 01 14
00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00`);

/** pppoe-qinq-rxmit.pcap frame 1: Ethernet, VLAN 3704, VLAN 2474, PPPoE session, PPP IPv4, TCP SYN. */
export const ETH_QINQ_PPPOE_SYN = hex(`
00 00 00 00 00 01 00 00 00 00 00 00 81 00 0e 78
81 00 09 aa 88 64 11 00 0f 07 00 42 00 21 45 00
00 40 00 00 40 00 3f 06 35 b3 01 01 01 01 02 02
02 02 4f aa 01 bb d7 a8 41 55 00 00 00 00 b0 02
ff ff ec ed 00 00 02 04 05 a0 01 03 03 06 01 01
08 0a 01 2d d8 8c 00 00 00 00 04 02 00 00`);

/** cisco-fabricpath-syn-retx.pcap frame 34: FabricPath header, inner Ethernet, IPv4, TCP SYN (crafted seq 0). */
export const FABRICPATH_IPV4_SYN = hex(`
15 e9 fd 9c 81 00 42 4f cb 82 ac 6a 89 03 00 00
99 98 cf 73 89 eb 82 90 70 bf 47 a7 08 00 45 00
00 28 00 01 00 00 40 06 74 c5 01 01 01 06 02 02
02 02 de ad be ef 00 00 00 00 00 00 00 00 50 02
20 00 ec 3a 00 00`);

/** cisco-fabricpath-syn-retx.pcap frame 50: FabricPath header, inner Ethernet, IPv6, TCP SYN. */
export const FABRICPATH_IPV6_SYN = hex(`
d7 c6 ac 74 67 00 c4 68 06 83 a1 5b 89 03 00 00
b9 42 20 6f 55 a2 b0 b0 ba 53 c5 43 86 dd 60 00
00 00 00 14 06 40 12 34 00 00 00 00 00 00 00 00
00 00 00 00 00 0e 56 78 00 00 00 00 00 00 00 00
00 00 00 00 00 00 de ad be ef 00 00 00 00 00 00
00 00 50 02 20 00 89 8b 00 00`);

/** irc-starttls-fin-then-rst.pcap frame 1: Linux cooked capture (SLL), IPv4, TCP SYN. */
export const SLL_IPV4_SYN = hex(`
00 04 00 01 00 06 34 e6 d7 12 1e b1 00 00 08 00
45 00 00 3c 9c c4 40 00 40 06 24 7c cb 8f a8 2f
b9 12 4c aa d7 53 1a 0b 43 5b 2f af 00 00 00 00
a0 02 72 10 79 aa 00 00 02 04 05 b4 04 02 08 0a
00 33 b3 6b 00 00 00 00 01 03 03 07`);

/** http-connect-s1.pcap frame 1: BSD loopback (NULL, family 30 little-endian), IPv6 ::1, TCP SYN. */
export const NULL_IPV6_SYN = hex(`
1e 00 00 00 60 00 d0 8d 00 2c 06 40 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 01 cd 2a 00 50
4e c8 52 bd 00 00 00 00 b0 02 ff ff 00 34 00 00
02 04 3f c4 01 03 03 05 01 01 08 0a 49 b8 86 85
00 00 00 00 04 02 00 00`);

/** ftp-ipv6.pcap frame 1: Ethernet, IPv6, TCP SYN. */
export const ETH_IPV6_SYN = hex(`
d8 30 62 48 c5 b5 c4 2c 03 3b 6c aa 86 dd 60 00
00 00 00 2c 06 40 20 01 04 70 1f 11 08 1f c9 99
0d 94 aa 7c 2e 3e 20 01 04 70 48 67 00 99 00 00
00 00 00 00 00 21 c0 21 00 15 26 8a 7e 5f 00 00
00 00 b0 02 ff ff 44 89 00 00 02 04 05 a0 01 03
03 01 01 01 08 0a 3a 01 ea 4e 00 00 00 00 04 02
00 00`);

/** tcp-ethernet-padding.pcap frame 6: IPv4 total length 53 in a 69-byte frame (2 padding bytes), 1 payload byte. */
export const ETH_IPV4_PADDED = hex(`
4c d9 8f 8b 40 75 18 2a d3 2f 15 f0 08 00 45 00
00 35 00 00 40 00 32 06 09 22 a7 dd 1e b5 d9 cf
9f 3f e8 0e 6a 88 53 23 ca 3f a1 5a 58 ce 80 18
08 16 87 98 00 00 01 01 08 0a bb fd ff 60 f3 e0
49 01 45 ff ff`);

/** teredo-ipv6.pcap frame 34: IPv4, UDP 3797 -> 32900 (Teredo found by detection), IPv6, TCP SYN. */
export const TEREDO_SYN = hex(`
00 1d 5a dc cf f1 00 16 cf 41 9c 20 08 00 45 00
00 5c 87 de 00 00 80 11 9b 2a c0 a8 02 10 53 aa
01 26 0e d5 80 84 00 48 f2 01 60 00 00 00 00 18
06 80 20 01 00 00 41 37 9e 50 80 00 f1 2a b9 c8
28 15 20 01 48 60 00 00 20 01 00 00 00 00 00 00
00 68 05 06 00 50 7c 7b 6b 46 00 00 00 00 60 02
40 00 90 a2 00 00 02 04 04 c4`);

/** gtp-s3.pcap frame 1: IPv4, UDP 5906 -> 2152, GTPv1-U G-PDU (optional fields), IPv4, TCP SYN. */
export const GTP_SYN = hex(`
00 00 0c 07 ac e8 88 e0 f3 c8 bf f0 08 00 45 00
00 58 a5 e2 00 00 3f 11 77 75 a7 37 69 f4 cf e9
7d 28 17 12 08 68 00 44 35 ae 30 ff 00 34 9e 40
ba 4f 45 00 00 34 35 31 40 00 80 06 87 f6 0a 83
11 aa ad c7 73 a8 ca 5b 00 50 e8 ef 28 1f 00 00
00 00 80 02 20 00 35 bf 00 00 02 04 05 b4 01 03
03 02 01 01 04 02`);

/** ayiya-ipv6.pcap frame 12: IPv4, UDP 53859 -> 5072, AYIYA (16-byte identity, 20-byte signature), IPv6, TCP SYN. */
export const AYIYA_SYN = hex(`
00 06 25 59 a2 20 00 17 f2 4c 7a 35 08 00 45 00
00 9c 45 57 00 00 40 11 36 c8 c0 a8 03 65 d8 0e
62 16 d2 63 13 d0 00 88 a2 0e 41 52 11 29 4a f6
4c 05 20 01 49 78 00 0f 00 4c 00 00 00 00 00 00
00 02 72 da 85 ee 36 65 32 8a 9e 17 c1 f4 ef b6
bb f0 34 21 1d 54 60 00 00 00 00 2c 06 40 20 01
49 78 00 0f 00 4c 00 00 00 00 00 00 00 02 20 01
48 60 b0 02 00 00 00 00 00 00 00 00 00 68 d0 86
00 50 5b 2a be 49 00 00 00 00 b0 02 ff ff 6e 53
00 00 02 04 04 c4 01 03 03 01 01 01 08 0a 3a a0
22 11 00 00 00 00 04 02 00 00`);
