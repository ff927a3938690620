/**
 * The playground at GET /: one server-rendered page (Hono's html helper, values escaped) with a
 * small inline script and no framework. The script calls the public API exactly as any client
 * does (GET /v1/labelsets, POST /v1/classify as multipart with the key as a Bearer token), so what
 * the page shows is what the API answers, errors included.
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { CLIENT_SCRIPT } from './client-script.ts';

export interface PlaygroundOptions {
  /** Pre-filled into the key field: the demo key, only when the worker runs locally (routes/playground.ts). */
  readonly demoKey: string | null;
  readonly defaultTopK: number;
  readonly maxTopK: number;
  readonly maxBodyBytes: number;
}

// Colours meet WCAG AA on white (text #1f2328: 15:1; accent #0b57d0: 6.2:1; error #a40e26: 7.6:1).
const STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #57606a; --accent: #0b57d0; --line: #d0d7de; --err: #a40e26; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff; margin: 0; }
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
p.lead { color: var(--muted); margin: 0 0 1.5rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
.hint { color: var(--muted); font-size: .875rem; font-weight: 400; }
input[type=password], input[type=text], input[type=number], select { width: 100%; font: inherit; padding: .5rem .6rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: var(--fg); }
input[type=number] { width: 7rem; }
.row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.row > input, .row > select { flex: 1; min-width: 12rem; }
button { font: inherit; font-weight: 600; padding: .5rem 1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button:disabled { opacity: .6; cursor: progress; }
:focus-visible { outline: 3px solid #fb8c00; outline-offset: 2px; }
#drop { border: 2px dashed #8c959f; border-radius: 8px; padding: 1rem; text-align: center; }
#drop.over { border-color: var(--accent); background: #eef4ff; }
#preview { height: 12rem; width: auto; max-width: 100%; object-fit: contain; display: block; margin: .75rem auto 0; border-radius: 6px; }
#preview[hidden] { display: none; }
.pick { display: inline-flex; gap: .5rem; flex-wrap: wrap; justify-content: center; margin-top: .5rem; }
.pick label { margin: 0; font-weight: 600; color: var(--accent); border: 1px solid var(--accent); border-radius: 6px; padding: .4rem .8rem; cursor: pointer; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.pick input:focus-visible + span { outline: 3px solid #fb8c00; outline-offset: 4px; }
#error { color: var(--err); border: 1px solid var(--err); border-radius: 6px; padding: .75rem; margin-top: 1rem; }
#error[hidden], #result[hidden] { display: none; }
#result { margin-top: 1.5rem; }
ol.bars { list-style: none; padding: 0; margin: .5rem 0; }
ol.bars li { display: grid; grid-template-columns: minmax(6rem, 10rem) 1fr 4.5rem; gap: .5rem; align-items: center; margin: .3rem 0; }
.track { background: #eaeef2; border-radius: 4px; height: 1.1rem; overflow: hidden; }
.fill { background: var(--accent); height: 100%; }
.score { text-align: right; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin-top: .5rem; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2rem .9rem .2rem 0; border-bottom: 1px solid var(--line); }
.meta { color: var(--muted); }
`;

export function playgroundPage(opts: PlaygroundOptions): HtmlEscapedString | Promise<HtmlEscapedString> {
  const maxMb = (opts.maxBodyBytes / 2 ** 20).toFixed(0);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>prompt-edge playground</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<main>
<h1>prompt-edge playground</h1>
<p class="lead">Classify an image with your API key and one of your label sets. This page calls the public API (<a href="/openapi.json">OpenAPI</a>) like any client.</p>
<form id="form" novalidate>
  <label for="key">API key <span class="hint">(sent as <code>Authorization: Bearer</code>; kept in this tab only)</span></label>
  <div class="row">
    <input id="key" name="key" type="password" autocomplete="off" spellcheck="false" required value="${opts.demoKey ?? ''}" data-demo="${opts.demoKey === null ? 'no' : 'yes'}">
    <button type="button" id="load" class="secondary">Load label sets</button>
  </div>
  <label for="labelset">Label set</label>
  <select id="labelset" name="labelset" aria-describedby="labelset-info"><option value="default">default</option></select>
  <div id="labelset-info" class="hint" aria-live="polite"></div>
  <label for="topk">Top labels to show <span class="hint">(1 to ${opts.maxTopK})</span></label>
  <input id="topk" name="topk" type="number" min="1" max="${opts.maxTopK}" value="${opts.defaultTopK}">
  <label for="file">Image <span class="hint">(JPEG, PNG, WebP, GIF, BMP or AVIF, at most ${maxMb} MB; drop it here, choose a file, or take a photo)</span></label>
  <div id="drop">
    <div class="pick">
      <label><input id="file" name="image" type="file" accept="image/*" class="visually-hidden"><span>Choose an image</span></label>
      <label><input id="camera" type="file" accept="image/*" capture="environment" class="visually-hidden" aria-label="Take a photo"><span>Take a photo</span></label>
    </div>
    <div id="filename" class="hint" aria-live="polite">No image chosen.</div>
    <img id="preview" alt="The image to classify" hidden>
  </div>
  <p><button type="submit" id="classify">Classify</button></p>
</form>
<div id="error" role="alert" hidden></div>
<section id="result" aria-live="polite" hidden>
  <h2>Top labels</h2>
  <ol class="bars" id="bars"></ol>
  <p class="meta" id="meta"></p>
  <table aria-label="Timing split in milliseconds"><thead><tr><th scope="col">stage</th><th scope="col">ms</th></tr></thead><tbody id="timings"></tbody></table>
</section>
</main>
<script>${raw(CLIENT_SCRIPT)}</script>
</body>
</html>`;
}
