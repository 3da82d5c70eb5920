// The task view: its lifecycle with DescribeTasks' timestamps, its
// containers (host ports, health), why it stopped, a stop action, and a
// tail of its containers' output that follows `/_emulator/logs` (as
// `emulator logs -f` does, one read a second, from the last line seen).
'use strict';

async function findTask(id) {
  for (const c of await clusters()) {
    const v = await ecs('DescribeTasks', { cluster: c.clusterName, tasks: [id] });
    if ((v.tasks || []).length) return { cluster: c.clusterName, task: v.tasks[0] };
  }
  throw new AwsError('InvalidParameterException', 'No task with id ' + id + '.');
}

// The lifecycle steps ECS reports, with the timestamp of each it gives.
const LIFECYCLE = ['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING',
  'DEPROVISIONING', 'STOPPED'];

function lifecycle(t) {
  const at = {
    PROVISIONING: t.createdAt, PENDING: t.pullStartedAt, RUNNING: t.startedAt,
    STOPPING: t.stoppingAt || t.executionStoppedAt, STOPPED: t.stoppedAt,
  };
  const now = LIFECYCLE.indexOf(t.lastStatus);
  let h = '<ol class="timeline">';
  LIFECYCLE.forEach((s, i) => {
    const cls = i < now ? 'done' : i === now ? 'current' : 'todo';
    h += '<li class="' + cls + '" data-status="' + s + '"><b>' + s + '</b><span>' + esc(when(at[s])) + '</span></li>';
  });
  h += '</ol><dl class="kv" style="margin-top:10px">';
  const stamps = [['createdAt', t.createdAt], ['pullStartedAt', t.pullStartedAt], ['pullStoppedAt', t.pullStoppedAt],
    ['startedAt', t.startedAt], ['stoppingAt', t.stoppingAt], ['executionStoppedAt', t.executionStoppedAt],
    ['stoppedAt', t.stoppedAt]];
  for (const [k, v] of stamps) {
    if (v != null) h += '<dt class="mono">' + k + '</dt><dd>' + esc(when(v)) + ' <span class="muted">' + esc(ago(v)) + '</span></dd>';
  }
  return h + '</dl>';
}

VIEWS.task = {
  collections: ['tasks', 'elb'],
  actions: ([id]) => (CONSOLE.readOnly ? '' : '<div class="actions"><button id="stop-task" class="danger stop-task" data-stop="'
    + esc(id) + '">Stop task</button></div>'),
  async render([id]) {
    const { cluster, task: t } = await findTask(id);
    CONSOLE.current = { cluster, task: t.taskArn };
    const stop = document.getElementById('stop-task');
    if (stop) stop.disabled = t.desiredStatus === 'STOPPED';
    startLogs(id);
    const group = t.group || '';
    let h = '<h1>Task <span class="mono">' + esc(id) + '</span> ' + chip(t.lastStatus) + '</h1>'
      + '<section class="panel"><dl class="kv"><dt>Cluster</dt><dd>' + esc(cluster) + '</dd><dt>Group</dt><dd>'
      + (group.startsWith('service:') ? '<a href="#/services/' + esc(group.slice(8)) + '">' + esc(group) + '</a>' : esc(group))
      + '</dd><dt>Task definition</dt><dd class="mono">' + esc(shortName(t.taskDefinitionArn)) + '</dd>'
      + '<dt>Desired status</dt><dd>' + esc(t.desiredStatus) + '</dd><dt>Health</dt><dd>' + chip(t.healthStatus) + '</dd>'
      + '<dt>Container instance</dt><dd class="mono">' + esc(shortName(t.containerInstanceArn)) + '</dd>'
      + '<dt>Zone</dt><dd>' + esc(t.availabilityZone || '') + '</dd>'
      + (t.stoppedReason ? '<dt>Stopped reason</dt><dd class="stopped-reason">' + esc(t.stoppedReason)
        + (t.stopCode ? ' <span class="muted">(' + esc(t.stopCode) + ')</span>' : '') + '</dd>' : '')
      + '</dl></section>';
    h += '<section class="panel"><h2>Lifecycle</h2>' + lifecycle(t) + '</section>';
    h += '<section class="panel"><h2>Containers</h2><table class="containers"><tr><th>Name</th><th>Image</th>'
      + '<th>Last status</th><th>Health</th><th>Ports (container &rarr; host)</th><th>Exit</th><th>Reason</th><th></th></tr>';
    for (const c of t.containers || []) {
      const ports = (c.networkBindings || []).map((b) => esc(b.containerPort) + ' &rarr; <a href="http://127.0.0.1:'
        + esc(b.hostPort) + '/">' + esc(b.hostPort) + '</a>').join(', ');
      h += '<tr><td><b>' + esc(c.name) + '</b></td><td class="mono">' + esc(c.image) + '</td><td>' + chip(c.lastStatus)
        + '</td><td>' + chip(c.healthStatus) + '</td><td class="mono">' + (ports || '<span class="muted">none</span>')
        + '</td><td>' + esc(c.exitCode == null ? '' : c.exitCode) + '</td><td>' + esc(c.reason || '') + '</td><td>'
        + (CONSOLE.readOnly || c.lastStatus !== 'RUNNING' ? '' : '<button class="danger kill-container" data-task="'
          + esc(id) + '" data-container="' + esc(c.name) + '" title="SIGKILL, as a crash would">Kill</button>')
        + '</td></tr>';
    }
    h += '</table></section>';
    h += '<section class="panel"><h2>Logs <span class="muted">(following)</span></h2>'
      + '<pre class="logs" id="logs-slot"></pre></section>';
    return h;
  },
  // The log tail survives redraws: it lives in one element moved into
  // each new rendering.
  after() { placeLogs(); },
};

// Puts the one log element into the slot of a new rendering.
function placeLogs() {
  const slot = document.getElementById('logs-slot');
  if (slot && LOGS.el) slot.replaceWith(LOGS.el);
}

const LOGS = { id: null, el: null, since: 0, seen: new Set(), timer: null };

function stopLogs() {
  clearTimeout(LOGS.timer);
  LOGS.id = null;
}

function startLogs(id) {
  if (LOGS.id === id) return;
  stopLogs();
  LOGS.id = id;
  LOGS.since = 0;
  LOGS.seen = new Set();
  LOGS.el = document.createElement('pre');
  LOGS.el.className = 'logs';
  LOGS.el.id = 'logs';
  pollLogs(id);
}

async function pollLogs(id) {
  if (LOGS.id !== id) return;
  try {
    const r = await fetch('/_emulator/logs?target=' + encodeURIComponent(id) + '&since_ms=' + LOGS.since);
    const v = await r.json();
    const el = LOGS.el;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
    for (const e of v.events || []) {
      // Lines at the edge millisecond come again on the next read.
      const key = e.stream + '|' + e.message;
      if (e.timestamp < LOGS.since || (e.timestamp === LOGS.since && LOGS.seen.has(key))) continue;
      if (e.timestamp > LOGS.since) {
        LOGS.since = e.timestamp;
        LOGS.seen = new Set();
      }
      LOGS.seen.add(key);
      const line = document.createElement('div');
      line.innerHTML = '<span class="stream">' + esc(e.stream.split('/')[0]) + ' |</span> ' + esc(e.message);
      el.appendChild(line);
    }
    while (el.childNodes.length > 500) el.removeChild(el.firstChild);
    if (atBottom) el.scrollTop = el.scrollHeight;
  } catch (e) {
    // The task may have no output yet; try again.
  }
  if (LOGS.id === id) LOGS.timer = setTimeout(() => pollLogs(id), 1000);
}
