// One HTTP health probe: one attempt, redirects followed by hand (each hop through the SSRF guard),
// one deadline over everything, a bounded body read. It never throws: every failure is a result,
// because the heal job records and acts on failures rather than crashing on them.
import http from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
import { BreakerOpen, healthHostDestination, throughBreaker } from "../breakers.js";
import { redact } from "../redact.js";
import type { CheckResult } from "./check-result.js";
import { checkUrlStatically, guardedLookup, SsrfRefusedError, type SsrfPolicy } from "./ssrf.js";

export interface HttpCheck {
  name: string;
  url: string;
  method?: "GET" | "HEAD" | "POST";
  /** One status, or an inclusive range; default 200–399 (after redirects). */
  expectStatus?: number | { min: number; max: number };
  bodyContains?: string;
  timeoutMs?: number;
}

export interface HttpProbeOptions {
  policy: SsrfPolicy;
  degradedMs?: number;
  maxBodyBytes?: number;
  maxRedirects?: number;
}

export const HTTP_PROBE_DEFAULTS = { timeoutMs: 5000, degradedMs: 2000, maxBodyBytes: 1024 * 1024, maxRedirects: 3 } as const;
const DEFAULT_EXPECTED = { min: 200, max: 399 };
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = "autopilot-health/0.1";

/** A failure that ends the probe with this message (as opposed to an unexpected error). */
class ProbeFailure extends Error {}

interface FinalResponse {
  status: number;
  body: Buffer;
  truncated: boolean;
  redirects: number;
}

/** A probe's result, and whether the host failed to answer at all (what its circuit breaker counts). */
interface ProbeAttempt {
  result: CheckResult;
  unanswered: boolean;
}

export async function probeHttp(check: HttpCheck, opts: HttpProbeOptions): Promise<CheckResult> {
  return (await attemptHttp(check, opts)).result;
}

/**
 * probeHttp through the circuit breaker of the URL's host (breakers.ts healthHostDestination). A
 * failure is the host not answering (refused, reset, DNS, TLS, timeout); any HTTP answer (a 5xx, a
 * 4xx, a body without the expected text) is the host answering, and an SSRF refusal or a redirect elsewhere
 * is not this host's fault. While the breaker is open nothing is requested: the check is unhealthy,
 * skipped (0 attempts), as the heal cycle and verification record it.
 */
export async function probeHttpThroughBreaker(check: HttpCheck, opts: HttpProbeOptions): Promise<CheckResult> {
  const destination = healthHostDestination(check.url);
  try {
    return (await throughBreaker(destination, () => attemptHttp(check, opts), hostFailure)).result;
  } catch (error) {
    if (!(error instanceof BreakerOpen)) throw error;
    const host = destination.slice("health:".length);
    const skipped = `skipped: circuit breaker for ${host} open until ${error.openUntil.toISOString()}`;
    return { check: check.name, kind: "http", status: "unhealthy", error: skipped, latencyMs: 0, attempts: 0 };
  }
}

// Only silence counts: a 5xx is one path of a host that answers, and on a status server shared by
// many repositories one failing path must not mark every other repository's check down.
function hostFailure({ result, unanswered }: ProbeAttempt): string | undefined {
  return unanswered ? (result.error ?? "no answer") : undefined;
}

async function attemptHttp(check: HttpCheck, opts: HttpProbeOptions): Promise<ProbeAttempt> {
  const timeoutMs = check.timeoutMs ?? HTTP_PROBE_DEFAULTS.timeoutMs;
  const started = performance.now();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    const response = await fetchFollowingRedirects(check, opts, deadline.signal);
    return { result: judge(check, opts, response, elapsedSince(started)), unanswered: false };
  } catch (error) {
    const timedOut = deadline.signal.aborted;
    const message = timedOut ? `timed out after ${timeoutMs} ms` : describeError(error);
    const result: CheckResult = { check: check.name, kind: "http", status: "unhealthy", error: redact(message), latencyMs: elapsedSince(started), attempts: 1 };
    return { result, unanswered: timedOut || !(error instanceof ProbeFailure || error instanceof SsrfRefusedError) };
  } finally {
    clearTimeout(timer);
  }
}

