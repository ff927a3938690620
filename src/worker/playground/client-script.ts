/**
 * The playground's browser script, inlined into the page (no bundle, no framework). Plain ES2020
 * in a string: it runs in the visitor's browser, not in the worker, and is exercised end to end by
 * test/browser/playground.test.ts. DOM text is set with textContent only (API answers are never
 * parsed as HTML).
 */
export const CLIENT_SCRIPT = String.raw`
(() => {
  const $ = (id) => document.getElementById(id);
  const key = $('key'), select = $('labelset'), info = $('labelset-info'), topk = $('topk');
  const fileInput = $('file'), camera = $('camera'), drop = $('drop'), preview = $('preview'), filename = $('filename');
  const errorBox = $('error'), result = $('result'), submit = $('classify');
  let image = null;
  let sets = [];

  const STORE = 'prompt-edge.key';
  if (!key.value) key.value = sessionStorage.getItem(STORE) || '';

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
  }
  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = '';
  }
  /** The API's own error message (its JSON error shape), with the code and request id to quote. */
  async function apiError(res) {
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON: a proxy or network error page */ }
    if (body && body.error) {
      const id = body.error.request_id ? ' (request ' + body.error.request_id + ')' : '';
      return body.error.message + ' [' + res.status + ' ' + body.error.code + ']' + id;
    }
    return 'The API answered ' + res.status + ' ' + res.statusText + '.';
  }
  function authHeaders() {
    return { authorization: 'Bearer ' + key.value.trim() };
  }

  function describe(name) {
    const s = sets.find((x) => x.name === name);
    info.textContent = s ? 'version ' + s.version + ' · ' + s.labels.length + ' labels · ' + s.method : '';
  }

  async function loadLabelSets() {
    clearError();
    if (!key.value.trim()) { showError('Paste your API key first.'); key.focus(); return; }
    sessionStorage.setItem(STORE, key.value.trim());
    let res;
    try { res = await fetch('/v1/labelsets', { headers: authHeaders() }); }
    catch (e) { showError('Could not reach the API: ' + e.message); return; }
    if (!res.ok) { showError(await apiError(res)); return; }
    const body = await res.json();
    sets = body.labelsets;
    const previous = select.value;
    select.replaceChildren(...sets.map((s) => new Option(s.name + ' (v' + s.version + ')', s.name)));
    if (sets.some((s) => s.name === previous)) select.value = previous;
    if (sets.length === 0) showError('Tenant "' + body.tenant + '" has no label sets yet: publish one (npm run train-and-publish).');
    describe(select.value);
  }

  function useFile(file) {
    if (!file) return;
    image = file;
    filename.textContent = file.name + ' (' + Math.round(file.size / 1024) + ' kB)';
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
  }

  function render(body, requestId) {
    const bars = $('bars');
    bars.replaceChildren(...body.labels.map((l) => {
      const li = document.createElement('li');
      li.dataset.label = l.label;
      li.dataset.score = String(l.score);
      const name = document.createElement('span');
      name.textContent = l.label;
      const track = document.createElement('span');
      track.className = 'track';
      track.setAttribute('aria-hidden', 'true');
      const fill = document.createElement('span');
      fill.className = 'fill';
      fill.style.display = 'block';
      fill.style.width = (Math.max(0, Math.min(1, l.score)) * 100).toFixed(1) + '%';
      track.append(fill);
      const score = document.createElement('span');
      score.className = 'score';
      score.textContent = l.score.toFixed(4);
      li.append(name, track, score);
      return li;
    }));
    $('meta').textContent = 'Label set ' + body.labelset.name + ', version ' + body.labelset.version + ' · model ' + body.model + (requestId ? ' · request ' + requestId : '');
    $('meta').dataset.version = body.labelset.version;
    $('timings').replaceChildren(...Object.entries(body.timings_ms).map(([stage, ms]) => {
      const tr = document.createElement('tr');
      tr.dataset.stage = stage;
      const a = document.createElement('td');
      a.textContent = stage;
      const b = document.createElement('td');
      b.textContent = String(ms);
      tr.append(a, b);
      return tr;
    }));
    result.hidden = false;
  }

  async function classify(event) {
    event.preventDefault();
    clearError();
    if (!key.value.trim()) { showError('Paste your API key first.'); key.focus(); return; }
    if (!image) { showError('Choose an image first (or drop one on the image area).'); fileInput.focus(); return; }
    sessionStorage.setItem(STORE, key.value.trim());
    const form = new FormData();
    form.append('image', image, image.name || 'image');
    const query = new URLSearchParams({ labelset: select.value || 'default', top_k: topk.value || '5' });
    submit.disabled = true;
    submit.textContent = 'Classifying…';
    try {
      const res = await fetch('/v1/classify?' + query, { method: 'POST', headers: authHeaders(), body: form });
      if (!res.ok) { result.hidden = true; showError(await apiError(res)); return; }
      render(await res.json(), res.headers.get('x-request-id'));
    } catch (e) {
      showError('Could not reach the API: ' + e.message);
    } finally {
      submit.disabled = false;
      submit.textContent = 'Classify';
    }
  }

  $('load').addEventListener('click', loadLabelSets);
  key.addEventListener('change', () => { if (key.value.trim()) loadLabelSets(); });
  select.addEventListener('change', () => describe(select.value));
  fileInput.addEventListener('change', () => useFile(fileInput.files[0]));
  camera.addEventListener('change', () => useFile(camera.files[0]));
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    useFile(e.dataTransfer.files[0]);
  });
  $('form').addEventListener('submit', classify);
  if (key.value.trim()) loadLabelSets();
})();
`;
