/**
 * The browsable API page (GET /api/v1/docs): a small static page and script of our own that
 * render /api/v1/openapi.json. No third-party code and no CDN, so it works offline and under a
 * strict Content-Security-Policy (the script is a separate same-origin file).
 */
export const DOCS_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Postern control plane API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 14px 24px; }
  header h1 { font-size: 18px; margin: 0; }
  header p { margin: 4px 0 0; color: #c6cbd6; font-size: 13px; }
  main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
  input#filter { width: 100%; padding: 8px 10px; font-size: 15px; border: 1px solid #c6cbd6; border-radius: 6px; box-sizing: border-box; }
  h2 { margin: 28px 0 8px; font-size: 16px; text-transform: capitalize; }
  details { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; margin: 6px 0; }
  summary { cursor: pointer; padding: 8px 12px; display: flex; gap: 10px; align-items: baseline; }
  .m { font: 600 12px ui-monospace, monospace; padding: 2px 6px; border-radius: 4px; color: #fff; min-width: 52px; text-align: center; }
  .GET { background: #2f6fb3; } .POST { background: #2e8b57; } .PUT { background: #a0701a; } .PATCH { background: #7a4fb0; } .DELETE { background: #b33a3a; }
  .p { font-family: ui-monospace, monospace; }
  .s { color: #5a6172; }
  .body { padding: 4px 14px 12px; border-top: 1px solid #eef0f4; }
  .perm { font: 12px ui-monospace, monospace; background: #eef0f4; padding: 1px 6px; border-radius: 4px; }
  pre { background: #f3f4f7; padding: 8px; border-radius: 4px; overflow: auto; font-size: 12px; max-height: 360px; }
  table { border-collapse: collapse; font-size: 13px; } td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<header><h1>Postern control plane API</h1><p>Rendered from <a style="color:#9cc3ff" href="/api/v1/openapi.json">/api/v1/openapi.json</a>. Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> or a console session.</p></header>
<main>
  <input id="filter" placeholder="Filter by path, summary or permission…" autocomplete="off">
  <div id="ops">Loading…</div>
</main>
<script src="/api/v1/docs/docs.js"></script>
</body>
</html>
`;

export const DOCS_JS = String.raw`// Renders the OpenAPI document of this server (no third-party code, no CDN).
(function () {
  'use strict';
  var METHODS = ['get', 'post', 'put', 'patch', 'delete'];
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === 'text') e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function resolve(doc, schema) {
    if (schema && schema.$ref) {
      var parts = schema.$ref.replace(/^#\//, '').split('/');
      var node = doc;
      parts.forEach(function (p) { node = node && node[p]; });
      return node || schema;
    }
    return schema;
  }
  function json(doc, schema) { return el('pre', { text: JSON.stringify(resolve(doc, schema), null, 2) }); }
  function operation(doc, path, method, op) {
    var summary = el('summary', {}, [
      el('span', { class: 'm ' + method.toUpperCase(), text: method.toUpperCase() }),
      el('span', { class: 'p', text: path }),
      el('span', { class: 's', text: op.summary || '' }),
    ]);
    var body = el('div', { class: 'body' });
    if (op.description) body.appendChild(el('p', {}, [el('span', { class: 'perm', text: op.description.replace(/\x60/g, '') })]));
    if (op.parameters && op.parameters.length) {
      var rows = op.parameters.map(function (p) {
        return el('tr', {}, [el('td', { class: 'p', text: p.name }), el('td', { text: p.in }), el('td', { text: p.required ? 'required' : '' }), el('td', { class: 's', text: (p.schema && (p.schema.description || p.schema.type)) || p.description || '' })]);
      });
      body.appendChild(el('h4', { text: 'Parameters' }));
      body.appendChild(el('table', {}, rows));
    }
    if (op.requestBody && op.requestBody.content) {
      var ct = Object.keys(op.requestBody.content)[0];
      body.appendChild(el('h4', { text: 'Request body (' + ct + ')' }));
      body.appendChild(json(doc, op.requestBody.content[ct].schema));
    }
    Object.keys(op.responses || {}).forEach(function (status) {
      var r = op.responses[status];
      var content = r.content ? r.content[Object.keys(r.content)[0]] : null;
      var d = el('details', {}, [el('summary', { text: status + ' ' + (r.description || '') })]);
      if (content && content.schema) d.appendChild(json(doc, content.schema));
      body.appendChild(d);
    });
    var item = el('details', {}, [summary, body]);
    item.dataset.search = (method + ' ' + path + ' ' + (op.summary || '') + ' ' + (op.description || '')).toLowerCase();
    return item;
  }
  function render(doc) {
    var root = document.getElementById('ops');
    root.textContent = '';
    var byTag = {};
    Object.keys(doc.paths || {}).sort().forEach(function (path) {
      METHODS.forEach(function (m) {
        var op = doc.paths[path][m];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || 'other';
        (byTag[tag] = byTag[tag] || []).push(operation(doc, path, m, op));
      });
    });
    Object.keys(byTag).sort().forEach(function (tag) {
      var section = el('section', {}, [el('h2', { text: tag })].concat(byTag[tag]));
      root.appendChild(section);
    });
    document.getElementById('filter').addEventListener('input', function (e) {
      var q = e.target.value.toLowerCase();
      root.querySelectorAll('section').forEach(function (s) {
        var any = false;
        s.querySelectorAll(':scope > details').forEach(function (d) { var show = d.dataset.search.indexOf(q) >= 0; d.style.display = show ? '' : 'none'; any = any || show; });
        s.style.display = any ? '' : 'none';
      });
    });
  }
  fetch('/api/v1/openapi.json').then(function (r) { return r.json(); }).then(render, function (err) {
    document.getElementById('ops').textContent = 'Could not load the OpenAPI document: ' + err;
  });
})();
`;
