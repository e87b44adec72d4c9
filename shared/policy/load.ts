/**
 * Reads policy files (YAML, multi-document YAML, JSON; files or folders) and validates them
 * against the zod schema, turning every problem into `file: path: message` a person can act on:
 * which field, which value, what is allowed.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Composer, LineCounter, Parser } from 'yaml';
import type * as z from 'zod/mini';
import { Policy } from './schema.ts';

export interface PolicyError {
  readonly file: string;
  /** Dotted field path (`rule.steps[2][0]`); prefixed with `[n]` when a file holds several policies. */
  readonly path: string;
  readonly message: string;
}

export interface LoadedPolicy {
  readonly file: string;
  /** Position of the policy in its file (document, or array item), from 0. */
  readonly index: number;
  readonly policy: Policy;
  /** The comment lines above its document (`policy get` and `export` put the version read there). */
  readonly leadingComment: string;
}

export interface LoadResult {
  policies: LoadedPolicy[];
  errors: PolicyError[];
}

/** A file found in a folder that is plainly something else (a Kubernetes manifest), with why. */
export interface SkippedFile {
  readonly file: string;
  readonly reason: string;
}

export interface FilesResult extends LoadResult {
  /** Files found in folders and left out, each with a one-line reason; a file named itself is never skipped. */
  skipped: SkippedFile[];
  /** Valid, but probably not meant (see `policyWarnings`). */
  warnings: PolicyError[];
}

const policyFile = /\.(ya?ml|json)$/i;

/**
 * Bounds on one policy file, checked before the work they bound: the size before reading, the
 * documents while parsing (the parser stops at the limit), the policies before validating. Far
 * above any real policy file; without them a 200,000-document file ran for seconds and ended in
 * "Maximum call stack size exceeded" without naming the file.
 */
export const policyFileLimits = { bytes: 1024 * 1024, documents: 1_000, policies: 1_000 } as const;
const splitHint = '(split it into several files)';
const count = (n: number) => n.toLocaleString('en-US');

export function formatPolicyError(e: PolicyError): string {
  return e.path ? `${e.file}: ${e.path}: ${e.message}` : `${e.file}: ${e.message}`;
}

/**
 * Loads files and folders (every *.yaml, *.yml, *.json inside and in subfolders, sorted; hidden ones
 * and node_modules skipped), then checks ids are unique across all of them. A file found in a folder
 * that is a Kubernetes manifest (every document has `apiVersion` and `kind`, as examples/eks/rbac.yaml)
 * is skipped with a reason; named on its own, it is an error saying what it is.
 */
export async function loadPolicyFiles(paths: string[]): Promise<FilesResult> {
  const result: FilesResult = { policies: [], errors: [], skipped: [], warnings: [] };
  for (const { file, inFolder } of await expandPaths(paths, result.errors)) {
    let text: string;
    try {
      // Checked before reading: a huge file is refused without loading it.
      const { size } = await stat(file);
      if (size > policyFileLimits.bytes) {
        result.errors.push({ file, path: '', message: tooLargeMessage(size) });
        continue;
      }
      text = await readFile(file, 'utf8');
    } catch (error) {
      result.errors.push({ file, path: '', message: `cannot read: ${(error as Error).message}` });
      continue;
    }
    const kinds = manifestKinds(text);
    if (kinds) {
      const reason = `a Kubernetes manifest (kind: ${kinds.join(', ')}), not a policy`;
      if (inFolder) result.skipped.push({ file, reason });
      else result.errors.push({ file, path: '', message: reason });
      continue;
    }
    const parsed = parsePolicyText(text, file);
    // Loops, not push(...spread): a spread of a very long list overflows the call stack.
    for (const policy of parsed.policies) result.policies.push(policy);
    for (const error of parsed.errors) result.errors.push(error);
  }
  for (const error of duplicateIds(result.policies)) result.errors.push(error);
  for (const loaded of result.policies) for (const warning of policyWarnings(loaded, result.policies)) result.warnings.push(warning);
  return result;
}

