/**
 * Renders a kustomization of deploy/kubernetes the way `kubectl kustomize` does, for the
 * subset of kustomize these manifests use, so the tests can check them on a machine without
 * kubectl. Anything else in a kustomization.yaml is refused rather than ignored: a field this
 * does not implement would otherwise render differently from the real tool without a sign.
 *   bun deploy/kubernetes/render.ts deploy/kubernetes/overlays/dev | kubectl apply -f -
 *
 * Implemented, in kustomize's order:
 * - resources: YAML files (several documents each) and folders holding a kustomization.yaml;
 * - secretGenerator / configMapGenerator from `files` and `literals`, behaviour create or
 *   replace, with generatorOptions.disableNameSuffixHash: true (required: without it
 *   kustomize appends a content hash to the name and rewrites every reference to it);
 * - patches: strategic-merge patches (`path` or inline `patch`) found by kind and name,
 *   holding maps and scalars only (list merge keys are not implemented, so a list in a
 *   patch is refused);
 * - namespace: set on every namespaced object;
 * - labels: `pairs` added to metadata (includeSelectors: false) and, with includeTemplates,
 *   to the pod templates of workloads;
 * - images: newName / newTag / digest of containers and initContainers by image name.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

export type KubeObject = {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown }
  [key: string]: unknown
}

type Generator = {
  name: string
  behavior?: 'create' | 'replace'
  files?: string[]
  literals?: string[]
  type?: string
}

type Kustomization = {
  apiVersion?: string
  kind?: string
  resources?: string[]
  namespace?: string
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[]
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[]
  patches?: { path?: string; patch?: string }[]
  generatorOptions?: { disableNameSuffixHash?: boolean }
  secretGenerator?: Generator[]
  configMapGenerator?: Generator[]
}

const SUPPORTED_FIELDS = new Set([
  'apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches', 'generatorOptions', 'secretGenerator', 'configMapGenerator',
])
const CLUSTER_SCOPED_KINDS = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'PriorityClass'])
/** Kinds whose spec.template is a pod template (CronJob nests one level deeper). */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'])
/** kustomize's "legacy" output order: these kinds first, in this order; the rest by kind, then namespace and name. */
const KIND_ORDER = [
  'Namespace', 'ResourceQuota', 'StorageClass', 'CustomResourceDefinition', 'ServiceAccount', 'PodSecurityPolicy', 'Role', 'ClusterRole',
  'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Endpoints', 'Service', 'LimitRange', 'PriorityClass', 'PersistentVolume',
  'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'CronJob', 'PodDisruptionBudget',
]

/** The objects `kubectl kustomize <dir>` prints, in its order. */
export function renderKustomization(dir: string): KubeObject[] {
  return sortLikeKustomize(build(resolve(dir)))
}

