// Delivers webhooks for `npm run drill:load` from a thread of its own, so that an acknowledgement is
// timed from the moment the request leaves to the app's HTTP answer: the fake GitHub shares the
// drill's main thread, and its work must not be counted as the app's. Each delivery leaves at its
// own time (`dueAt`), as GitHub sends each event when it happens, not in the batches the drill's
// main thread hands over ahead of time.
import { Worker } from "node:worker_threads";

export interface Delivery {
  /** Index into the drill's list of deliveries. */
  index: number;
  appUrl: string;
  event: string;
  deliveryId: string;
  body: string;
  /** When it leaves, in Date.now() milliseconds. */
  dueAt: number;
}

export interface Acknowledgement {
  index: number;
  /** HTTP status, or the error's name when no answer came. */
  status: number | string;
  ms: number;
}

const SENDER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHmac } = require("node:crypto");
const acks = [];
let inFlight = 0;
let closing = false;
const finish = () => { if (closing && inFlight === 0) parentPort.postMessage(acks); };
parentPort.on("message", (message) => {
  if (message === "close") { closing = true; return finish(); }
  if (message.warm) {
    Promise.all(message.warm.map((url) => fetch(url + "/healthz").then((r) => r.arrayBuffer(), () => undefined))).then(() => parentPort.postMessage("warm"));
    return;
  }
  for (const d of message) {
    inFlight++;
    setTimeout(() => deliver(d), Math.max(0, d.dueAt - Date.now()));
  }
});
function deliver(d) {
  const headers = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/drill",
    "x-github-event": d.event,
    "x-github-delivery": d.deliveryId,
    "x-hub-signature-256": "sha256=" + createHmac("sha256", workerData.secret).update(d.body).digest("hex"),
  };
  const startedAt = performance.now();
  fetch(d.appUrl + "/api/github/webhooks", { method: "POST", headers, body: d.body, signal: AbortSignal.timeout(workerData.timeoutMs) })
    .then(async (r) => { await r.arrayBuffer(); return r.status; }, (e) => e.name)
    .then((status) => {
      acks.push({ index: d.index, status, ms: performance.now() - startedAt });
      inFlight--;
      finish();
    });
}
`;

/** GitHub gives an app 10 s to answer a delivery before it counts it as failed. */
export const GITHUB_DELIVERY_TIMEOUT_MS = 10_000;

export class WebhookSender {
  private readonly worker: Worker;
  private readonly done: Promise<Acknowledgement[]>;

  constructor(secret: string) {
    this.worker = new Worker(SENDER, { eval: true, workerData: { secret, timeoutMs: GITHUB_DELIVERY_TIMEOUT_MS } });
    this.done = new Promise((resolve, reject) => {
      this.worker.on("message", (message) => Array.isArray(message) && resolve(message));
      this.worker.once("error", reject);
    });
  }

  /**
   * Loads the thread's fetch (Node compiles it on first use) and opens a connection to each app, so
   * the first deliveries are not timed with the drill's own start-up: GitHub's sender is long warm.
   */
  async warm(appUrls: string[]): Promise<void> {
    const warmed = new Promise<void>((resolve) => {
      const onMessage = (message: unknown) => {
        if (message !== "warm") return;
        this.worker.off("message", onMessage);
        resolve();
      };
      this.worker.on("message", onMessage);
    });
    this.worker.postMessage({ warm: appUrls });
    await warmed;
  }

  send(deliveries: Delivery[]): void {
    if (deliveries.length) this.worker.postMessage(deliveries);
  }

  /** Every acknowledgement, once the deliveries still in flight are answered (or timed out). */
  async close(): Promise<Acknowledgement[]> {
    this.worker.postMessage("close");
    const acks = await this.done;
    await this.worker.terminate();
    return acks;
  }
}
