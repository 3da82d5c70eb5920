// The console's shell: hash routes (deep links that survive a reload),
// the live feed (`/_console/events`: one event per burst of changes, each
// naming the collections it touched), redraws debounced and never
// overlapping, and the actions (UpdateService, StopTask, and the
// console's own kill of a container).
'use strict';

const CONSOLE = { readOnly: true, current: {}, route: null };

const ROUTES = [
  [/^#\/services\/([^/]+)$/, 'service'],
  [/^#\/tasks\/([^/]+)$/, 'task'],
  [/^#\/load-balancers$/, 'load-balancers'],
  [/^#\/clusters(?:\/([^/]+))?$/, 'clusters'],
  [/^#\/metrics$/, 'metrics'],
];

function parseRoute(hash) {
  for (const [re, view] of ROUTES) {
    const m = re.exec(hash);
    if (m) return { view, params: m.slice(1).filter((x) => x !== undefined).map(decodeURIComponent) };
  }
  return { view: 'overview', params: [] };
}

function flash(text, ok) {
  const f = document.getElementById('flash');
  f.textContent = text;
  f.className = 'flash' + (ok ? ' ok' : '');
  f.hidden = !text;
  clearTimeout(flash.timer);
  if (text) flash.timer = setTimeout(() => { f.hidden = true; }, ok ? 4000 : 10000);
}

// Redraws: at most one at a time; a change during one asks for another.
const DRAW = { running: false, again: false, timer: null };

async function draw() {
  if (DRAW.running) { DRAW.again = true; return; }
  DRAW.running = true;
  const route = CONSOLE.route;
  const view = VIEWS[route.view];
  try {
    const html = await view.render(route.params);
    if (CONSOLE.route === route) {
      document.getElementById('content').innerHTML = html;
      if (view.after) view.after();
      document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1);
    }
  } catch (e) {
    if (CONSOLE.route === route) {
      document.getElementById('content').innerHTML = '<section class="panel"><p class="error">'
        + esc(e.message) + '</p></section>';
    }
  } finally {
    DRAW.running = false;
    if (DRAW.again) { DRAW.again = false; draw(); }
  }
}

// A change event: redraw soon if it touches what the view shows.
function changed(ev) {
  const view = VIEWS[CONSOLE.route.view];
  const touched = Object.keys(ev.records || {}).map((c) => c.split('.')[0]);
  if (!ev.targetHealth && !touched.some((c) => view.collections.includes(c))) return;
  clearTimeout(DRAW.timer);
  DRAW.timer = setTimeout(draw, 150);
}

function navigate() {
  const route = parseRoute(location.hash);
  CONSOLE.route = route;
  CONSOLE.current = {};
  if (route.view !== 'task' && route.view !== 'service') stopLogs();
  if (route.view !== 'metrics') stopMetrics();
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('current', a.dataset.nav === (route.view === 'service' || route.view === 'task'
      ? 'overview' : route.view));
  }
  document.getElementById('view').innerHTML = VIEWS[route.view].actions(route.params)
    + '<div id="content"><p class="muted">Loading&hellip;</p></div>';
  draw();
}

function follow() {
  const live = document.getElementById('live');
  const source = new EventSource('/_console/events');
  source.addEventListener('hello', () => {
    live.textContent = 'live';
    live.className = 'live on';
    // Whatever changed while disconnected.
    draw();
  });
  source.addEventListener('change', (m) => {
    try { changed(JSON.parse(m.data)); } catch (e) { /* a malformed event changes nothing */ }
  });
  source.onerror = () => {
    live.textContent = 'reconnecting';
    live.className = 'live off';
  };
}

async function act(what, call) {
  try {
    await call();
    flash(what, true);
  } catch (e) {
    flash(e.message, false);
  }
}

document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button');
  if (!b || b.disabled) return;
  const { cluster } = CONSOLE.current;
  if (b.id === 'scale') {
    const n = Number(document.getElementById('desired').value);
    act('Desired count of ' + b.dataset.service + ' set to ' + n + '.', () => ecs('UpdateService',
      { cluster, service: b.dataset.service, desiredCount: n }));
  } else if (b.id === 'force') {
    act('New deployment of ' + b.dataset.service + ' started.', () => ecs('UpdateService',
      { cluster, service: b.dataset.service, forceNewDeployment: true }));
  } else if (b.classList.contains('kill-container')) {
    b.disabled = true;
    act('Container ' + b.dataset.container + ' of task ' + b.dataset.task + ' killed.', async () => {
      const r = await fetch('/_console/kill', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task: b.dataset.task, container: b.dataset.container }),
      });
      if (!r.ok) throw new Error((await r.json()).message || r.statusText);
    });
  } else if (b.classList.contains('stop-task')) {
    b.disabled = true;
    act('Task ' + shortName(b.dataset.stop) + ' is stopping.', () => ecs('StopTask',
      { cluster, task: b.dataset.stop, reason: 'Stopped from the emulator console' }));
  }
});

async function start() {
  try {
    const c = await (await fetch('/_console/config')).json();
    CONSOLE.readOnly = !!c.readOnly;
    if (CONSOLE.readOnly) {
      document.getElementById('mode').textContent = 'read-only: the API is bound beyond loopback';
    }
  } catch (e) {
    CONSOLE.readOnly = true;
  }
  window.addEventListener('hashchange', navigate);
  navigate();
  follow();
}

start();