function build(dir: string): KubeObject[] {
  const file = join(dir, 'kustomization.yaml')
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`)
  const kustomization = Bun.YAML.parse(readFileSync(file, 'utf8')) as Kustomization
  const unsupported = Object.keys(kustomization).filter((field) => !SUPPORTED_FIELDS.has(field))
  if (unsupported.length > 0) throw new Error(`${file}: render.ts does not implement ${unsupported.join(', ')}`)

  let objects = (kustomization.resources ?? []).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? build(path) : readObjects(path)
  })
  objects = applyGenerators(objects, kustomization, dir)
  for (const patch of kustomization.patches ?? []) objects = applyPatch(objects, readPatch(patch, dir), file)
  if (kustomization.namespace !== undefined) {
    for (const object of objects) if (!CLUSTER_SCOPED_KINDS.has(object.kind)) object.metadata.namespace = kustomization.namespace
  }
  for (const { pairs, includeSelectors, includeTemplates } of kustomization.labels ?? []) {
    if (includeSelectors === true) throw new Error(`${file}: render.ts does not implement labels with includeSelectors`)
    for (const object of objects) {
      object.metadata.labels = { ...object.metadata.labels, ...pairs }
      const template = includeTemplates === true ? podTemplateOf(object) : undefined
      if (template !== undefined) template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...pairs } }
    }
  }
  for (const image of kustomization.images ?? []) {
    for (const container of objects.flatMap(containersOf)) container.image = retag(container.image, image)
  }
  return objects
}

function readObjects(path: string): KubeObject[] {
  const parsed: unknown = Bun.YAML.parse(readFileSync(path, 'utf8'))
  const documents = (Array.isArray(parsed) ? parsed : [parsed]).filter((document) => document !== null && document !== undefined)
  for (const document of documents) {
    const { apiVersion, kind, metadata } = document as Partial<KubeObject>
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof metadata?.name !== 'string') {
      throw new Error(`${path}: every document needs apiVersion, kind and metadata.name`)
    }
  }
  return documents as KubeObject[]
}

function applyGenerators(objects: KubeObject[], kustomization: Kustomization, dir: string): KubeObject[] {
  const generators = [
    ...(kustomization.secretGenerator ?? []).map((generator) => ({ generator, kind: 'Secret' as const })),
    ...(kustomization.configMapGenerator ?? []).map((generator) => ({ generator, kind: 'ConfigMap' as const })),
  ]
  if (generators.length > 0 && kustomization.generatorOptions?.disableNameSuffixHash !== true) {
    throw new Error(`${dir}: render.ts implements generators only with generatorOptions.disableNameSuffixHash: true`)
  }
  const result = [...objects]
  for (const { generator, kind } of generators) {
    const values = generatedValues(generator, dir)
    const data = kind === 'Secret' ? Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')])) : values
    const index = result.findIndex((object) => object.kind === kind && object.metadata.name === generator.name)
    const behavior = generator.behavior ?? 'create'
    if (behavior === 'create') {
      if (index !== -1) throw new Error(`${dir}: ${kind} ${generator.name} exists already (behavior: create)`)
      const created: KubeObject = { apiVersion: 'v1', kind, metadata: { name: generator.name }, data }
      if (kind === 'Secret') created.type = generator.type ?? 'Opaque'
      result.push(created)
      continue
    }
    if (behavior !== 'replace') throw new Error(`${dir}: generator ${generator.name}: render.ts implements behavior create and replace only`)
    if (index === -1) throw new Error(`${dir}: no ${kind} ${generator.name} to replace`)
    // Replaced whole, stringData included: a placeholder never survives next to a generated value.
    const { stringData: _placeholders, ...existing } = result[index] as KubeObject & { stringData?: unknown }
    result[index] = { ...existing, data } as KubeObject
  }
  return result
}

function generatedValues({ files = [], literals = [], name }: Generator, dir: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const literal of literals) {
    const at = literal.indexOf('=')
    if (at < 1) throw new Error(`${dir}: generator ${name}: literal "${literal.split('=')[0]}" needs KEY=VALUE`)
    values[literal.slice(0, at)] = literal.slice(at + 1)
  }
  for (const entry of files) {
    const [key, path] = entry.includes('=') ? [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] : [entry.split('/').at(-1)!, entry]
    const file = join(dir, path)
    if (!existsSync(file)) throw new Error(`${dir}: generator ${name}: ${path} does not exist`)
    values[key] = readFileSync(file, 'utf8')
  }
  return values
}

function readPatch({ path, patch }: { path?: string; patch?: string }, dir: string): KubeObject[] {
  if (path !== undefined) return readObjects(join(dir, path))
  if (patch !== undefined) {
    const parsed: unknown = Bun.YAML.parse(patch)
    return (Array.isArray(parsed) ? parsed : [parsed]) as KubeObject[]
  }
  throw new Error(`${dir}: a patch needs path or patch`)
}

function applyPatch(objects: KubeObject[], patches: KubeObject[], file: string): KubeObject[] {
  for (const patch of patches) {
    const index = objects.findIndex((object) => object.kind === patch.kind && object.metadata.name === patch.metadata.name)
    if (index === -1) throw new Error(`${file}: patch for ${patch.kind} ${patch.metadata.name} matches no object`)
    objects[index] = mergeMaps(objects[index], patch, `${patch.kind}/${patch.metadata.name}`) as KubeObject
  }
  return objects
}

type Plain = Record<string, unknown>
const isMap = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Strategic merge for maps and scalars: maps merge key by key, a null deletes, a scalar replaces. */
function mergeMaps(target: Plain, patch: Plain, at: string): Plain {
  const result: Plain = { ...target }
  for (const [key, value] of Object.entries(patch)) {
    if (Array.isArray(value)) throw new Error(`patch ${at}.${key}: render.ts does not merge lists (kustomize merges them by key); patch maps and scalars only`)
    if (value === null) delete result[key]
    else if (isMap(value) && isMap(result[key])) result[key] = mergeMaps(result[key] as Plain, value, `${at}.${key}`)
    else result[key] = structuredClone(value)
  }
  return result
}

type PodTemplate = { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Container[]; initContainers?: Container[] } }
type Container = { name: string; image: string }

export function podTemplateOf(object: KubeObject): PodTemplate | undefined {
  const spec = object.spec as { template?: PodTemplate; jobTemplate?: { spec?: { template?: PodTemplate } } } | undefined
  if (WORKLOAD_KINDS.has(object.kind)) return spec?.template
  if (object.kind === 'CronJob') return spec?.jobTemplate?.spec?.template
  return undefined
}

function containersOf(object: KubeObject): Container[] {
  const spec = object.kind === 'Pod' ? (object.spec as PodTemplate['spec']) : podTemplateOf(object)?.spec
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]
}

/** `name[:tag][@digest]` with the image transformer's replacements, when `name` is the one it names. */
function retag(reference: string, { name, newName, newTag, digest }: { name: string; newName?: string; newTag?: string; digest?: string }): string {
  const [withoutDigest, oldDigest] = reference.split('@')
  const colon = withoutDigest.lastIndexOf(':')
  const hasTag = colon > withoutDigest.lastIndexOf('/')
  const imageName = hasTag ? withoutDigest.slice(0, colon) : withoutDigest
  if (imageName !== name) return reference
  const tag = hasTag ? withoutDigest.slice(colon + 1) : undefined
  const finalName = newName ?? imageName
  if (digest !== undefined) return `${finalName}@${digest}`
  if (newTag !== undefined) return `${finalName}:${newTag}`
  return `${finalName}${tag === undefined ? '' : `:${tag}`}${oldDigest === undefined ? '' : `@${oldDigest}`}`
}

function sortLikeKustomize(objects: KubeObject[]): KubeObject[] {
  const rank = (kind: string) => (KIND_ORDER.includes(kind) ? KIND_ORDER.indexOf(kind) : KIND_ORDER.length)
  return [...objects].sort(
    (a, b) =>
      rank(a.kind) - rank(b.kind) ||
      a.kind.localeCompare(b.kind) ||
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  )
}

/** One YAML document per object, as `kubectl apply -f -` reads them. */
export function toYamlStream(objects: KubeObject[]): string {
  return objects.map((object) => `---\n${Bun.YAML.stringify(object, null, 2).replace(/\n?$/, '\n')}`).join('')
}

if (import.meta.main) {
  const dir = process.argv[2]
  if (dir === undefined) {
    console.error('usage: bun deploy/kubernetes/render.ts <folder with a kustomization.yaml>')
    process.exit(2)
  }
  try {
    process.stdout.write(toYamlStream(renderKustomization(dir)))
  } catch (error) {
    console.error(`render: ${(error as Error).message}`)
    process.exit(1)
  }
}
