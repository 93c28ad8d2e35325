import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommands, VERBS, type Command, type CommandError } from "../src/commands/parse.js";
import { helpText, inlineCode, unknownCommandReply } from "../src/commands/help.js";

const environments = ["production", "staging", "Preprod"];

function parse(body: string) {
  return parseCommands(body, { environments });
}

/** The one command of a body that must parse cleanly, without its line and text. */
function one(body: string): Omit<Command, "line" | "text"> {
  const { commands, errors } = parse(body);
  assert.deepEqual(errors, [], `unexpected errors for ${JSON.stringify(body)}`);
  assert.equal(commands.length, 1);
  const { line: _line, text: _text, ...rest } = commands[0];
  return rest;
}

/** The one error of a body that must not parse. */
function failure(body: string): CommandError {
  const { commands, errors } = parse(body);
  assert.deepEqual(commands, [], `unexpected commands for ${JSON.stringify(body)}`);
  assert.equal(errors.length, 1);
  return errors[0];
}

test("every verb parses without arguments", () => {
  for (const verb of ["help", "status", "plan", "migrate", "backup", "approve", "heal"] as const) {
    assert.deepEqual(one(`/autopilot ${verb}`), { verb });
  }
  assert.deepEqual(one("/autopilot rollback"), { verb: "rollback", rollback: { kind: "last" } });
});

test("every verb that takes an environment parses with one", () => {
  for (const verb of ["status", "plan", "migrate", "backup", "heal", "unlock", "lock"] as const) {
    assert.deepEqual(one(`/autopilot ${verb} staging`), { verb, environment: "staging" });
  }
  assert.deepEqual(one("/autopilot rollback staging"), { verb: "rollback", environment: "staging", rollback: { kind: "last" } });
});

test("a bare /autopilot is help", () => {
  assert.deepEqual(one("/autopilot"), { verb: "help" });
  assert.deepEqual(one("  @autopilot   "), { verb: "help" });
});

test("prefix and verb are case-insensitive; @autopilot works like /autopilot", () => {
  assert.deepEqual(one("/AutoPilot MIGRATE staging"), { verb: "migrate", environment: "staging" });
  assert.deepEqual(one("@autopilot plan"), { verb: "plan" });
  assert.deepEqual(one("@AUTOPILOT Status"), { verb: "status" });
});

test("environments match exactly, or case-insensitively mapped to the configured spelling", () => {
  assert.deepEqual(one("/autopilot plan Preprod"), { verb: "plan", environment: "Preprod" });
  assert.deepEqual(one("/autopilot plan PREPROD"), { verb: "plan", environment: "Preprod" });
  assert.deepEqual(one("/autopilot plan Production"), { verb: "plan", environment: "production" });
});

test("a prefix that runs into another word is not a command", () => {
  assert.deepEqual(parse("/autopilotx plan\n@autopilot-bot plan\n/autopilot/plan"), { commands: [], errors: [] });
});

test("several commands in one comment, with their line numbers and text", () => {
  const body = "Thanks! Let's do this.\r\n\r\n/autopilot backup staging\n  /autopilot migrate staging  \nand then\n@autopilot status";
  const { commands, errors } = parse(body);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    commands.map((c) => [c.line, c.verb, c.text]),
    [
      [3, "backup", "/autopilot backup staging"],
      [4, "migrate", "/autopilot migrate staging"],
      [6, "status", "@autopilot status"],
    ],
  );
});

test("errors and commands keep their order and lines", () => {
  const { commands, errors } = parse("/autopilot plan\n/autopilot plam\n/autopilot status");
  assert.deepEqual(
    commands.map((c) => c.line),
    [1, 3],
  );
  assert.deepEqual(
    errors.map((e) => [e.line, e.code, e.suggestion]),
    [[2, "unknown-verb", "plan"]],
  );
});

// ── Ignored lines ───────────────────────────────────────────────────────────────────────────────

test("lines inside fenced code blocks are ignored", () => {
  const body = ["```", "/autopilot rollback", "```", "/autopilot plan", "~~~sh", "/autopilot migrate", "~~~", "```js", "@autopilot heal", "```"].join("\n");
  assert.deepEqual(
    parse(body).commands.map((c) => [c.line, c.verb]),
    [[4, "plan"]],
  );
});

