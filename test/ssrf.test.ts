// The SSRF guard: the address table, the config-time URL check, and the guard at connect time,
// against real servers on loopback (which is exactly what a repository must not reach by default).
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { probeHttp } from "../src/health/http-probe.js";
import { addressCategory, checkUrlStatically, guardedLookup, type SsrfPolicy } from "../src/health/ssrf.js";

const NOBODY: SsrfPolicy = { allowHosts: [] };

async function startServer(host = "127.0.0.1"): Promise<{ port: number; close(): void }> {
  const server = http.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe("addressCategory", () => {
  const notPublic = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.255",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.0.8",
    "192.0.2.10",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "192.88.99.1",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "febf::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:192.168.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "64:ff9b::10.0.0.1",
    "64:ff9b:1::1",
    "2002:7f00:1::",
    "2002:c0a8:101::1",
    "100::1",
    "2001::1",
    "3fff::1",
    "5f00::1",
    "[::1]",
    "1::",
    "4000::1",
    "not-an-ip",
    "",
    "example.com",
    "1.2.3",
    "256.1.1.1",
  ];
  const isPublic = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "172.15.255.255",
    "172.32.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "192.169.0.1",
    "11.0.0.1",
    "223.255.255.255",
    "198.20.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
    "2a00:1450::1",
  ];
  for (const ip of notPublic) test(`${JSON.stringify(ip)} is not public`, () => assert.notEqual(addressCategory(ip), undefined));
  for (const ip of isPublic) test(`${ip} is public`, () => assert.equal(addressCategory(ip), undefined));
});

describe("checkUrlStatically", () => {
  const cases: Array<[string, RegExp | undefined]> = [
    ["https://example.org/health", undefined],
    ["http://93.184.216.34:8080/", undefined],
    ["not a url", /^invalid URL$/],
    ["ftp://example.org/", /only http and https.*not ftp/],
    ["file:///etc/passwd", /only http and https.*not file/],
    ["javascript:alert(1)", /only http and https/],
    ["https://user:secret@example.org/", /credentials in the URL are not allowed/],
    ["https://token@example.org/", /credentials/],
    ["http://127.0.0.1:5432/", /127\.0\.0\.1 is not a public address \(loopback\).*allow_hosts/],
    ["http://169.254.169.254/latest/meta-data/", /169\.254\.169\.254 is not a public address \(link-local\)/],
    ["http://10.1.2.3/", /private/],
    ["http://[::1]:8080/", /::1 is not a public address \(loopback\)/],
    ["http://[::ffff:127.0.0.1]/", /loopback/],
    ["http://[fd00::1]/", /unique local/],
    ["http://0x7f.1/", /127\.0\.0\.1 is not a public address/], // WHATWG URL normalizes odd IPv4 spellings
    ["http://2130706433/", /127\.0\.0\.1/],
    // A name is judged by what it resolves to, at connect time (guardedLookup), not by its spelling.
    ["http://localhost:3000/", undefined],
  ];
  for (const [url, expected] of cases) {
    test(url, () => {
      const message = checkUrlStatically(url, NOBODY);
      if (expected === undefined) assert.equal(message, undefined);
      else assert.match(message ?? "(none)", expected);
    });
  }

  test("allowed hosts pass, compared case-insensitively, IPv6 with or without brackets", () => {
    assert.equal(checkUrlStatically("http://127.0.0.1:1/", { allowHosts: ["127.0.0.1"] }), undefined);
    assert.equal(checkUrlStatically("http://LocalHost:1/", { allowHosts: ["localhost"] }), undefined);
    assert.equal(checkUrlStatically("http://[::1]:1/", { allowHosts: ["::1"] }), undefined);
    assert.equal(checkUrlStatically("http://[::1]:1/", { allowHosts: ["[::1]"] }), undefined);
    assert.match(checkUrlStatically("http://127.0.0.2/", { allowHosts: ["127.0.0.1"] }) ?? "", /not a public address/);
  });

  test("an allowed host still may not carry credentials or another scheme", () => {
    assert.match(checkUrlStatically("http://u:p@127.0.0.1/", { allowHosts: ["127.0.0.1"] }) ?? "", /credentials/);
    assert.match(checkUrlStatically("gopher://127.0.0.1/", { allowHosts: ["127.0.0.1"] }) ?? "", /only http/);
  });
});

