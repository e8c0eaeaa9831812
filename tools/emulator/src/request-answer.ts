import type { CatalogueEntry, JobType, JobTypeSet } from '@batchline/job-types';
import { type AnswerIntent, answerIntent, sharesFor } from './answer-shares.ts';
import { catalogueMatcher } from './classifier.ts';
import { embeddingInputs, embeddingOf, requestedDimensions } from './embeddings.ts';
import {
  type CatalogueSite,
  catalogueAt,
  catalogueInSystemLines,
  catalogueSiteOf,
  type PromptMessage,
} from './prompt-catalogue.ts';
import { hash32, seededRandom } from './random.ts';
import { type ReferencePath, type Schema, schemaAnswer, schemaViolation } from './schema-answer.ts';
import { tokenEstimate } from './tokens.ts';
import type { AnswerSharesOption, BatchRequestLine, LineFault } from './types.ts';

export const EMBEDDINGS_URL = '/v1/embeddings';
const DEFAULT_CHAT_MODEL = 'gpt-4o-mini';
const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';
/** The forced tool of Anthropic requests (COMMON design): its `tool_use` input is the answer. */
const ANSWER_TOOL = 'answer';
/** What a model says when it does not answer in JSON. */
const PROSE_ANSWER = 'I am sorry, but I cannot give that answer in the requested format.';

/** What running one request yields, before a cancellation or expiry decides whether it ran at all. */
export type RequestResult =
  | {
      kind: 'answer';
      content: string;
      completionTokens: number;
      /** The catalogue keys the request's prompt carries: what the answer's references are checked against. */
      catalogue: ReadonlySet<string>;
      /** Anthropic: the request forces the `answer` tool, so a JSON object answer comes as its `tool_use` input. */
      toolUse: boolean;
    }
  /** An embeddings response: one vector per input (none: a body without a usable vector). */
  | { kind: 'embeddings'; vectors: number[][] }
  | { kind: 'garbage'; text: string }
  | { kind: 'http'; status: number; message: string }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'omitted' };

export interface PlannedRequest {
  customId: string;
  /** The job type the request was answered as; null when no declared job type serves its endpoint. */
  jobType: JobType | null;
  model: string;
  promptTokens: number;
  /** The part of `promptTokens` answered as read from the prompt cache. */
  cachedPromptTokens: number;
  result: RequestResult;
  /** The request's line appears twice in its result file. */
  duplicate: boolean;
}

export interface AnswerSettings {
  jobTypes: JobTypeSet;
  answerShares?: AnswerSharesOption;
  cachedPromptShare?: number;
  lineFaults?: (customId: string, request: BatchRequestLine) => LineFault | undefined;
}

/** A prompt's catalogue, parsed once per distinct message and shared by the requests that carry it. */
interface PromptCatalogue {
  keys: ReadonlySet<string>;
  entries: readonly CatalogueEntry[];
  match: (text: string) => string[];
}

/**
 * Answers requests as their job types declare: chat requests with JSON satisfying the response schema (catalogue
 * references drawn from the catalogue in the prompt), embeddings with vectors of the requested dimension; spoils
 * the configured shares; applies the test's line faults. Deterministic: the same request gets the same answer.
 */
export class RequestAnswerer {
  private readonly byPrefix = new Map<string, JobType>();
  private readonly sites = new Map<JobType, CatalogueSite | null>();
  private readonly references = new Map<JobType, ReferencePath[]>();
  /** Per job type (the site differs), the catalogue parsed from each distinct message text. */
  private readonly catalogues = new Map<JobType | null, Map<string, PromptCatalogue>>();

  constructor(private readonly settings: AnswerSettings) {
    for (const jobType of settings.jobTypes.all()) {
      this.byPrefix.set(jobType.declaration.customIdPrefix, jobType);
    }
  }

  /** The job type a request belongs to by its custom id's prefix, when that job type serves the request's URL. */
  jobTypeOf(request: BatchRequestLine): JobType | null {
    const dash = request.custom_id.indexOf('-');
    const jobType = dash > 0 ? this.byPrefix.get(request.custom_id.slice(0, dash)) : undefined;
    return jobType && serves(jobType, request.url) ? jobType : null;
  }

