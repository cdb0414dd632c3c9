// Swagger UI for this server's own OpenAPI document (issue #9). Everything it loads is served
// by this server (swagger-ui-dist under /docs/assets), so the page works offline.
/* global SwaggerUIBundle */

const status = document.getElementById('docs-status');

/**
 * "Try it out" must call the server that served this page, wherever it is deployed: the
 * document's own `servers` entry names the local stack (http://127.0.0.1:8080), so this
 * origin is put first and the documented one kept as the alternative.
 */
function withThisServer(doc) {
  const here = { url: window.location.origin, description: 'This server' };
  const others = (doc.servers || []).filter((s) => s.url !== here.url);
  return { ...doc, servers: [here, ...others] };
}

fetch('/openapi.json', { headers: { accept: 'application/json' } })
  .then((res) => {
    if (!res.ok) throw new Error(`GET /openapi.json answered ${res.status}`);
    return res.json();
  })
  .then((doc) => {
    window.ui = SwaggerUIBundle({
      spec: withThisServer(doc),
      dom_id: '#swagger-ui',
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      // No top bar: its URL box would only invite loading some other document.
      layout: 'BaseLayout',
      // The default shows a badge fetched from validator.swagger.io: no calls off this server.
      validatorUrl: null,
      displayRequestDuration: true,
    });
    status.remove();
  })
  .catch((err) => {
    status.textContent = `The API document could not be loaded (${err.message}). It is also available as /openapi.json.`;
  });
