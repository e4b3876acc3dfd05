import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'

/**
 * Builds the /docs pages Caddy serves: Swagger UI (from the swagger-ui-dist package, so
 * nothing is loaded from the internet) switching between the three services' OpenAPI
 * documents, and the WebSocket protocol rendered from docs/websocket-protocol.md.
 *
 *   bun scripts/build-docs.ts [outDir]      (default web/dist/docs)
 */

const REPO_ROOT = resolve(import.meta.dir, '..')
const SOURCE_DIR = join(REPO_ROOT, 'web', 'docs')
const PROTOCOL_DOC = join(REPO_ROOT, 'docs', 'websocket-protocol.md')
/** Where Caddy mounts the output. Every URL in the pages is absolute, so `/docs` and `/docs/` both work. */
const BASE = '/docs'
/** What the page loads from swagger-ui-dist; the rest of the package (other bundles, maps) is not served. */
const SWAGGER_UI_FILES = ['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui.css', 'favicon-32x32.png']
/** The page's own script and styles, in web/docs/. */
const OWN_FILES = ['docs.js', 'docs.css']
/** The source maps are not copied; a reference to them would only make devtools ask for a 404. */
const SOURCE_MAP_COMMENT = /\n?\/[*/]# sourceMappingURL=[^\n]*/g

type Tab = 'api' | 'protocol'

export async function buildDocs(outDir = 'web/dist/docs'): Promise<void> {
  const out = resolve(REPO_ROOT, outDir)
  const swaggerUi = dirname(Bun.resolveSync('swagger-ui-dist/package.json', REPO_ROOT))
  await rm(out, { recursive: true, force: true })
  await mkdir(join(out, 'swagger-ui'), { recursive: true })
  await Promise.all([
    ...SWAGGER_UI_FILES.map((name) => copyWithoutSourceMap(join(swaggerUi, name), join(out, 'swagger-ui', name))),
    ...OWN_FILES.map((name) => copyWithoutSourceMap(join(SOURCE_DIR, name), join(out, name))),
    writeFile(join(out, 'index.html'), renderApiPage()),
    readFile(PROTOCOL_DOC, 'utf8').then((markdown) => writeFile(join(out, 'protocol.html'), renderProtocolPage(markdown))),
  ])
}

async function copyWithoutSourceMap(from: string, to: string) {
  if (!/\.(js|css)$/.test(from)) return void (await Bun.write(to, Bun.file(from)))
  await writeFile(to, (await readFile(from, 'utf8')).replace(SOURCE_MAP_COMMENT, ''))
}

function renderApiPage(): string {
  return layout({
    title: 'Chat API reference',
    tab: 'api',
    head: [`<link rel="stylesheet" href="${BASE}/swagger-ui/swagger-ui.css">`],
    body: [
      '<main id="swagger-ui"></main>',
      `<script src="${BASE}/swagger-ui/swagger-ui-bundle.js"></script>`,
      `<script src="${BASE}/swagger-ui/swagger-ui-standalone-preset.js"></script>`,
      `<script src="${BASE}/docs.js"></script>`,
    ],
  })
}

function renderProtocolPage(markdown: string): string {
  // The GFM tag filter keeps raw <script>/<iframe>/… in the markdown from becoming markup.
  const content = Bun.markdown.html(markdown, { headings: { ids: true, autolink: true }, tagFilter: true })
  const title = /^#\s+(.+)$/m.exec(markdown)?.[1] ?? 'WebSocket protocol'
  return layout({ title: `${title} · Chat API`, tab: 'protocol', bodyClass: 'protocol-page', body: [`<main class="protocol">\n${content}</main>`] })
}

function layout(page: { title: string; tab: Tab; head?: string[]; body: string[]; bodyClass?: string }): string {
  const link = (tab: Tab, href: string, label: string) =>
    `<a href="${href}"${tab === page.tab ? ' aria-current="page"' : ''}>${label}</a>`
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(page.title)}</title>`,
    `<link rel="icon" type="image/png" href="${BASE}/swagger-ui/favicon-32x32.png">`,
    ...(page.head ?? []),
    `<link rel="stylesheet" href="${BASE}/docs.css">`,
    '</head>',
    page.bodyClass === undefined ? '<body>' : `<body class="${page.bodyClass}">`,
    '<nav class="docs-nav" aria-label="Documentation">',
    '<span class="docs-title">Chat API</span>',
    link('api', `${BASE}/`, 'HTTP API (auth, users, chat)'),
    link('protocol', `${BASE}/protocol.html`, 'WebSocket protocol'),
    '</nav>',
    ...page.body,
    '</body>',
    '</html>',
    '',
  ].join('\n')
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`)
}

if (import.meta.main) {
  const outDir = process.argv[2] ?? 'web/dist/docs'
  const started = performance.now()
  await buildDocs(outDir)
  console.log(`docs → ${relative(process.cwd(), resolve(REPO_ROOT, outDir)) || '.'} (${Math.round(performance.now() - started)} ms)`)
}