  /** The job type answering requests of `url` that name none: the default one for chat, the first declared embeddings one. */
  fallbackFor(url: string): JobType | null {
    const { jobTypes } = this.settings;
    if (serves(jobTypes.default, url)) return jobTypes.default;
    return jobTypes.all().find((jobType) => serves(jobType, url)) ?? null;
  }

  plan(request: BatchRequestLine, jobType: JobType | null): PlannedRequest {
    const embeddings = request.url === EMBEDDINGS_URL;
    const body = request.body;
    const model =
      typeof body.model === 'string' ? body.model : embeddings ? DEFAULT_EMBEDDING_MODEL : DEFAULT_CHAT_MODEL;
    const fault = this.settings.lineFaults?.(request.custom_id, request);
    const planned = (promptTokens: number, result: RequestResult): PlannedRequest => ({
      customId: request.custom_id,
      jobType,
      model,
      promptTokens,
      cachedPromptTokens: Math.floor(promptTokens * (this.settings.cachedPromptShare ?? 0)),
      result,
      duplicate: fault?.kind === 'duplicate',
    });

    if (embeddings) {
      const inputs = embeddingInputs(body.input);
      const promptTokens = inputs.reduce((sum, text) => sum + tokenEstimate(text), 0);
      const intent = jobType ? this.intentOf(jobType, request.custom_id) : 'valid';
      return planned(promptTokens, faulted(fault) ?? embeddingsResult(body, model, inputs, intent));
    }
    const messages = promptMessages(body);
    const promptTokens = messages.reduce((sum, m) => sum + tokenEstimate(m.text) + 3, 0);
    const catalogue = this.catalogueOf(jobType, messages);
    const answer = (content: string): RequestResult => ({
      kind: 'answer',
      content,
      completionTokens: tokenEstimate(content),
      catalogue: catalogue.keys,
      toolUse: hasAnswerTool(body.tools),
    });
    if (fault?.kind === 'content') return planned(promptTokens, answer(fault.content));
    const served = faulted(fault);
    if (served) return planned(promptTokens, served);
    const userText = messages
      .filter((message) => message.role === 'user')
      .map((message) => message.text)
      .join('\n');
    return planned(promptTokens, answer(this.chatContent(jobType, request.custom_id, catalogue, userText)));
  }

  private chatContent(
    jobType: JobType | null,
    customId: string,
    catalogue: PromptCatalogue,
    userText: string,
  ): string {
    const { request } = jobType?.declaration ?? {};
    if (!jobType || request?.endpoint !== '/v1/chat/completions') return '{}';
    const schema = request.responseSchema as Schema;
    const intent = this.intentOf(jobType, customId);
    const random = seededRandom(hash32(`${jobType.name}\u0000${customId}`));
    const valid = schemaAnswer(schema, {
      catalogue: catalogue.entries,
      named: catalogue.match(userText),
      references: this.referencesOf(jobType),
      random,
      unknownReference: intent === 'unknown_reference',
    });
    if (intent !== 'invalid') return JSON.stringify(valid);
    // Half the invalid answers are prose, half JSON that breaks the schema (prose where nothing can break it).
    const violation = random() < 0.5 ? null : schemaViolation(schema, valid);
    return violation === null ? PROSE_ANSWER : JSON.stringify(violation);
  }

  private intentOf(jobType: JobType, customId: string): AnswerIntent {
    return answerIntent(jobType.name, customId, sharesFor(this.settings.answerShares, jobType.name));
  }

  /** The catalogue the prompt carries where the job type's templates render it, else in its system lines. */
  private catalogueOf(jobType: JobType | null, messages: readonly PromptMessage[]): PromptCatalogue {
    let cache = this.catalogues.get(jobType);
    if (!cache) {
      cache = new Map();
      this.catalogues.set(jobType, cache);
    }
    const remember = (text: string, entries: CatalogueEntry[]): PromptCatalogue => {
      const catalogue = {
        keys: new Set(entries.map((e) => e.key)),
        entries,
        match: catalogueMatcher(entries),
      };
      cache.set(text, catalogue);
      return catalogue;
    };
    const site = jobType ? this.siteOf(jobType) : null;
    if (site) {
      for (const { text } of messages) {
        const cached = cache.get(text);
        if (cached) return cached;
        const entries = catalogueAt(text, site);
        if (entries) return remember(text, entries);
      }
    }
    const systemText = messages
      .filter((message) => message.role === 'system' || message.role === 'developer')
      .map((message) => message.text)
      .join('\n');
    return cache.get(systemText) ?? remember(systemText, catalogueInSystemLines(messages));
  }