test("a fence closes only with the same character and at least its length", () => {
  const body = ["````", "```", "/autopilot rollback", "~~~~", "````", "/autopilot plan"].join("\n");
  assert.deepEqual(
    parse(body).commands.map((c) => [c.line, c.verb]),
    [[6, "plan"]],
  );
});

test("indented fences and fences in list items hide their contents too", () => {
  const body = ["1. Steps:", "    ```", "    /autopilot rollback", "    ```", "- ```", "  /autopilot migrate", "  ```", "/autopilot status"].join("\n");
  assert.deepEqual(
    parse(body).commands.map((c) => c.verb),
    ["status"],
  );
});

test("an unterminated fence hides the rest of the comment", () => {
  assert.deepEqual(parse("/autopilot plan\n```\n/autopilot rollback\n/autopilot migrate"), {
    commands: [{ verb: "plan", line: 1, text: "/autopilot plan" }],
    errors: [],
  });
  assert.deepEqual(parse("  ~~~\n/autopilot migrate").commands, []);
});

test("inline code with three backticks on one line does not open a fence", () => {
  assert.deepEqual(
    parse("run ```/autopilot plan``` to see\n/autopilot status").commands.map((c) => c.verb),
    ["status"],
  );
  assert.deepEqual(
    parse("```npm test``` passes\n/autopilot status").commands.map((c) => c.verb),
    ["status"],
  );
});

test("quoted lines are ignored, as in an email reply", () => {
  const body = "> /autopilot rollback\n>> @autopilot migrate\n  > /autopilot heal\nOn Mon, bob wrote:\n> /autopilot backup";
  assert.deepEqual(parse(body), { commands: [], errors: [] });
});

test("inline code and mid-line mentions are not commands", () => {
  const body = "Try `/autopilot rollback` later.\nPlease @autopilot migrate staging\n`/autopilot plan`";
  assert.deepEqual(parse(body), { commands: [], errors: [] });
});

// ── Rollback ────────────────────────────────────────────────────────────────────────────────────

test("rollback arguments: last, version, backup id, environment", () => {
  assert.deepEqual(one("/autopilot rollback last"), { verb: "rollback", rollback: { kind: "last" } });
  assert.deepEqual(one("/autopilot rollback LAST"), { verb: "rollback", rollback: { kind: "last" } });
  assert.deepEqual(one("/autopilot rollback 0042"), { verb: "rollback", rollback: { kind: "version", version: "0042" } });
  assert.deepEqual(one("/autopilot rollback 20250127000000"), { verb: "rollback", rollback: { kind: "version", version: "20250127000000" } });
  assert.deepEqual(one("/autopilot rollback bk_20250127093000_1a2b3c"), { verb: "rollback", rollback: { kind: "backup", id: "bk_20250127093000_1a2b3c" } });
  assert.deepEqual(one("/autopilot rollback staging"), { verb: "rollback", environment: "staging", rollback: { kind: "last" } });
});

test("rollback with an environment and a target", () => {
  assert.deepEqual(one("/autopilot rollback production 0042"), { verb: "rollback", environment: "production", rollback: { kind: "version", version: "0042" } });
  assert.deepEqual(one("/autopilot rollback staging last"), { verb: "rollback", environment: "staging", rollback: { kind: "last" } });
  assert.deepEqual(one("/autopilot rollback preprod BK_20250127093000_1A2B3C"), {
    verb: "rollback",
    environment: "Preprod",
    rollback: { kind: "backup", id: "bk_20250127093000_1a2b3c" },
  });
});

test("a lone target form wins over an environment spelled the same", () => {
  const result = parseCommands("/autopilot rollback last\n/autopilot rollback last last", { environments: ["last", "production"] });
  assert.deepEqual(result.errors, []);
  assert.deepEqual(
    result.commands.map((c) => [c.environment, c.rollback]),
    [
      [undefined, { kind: "last" }],
      ["last", { kind: "last" }],
    ],
  );
});