/** The distinct `kind`s when every document of `text` is a Kubernetes-style manifest; otherwise undefined. */
export function manifestKinds(text: string): string[] | undefined {
  const kinds: string[] = [];
  let documents = 0;
  // The same streaming composer as parsePolicyText, so a file of very many documents stops at the limit.
  for (const doc of new Composer().compose(new Parser().parse(text))) {
    if (++documents > policyFileLimits.documents || doc.errors.length > 0) return undefined;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const { apiVersion, kind } = (typeof value === 'object' && !Array.isArray(value) ? value : {}) as { apiVersion?: unknown; kind?: unknown };
    // No policy field is called apiVersion or kind at the top level, so both together settle it.
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  return kinds.length > 0 ? kinds : undefined;
}

async function expandPaths(paths: string[], errors: PolicyError[]): Promise<Array<{ file: string; inFolder: boolean }>> {
  const files: Array<{ file: string; inFolder: boolean }> = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      errors.push({ file: path, path: '', message: 'no such file or folder' });
      continue;
    }
    if (!info.isDirectory()) {
      files.push({ file: path, inFolder: false });
      continue;
    }
    const inside = (await readdir(path, { recursive: true, withFileTypes: true }))
      // Hidden folders (.git) and node_modules are never policies.
      .filter((entry) => entry.isFile() && policyFile.test(entry.name) && !/(^|[\\/])(\.|node_modules([\\/]|$))/.test(relative(path, join(entry.parentPath, entry.name))))
      .map((entry) => join(entry.parentPath, entry.name))
      .sort();
    if (inside.length === 0) errors.push({ file: path, path: '', message: 'folder holds no *.yaml, *.yml or *.json files' });
    files.push(...inside.map((file) => ({ file, inFolder: true })));
  }
  return files;
}

function duplicateIds(policies: LoadedPolicy[]): PolicyError[] {
  const firstSeen = new Map<string, LoadedPolicy>();
  const errors: PolicyError[] = [];
  for (const loaded of policies) {
    const first = firstSeen.get(loaded.policy.id);
    if (!first) {
      firstSeen.set(loaded.policy.id, loaded);
      continue;
    }
    const where = first.file === loaded.file ? `policy [${first.index}] of this file` : first.file;
    errors.push({ file: loaded.file, path: pathPrefix(loaded, policies) + 'id', message: `duplicate policy id "${loaded.policy.id}" (also in ${where})` });
  }
  return errors;
}

function pathPrefix(loaded: LoadedPolicy, all: LoadedPolicy[]): string {
  const many = all.some((other) => other.file === loaded.file && other.index !== loaded.index);
  return many ? `[${loaded.index}].` : '';
}

/**
 * The comment lines before a document's first node. The parser hangs such a comment on the
 * document, its contents or the first key, depending on blank lines; the document's text has it
 * wherever it hangs.
 */
