import type { ProviderName } from '@batchline/domain';
import type { JobTypeDeclaration } from './declaration.ts';
import { shown } from './declaration-error.ts';
import { JobTypeError } from './errors.ts';
import type { CatalogueEntry, InputRecord, RequestContext } from './job-type.ts';
import { renderCatalogue, renderTemplate, type Template } from './template.ts';

/**
 * A job type's request lines (COMMON design): OpenAI chat with `json_schema` structured output, the same messages as
 * an Anthropic Messages request whose answer is a forced `answer` tool call, and OpenAI embeddings.
 */

const ANTHROPIC_MESSAGES_URL = '/v1/messages';
/** Anthropic requires a ceiling on the answer's tokens; without `request.maxTokens`, this one. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 1024;
const ANTHROPIC_MAX_TEMPERATURE = 1;
const ANSWER_TOOL = 'answer';
/** What Anthropic's Message Batches take as a custom_id (narrower than OpenAI: no `.`, at most 64). */
const ANTHROPIC_CUSTOM_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface RequestPlan {
  name: string;
  request: JobTypeDeclaration['request'];
  idField: string;
  /** One per message (chat) or the input template (embeddings). */
  templates: readonly Template[];
  strict: boolean;
  customIdFor: (id: InputRecord['id']) => string;
}

export type RequestLineBuilder = (
  provider: ProviderName,
  input: InputRecord,
  context: RequestContext,
) => Record<string, unknown>;

export function noEmbeddingsOnAnthropic(name: string): JobTypeError {
  return new JobTypeError(
    'invalid_declaration',
    `job type ${shown(name)} requests /v1/embeddings, which Anthropic does not offer: submit it to openai`,
  );
}

export function batchEndpoint(
  request: JobTypeDeclaration['request'],
  name: string,
  provider: ProviderName,
): string {
  if (provider === 'openai') return request.endpoint;
  if (request.endpoint === '/v1/embeddings') throw noEmbeddingsOnAnthropic(name);
  return ANTHROPIC_MESSAGES_URL;
}

export function requestLineBuilder(plan: RequestPlan): RequestLineBuilder {
  const { name, request, idField, templates, strict, customIdFor } = plan;
  // The catalogue is the same for every line of a submission: render it once.
  const rendered = new WeakMap<readonly CatalogueEntry[], string>();
  const catalogueText = (entries: readonly CatalogueEntry[]): string => {
    let text = rendered.get(entries);
    if (text === undefined) {
      text = renderCatalogue(entries);
      rendered.set(entries, text);
    }
    return text;
  };
  const render = (template: Template, input: InputRecord, context: RequestContext): string =>
    renderTemplate(
      template,
      (field) => {
        if (field === idField) return String(input.id);
        const value = input.fields[field];
        if (value === undefined) throw new Error(`input ${input.id} has no field ${field}`);
        return value;
      },
      catalogueText(context.catalogue),
    );

  if (request.endpoint === '/v1/embeddings') {
    const [inputTemplate] = templates;
    return (provider, input, context) => {
      if (provider !== 'openai') throw noEmbeddingsOnAnthropic(name);
      const body: Record<string, unknown> = {
        model: context.model,
        input: render(inputTemplate!, input, context),
      };
      if (request.dimensions !== undefined) body.dimensions = request.dimensions;
      return { custom_id: customIdFor(input.id), method: 'POST', url: request.endpoint, body };
    };
  }

  const { temperature, maxTokens, responseSchema } = request;
  const roles = request.messages.map((message) => message.role);
  const responseFormat = { type: 'json_schema', json_schema: { name, schema: responseSchema, strict } };
  const tools = [{ name: ANSWER_TOOL, input_schema: responseSchema }];
  const toolChoice = { type: 'tool', name: ANSWER_TOOL };
  return (provider, input, context) => {
    const contents = templates.map((template) => render(template, input, context));
    const customId = customIdFor(input.id);
    if (provider === 'openai') {
      const body: Record<string, unknown> = { model: context.model };
      if (temperature !== undefined) body.temperature = temperature;
      if (maxTokens !== undefined) body.max_completion_tokens = maxTokens;
      body.response_format = responseFormat;
      body.messages = contents.map((content, index) => ({ role: roles[index], content }));
      return { custom_id: customId, method: 'POST', url: request.endpoint, body };
    }
    if (!ANTHROPIC_CUSTOM_ID.test(customId)) {
      throw new JobTypeError(
        'invalid_declaration',
        `job type ${shown(name)}: custom_id ${JSON.stringify(customId)} cannot go to Anthropic, which takes 1-64 of [A-Za-z0-9_-]: submit it to openai, or use shorter ids without "."`,
      );
    }
    // Anthropic takes the system prompt apart from the conversation.
    const params: Record<string, unknown> = {
      model: context.model,
      max_tokens: maxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
    };
    if (temperature !== undefined) {
      if (temperature > ANTHROPIC_MAX_TEMPERATURE) {
        throw new JobTypeError(
          'invalid_declaration',
          `job type ${shown(name)}: request.temperature: Anthropic takes 0 to 1, not ${temperature}`,
        );
      }
      params.temperature = temperature;
    }
    const system = contents.filter((_, index) => roles[index] === 'system');
    if (system.length > 0) params.system = system.join('\n\n');
    params.messages = contents.flatMap((content, index) =>
      roles[index] === 'system' ? [] : [{ role: roles[index], content }],
    );
    params.tools = tools;
    params.tool_choice = toolChoice;
    return { custom_id: customId, params };
  };
}