test("rollback refusals: a target first, a malformed backup id, two targets, too many arguments", () => {
  assert.match(failure("/autopilot rollback 0042 production").message, /put the environment first: rollback production 0042/);
  const malformed = failure("/autopilot rollback bk_2025_xyz");
  assert.equal(malformed.code, "invalid-argument");
  assert.match(malformed.message, /not a rollback target.*bk_<14 digits>_<6 hex>/);
  assert.match(failure("/autopilot rollback production bk_20250127093000_zzzzzz").message, /not a rollback target/);
  assert.match(failure("/autopilot rollback 0042 0043").message, /one target/);
  assert.equal(failure("/autopilot rollback production 0042 now").code, "too-many-arguments");
});

test("cancel takes an optional run number, as 12 or #12", () => {
  assert.deepEqual(one("/autopilot cancel"), { verb: "cancel" });
  assert.deepEqual(one("/autopilot cancel #7"), { verb: "cancel", runId: 7 });
  assert.match(failure("/autopilot cancel production").message, /"production" is not a run number: .* e\.g\. cancel 12/);
  assert.match(failure("/autopilot cancel 1 2").message, /cancel takes at most 1 argument/);
});

test("retry takes an optional run number, as 12 or #12", () => {
  assert.deepEqual(one("/autopilot retry"), { verb: "retry" });
  assert.deepEqual(one("/autopilot retry 12"), { verb: "retry", runId: 12 });
  assert.deepEqual(one("/autopilot RETRY #12"), { verb: "retry", runId: 12 });
  assert.match(failure("/autopilot retry production").message, /"production" is not a run number: use the number the run's Check Run and replies show/);
  assert.match(failure("/autopilot retry 0").message, /"0" is not a run number/);
  assert.match(failure("/autopilot retry 12 13").message, /retry takes at most 1 argument/);
  assert.match(failure("/autopilot retry 12;rm").message, /shell metacharacters/);
});

test("rollback with an unknown word says it is neither an environment nor a target", () => {
  const error = failure("/autopilot rollback stagin");
  assert.equal(error.code, "unknown-environment");
  assert.equal(error.suggestion, "staging");
  assert.match(error.message, /nor is it last, a version/);
});

// ── Lock ────────────────────────────────────────────────────────────────────────────────────────

test("lock needs an environment; the reason is the rest of the line, verbatim and uninterpreted", () => {
  assert.deepEqual(one("/autopilot lock production"), { verb: "lock", environment: "production" });
  assert.deepEqual(one('/autopilot lock  production   freeze: `$(rm -rf /)`; "quoted" | ok  '), {
    verb: "lock",
    environment: "production",
    reason: 'freeze: `$(rm -rf /)`; "quoted" | ok',
  });
  const missing = failure("/autopilot lock");
  assert.equal(missing.code, "missing-argument");
  assert.match(missing.message, /lock needs an environment: one of production, staging, Preprod/);
  assert.equal(failure("/autopilot unlock").code, "missing-argument");
});

test("a lock reason may be 500 characters, not more, and never carries control characters", () => {
  assert.equal(one(`/autopilot lock staging ${"r".repeat(500)}`).reason?.length, 500);
  assert.match(failure(`/autopilot lock staging ${"r ".repeat(300)}`).message, /reason is 599 characters long; the limit is 500/);
  assert.match(failure("/autopilot lock staging freeze\u202Eevil").message, /control or invisible/);
});

test("unlock takes exactly one environment", () => {
  assert.equal(failure("/autopilot unlock staging now").code, "too-many-arguments");
});

// ── Rejections ──────────────────────────────────────────────────────────────────────────────────

test("shell metacharacters in an environment, version or id are rejected", () => {
  for (const arg of ["prod;rm", "prod|cat", "$(whoami)", "`id`", "'production'", '"staging"', "a&&b", "x>y"]) {
    for (const verb of ["plan", "rollback", "unlock", "lock"]) {
      const error = failure(`/autopilot ${verb} ${arg}`);
      assert.equal(error.code, "invalid-argument", `${verb} ${arg}`);
      assert.match(error.message, /shell metacharacters/, `${verb} ${arg}`);
    }
  }
  assert.match(failure("/autopilot rollback production 0042;drop").message, /shell metacharacters/);
});

test("control and invisible characters in an argument are rejected, and not echoed", () => {
  for (const arg of ["prod\u0000", "prod\u001b[31m", "pro\u200bduction", "prod\u000bx", "\u202eproduction"]) {
    const error = failure(`/autopilot plan ${arg}`);
    assert.match(error.message, /control or invisible characters/);
    assert.doesNotMatch(error.text + error.message, /[\u0000-\u0008\u000b-\u001f\u200b\u202e]/);
  }
});

test("other characters outside a plain name are rejected with what is allowed", () => {
  assert.match(failure("/autopilot plan prod/uction").message, /letters, digits/);
});

test("an argument over 100 characters is rejected, and at most 100 of it is echoed", () => {
  const long = `x${"9".repeat(4999)}`;
  const error = failure(`/autopilot rollback ${long}`);
  assert.match(error.message, /5000 characters long; the limit is 100/);
  assert.ok(!error.message.includes("9".repeat(100)));
  assert.ok(!error.text.includes("9".repeat(100)));
  assert.ok(error.text.length <= 200);
  assert.match(failure(`/autopilot plan ${"a".repeat(101)}`).message, /101 characters/);
});

test("too many arguments are rejected per verb", () => {
  assert.match(failure("/autopilot help me").message, /help takes no arguments/);
  assert.match(failure("/autopilot approve staging").message, /approve takes no arguments/);
  assert.match(failure("/autopilot status staging production").message, /status takes at most 1 argument/);
  assert.match(failure("/autopilot heal staging now").message, /heal takes at most 1 argument/);
});

test("an unknown environment is an error listing the known ones, with a suggestion", () => {
  const error = failure("/autopilot migrate prodution");
  assert.equal(error.code, "unknown-environment");
  assert.equal(error.suggestion, "production");
  assert.match(error.message, /unknown environment "prodution" \(did you mean production\?\); known environments: production, staging, Preprod/);
  const far = failure("/autopilot migrate qa");
  assert.equal(far.suggestion, undefined);
  assert.match(far.message, /known environments: production, staging, Preprod/);
});

test("without configured environments, any environment is unknown", () => {
  const { errors } = parseCommands("/autopilot plan staging", { environments: [] });
  assert.match(errors[0].message, /no environments configured/);
});

test("an unknown verb suggests the closest verb within two edits", () => {
  assert.equal(failure("/autopilot rolback").suggestion, "rollback");
  assert.equal(failure("/autopilot Rollbak production").suggestion, "rollback");
  assert.equal(failure("/autopilot migrat").suggestion, "migrate");
  assert.equal(failure("/autopilot stats").suggestion, "status");
  assert.equal(failure("/autopilot unlok staging").suggestion, "unlock");
  const far = failure("/autopilot deploy");
  assert.equal(far.code, "unknown-verb");
  assert.equal(far.suggestion, undefined);
  assert.match(far.message, /unknown command "deploy"; the commands are help, status/);
  assert.equal(failure(`/autopilot ${"z".repeat(10_000)}`).suggestion, undefined);
});

test("more than 10 commands in one comment: the extra ones are errors", () => {
  const body = Array.from({ length: 13 }, () => "/autopilot status").join("\n");
  const { commands, errors } = parse(body);
  assert.equal(commands.length, 10);
  assert.deepEqual(
    errors.map((e) => [e.line, e.code]),
    [
      [11, "too-many-commands"],
      [12, "too-many-commands"],
      [13, "too-many-commands"],
    ],
  );
  assert.match(errors[0].message, /more than 10 commands/);
});

test("text is trimmed and at most 200 characters", () => {
  const { commands } = parse(`   /autopilot lock staging ${"word ".repeat(80)}`);
  assert.equal(commands[0].text.length, 200);
  assert.ok(commands[0].text.startsWith("/autopilot lock staging word"));
  assert.ok(commands[0].text.endsWith("…"));
});

test("hostile bodies do not crash the parser", () => {
  const bodies = [
    "",
    "\n\n\n",
    "/autopilot \u0000",
    "@autopilot\t\tplan\tstaging",
    "/autopilot " + "` ".repeat(5000),
    "\uD800/autopilot plan",
    "/autopilot plan \uD83D",
  ];
  for (const body of bodies) {
    const { commands, errors } = parse(body);
    assert.ok(Array.isArray(commands) && Array.isArray(errors));
  }
  assert.deepEqual(one("@autopilot\t\tplan\tstaging"), { verb: "plan", environment: "staging" });
});

// ── Help ────────────────────────────────────────────────────────────────────────────────────────

test("help lists every command, its arguments, who may run it and an example", () => {
  const help = helpText({ environments: ["production", "staging"], defaultEnvironment: "production" });
  for (const verb of ["help", "status", "plan", "migrate", "rollback", "backup", "lock", "unlock", "approve", "heal", "retry"]) {
    assert.match(help, new RegExp(`\\| \`/autopilot ${verb}`), verb);
  }
  assert.match(help, /rollback \[env\] \[last \\\| <version> \\\| <backup-id>\]/);
  assert.match(help, /\| write; admin on production \|/);
  assert.match(help, /`\/autopilot rollback staging 0042`/);
  assert.match(help, /Environments: `production`, `staging`. `\[env\]` defaults to `production`/);
  // Every table row has the same number of cells: no stray pipe broke one.
  const rows = help.split("\n").filter((line) => line.startsWith("| `"));
  assert.equal(rows.length, VERBS.length);
  for (const row of rows) assert.equal(row.split(/(?<!\\)\|/).length, 6, row);
});

test("help shows this repository's stricter rules when given the policy", () => {
  const help = helpText({
    environments: ["production"],
    defaultEnvironment: "production",
    policy: { productionEnvironments: ["production"], repo: { migrate: "maintain" }, floor: { status: "write" } },
  });
  assert.match(help, /`\/autopilot migrate \[env\]` \| [^|]+ \| maintain \|/);
  assert.match(help, /`\/autopilot status \[env\]` \| [^|]+ \| write \|/);
});

test("the reply to an unknown command says 'did you mean' first, then why, then the help", () => {
  const { errors } = parse("/autopilot rolback `x` @bob");
  const reply = unknownCommandReply(errors[0], "HELP");
  const lines = reply.split("\n");
  assert.equal(lines[0], "Did you mean `/autopilot rollback`?");
  assert.equal(lines[2], '``/autopilot rolback `x` @bob``: unknown command "rolback"; the commands are ' + VERBS.join(", "));
  assert.equal(lines.at(-1), "HELP");
});

test("the reply to an unknown environment suggests the environment; no suggestion, no 'did you mean'", () => {
  const reply = unknownCommandReply(failure("/autopilot plan stagign"), "HELP");
  assert.ok(reply.startsWith("Did you mean the environment `staging`?"));
  const plain = unknownCommandReply(failure("/autopilot deploy"), "HELP");
  assert.ok(plain.startsWith("`/autopilot deploy`: unknown command"));
});

test("the reply neutralises Markdown and mentions in the message", () => {
  const error: CommandError = { line: 1, text: "``` x", message: "see *this* @team [link](http://x) <b>", code: "invalid-argument" };
  const reply = unknownCommandReply(error, "");
  assert.ok(reply.startsWith("```` ``` x ````: see \\*this\\* @\u200dteam \\[link\\](http://x) \\<b\\>"));
  assert.equal(inlineCode("a`b"), "``a`b``");
});

test("adopt takes an optional environment; baseline a version, then an optional environment", () => {
  assert.deepEqual(one("/autopilot adopt"), { verb: "adopt" });
  assert.deepEqual(one("/autopilot adopt staging"), { verb: "adopt", environment: "staging" });
  assert.deepEqual(one("/autopilot baseline 0042"), { verb: "baseline", version: "0042" });
  assert.deepEqual(one("/autopilot baseline 0042 staging"), { verb: "baseline", version: "0042", environment: "staging" });
  assert.match(parse("/autopilot baseline").errors[0].message, /baseline needs a version/);
  assert.match(parse("/autopilot baseline staging").errors[0].message, /"staging" is not a version/);
  assert.match(parse("/autopilot baseline 0042 $(id)").errors[0].message, /shell metacharacters/);
});
