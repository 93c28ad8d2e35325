// POST /autopilot/events (src/web/events.ts) against a sink that fails on cue: a delivery id counts
// as received only once its event did something, so a sender's retry after a failure is not taken
// for a replay, while a replay of an event that did act is still refused.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { eventsHandler, signEvent, type EventSink } from "../src/web/events.js";

const SECRET = "shop-events-secret";
const REPO = "acme/shop";

/** A sink with the store's claim semantics in memory; `failNext` makes the next heal throw, `installed` says whether heals find an installation. */
function fakeSink() {
  const claimed = new Set<string>();
  const state = { failNext: false, installed: true, heals: 0 };
  const sink: EventSink = {
    async heal() {
      if (state.failNext) {
        state.failNext = false;
        throw new Error("the store went away halfway");
      }
      return state.installed ? ++state.heals : undefined;
    },
    async deployed() {},
    async claimDelivery(repo, deliveryId) {
      const key = `${repo.toLowerCase()} ${deliveryId}`;
      if (claimed.has(key)) return false;
      claimed.add(key);
      return true;
    },
    async releaseDelivery(repo, deliveryId) {
      claimed.delete(`${repo.toLowerCase()} ${deliveryId}`);
    },
  };
  return { sink, state };
}

describe("POST /autopilot/events when the work fails", () => {
  const { sink, state } = fakeSink();
  let server: Server;
  let url: string;
  before(async () => {
    const handler = eventsHandler((repo) => (repo === REPO ? [SECRET] : []), sink, true);
    server = createServer((req, res) => {
      // As Probot does for a handler that throws.
      handler(req, res).then(
        (handled) => handled || res.writeHead(404).end(),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/autopilot/events`;
  });
  after(() => void server.close());

  const post = async (deliveryId: string) => {
    const body = JSON.stringify({ repo: REPO, action: "heal" });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = signEvent(SECRET, { timestamp, deliveryId, body });
    const headers = {
      "content-type": "application/json",
      "x-autopilot-timestamp": timestamp,
      "x-autopilot-delivery": deliveryId,
      "x-autopilot-signature-256": signature,
    };
    return (await fetch(url, { method: "POST", headers, body })).status;
  };

  test("an event that failed halfway may be sent again with its delivery id; once it acted, a replay is refused", async () => {
    const deliveryId = randomUUID();
    state.failNext = true;
    assert.equal(await post(deliveryId), 500);
    assert.equal(await post(deliveryId), 202, "the retry is not taken for a replay");
    assert.equal(state.heals, 1);
    assert.equal(await post(deliveryId), 409, "a replay of the event that acted");
    assert.equal(state.heals, 1);
  });

  test("an event for a repository the app is not installed on gives its delivery id back", async () => {
    const deliveryId = randomUUID();
    state.installed = false;
    assert.equal(await post(deliveryId), 404);
    state.installed = true;
    assert.equal(await post(deliveryId), 202, "sent again once the app is installed");
  });
});
