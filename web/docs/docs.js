// Starts Swagger UI on the /docs page. A file of its own, not an inline script, so the
// Content-Security-Policy can forbid inline scripts everywhere.

/** The three services' OpenAPI documents, served by each service through Caddy. */
const SPECS = [
  { name: 'auth', url: '/auth/swagger/json' },
  { name: 'users', url: '/users/swagger/json' },
  { name: 'chat', url: '/chat/swagger/json' },
]

/**
 * `?urls.primaryName=users` picks the document shown first (the services' own
 * /<prefix>/swagger pages redirect here with it). Read by hand rather than through Swagger
 * UI's `queryConfigEnabled`, which would also let a link load any `?url=` into the page.
 */
function primaryName() {
  const asked = new URLSearchParams(window.location.search).get('urls.primaryName')
  return SPECS.some((spec) => spec.name === asked) ? asked : SPECS[0].name
}

/**
 * Swagger UI's logo is an SVG with a <style> element inside, which the page's
 * Content-Security-Policy (no inline styles) blocks; the tab bar names the page instead.
 */
const WithoutLogo = () => ({ components: { Logo: () => null } })

window.ui = SwaggerUIBundle({
  urls: SPECS,
  'urls.primaryName': primaryName(),
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl, WithoutLogo],
  layout: 'StandaloneLayout',
  // The default sends every document to an online validator and shows its badge.
  validatorUrl: null,
})