  private siteOf(jobType: JobType): CatalogueSite | null {
    if (!this.sites.has(jobType)) this.sites.set(jobType, catalogueSiteOf(jobType));
    return this.sites.get(jobType) ?? null;
  }

  private referencesOf(jobType: JobType): ReferencePath[] {
    let paths = this.references.get(jobType);
    if (!paths) {
      paths = referencePaths(jobType);
      this.references.set(jobType, paths);
    }
    return paths;
  }
}

/** Where a job type's answers hold catalogue keys: the `from` of each column that references the catalogue. */
export function referencePaths(jobType: JobType): ReferencePath[] {
  const { each, columns } = jobType.declaration.results;
  const tokens = (pointer: string) =>
    pointer
      .split('/')
      .slice(1)
      .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
  const paths: ReferencePath[] = [];
  for (const column of Object.values(columns)) {
    if (column.references !== 'catalogue') continue;
    if (column.from.startsWith('$item')) {
      if (each !== undefined)
        paths.push([...tokens(each), '*', ...tokens(column.from.slice('$item'.length))]);
    } else if (column.from.startsWith('/')) {
      paths.push(tokens(column.from));
    }
  }
  return paths;
}

/** Chat job types serve OpenAI chat completions and Anthropic messages; embeddings ones, embeddings. */
const serves = (jobType: JobType, url: string): boolean =>
  jobType.endpoint === EMBEDDINGS_URL ? url === EMBEDDINGS_URL : url !== EMBEDDINGS_URL;

/** The result a line fault serves instead of the answer; undefined for none, `content` and `duplicate`. */
function faulted(fault: LineFault | undefined): RequestResult | undefined {
  switch (fault?.kind) {
    case 'error':
      return { kind: 'error', code: fault.code, message: fault.message };
    case 'http':
      return {
        kind: 'http',
        status: fault.status,
        message: fault.message ?? `Request failed with status ${fault.status}.`,
      };
    case 'omit':
      return { kind: 'omitted' };
    case 'garbage':
      return { kind: 'garbage', text: fault.text };
    default:
      return undefined;
  }
}

function embeddingsResult(
  body: Record<string, unknown>,
  model: string,
  inputs: readonly string[],
  intent: AnswerIntent,
): RequestResult {
  const dimensions = requestedDimensions(body, model);
  if (dimensions === null) {
    return {
      kind: 'http',
      status: 400,
      message: `Invalid 'dimensions': ${String(body.dimensions).slice(0, 20)}.`,
    };
  }
  if (inputs.length === 0) return { kind: 'http', status: 400, message: "'input' must not be empty." };
  // An invalid embeddings answer is a body without vectors; catalogues do not apply to embeddings.
  if (intent === 'invalid') return { kind: 'embeddings', vectors: [] };
  return { kind: 'embeddings', vectors: inputs.map((text) => embeddingOf(text, dimensions)) };
}

/** The request's messages with their text; array contents contribute their text parts. */
function promptMessages(body: Record<string, unknown>): PromptMessage[] {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const out: PromptMessage[] = [];
  for (const message of messages) {
    if (message === null || typeof message !== 'object') continue;
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (typeof role !== 'string') continue;
    if (typeof content === 'string') out.push({ role, text: content });
    else if (Array.isArray(content)) {
      const texts = content
        .map((part) => (part as { text?: unknown } | null)?.text)
        .filter((text): text is string => typeof text === 'string');
      out.push({ role, text: texts.join('\n') });
    }
  }
  return out;
}

const hasAnswerTool = (tools: unknown): boolean =>
  Array.isArray(tools) && tools.some((tool) => (tool as { name?: unknown } | null)?.name === ANSWER_TOOL);