function leadingCommentOf(documentText: string): string {
  const lines = documentText.split('\n');
  const firstNode = lines.findIndex((line) => !/^\s*(#|---|$)/.test(line));
  return lines.slice(0, firstNode === -1 ? lines.length : firstNode).join('\n');
}

/**
 * Parses the text of one file: YAML (JSON is YAML too), one or more documents, each a policy or a
 * list of policies. Empty documents are skipped.
 */
export function parsePolicyText(text: string, file: string): LoadResult {
  const result: LoadResult = { policies: [], errors: [] };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > policyFileLimits.bytes) {
    result.errors.push({ file, path: '', message: tooLargeMessage(bytes) });
    return result;
  }
  // parseAllDocuments, one document at a time, so parsing stops at the document limit.
  const lines = new LineCounter();
  const documents = new Composer({ uniqueKeys: true }).compose(new Parser(lines.addNewLine).parse(text));
  const candidates: Array<{ value: unknown; leadingComment: string }> = [];
  let documentCount = 0;
  for (const doc of documents) {
    if (++documentCount > policyFileLimits.documents) {
      return { policies: [], errors: [{ file, path: '', message: `more than ${count(policyFileLimits.documents)} YAML documents; a policy file holds at most ${count(policyFileLimits.documents)} ${splitHint}` }] };
    }
    if (doc.errors.length > 0) {
      // Later errors in a document are mostly echoes of the first.
      const error = doc.errors[0]!;
      const pos = lines.linePos(error.pos[0]);
      result.errors.push({ file, path: `line ${pos.line}, column ${pos.col}`, message: `YAML syntax error: ${firstLine(error.message)}` });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // The alias limit (a "billion laughs" document) throws here rather than in doc.errors.
      result.errors.push({ file, path: '', message: `YAML error: ${firstLine((error as Error).message)}` });
      continue;
    }
    if (value === null || value === undefined) continue;
    const leadingComment = leadingCommentOf(String(doc));
    for (const item of Array.isArray(value) ? value : [value]) candidates.push({ value: item, leadingComment });
  }
  if (result.errors.length > 0) return result;
  if (candidates.length === 0) {
    result.errors.push({ file, path: '', message: 'no policy in this file' });
    return result;
  }
  if (candidates.length > policyFileLimits.policies) {
    result.errors.push({ file, path: '', message: `${count(candidates.length)} policies; a policy file holds at most ${count(policyFileLimits.policies)} ${splitHint}` });
    return result;
  }
  candidates.forEach(({ value: candidate, leadingComment }, index) => {
    const prefix = candidates.length > 1 ? `[${index}]` : '';
    const parsed = Policy.safeParse(candidate);
    if (parsed.success) {
      result.policies.push({ file, index, policy: parsed.data, leadingComment });
      return;
    }
    const problems = describeIssues(parsed.error.issues, Policy, candidate, []);
    // The schema checks rule.metric against metrics only once everything else parsed; the README
    // promises every error at once, so a dangling reference is found here too.
    for (const dangling of danglingMetrics(candidate)) {
      if (!problems.some((p) => formatPath(p.path) === formatPath(dangling.path))) problems.push(dangling);
    }
    for (const problem of problems) {
      const path = joinPath(prefix, formatPath(problem.path));
      result.errors.push({ file, path, message: problem.message });
    }
  });
  return result;
}

function tooLargeMessage(bytes: number): string {
  return `file is ${count(bytes)} bytes; a policy file is at most 1 MiB (${count(policyFileLimits.bytes)} bytes) ${splitHint}`;
}

/** `rule.metric` values (of one rule or a list) that name no id in `metrics`, read from the raw input. */
function danglingMetrics(candidate: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const raw = candidate as { metrics?: unknown; rule?: unknown } | null;
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.metrics)) return [];
  const ids = raw.metrics.flatMap((m) => (m && typeof m === 'object' && typeof (m as { id?: unknown }).id === 'string' ? [(m as { id: string }).id] : []));
  const rules = Array.isArray(raw.rule) ? raw.rule.map((rule, i) => ({ rule, path: ['rule', i, 'metric'] })) : [{ rule: raw.rule, path: ['rule', 'metric'] }];
  return rules.flatMap(({ rule, path }) => {
    const metric = rule && typeof rule === 'object' ? (rule as { metric?: unknown }).metric : undefined;
    if (typeof metric !== 'string' || ids.includes(metric)) return [];
    return [{ path, message: `names metric "${metric}", which is not in metrics (have: ${ids.join(', ') || 'none'})` }];
  });
}

/**
 * What is valid but probably not meant: a step whose replicas lie above capacity.max (the engine
 * caps it at max, so the step can never be reached as written).
 */
