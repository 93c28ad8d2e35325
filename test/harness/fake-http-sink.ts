// A recording HTTP endpoint standing in for Slack incoming webhooks and deploy hooks.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SinkRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON when it is JSON, else the text as sent ('' when empty). */
  body: unknown;
  /** The body as sent (UTF-8 text). */
  rawBody: string;
}

export interface SlackMessage {
  text?: string;
  blocks?: unknown[];
  [key: string]: unknown;
}

export class FakeHttpSink {
  readonly requests: SinkRequest[] = [];
  /** Slack bodies that Slack would refuse (no `text`, no `blocks`, not JSON). Filled by slackMessages(). */
  readonly violations: string[] = [];
  private status: number;
  private readonly delayMs: number;

  private constructor(
    private readonly server: Server,
    opts: { status?: number; delayMs?: number },
  ) {
    this.status = opts.status ?? 200;
    this.delayMs = opts.delayMs ?? 0;
  }

  static async start(opts: { status?: number; delayMs?: number } = {}): Promise<FakeHttpSink> {
    const server = createServer();
    const sink = new FakeHttpSink(server, opts);
    server.on("request", (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const rawBody = Buffer.concat(chunks).toString("utf8");
        const body = parseJson(rawBody) ?? rawBody;
        sink.requests.push({ method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body, rawBody });
        // Respond after the delay so callers' timeouts are exercised; status read late so setStatus applies.
        setTimeout(() => {
          const status = sink.status;
          res.writeHead(status, { "content-type": "text/plain" });
          res.end(status < 400 ? "ok" : "error"); // Slack answers "ok" in plain text
        }, sink.delayMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return sink;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  setStatus(status: number): void {
    this.status = status;
  }

  /** JSON bodies as Slack messages; a body without `text` or `blocks` is recorded in `violations` and left out. */
  slackMessages(): SlackMessage[] {
    this.violations.length = 0;
    const messages: SlackMessage[] = [];
    for (const req of this.requests) {
      const body = req.body;
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        this.violations.push(`${req.method} ${req.path}: body is not a JSON object: ${req.rawBody.slice(0, 200)}`);
        continue;
      }
      const msg = body as SlackMessage;
      const hasText = typeof msg.text === "string" && msg.text.length > 0;
      const hasBlocks = Array.isArray(msg.blocks) && msg.blocks.length > 0;
      if (!hasText && !hasBlocks) {
        this.violations.push(`${req.method} ${req.path}: Slack message lacks both "text" and "blocks"`);
        continue;
      }
      messages.push(msg);
    }
    return messages;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
