// The SSRF guard. Health URLs come from repositories, so a repository must not be able to make the
// app probe its own network (the cloud metadata service, the store, an admin port on loopback).
// Only public addresses are reachable, plus the hosts the operator lists in `health.allow_hosts`.
//
// Two layers: `checkUrlStatically` refuses what is visible in the URL itself (scheme, credentials,
// a literal private IP), and `guardedLookup` is handed to http.request so the address checked is
// the address connected to: a name that resolves to a private IP (or starts to, DNS rebinding) is
// refused at connect time. Node connects to IP literals without calling `lookup`, which is why
// every URL (each redirect too) also goes through the static check.
import dns from "node:dns";
import net from "node:net";

export interface SsrfPolicy {
  /** Hostnames or IPs (exact, case-insensitive) that may be reached even if they are not public. */
  allowHosts: string[];
}

// IANA special-purpose ranges that are not globally reachable, with a word for the error message.
const IPV4_RANGES: Array<[string, number, string]> = [
  ["0.0.0.0", 8, '"this network"'],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "carrier-grade NAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignment"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"], // includes the broadcast address 255.255.255.255
];

const IPV6_RANGES: Array<[string, number, string]> = [
  ["::1", 128, "loopback"],
  ["::", 128, "unspecified"],
  ["64:ff9b:1::", 48, "local NAT64"],
  ["100::", 64, "discard-only"],
  ["2001:db8::", 32, "documentation"],
  ["2001::", 23, "IETF protocol assignment"], // Teredo, ORCHID, …: tunnels that hide the real target
  ["3fff::", 20, "documentation"],
  ["5f00::", 16, "segment routing"],
  ["fc00::", 7, "unique local (private)"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local"],
  ["ff00::", 8, "multicast"],
];

const ipv4Blocks = blockListOf(IPV4_RANGES, "ipv4");
const ipv6Blocks = blockListOf(IPV6_RANGES, "ipv6");
// Only 2000::/3 is allocated as global unicast; anything else (apart from the IPv4 embeddings
// handled first) is reserved.
const globalUnicast = blockListOf([["2000::", 3, "global unicast"]], "ipv6");

function blockListOf(ranges: Array<[string, number, string]>, family: "ipv4" | "ipv6"): Array<[net.BlockList, string]> {
  return ranges.map(([address, prefix, label]) => {
    const list = new net.BlockList();
    list.addSubnet(address, prefix, family);
    return [list, label];
  });
}

/**
 * Why an address is not public ("loopback", "private", …), or undefined when it is public.
 * Something that is not an IP address at all is "not an IP address".
 */
export function addressCategory(ip: string): string | undefined {
  const address = stripBrackets(ip).replace(/%.*$/, ""); // zone ids (fe80::1%eth0) say nothing about the range
  const family = net.isIP(address);
  if (family === 4) return ipv4Category(address);
  if (family === 6) return ipv6Category(address);
  return "not an IP address";
}

function ipv4Category(address: string): string | undefined {
  return ipv4Blocks.find(([list]) => list.check(address, "ipv4"))?.[1];
}

function ipv6Category(address: string): string | undefined {
  const embedded = embeddedIpv4(address);
  if (embedded) {
    const inner = ipv4Category(embedded);
    return inner && `${inner} (${embedded} inside IPv6)`;
  }
  const category = ipv6Blocks.find(([list]) => list.check(address, "ipv6"))?.[1];
  if (category) return category;
  return globalUnicast[0][0].check(address, "ipv6") ? undefined : "reserved";
}

/**
 * The IPv4 address an IPv6 address stands for, when it is one of the forms that reach IPv4:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
 */
function embeddedIpv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (!groups) return undefined;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  const lowTwo = () => toIpv4(groups[6], groups[7]);
  if (zeros(0, 5) && groups[5] === 0xffff) return lowTwo();
  if (zeros(0, 6) && (groups[6] !== 0 || groups[7] > 1)) return lowTwo(); // ::1 and :: are not IPv4
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return lowTwo();
  if (groups[0] === 0x2002) return toIpv4(groups[1], groups[2]);
  return undefined;
}

function toIpv4(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

/** The eight 16-bit groups of a valid IPv6 address (with or without a dotted IPv4 tail). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split(".").map(Number);
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const missing = 8 - left.length - right.length;
  const groups = tail === undefined ? left : [...left, ...new Array<number>(missing).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function normalizeHost(host: string): string {
  return stripBrackets(host.trim().toLowerCase()).replace(/\.$/, "");
}

/** Whether the operator allowed this host (a name or an IP, compared exactly, case-insensitively). */
export function isAllowedHost(host: string, policy: SsrfPolicy): boolean {
  const wanted = normalizeHost(host);
  return policy.allowHosts.some((allowed) => normalizeHost(allowed) === wanted);
}

const ALLOW_HINT = "add it to the server config's health.allow_hosts to probe it";

/**
 * What is wrong with a health URL before anything is resolved or sent; undefined when it is fine.
 * Used when a config is read (to report the mistake on the commit) and again for every redirect.
 */
export function checkUrlStatically(url: string, policy: SsrfPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "invalid URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return `only http and https URLs can be probed, not ${parsed.protocol.replace(/:$/, "")}`;
  }
  if (parsed.username || parsed.password) return "credentials in the URL are not allowed (they would be logged and stored)";
  const host = normalizeHost(parsed.hostname);
  if (!host) return "invalid URL";
  if (isAllowedHost(host, policy)) return undefined;
  if (net.isIP(host)) {
    const category = addressCategory(host);
    if (category) return `${host} is not a public address (${category}); ${ALLOW_HINT}`;
  }
  return undefined;
}

/** The error a refused connection fails with; `code` lets callers tell it from network errors. */
export class SsrfRefusedError extends Error {
  readonly code = "ESSRFREFUSED";
  constructor(message: string) {
    super(message);
    this.name = "SsrfRefusedError";
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request: resolves like the default, then refuses the connection when any
 * address of a host that is not allowed is not public (a name that answers with one public and one
 * private address could otherwise be steered to the private one).
 */
export function guardedLookup(policy: SsrfPolicy): net.LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, options.all ? [] : "");
      const refusal = refusalFor(hostname, addresses, policy);
      if (refusal) return callback(refusal, options.all ? [] : "");
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      callback(null, first.address, first.family);
    });
  }) as net.LookupFunction;
}

function refusalFor(hostname: string, addresses: dns.LookupAddress[], policy: SsrfPolicy): SsrfRefusedError | undefined {
  if (isAllowedHost(hostname, policy)) return undefined;
  if (addresses.length === 0) return new SsrfRefusedError(`${hostname} resolved to no address`);
  for (const { address } of addresses) {
    const category = addressCategory(address);
    if (category) return new SsrfRefusedError(`refused: ${hostname} resolves to ${address}, which is not a public address (${category}); ${ALLOW_HINT}`);
  }
  return undefined;
}