export function policyWarnings(loaded: LoadedPolicy, all: LoadedPolicy[]): PolicyError[] {
  const { policy } = loaded;
  const rules = Array.isArray(policy.rule) ? policy.rule : [policy.rule];
  const warnings: PolicyError[] = [];
  rules.forEach((rule, r) => {
    if (rule.type !== 'steps') return;
    rule.steps.forEach(([threshold, replicas], i) => {
      if (replicas <= policy.capacity.max) return;
      const path = `${pathPrefix(loaded, all)}rule${Array.isArray(policy.rule) ? `[${r}]` : ''}.steps[${i}][1]`;
      warnings.push({ file: loaded.file, path, message: `step ${threshold}=${replicas} asks for more replicas than capacity.max ${policy.capacity.max}: it is capped at ${policy.capacity.max}` });
    });
  });
  return warnings;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function joinPath(prefix: string, path: string): string {
  if (!prefix) return path;
  if (!path) return prefix;
  return path.startsWith('[') ? prefix + path : `${prefix}.${path}`;
}

/** `['rule', 'steps', 2, 0]` → `rule.steps[2][0]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

// ---------------------------------------------------------------- zod issues → messages

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;
type Path = PropertyKey[];
interface Problem {
  path: Path;
  message: string;
}

/** `issues` are relative to `schema` at `base`; `value` is the input at `base`. */
function describeIssues(issues: readonly Issue[], schema: Schema, value: unknown, base: Path): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) problems.push(...describeIssue(issue, schema, value, base));
  // The same message for the same field can come from several union branches.
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${formatPath(p.path)}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function describeIssue(issue: Issue, schema: Schema, root: unknown, base: Path): Problem[] {
  const path = [...base, ...issue.path];
  const value = valueAt(root, issue.path);
  const got = show(value);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schemaAt(schema, root, issue.path));
      const list = allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"${list}` }));
    }
    case 'invalid_type': {
      if (value === undefined) return [{ path, message: `required field is missing (${article(issue.expected)})` }];
      return [{ path, message: `expected ${article(issue.expected)}, got ${got}` }];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => String(v));
      if (value === undefined) return [{ path, message: `required field is missing (allowed: ${options.join(', ')})` }];
      return [{ path, message: options.length === 1 ? `${got} is not allowed (must be ${show(issue.values[0])})` : `${got} is not allowed (allowed: ${options.join(', ')})` }];
    }
    case 'invalid_format': {
      const rule = issue.message && !issue.message.startsWith('Invalid') ? issue.message : `a valid ${issue.format}`;
      // A steps string ("0=1 1000=2 …"): name the first bad pair, not only the whole string.
      if (typeof value === 'string' && issue.path.at(-1) === 'steps') {
        const pairs = value.trim().split(/\s+/);
        const bad = pairs.findIndex((pair) => !/^\d+(\.\d+)?=\d+$/.test(pair));
        if (bad >= 0) return [{ path, message: `${show(pairs[bad])} (pair ${bad + 1} of ${got}) is not threshold=replicas; e.g. "0=1 1000=2 2000=3"` }];
      }
      return [{ path, message: `${got} is not valid: ${rule}` }];
    }
    case 'too_small':
    case 'too_big': {
      return [{ path, message: `${sizeRule(issue)}, got ${sizeOf(issue.origin, value)}` }];
    }
    case 'not_multiple_of':
      return [{ path, message: `must be a multiple of ${String(issue.divisor)}, got ${got}` }];
    case 'invalid_key':
      return [{ path, message: `invalid key ${show(issue.path.at(-1))}: ${issue.issues.map((i) => i.message).join('; ')}` }];
    case 'invalid_element':
      return [{ path, message: `invalid element: ${issue.issues.map((i) => i.message).join('; ')}` }];
    case 'invalid_union':
      return describeUnion(issue, schema, root, base);
    case 'custom': {
      const scalar = value === null || ['string', 'number', 'boolean'].includes(typeof value);
      const mentioned = scalar && issue.message.includes(String(value));
      return [{ path, message: scalar && !mentioned ? `${issue.message} (got ${got})` : issue.message }];
    }
    default:
      return [{ path, message: `${(issue as Issue).message}${value === undefined ? '' : ` (got ${got})`}` }];
  }
}

/**
 * A union failed. For a discriminated union, name the allowed `type` values. For a plain union,
 * report the errors of the branch the input was evidently meant for (same kind of value, same
 * literal `type`/`source`), or list what each branch expects when none fits.
 */
