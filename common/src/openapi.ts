import { ErrorBody } from './errors'

/**
 * Turns the document `@elysiajs/swagger` generates into a valid OpenAPI 3.1 document.
 *
 * The plugin writes `openapi: 3.0.3` while emitting TypeBox's JSON Schema (`const`,
 * `examples`, `type: "null"`), which only 3.1 allows; it leaves responses without the
 * required `description` and puts schema keywords (`title`, `examples`) beside them; and
 * it lists form and text bodies next to JSON, which these services refuse (415). Here:
 * 3.1, JSON only, every response described, and the error shape one named component
 * (`#/components/schemas/Error`) that every error response refers to.
 */

const ERROR_REF = { $ref: '#/components/schemas/Error' }
const JSON_MEDIA_TYPE = 'application/json'

/** What each status means on these services (the contract's conventions). */
const STATUS_DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'Done; no content',
  400: 'Malformed JSON (unparseable or nested too deep)',
  401: 'Not authenticated: missing, invalid, expired or revoked token',
  403: 'Authenticated but not allowed',
  404: 'Not found',
  409: 'Conflict with existing data',
  410: 'Gone',
  413: 'Request body over the size limit',
  415: 'Request body is not JSON',
  422: 'The request does not match the schema; `details` name the fields',
  429: 'Rate limited; wait for `Retry-After` seconds',
  500: 'Unexpected failure on our side',
  503: 'A backing service is unavailable; try again shortly',
}

type Json = Record<string, unknown>
type Response = { description?: string; title?: string; content?: Record<string, { schema?: Json }> }
type Operation = Json & { responses?: Record<string, Response>; requestBody?: Json & { content?: Record<string, unknown> } }
type Document = Json & { paths?: Record<string, Record<string, Operation>>; components?: Json & { schemas?: Json } }

/** The error shape as plain JSON Schema (TypeBox's symbols dropped). */
const ERROR_SCHEMA: Json = JSON.parse(JSON.stringify(ErrorBody))

/** Builds a new document; the plugin's own (which it caches) is left untouched. */
export function toValidOpenApi(generated: unknown): Document {
  const document = generated as Document
  const paths = Object.fromEntries(
    Object.entries(document.paths ?? {}).map(([path, operations]) => [
      path,
      Object.fromEntries(Object.entries(operations).map(([method, operation]) => [method, fixOperation(operation)])),
    ]),
  )
  const components = document.components ?? {}
  return { ...document, openapi: '3.1.0', paths, components: { ...components, schemas: { ...components.schemas, Error: ERROR_SCHEMA } } }
}

function fixOperation(operation: Operation): Operation {
  const fixed: Operation = { ...operation, responses: fixResponses(operation.responses ?? {}) }
  const jsonBody = operation.requestBody?.content?.[JSON_MEDIA_TYPE] as { schema?: { required?: string[] } } | undefined
  if (operation.requestBody !== undefined && jsonBody !== undefined) {
    // A body whose fields are all optional may be left out (logout); the plugin marks every body required.
    const required = (jsonBody.schema?.required ?? []).length > 0
    fixed.requestBody = { ...operation.requestBody, required, content: { [JSON_MEDIA_TYPE]: jsonBody } }
  }
  return fixed
}

function fixResponses(responses: Record<string, Response>): Record<string, Json> {
  const entries = Object.entries(responses)
  // An operation documented with no answer at all (health) still answers 200.
  if (entries.length === 0) entries.push(['200', {}])
  return Object.fromEntries(entries.map(([status, response]) => [status, fixResponse(status, response)]))
}

function fixResponse(status: string, response: Response): Json {
  const description = response.description ?? STATUS_DESCRIPTIONS[status] ?? `HTTP ${status}`
  if (response.title === ErrorBody.title) return { description, content: { [JSON_MEDIA_TYPE]: { schema: ERROR_REF } } }
  const schema = response.content?.[JSON_MEDIA_TYPE]?.schema
  // A 204 has no body; TypeBox's `t.Void()` is not a JSON Schema type.
  if (status === '204' || schema === undefined || schema.type === 'void') return { description }
  return { description, content: { [JSON_MEDIA_TYPE]: { schema: response.title === undefined ? schema : { title: response.title, ...schema } } } }
}
