// The metrics view: each load balancer's request rate, 5XX rate and mean
// target response time (from `/metrics`, the same Prometheus text a
// Prometheus would scrape), and each running task's CPU and memory (from
// `/_emulator/stats`), sampled every few seconds while the view is open
// and drawn as small charts over the last five minutes.
'use strict';

const METRICS = { timer: null, period: 3000, keep: 100, lbs: {}, tasks: {}, last: null };

function stopMetrics() {
  clearTimeout(METRICS.timer);
  METRICS.timer = null;
}

function startMetrics() {
  if (METRICS.timer) return;
  sampleMetrics();
}

// `name{labels} value` lines of the families we chart, by label set.
function parseProm(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^aws_applicationelb_([a-z0-9_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const lb = /load_balancer="([^"]*)"/.exec(m[2]);
    if (!lb || m[2].includes('le=')) continue;
    (out[lb[1]] = out[lb[1]] || {})[m[1]] = Number(m[3]);
  }
  return out;
}

function push(series, value) {
  series.push(value);
  while (series.length > METRICS.keep) series.shift();
}

async function sampleMetrics() {
  const now = Date.now() / 1000;
  try {
    const [text, stats] = await Promise.all([
      fetch('/metrics').then((r) => r.text()),
      fetch('/_emulator/stats').then((r) => r.json()),
    ]);
    const cur = { at: now, lbs: parseProm(text) };
    const prev = METRICS.last;
    if (prev) {
      const dt = Math.max(0.001, cur.at - prev.at);
      for (const [lb, c] of Object.entries(cur.lbs)) {
        const p = prev.lbs[lb];
        if (!p) continue;
        const d = (k) => Math.max(0, (c[k] || 0) - (p[k] || 0));
        const s = METRICS.lbs[lb] = METRICS.lbs[lb] || { requests: [], errors: [], latency: [] };
        push(s.requests, d('requests_total') / dt);
        push(s.errors, (d('httpcode_target_5xx_total') + d('httpcode_elb_5xx_total')) / dt);
        const n = d('target_response_time_seconds_count');
        push(s.latency, n ? d('target_response_time_seconds_sum') / n * 1000 : 0);
      }
    }
    METRICS.last = cur;
    const seen = new Set();
    const byTask = {};
    for (const c of stats.containers || []) {
      const t = byTask[c.task] = byTask[c.task] || { group: c.group, cpu: 0, mem: 0 };
      t.cpu += c.cpuPercent || 0;
      t.mem += (c.memoryBytes || 0) / 1048576;
    }
    for (const [id, t] of Object.entries(byTask)) {
      seen.add(id);
      const s = METRICS.tasks[id] = METRICS.tasks[id] || { group: t.group, cpu: [], mem: [] };
      push(s.cpu, t.cpu);
      push(s.mem, t.mem);
    }
    for (const id of Object.keys(METRICS.tasks)) if (!seen.has(id)) delete METRICS.tasks[id];
    if (CONSOLE.route && CONSOLE.route.view === 'metrics') draw();
  } catch (e) {
    // The next sample will tell.
  }
  if (CONSOLE.route && CONSOLE.route.view === 'metrics') {
    METRICS.timer = setTimeout(sampleMetrics, METRICS.period);
  } else {
    METRICS.timer = null;
  }
}

// A small line chart of `values` (newest last), with its latest value.
function chart(name, values, unit, digits) {
  const w = 150;
  const h = 48;
  const max = Math.max(1e-9, ...values);
  const step = values.length > 1 ? w / (METRICS.keep - 1) : 0;
  const x0 = w - step * (values.length - 1);
  const pts = values.map((v, i) => (x0 + i * step).toFixed(1) + ',' + (h - 2 - (v / max) * (h - 6)).toFixed(1));
  const last = values.length ? values[values.length - 1] : null;
  return '<div class="chart" data-metric="' + esc(name) + '" data-samples="' + values.length + '">'
    + '<svg width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" role="img">'
    + '<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="' + pts.join(' ') + '"/></svg>'
    + '<span class="value">' + (last == null ? '&ndash;' : esc(last.toFixed(digits)) + ' ' + esc(unit)) + '</span>'
    + '<span class="muted"> max ' + esc(max > 1e-8 ? max.toFixed(digits) : '0') + '</span></div>';
}

VIEWS.metrics = {
  collections: [],
  actions: () => '',
  async render() {
    startMetrics();
    let h = '<h1>Metrics</h1><p class="muted">Sampled every ' + METRICS.period / 1000
      + ' s while this page is open (last ' + Math.round(METRICS.keep * METRICS.period / 60000)
      + ' min). The same figures are on <a href="/metrics">/metrics</a> for Prometheus.</p>';
    h += '<section class="panel"><h2>Load balancers</h2><table class="metrics"><tr><th>Load balancer</th>'
      + '<th>Requests / s</th><th>5XX / s</th><th>Mean target response time</th></tr>';
    const lbs = Object.entries(METRICS.lbs);
    if (!lbs.length) h += '<tr><td colspan="4" class="muted">Waiting for two samples&hellip;</td></tr>';
    for (const [lb, s] of lbs) {
      h += '<tr><td class="mono" title="' + esc(lb) + '">' + esc(lb.split(':loadbalancer/').pop()) + '</td><td>' + chart('requests', s.requests, '/s', 1) + '</td><td>'
        + chart('errors', s.errors, '/s', 1) + '</td><td>' + chart('latency', s.latency, 'ms', 2) + '</td></tr>';
    }
    h += '</table></section><section class="panel"><h2>Tasks</h2><table class="metrics"><tr><th>Task</th>'
      + '<th>Group</th><th>CPU</th><th>Memory</th></tr>';
    const tasks = Object.entries(METRICS.tasks);
    if (!tasks.length) h += '<tr><td colspan="4" class="muted">No running task sampled yet.</td></tr>';
    for (const [id, s] of tasks) {
      h += '<tr><td><a class="mono" href="#/tasks/' + esc(id) + '">' + esc(id.slice(0, 8)) + '</a></td><td>'
        + esc(s.group || '') + '</td><td>' + chart('cpu', s.cpu, '%', 2) + '</td><td>'
        + chart('memory', s.mem, 'MiB', 1) + '</td></tr>';
    }
    return h + '</table></section>';
  },
};