function describeUnion(issue: Extract<Issue, { code: 'invalid_union' }>, schema: Schema, root: unknown, base: Path): Problem[] {
  const path = [...base, ...issue.path];
  const value = valueAt(root, issue.path);
  if (issue.discriminator !== undefined || issue.errors.length === 0) {
    const key = issue.discriminator ?? 'type';
    // zod puts the allowed discriminator values on the issue, beyond its declared type.
    const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
    const discriminatorValue = value;
    if (discriminatorValue === undefined) return [{ path, message: `required field is missing (allowed: ${options.join(', ')})` }];
    return [{ path, message: `${show(discriminatorValue)} is not a known ${key} (allowed: ${options.join(', ')})` }];
  }
  const unionSchema = schemaAt(schema, root, issue.path, false);
  const branches = unionOptions(unionSchema);
  const all = issue.errors.map((errors, i) => ({ errors, branch: branches[i] }));
  const sameKind = all.filter(({ errors }) => !errors.some(isKindMismatch));
  const fitting = sameKind.filter(({ errors }) => !errors.some(isLiteralMismatch));
  // A lone branch of the right kind is the intended one, unless it is a bare literal that differs.
  const lone = sameKind.length === 1 && !sameKind[0]!.errors.some((e) => e.path.length === 0 && isLiteralMismatch(e));
  const chosen = fitting.length > 0 ? fitting : lone ? sameKind : [];
  if (chosen.length > 0) {
    const problems: Problem[] = [];
    for (const { errors, branch } of chosen) problems.push(...describeIssues(errors, branch ?? unionSchema ?? schema, value, path));
    return problems;
  }
  // No branch fits: is it a choice by a literal field such as `source`?
  const literalKey = sharedLiteralKey(sameKind.map((c) => c.branch).filter((b) => b !== undefined));
  if (literalKey && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const allowed = [...new Set(branches.flatMap((b) => literalValues(b, literalKey)))];
    const actual = (value as Record<string, unknown>)[literalKey];
    if (actual === undefined) return [{ path: [...path, literalKey], message: `required field is missing (allowed: ${allowed.join(', ')})` }];
    return [{ path: [...path, literalKey], message: `${show(actual)} is not a known ${literalKey} (allowed: ${allowed.join(', ')})` }];
  }
  const expected = [...new Set(branches.map(describeSchema).filter((s) => s !== ''))].join(' or ');
  if (value === undefined) return [{ path, message: `required field is missing (expected ${expected})` }];
  return [{ path, message: `${show(value)} is not allowed (expected ${expected})` }];
}

function isKindMismatch(e: Issue): boolean {
  return e.code === 'invalid_type' && e.path.length === 0;
}

function isLiteralMismatch(e: Issue): boolean {
  return (e.code === 'invalid_value' && e.path.length <= 1 && e.values.length === 1) || (e.code === 'invalid_union' && e.discriminator !== undefined && e.path.length <= 1);
}

// ---------------------------------------------------------------- schema walking

function def(schema: Schema): Record<string, any> {
  return (schema as unknown as { _zod: { def: Record<string, any> } })._zod.def;
}

/** Strips wrappers that don't change the shape of the input (default, optional, pipe, …). */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const d = def(current);
    if (['default', 'optional', 'nullable', 'readonly', 'catch', 'prefault', 'nonoptional'].includes(d.type)) current = d.innerType;
    else if (d.type === 'pipe') current = d.in;
    else if (d.type === 'lazy') current = d.getter();
    else break;
  }
  return current;
}

function unionOptions(schema: Schema | undefined): Schema[] {
  if (!schema) return [];
  const d = def(unwrap(schema));
  return d.type === 'union' ? (d.options as Schema[]) : [];
}

/** The option of a union the value was meant for: same kind (array/object), same literal fields. */
function pickOption(options: Schema[], value: unknown): Schema | undefined {
  return options.find((option) => {
    const d = def(unwrap(option));
    if (Array.isArray(value)) return d.type === 'array' || d.type === 'tuple';
    if (d.type === 'union') return pickOption(d.options, value) !== undefined;
    if (d.type !== 'object' || value === null || typeof value !== 'object') return false;
    return Object.entries(d.shape as Record<string, Schema>).every(([key, field]) => {
      const literals = literalOf(field);
      return literals === undefined || literals.includes((value as Record<string, unknown>)[key]);
    });
  });
}

