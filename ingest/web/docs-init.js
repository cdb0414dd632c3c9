// Swagger UI for this server's own OpenAPI document; "Try it out" calls the same base URL.
/* global SwaggerUIBundle, SwaggerUIStandalonePreset */
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
