// POST /autopilot/events: an external trigger (a CI job, a hosting platform's deploy webhook),
// signed with AUTOPILOT_SECRET like GitHub signs its webhooks. Thin like every handler: verify,
// validate, record or enqueue, answer.
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
  /** Queues a heal cycle of the repository now; false when Autopilot is not installed there. */
  heal(repo: string): Promise<number | undefined>;
  /** Records a deployment made elsewhere, so scans can name it as a cause. */
  deployed(event: ExternalEvent): Promise<void>;
}

const MAX_BODY = 64 * 1024;

export function eventsHandler(secret: string | undefined, sink: EventSink) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.url?.split("?")[0] !== "/autopilot/events") return false;
    const answer = (status: number, body: Record<string, unknown>) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      return true;
    };
    if (req.method !== "POST") return answer(405, { error: "POST only" });
    if (!secret) return answer(404, { error: "the events endpoint is off: set AUTOPILOT_SECRET" });
    const raw = await readBody(req);
    if (raw === undefined) return answer(413, { error: `body over ${MAX_BODY} bytes` });
    if (!signatureMatches(secret, raw, req.headers["x-autopilot-signature-256"])) return answer(401, { error: "bad or missing X-Autopilot-Signature-256" });
    const parsed = eventSchema.safeParse(safeJson(raw));
    if (!parsed.success)
      return answer(422, { error: "invalid event", problems: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`) });
    if (parsed.data.action === "deployed") {
      await sink.deployed(parsed.data);
      return answer(202, { recorded: "deployment" });
    }
    const runId = await sink.heal(parsed.data.repo);
    return runId ? answer(202, { queued: "heal", run: runId }) : answer(404, { error: `Autopilot is not installed on ${parsed.data.repo}` });
  };
}

export function signEvent(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

function signatureMatches(secret: string, body: string, header: string | string[] | undefined): boolean {
  if (typeof header !== "string") return false;
  const expected = Buffer.from(signEvent(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
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