/** The schema at `path`; unions on the way are resolved by the value (and the last one too, unless told not to). */
function schemaAt(schema: Schema, value: unknown, path: readonly PropertyKey[], resolveLastUnion = true): Schema | undefined {
  let current: Schema | undefined = schema;
  let currentValue = value;
  for (let i = 0; i <= path.length && current; i++) {
    current = unwrap(current);
    let d = def(current);
    if (d.type === 'union' && (resolveLastUnion || i < path.length)) {
      current = pickOption(d.options, currentValue);
      if (!current) return undefined;
      current = unwrap(current);
      d = def(current);
      if (d.type === 'union') {
        i--;
        continue;
      }
    }
    if (i === path.length) break;
    const key = path[i]!;
    if (d.type === 'object') current = (d.shape as Record<string, Schema>)[String(key)];
    else if (d.type === 'array') current = d.element;
    else if (d.type === 'tuple') current = d.items[key as number] ?? d.rest;
    else if (d.type === 'record') current = d.valueType;
    else return undefined;
    currentValue = valueAt(currentValue, [key]);
  }
  return current;
}

function allowedKeys(schema: Schema | undefined): string[] {
  if (!schema) return [];
  const d = def(unwrap(schema));
  return d.type === 'object' ? Object.keys(d.shape) : [];
}

function literalOf(schema: Schema): unknown[] | undefined {
  const d = def(unwrap(schema));
  if (d.type === 'literal') return d.values as unknown[];
  return undefined;
}

function literalValues(schema: Schema, key: string): string[] {
  const d = def(unwrap(schema));
  if (d.type !== 'object') return [];
  const field = d.shape[key] as Schema | undefined;
  return field ? (literalOf(field) ?? []).map(String) : [];
}

/** A key every object option pins to a literal (`type`, `source`), if there is one. */
function sharedLiteralKey(options: Schema[]): string | undefined {
  const objects = options.map((o) => def(unwrap(o))).filter((d) => d.type === 'object');
  if (objects.length === 0 || objects.length !== options.length) return undefined;
  const keys = Object.keys(objects[0]!.shape).filter((key) => objects.every((d) => d.shape[key] && literalOf(d.shape[key]) !== undefined));
  return keys[0];
}

function describeSchema(schema: Schema): string {
  const d = def(unwrap(schema));
  switch (d.type) {
    case 'literal':
      return (d.values as unknown[]).map(show).join(' or ');
    case 'enum':
      return `one of ${Object.values(d.entries as Record<string, string>).join(', ')}`;
    case 'object': {
      const keys = Object.keys(d.shape);
      return `{ ${keys.join(', ')} }`;
    }
    case 'array':
      return 'a list';
    case 'union': {
      // A choice by a field such as `type`: name the field and its values, not "a union".
      const key = (d as { discriminator?: string }).discriminator;
      const values = key ? unionOptions(schema).flatMap((option) => literalValues(option, key)) : [];
      return key && values.length > 0 ? `an object with ${key}: ${values.join(' | ')}` : 'one of several forms';
    }
    default:
      return article(d.type);
  }
}

// ---------------------------------------------------------------- values

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** A short rendering of a value for a message. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return value.length <= 4 ? `[${value.map(show).join(', ')}]` : `a list of ${value.length} items`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length <= 3 ? `{${keys.map((k) => `${k}: ${show((value as Record<string, unknown>)[k])}`).join(', ')}}` : `an object`;
  }
  return typeof value;
}

function article(type: string): string {
  const names: Record<string, string> = {
    int: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    object: 'an object (key: value pairs)',
    array: 'a list',
    tuple: 'a list',
    record: 'an object (key: value pairs)',
  };
  return names[type] ?? `a ${type}`;
}

function sizeRule(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      return `must be ${small ? 'at least' : 'at most'} ${bound} character${bound === 1 ? '' : 's'} long`;
    case 'array':
    case 'set':
      return `must have ${small ? 'at least' : 'at most'} ${bound} item${bound === 1 ? '' : 's'}`;
    default:
      return `must be ${small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<'} ${bound}`;
  }
}

function sizeOf(origin: string, value: unknown): string {
  if (origin === 'string' && typeof value === 'string') return `${value.length} (${show(value)})`;
  if (origin === 'array' && Array.isArray(value)) return `${value.length}`;
  return show(value);
}
