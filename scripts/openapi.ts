/**
 * The three services' OpenAPI documents as a stack serves them, and the operations in
 * them: what the API reference (scripts/api-docs.ts) and the fuzzer (test/fuzz.test.ts)
 * are built from, so neither keeps a route list of its own.
 */

/** The part of JSON Schema the services' TypeBox schemas produce. */
export type Schema = {
  $ref?: string
  type?: string
  title?: string
  description?: string
  format?: string
  pattern?: string
  const?: unknown
  enum?: unknown[]
  default?: unknown
  examples?: unknown[]
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  nullable?: boolean
  additionalProperties?: boolean | Schema
  required?: string[]
  properties?: Record<string, Schema>
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
}

type MediaTypes = Record<string, { schema?: Schema }>

export type Parameter = { name: string; in: 'path' | 'query' | 'header' | 'cookie'; required?: boolean; description?: string; schema?: Schema }

export type Operation = {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  security?: Record<string, string[]>[]
  parameters?: Parameter[]
  requestBody?: { required?: boolean; description?: string; content?: MediaTypes }
  responses?: Record<string, { description?: string; content?: MediaTypes; $ref?: string }>
}

export type OpenApiDocument = {
  openapi: string
  info: { title: string; description?: string; version: string }
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>
  components?: { schemas?: Record<string, Schema>; responses?: Record<string, { description?: string; content?: MediaTypes }> }
}

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const
export type HttpMethod = (typeof HTTP_METHODS)[number]

/** The services in the order the reference lists them, with their public prefix. */
export const SERVICES = [
  { name: 'auth', prefix: '/auth' },
  { name: 'user', prefix: '/users' },
  { name: 'chat', prefix: '/chat' },
] as const
export type ServiceDocuments = Record<(typeof SERVICES)[number]['name'], OpenApiDocument>

/** One route of one service, with the path as a client calls it. */
export type Route = {
  service: (typeof SERVICES)[number]['name']
  method: HttpMethod
  /** With `{param}` placeholders and no trailing slash (Elysia documents `POST /users` as `/users/`). */
  path: string
  operation: Operation
  document: OpenApiDocument
}

/** Reads `/<prefix>/swagger/json` of every service from a stack's public URL (Caddy). */
export async function fetchServiceDocuments(baseUrl: string): Promise<ServiceDocuments> {
  const entries = await Promise.all(
    SERVICES.map(async ({ name, prefix }) => {
      const response = await fetch(`${baseUrl}${prefix}/swagger/json`)
      if (!response.ok) throw new Error(`${prefix}/swagger/json answered ${response.status}`)
      return [name, (await response.json()) as OpenApiDocument] as const
    }),
  )
  return Object.fromEntries(entries) as ServiceDocuments
}

export function listRoutes(documents: ServiceDocuments): Route[] {
  return SERVICES.flatMap(({ name }) => {
    const document = documents[name]
    return Object.entries(document.paths).flatMap(([path, item]) =>
      HTTP_METHODS.flatMap((method) => {
        const operation = item[method]
        return operation === undefined ? [] : [{ service: name, method, path: publicPath(path), operation, document }]
      }),
    )
  })
}

function publicPath(path: string): string {
  return path.length > 1 ? path.replace(/\/$/, '') : path
}

export function requiresBearer(operation: Operation): boolean {
  return (operation.security ?? []).some((requirement) => 'bearerAuth' in requirement)
}

/** The JSON body schema of an operation, if it takes one. */
export function jsonBodySchema(route: Route): Schema | undefined {
  return route.operation.requestBody?.content?.['application/json']?.schema
}

/**
 * Follows a local `$ref` (`#/components/schemas/Error`) to its schema; any other schema is
 * returned as it is, so inline and referenced schemas read the same.
 */
export function resolveSchema(document: OpenApiDocument, schema: Schema): Schema {
  let current = schema
  for (let hops = 0; current.$ref !== undefined; hops++) {
    const name = refName(current.$ref)
    const target = document.components?.schemas?.[name]
    if (target === undefined || hops > 16) throw new Error(`${document.info.title}: unresolvable $ref ${current.$ref}`)
    current = { title: name, ...target }
  }
  return current
}

export function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1)
}
