// Validates request bodies against GitHub's published OpenAPI description
// (@octokit/openapi), so the fake rejects exactly what GitHub's schema rejects.
//
// The spec is 13 MB: it is parsed once per process, on first use, and each
// operation's validator is compiled lazily and cached.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const SPEC_ID = "github-openapi";
const METHODS = ["get", "put", "post", "patch", "delete"] as const;

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  literalSegments: number;
  hasJsonBody: boolean;
  bodyRequired: boolean;
  pointer: string;
}

interface Loaded {
  ajv: Ajv;
  operations: Operation[];
  validators: Map<string, ValidateFunction>;
}

let loaded: Loaded | undefined;

function specPath(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve("@octokit/openapi/package.json");
  return pkgJson.replace(/package\.json$/, "generated/api.github.com.json");
}

/**
 * OpenAPI 3.0 says `nullable: true`; JSON Schema says `type: [.., "null"]`.
 * Ajv understands `nullable` only next to `type` and does not add `null` to an
 * `enum`, so rewrite the two shapes it would get wrong.
 */
function fixNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) fixNullable(item);
    return;
  }
  if (!node || typeof node !== "object") return;
  const obj = node as Record<string, unknown>;
  for (const value of Object.values(obj)) fixNullable(value);
  if (obj.nullable !== true) return;
  if (Array.isArray(obj.enum) && !obj.enum.includes(null)) obj.enum.push(null);
  if (obj.type === undefined) {
    // e.g. { nullable: true, allOf: [{ $ref }] }: move everything into an anyOf branch.
    const rest: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(obj)) {
      if (key !== "nullable") rest[key] = value;
      delete obj[key];
    }
    obj.anyOf = [{ type: "null" }, rest];
  }
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** `/repos/{owner}/{repo}/contents/{path}` → regex; the last parameter may contain slashes. */
function templateRegex(template: string): RegExp {
  const parts = template.split("/").map((segment, index, all) => {
    if (/^\{[^}]+\}$/.test(segment)) return index === all.length - 1 ? ".+" : "[^/]+";
    return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("/")}$`);
}

function load(): Loaded {
  if (loaded) return loaded;
  const spec = JSON.parse(readFileSync(specPath(), "utf8")) as {
    paths: Record<string, Record<string, { requestBody?: { required?: boolean; content?: Record<string, unknown> } }>>;
  };
  fixNullable(spec);
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
  addFormats(ajv);
  ajv.addSchema(spec as object, SPEC_ID);

  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const hasJsonBody = Boolean(op.requestBody?.content?.["application/json"]);
      operations.push({
        method: method.toUpperCase(),
        template,
        regex: templateRegex(template),
        literalSegments: template.split("/").filter((s) => s && !s.startsWith("{")).length,
        hasJsonBody,
        bodyRequired: Boolean(op.requestBody?.required) && hasJsonBody,
        pointer: `${SPEC_ID}#/paths/${escapePointer(template)}/${method}/requestBody/content/application~1json/schema`,
      });
    }
  }
  // Literal segments win over parameters: /issues/comments/{id} before /issues/{n}/...
  operations.sort((a, b) => b.literalSegments - a.literalSegments);
  loaded = { ajv, operations, validators: new Map() };
  return loaded;
}

/** The OpenAPI operation (path template) that serves this request, if GitHub documents one. */
export function findOperation(method: string, path: string): { template: string; method: string } | undefined {
  const upper = method.toUpperCase();
  const op = load().operations.find((o) => o.method === upper && o.regex.test(path));
  return op && { template: op.template, method: op.method };
}

function validatorFor(op: Operation): ValidateFunction {
  const { ajv, validators } = load();
  let validate = validators.get(op.pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: op.pointer });
    validators.set(op.pointer, validate);
  }
  return validate;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath || "(body)";
  const extra = error.keyword === "enum" ? ` ${JSON.stringify(error.params.allowedValues)}` : "";
  return `${where} ${error.message ?? error.keyword}${extra}`;
}

/**
 * Errors (empty when valid) for a request body. `path` excludes `/api/v3` and the query.
 * Requests GitHub's spec does not document, or without a JSON request body, pass.
 */
export function validateRequest(method: string, path: string, body: unknown): string[] {
  const upper = method.toUpperCase();
  const op = load().operations.find((o) => o.method === upper && o.regex.test(path));
  if (!op || !op.hasJsonBody) return [];
  const label = `${upper} ${op.template}`;
  if (body === undefined) return op.bodyRequired ? [`${label}: request body is required`] : [];
  const validate = validatorFor(op);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${label}: ${describe(e)}`);
}
