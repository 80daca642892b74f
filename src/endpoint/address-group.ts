// The key a client address is throttled under: an IPv4 address as it is, an IPv6 address by its network prefix.
import { isIPv6 } from 'node:net';

/**
 * An IPv6 client usually holds a whole /64 (and can pick any address in it), so counting per address would give
 * it 2^64 budgets. IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is the IPv4 address. Anything else is used as it is.
 */
export function addressGroup(address: string, ipv6PrefixBits: number): string {
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  let key = '';
  let bits = ipv6PrefixBits;
  for (const group of groups) {
    if (bits <= 0) break;
    const kept = bits >= 16 ? group : group & (0xffff << (16 - bits)) & 0xffff;
    key += `${kept.toString(16)}:`;
    bits -= 16;
  }
  return `${key}:/${ipv6PrefixBits}`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 part converted). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0]!; // a zone index (fe80::1%eth0) names an interface, not part of the address
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined): number[] =>
    part ? part.split(':').map((group) => parseInt(group, 16)) : [];
  const front = parse(head);
  const back = parse(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...zeros, ...back];
}
