// POST /autopilot/events: an external trigger (a CI job, a hosting platform's deploy webhook).
// Thin like every handler: verify, validate, record or enqueue, answer.
//
// Each event is signed with its repository's secret (server config `targets[].events_secret_env`;
// AUTOPILOT_SECRET also works for a repository the server config lists), so one repository's secret
// cannot act on another. The signature covers a timestamp, checked to be within 5 minutes, and a
// delivery id, recorded so that a captured request cannot be replayed.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";

export const eventSchema = z.strictObject({
  repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"),
  action: z.enum(["heal", "deployed"]),
  environment: z
    .string()
    .regex(/^[\w.-]+$/)
    .optional(),
  commit: z
    .string()
    .regex(/^[0-9a-f]{7,40}$/i)
    .optional(),
});

export type ExternalEvent = z.infer<typeof eventSchema>;

export interface EventSink {
  /** Queues a heal cycle of the repository now: its run's id, or undefined when Autopilot is not installed there. */
  heal(repo: string): Promise<number | undefined>;
  /** Records a deployment made elsewhere, so scans can name it as a cause. */
  deployed(event: ExternalEvent): Promise<void>;
  /** Records a delivery id; false when the repository's event with that id was seen before (a replay). */
  claimDelivery(repo: string, deliveryId: string): Promise<boolean>;
  /** Forgets a claimed delivery id whose event did nothing, so that its sender may retry it. */
  releaseDelivery(repo: string, deliveryId: string): Promise<void>;
}

/** The secrets that may sign an event for a repository (none: it takes no events). */
export type EventSecrets = (repo: string) => string[];

export const SIGNATURE_HEADER = "x-autopilot-signature-256";
export const TIMESTAMP_HEADER = "x-autopilot-timestamp";
export const DELIVERY_HEADER = "x-autopilot-delivery";

/** How far an event's timestamp may be from the clock, either way. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;
const MAX_BODY = 64 * 1024;
const DELIVERY_ID = /^[A-Za-z0-9._:-]{8,200}$/;

export function eventsHandler(secretsFor: EventSecrets, sink: EventSink, enabled: boolean) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.url?.split("?")[0] !== "/autopilot/events") return false;
    const answer = (status: number, body: Record<string, unknown>) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      return true;
    };
    if (req.method !== "POST") return answer(405, { error: "POST only" });
    if (!enabled) return answer(404, { error: "the events endpoint is off: set targets[].events_secret_env in the server config, or AUTOPILOT_SECRET" });
    const raw = await readBody(req);
    if (raw === undefined) return answer(413, { error: `body over ${MAX_BODY} bytes` });
    const timestamp = header(req, TIMESTAMP_HEADER);
    const deliveryId = header(req, DELIVERY_HEADER);
    if (!timestamp || !/^\d{1,12}$/.test(timestamp))
      return answer(400, { error: "X-Autopilot-Timestamp is required: the Unix time in seconds when the event was signed" });
    if (!deliveryId || !DELIVERY_ID.test(deliveryId))
      return answer(400, { error: "X-Autopilot-Delivery is required: a unique id per event (8–200 of A-Z a-z 0-9 . _ : -), e.g. a UUID" });
    const json = safeJson(raw);
    const repo = typeof (json as { repo?: unknown })?.repo === "string" ? (json as { repo: string }).repo : "";
    const signed = { timestamp, deliveryId, body: raw };
    if (!secretsFor(repo).some((secret) => signatureMatches(secret, signed, header(req, SIGNATURE_HEADER)))) {
      return answer(401, { error: `bad or missing X-Autopilot-Signature-256: sign with the events secret of ${repo || "the event's repo"}` });
    }
    const skew = Math.abs(Date.now() / 1000 - Number(timestamp));
    if (skew > MAX_CLOCK_SKEW_SECONDS) {
      return answer(401, { error: `stale X-Autopilot-Timestamp: ${Math.round(skew)} s from this server's clock (at most ${MAX_CLOCK_SKEW_SECONDS} s)` });
    }
    const parsed = eventSchema.safeParse(json);
    if (!parsed.success)
      return answer(422, { error: "invalid event", problems: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`) });
    const event = parsed.data;
    if (!(await sink.claimDelivery(event.repo, deliveryId))) return answer(409, { error: `delivery ${deliveryId} was already received: a replay is refused` });
    // An event that did nothing (an error, a repository not installed) gives its delivery id back: the sender may retry it.
    try {
      const accepted = await act(event, sink);
      if (!accepted) await sink.releaseDelivery(event.repo, deliveryId);
      return accepted ? answer(202, accepted) : answer(404, { error: `Autopilot is not installed on ${event.repo}` });
    } catch (error) {
      await sink.releaseDelivery(event.repo, deliveryId).catch(() => undefined);
      throw error;
    }
  };
}

/** What the event did; undefined when it could do nothing (the repository is not installed). */
async function act(event: ExternalEvent, sink: EventSink): Promise<Record<string, unknown> | undefined> {
  if (event.action === "deployed") {
    await sink.deployed(event);
    return { recorded: "deployment" };
  }
  const runId = await sink.heal(event.repo);
  return runId ? { queued: "heal", run: runId } : undefined;
}

export interface SignedEvent {
  /** Unix time in seconds, as sent in X-Autopilot-Timestamp. */
  timestamp: string;
  /** As sent in X-Autopilot-Delivery. */
  deliveryId: string;
  body: string;
}

/** `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<delivery id>.<body>`: what X-Autopilot-Signature-256 holds. */
export function signEvent(secret: string, event: SignedEvent): string {
  return `sha256=${createHmac("sha256", secret).update(`${event.timestamp}.${event.deliveryId}.${event.body}`).digest("hex")}`;
}

function signatureMatches(secret: string, event: SignedEvent, given: string | undefined): boolean {
  if (!given) return false;
  const expected = Buffer.from(signEvent(secret, event));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value.trim() : undefined;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