async function fetchFollowingRedirects(check: HttpCheck, opts: HttpProbeOptions, signal: AbortSignal): Promise<FinalResponse> {
  const maxRedirects = opts.maxRedirects ?? HTTP_PROBE_DEFAULTS.maxRedirects;
  const maxBodyBytes = opts.maxBodyBytes ?? HTTP_PROBE_DEFAULTS.maxBodyBytes;
  const visited = new Set<string>();
  let url = check.url;
  let method: string = check.method ?? "GET";
  for (let redirects = 0; ; redirects++) {
    const refusal = checkUrlStatically(url, opts.policy);
    if (refusal) throw new ProbeFailure(redirects === 0 ? refusal : `redirect to ${url} refused: ${refusal}`);
    visited.add(url);
    const response = await send(url, method, opts.policy, signal).catch((error: unknown) => {
      throw redirects === 0 ? error : new ProbeFailure(`redirect to ${url} failed: ${describeError(error)}`);
    });
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(response.statusCode ?? 0) || !location) {
      const { body, truncated } = method === "HEAD" ? { body: Buffer.alloc(0), truncated: false } : await readBounded(response, maxBodyBytes);
      return { status: response.statusCode ?? 0, body, truncated, redirects };
    }
    response.destroy(); // a redirect's body is of no interest, and the socket is not reused
    const next = resolveLocation(location, url);
    if (visited.has(next)) throw new ProbeFailure(`too many redirects (loop back to ${next})`);
    if (redirects >= maxRedirects) throw new ProbeFailure(`too many redirects (more than ${maxRedirects})`);
    method = methodAfterRedirect(method, response.statusCode ?? 0);
    url = next;
  }
}

function resolveLocation(location: string, base: string): string {
  try {
    return new URL(location, base).toString();
  } catch {
    throw new ProbeFailure(`invalid redirect location ${JSON.stringify(location)}`);
  }
}

/** What browsers do: 303 always becomes GET, 301/302 turn a POST into a GET, 307/308 keep it. */
function methodAfterRedirect(method: string, status: number): string {
  if (method === "HEAD") return "HEAD";
  if (status === 303 || ((status === 301 || status === 302) && method === "POST")) return "GET";
  return method;
}

/** One request; resolves at the response headers. `agent: false`: a probe measures a fresh connection. */
function send(url: string, method: string, policy: SsrfPolicy, signal: AbortSignal): Promise<http.IncomingMessage> {
  const client = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method,
      agent: false,
      lookup: guardedLookup(policy),
      signal,
      headers: { "user-agent": USER_AGENT, accept: "*/*", ...(method === "POST" ? { "content-length": "0" } : {}) },
    });
    request.once("response", resolve);
    request.on("error", reject); // "on": an abort mid-body errors the request again, after the response resolved
    request.end();
  });
}

/** Reads at most `limit` bytes, then drops the connection: a 10 MB answer costs 1 MiB, not 10. */
async function readBounded(response: http.IncomingMessage, limit: number): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      truncated = size > limit || !response.complete;
      break; // leaving the loop destroys the stream and its socket
    }
  }
  return { body: Buffer.concat(chunks).subarray(0, limit), truncated };
}

function judge(check: HttpCheck, opts: HttpProbeOptions, response: FinalResponse, latencyMs: number): CheckResult {
  const base = { check: check.name, kind: "http" as const, httpStatus: response.status, latencyMs, attempts: 1 };
  const detail = describeResponse(response);
  const expected = normalizeExpected(check.expectStatus);
  if (response.status < expected.min || response.status > expected.max) {
    return { ...base, status: "unhealthy", error: `expected status ${formatExpected(expected)}, got ${response.status}`, detail };
  }
  if (check.bodyContains !== undefined && !response.body.toString("utf8").includes(check.bodyContains)) {
    const scope = response.truncated ? `the first ${response.body.length} bytes of the body` : "the body";
    return { ...base, status: "unhealthy", error: redact(`${scope} does not contain ${JSON.stringify(check.bodyContains)}`), detail };
  }
  const degradedMs = opts.degradedMs ?? HTTP_PROBE_DEFAULTS.degradedMs;
  if (latencyMs > degradedMs) {
    return { ...base, status: "degraded", detail: joinDetail(`slower than ${degradedMs} ms`, detail) };
  }
  return { ...base, status: "healthy", detail };
}

function normalizeExpected(expect: HttpCheck["expectStatus"]): { min: number; max: number } {
  if (expect === undefined) return DEFAULT_EXPECTED;
  return typeof expect === "number" ? { min: expect, max: expect } : expect;
}

function formatExpected({ min, max }: { min: number; max: number }): string {
  return min === max ? String(min) : `${min}–${max}`;
}

function describeResponse(response: FinalResponse): string | undefined {
  const redirects = response.redirects > 0 ? `followed ${response.redirects} redirect${response.redirects > 1 ? "s" : ""}` : undefined;
  const truncated = response.truncated ? `body cut at ${response.body.length} bytes` : undefined;
  return joinDetail(redirects, truncated);
}

function joinDetail(...parts: Array<string | undefined>): string | undefined {
  const present = parts.filter((p): p is string => Boolean(p));
  return present.length > 0 ? present.join("; ") : undefined;
}

function describeError(error: unknown): string {
  if (error instanceof ProbeFailure) return error.message;
  const e = error as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  // Connecting to a name with IPv4 and IPv6 addresses fails with an AggregateError whose own message is empty.
  const message =
    e?.message ||
    e?.errors
      ?.map((inner) => inner.message)
      .filter(Boolean)
      .join("; ") ||
    e?.code;
  return message || String(error);
}

function elapsedSince(started: number): number {
  return Math.round(performance.now() - started);
}