describe("guardedLookup", () => {
  const lookup = (host: string, policy = NOBODY, all = false) =>
    new Promise<{ error: Error | null; address: unknown }>((resolve) => guardedLookup(policy)(host, { all }, (error, address) => resolve({ error, address })));

  test("refuses a name that resolves to loopback, with a message that says why", async () => {
    const { error } = await lookup("localhost");
    assert.match(error?.message ?? "", /refused: localhost resolves to (127\.0\.0\.1|::1), which is not a public address \(loopback\)/);
    assert.equal((error as { code?: string }).code, "ESSRFREFUSED");
  });

  test("lets an allowed name through, in both the single and the `all` form", async () => {
    const single = await lookup("localhost", { allowHosts: ["LOCALHOST"] });
    assert.equal(single.error, null);
    assert.match(String(single.address), /^(127\.0\.0\.1|::1)$/);
    const all = await lookup("localhost", { allowHosts: ["localhost"] }, true);
    assert.equal(all.error, null);
    assert.ok(Array.isArray(all.address) && all.address.length > 0);
  });

  test("passes the resolver's own error on", async () => {
    const { error } = await lookup("no-such-host.invalid");
    assert.ok(error);
    assert.doesNotMatch(error.message, /refused/);
  });
});

describe("probes through the guard", () => {
  const servers: Array<{ close(): void }> = [];
  after(() => servers.forEach((s) => s.close()));

  test("127.0.0.1 is refused unless allowed", async () => {
    const server = await startServer();
    servers.push(server);
    const url = `http://127.0.0.1:${server.port}/`;
    const refused = await probeHttp({ name: "loop", url }, { policy: NOBODY });
    assert.equal(refused.status, "unhealthy");
    assert.match(refused.error ?? "", /127\.0\.0\.1 is not a public address \(loopback\)/);
    assert.equal(refused.httpStatus, undefined);
    const allowed = await probeHttp({ name: "loop", url }, { policy: { allowHosts: ["127.0.0.1"] } });
    assert.equal(allowed.status, "healthy");
    assert.equal(allowed.httpStatus, 200);
  });

  test("localhost resolves to loopback and is refused unless allowed", async () => {
    const v4 = await startServer("127.0.0.1");
    servers.push(v4);
    const url = `http://localhost:${v4.port}/`;
    const refused = await probeHttp({ name: "lh", url }, { policy: NOBODY });
    assert.equal(refused.status, "unhealthy");
    assert.match(refused.error ?? "", /^refused: localhost resolves to 127\.0\.0\.1, which is not a public address \(loopback\)/);
    const allowed = await probeHttp({ name: "lh", url }, { policy: { allowHosts: ["localhost"] } });
    assert.equal(allowed.status, "healthy", allowed.error);
  });

  test("a name is checked after resolution, not by its spelling: localhost allowed by IP does not pass", async () => {
    const server = await startServer();
    servers.push(server);
    const result = await probeHttp({ name: "lh", url: `http://localhost:${server.port}/` }, { policy: { allowHosts: ["127.0.0.1"] } });
    assert.equal(result.status, "unhealthy");
    assert.match(result.error ?? "", /loopback/);
  });

  test("IPv6 loopback is refused unless allowed", async (t) => {
    let server: { port: number; close(): void };
    try {
      server = await startServer("::1");
    } catch {
      t.skip("no IPv6 loopback on this machine");
      return;
    }
    servers.push(server);
    const url = `http://[::1]:${server.port}/`;
    const refused = await probeHttp({ name: "v6", url }, { policy: NOBODY });
    assert.equal(refused.status, "unhealthy");
    assert.match(refused.error ?? "", /::1 is not a public address \(loopback\)/);
    const allowed = await probeHttp({ name: "v6", url }, { policy: { allowHosts: ["::1"] } });
    assert.equal(allowed.status, "healthy", allowed.error);
  });
});
