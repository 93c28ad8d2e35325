// Slack incoming webhooks, through @slack/webhook. A Slack outage never fails a run: the error is
// returned for the caller to record.
import { IncomingWebhook } from "@slack/webhook";
import { BreakerOpen, destinationOf, throughBreaker } from "../breakers.js";
import { redact } from "../redact.js";

export type SlackTone = "success" | "failure" | "warning";

const EMOJI: Record<SlackTone, string> = { success: ":white_check_mark:", failure: ":x:", warning: ":warning:" };

export async function notifySlack(
  webhookUrl: string | undefined,
  tone: SlackTone,
  headline: string,
  details: string,
  link?: string,
): Promise<string | undefined> {
  if (!webhookUrl) return undefined;
  const text = redact(`${EMOJI[tone]} ${headline}`);
  const body = redact(details + (link ? `\n<${link}|Open in GitHub>` : ""));
  try {
    await throughBreaker(destinationOf("slack", webhookUrl), () =>
      new IncomingWebhook(webhookUrl, { timeout: 10_000 } as never).send({
        text,
        blocks: [
          { type: "section", text: { type: "mrkdwn", text: `*${text}*` } },
          { type: "section", text: { type: "mrkdwn", text: body.slice(0, 2900) } },
        ],
      }),
    );
    return undefined;
  } catch (error) {
    if (error instanceof BreakerOpen) return `Slack notification ${error.message}`;
    return redact(`Slack notification failed: ${(error as Error).message}`);
  }
}
