// The console's views other than the task view (task.js): each is
// { collections, actions(params) -> html (drawn once), render(params) ->
// html (redrawn on every change event touching `collections`) }.
'use strict';

const VIEWS = {};

// ---------- reads shared by the views ----------

async function clusters() {
  const arns = await listAll('ListClusters', {}, 'clusterArns');
  if (!arns.length) return [];
  const v = await ecs('DescribeClusters', { clusters: arns });
  return v.clusters || [];
}

async function servicesOf(cluster) {
  const arns = await listAll('ListServices', { cluster }, 'serviceArns');
  let out = [];
  for (const part of chunks(arns, 10)) {
    const v = await ecs('DescribeServices', { cluster, services: part });
    out = out.concat(v.services || []);
  }
  return out.sort((a, b) => a.serviceName.localeCompare(b.serviceName));
}

// The tasks ListTasks gives for `filter` (RUNNING desired by default).
async function tasksOf(cluster, filter) {
  const arns = await listAll('ListTasks', Object.assign({ cluster }, filter), 'taskArns');
  let out = [];
  for (const part of chunks(arns, 100)) {
    const v = await ecs('DescribeTasks', { cluster, tasks: part });
    out = out.concat(v.tasks || []);
  }
  return out.sort((a, b) => (a.createdAt || 0) - (b.createdAt || 0));
}

// Target groups (all, or these ARNs), each with `targets` from
// DescribeTargetHealth.
async function targetGroups(arns) {
  const params = {};
  (arns || []).forEach((a, i) => { params['TargetGroupArns.member.' + (i + 1)] = a; });
  if (arns && !arns.length) return [];
  const v = await elb('DescribeTargetGroups', params);
  const groups = list(v.TargetGroups);
  await Promise.all(groups.map(async (g) => {
    const h = await elb('DescribeTargetHealth', { TargetGroupArn: g.TargetGroupArn });
    g.targets = list(h.TargetHealthDescriptions);
  }));
  return groups.sort((a, b) => a.TargetGroupName.localeCompare(b.TargetGroupName));
}

// host port -> task, to name the task behind each target.
function tasksByPort(tasks) {
  const m = {};
  for (const t of tasks) {
    for (const c of t.containers || []) {
      for (const b of c.networkBindings || []) m[b.hostPort] = t;
    }
  }
  return m;
}

const taskId = (t) => shortName(t.taskArn);
const taskLink = (t) => '<a class="mono task-link" data-task="' + esc(taskId(t)) + '" href="#/tasks/'
  + esc(taskId(t)) + '">' + esc(taskId(t).slice(0, 8)) + '</a>';

function primary(service) {
  return (service.deployments || []).find((d) => d.status === 'PRIMARY') || {};
}

// ---------- target groups table (front page, service, load balancers) ----------

function targetGroupsTable(groups, byPort) {
  if (!groups.length) return '<p class="muted">No target groups.</p>';
  let h = '<table class="target-groups"><tr><th>Target group</th><th>Port</th>'
    + '<th>Health check</th><th>Targets: state (reason)</th></tr>';
  for (const g of groups) {
    const rows = g.targets.map((d) => {
      const t = byPort[d.Target.Port];
      const state = d.TargetHealth.State;
      const reason = d.TargetHealth.Reason ? ' <span class="muted">' + esc(d.TargetHealth.Reason) + '</span>' : '';
      return '<div class="target" data-state="' + esc(state) + '" data-port="' + esc(d.Target.Port) + '">'
        + chip(state) + ' <span class="mono">' + esc(d.Target.Id) + ':' + esc(d.Target.Port) + '</span>'
        + (t ? ' task ' + taskLink(t) : '') + reason + '</div>';
    }).join('') || '<span class="muted">no targets</span>';
    h += '<tr data-tg="' + esc(g.TargetGroupName) + '"><td><b>' + esc(g.TargetGroupName) + '</b></td><td>'
      + esc(g.Protocol) + ' ' + esc(g.Port) + '</td><td class="mono">' + esc(g.HealthCheckPath || '')
      + '</td><td>' + rows + '</td></tr>';
  }
  return h + '</table>';
}

// ---------- front page: is it working? ----------

VIEWS.overview = {
  collections: ['services', 'tasks', 'clusters', 'service_deployments', 'elb'],
  actions: () => '',
  async render() {
    const cs = await clusters();
    const allTasks = [];
    let h = '<h1>Services</h1>';
    for (const c of cs) {
      const [svcs, tasks] = await Promise.all([servicesOf(c.clusterName), tasksOf(c.clusterName, {})]);
      allTasks.push(...tasks);
      h += '<section class="panel"><h2>Cluster <a href="#/clusters/' + esc(c.clusterName) + '">'
        + esc(c.clusterName) + '</a> <span class="muted">' + esc(c.runningTasksCount) + ' running, '
        + esc(c.pendingTasksCount) + ' pending</span></h2>';
      if (!svcs.length) {
        h += '<p class="muted">No services.</p></section>';
        continue;
      }
      h += '<table class="services"><tr><th>Service</th><th>Desired / running / pending</th>'
        + '<th>Rollout</th><th>Running tasks</th></tr>';
      for (const s of svcs) {
        const mine = tasks.filter((t) => t.group === 'service:' + s.serviceName);
        const p = primary(s);
        h += '<tr class="service" data-service="' + esc(s.serviceName) + '"><td><a href="#/services/'
          + esc(s.serviceName) + '">' + esc(s.serviceName) + '</a></td>'
          + '<td class="counts">' + s.desiredCount + ' / ' + s.runningCount + ' / ' + s.pendingCount + '</td>'
          + '<td>' + chip(p.rolloutState) + ((s.deployments || []).length > 1
            ? ' <span class="muted">' + s.deployments.length + ' deployments</span>' : '') + '</td>'
          + '<td class="tasklist">' + (mine.map((t) => taskLink(t) + chip(t.lastStatus)
            + (t.healthStatus && t.healthStatus !== 'UNKNOWN' ? chip(t.healthStatus) : '')).join(' ')
            || '<span class="muted">none</span>') + '</td></tr>';
      }
      h += '</table></section>';
    }
    if (!cs.length) h += '<p class="muted">No clusters yet: <code>aws ecs create-cluster</code>.</p>';
    const groups = await targetGroups();
    h += '<section class="panel"><h2>Target groups</h2>' + targetGroupsTable(groups, tasksByPort(allTasks))
      + '</section>';
    return h;
  },
};

// ---------- service ----------

async function findService(name) {
  for (const c of await clusters()) {
    const v = await ecs('DescribeServices', { cluster: c.clusterName, services: [name] });
    const s = (v.services || [])[0];
    if (s && s.status !== 'INACTIVE') return { cluster: c.clusterName, service: s };
  }
  throw new AwsError('ServiceNotFoundException', 'No active service named ' + name + '.');
}

VIEWS.service = {
  collections: ['services', 'tasks', 'service_deployments', 'elb'],
  actions: ([name]) => (CONSOLE.readOnly ? '' : '<div class="actions">'
    + '<label>Desired tasks <input id="desired" type="number" min="0" max="100"></label>'
    + '<button id="scale" class="primary" data-service="' + esc(name) + '">Update desired count</button>'
    + '<button id="force" data-service="' + esc(name) + '">Force new deployment</button></div>'),
  async render([name]) {
    const { cluster, service: s } = await findService(name);
    CONSOLE.current = { cluster, service: s.serviceName };
    startLogs(s.serviceName);
    const input = document.getElementById('desired');
    // Set to the service's count when that changes, never over what the
    // user is typing.
    if (input && input.dataset.shown !== String(s.desiredCount) && document.activeElement !== input) {
      input.value = s.desiredCount;
      input.dataset.shown = String(s.desiredCount);
    }
    const [running, stopped] = await Promise.all([
      tasksOf(cluster, { serviceName: s.serviceName }),
      tasksOf(cluster, { serviceName: s.serviceName, desiredStatus: 'STOPPED' }),
    ]);
    const tgs = (s.loadBalancers || []).map((l) => l.targetGroupArn).filter(Boolean);
    const groups = await targetGroups(tgs);
    let h = '<h1>Service ' + esc(s.serviceName) + ' ' + chip(s.status) + '</h1>'
      + '<section class="panel"><dl class="kv"><dt>Cluster</dt><dd>' + esc(cluster) + '</dd>'
      + '<dt>Desired / running / pending</dt><dd class="counts">' + s.desiredCount + ' / ' + s.runningCount
      + ' / ' + s.pendingCount + '</dd><dt>Task definition</dt><dd class="mono">'
      + esc(shortName(s.taskDefinition)) + '</dd><dt>Launch type</dt><dd>' + esc(s.launchType || '') + '</dd></dl></section>';
    h += '<section class="panel"><h2>Deployments</h2><table class="deployments"><tr><th>Id</th><th>Status</th>'
      + '<th>Rollout</th><th>Task definition</th><th>Desired / running / pending</th><th>Failed</th><th>Updated</th></tr>';
    for (const d of s.deployments || []) {
      const pct = d.desiredCount ? Math.min(100, Math.round(100 * d.runningCount / d.desiredCount)) : 100;
      h += '<tr data-deployment="' + esc(d.id) + '" data-status="' + esc(d.status) + '"><td class="mono">'
        + esc(d.id) + '</td><td>' + chip(d.status) + '</td><td>' + chip(d.rolloutState)
        + '<div class="muted">' + esc(d.rolloutStateReason || '') + '</div><div class="bar" title="'
        + pct + '% of desired running"><div style="width:' + pct + '%"></div></div></td><td class="mono">'
        + esc(shortName(d.taskDefinition)) + '</td><td class="counts">' + d.desiredCount + ' / ' + d.runningCount
        + ' / ' + d.pendingCount + '</td><td>' + (d.failedTasks || 0) + '</td><td>' + esc(ago(d.updatedAt)) + '</td></tr>';
    }
    h += '</table></section>';
    h += '<section class="panel"><h2>Tasks</h2><table class="tasks"><tr><th>Task</th><th>Last status</th>'
      + '<th>Desired</th><th>Health</th><th>Started</th><th>Stopped reason</th><th></th></tr>';
    for (const t of running.concat(stopped.reverse().slice(0, 5))) {
      h += '<tr data-task="' + esc(taskId(t)) + '"><td>' + taskLink(t) + '</td><td>' + chip(t.lastStatus) + '</td><td>'
        + esc(t.desiredStatus) + '</td><td>' + chip(t.healthStatus) + '</td><td>' + esc(ago(t.startedAt))
        + '</td><td>' + esc(t.stoppedReason || '') + '</td><td>' + (CONSOLE.readOnly || t.desiredStatus === 'STOPPED'
        ? '' : '<button class="danger stop-task" data-stop="' + esc(t.taskArn) + '">Stop task</button>') + '</td></tr>';
    }
    h += '</table></section>';
    h += '<section class="panel"><h2>Target groups</h2>' + targetGroupsTable(groups, tasksByPort(running)) + '</section>';
    h += '<section class="panel"><h2>Events</h2><table class="events">';
    for (const e of (s.events || []).slice(0, 50)) {
      h += '<tr><td>' + esc(when(e.createdAt)) + '</td><td>' + esc(e.message) + '</td></tr>';
    }
    h += '</table></section>';
    return h + '<section class="panel"><h2>Logs of its tasks <span class="muted">(following)</span></h2>'
      + '<pre class="logs" id="logs-slot"></pre></section>';
  },
  // The log tail lives across redraws (see the task view).
  after() { placeLogs(); },
};

// ---------- load balancers ----------

function condition(c) {
  const vals = list((c.PathPatternConfig || c.HostHeaderConfig || c.HttpRequestMethodConfig
    || c.SourceIpConfig || {}).Values);
  const values = vals.length ? vals : list(c.Values);
  return esc(c.Field) + ' is ' + values.map((v) => '<code>' + esc(v) + '</code>').join(' or ');
}

function action(a, names) {
  if (a.Type === 'forward') {
    const tgs = a.TargetGroupArn ? [a.TargetGroupArn]
      : list((a.ForwardConfig || {}).TargetGroups).map((t) => t.TargetGroupArn);
    return 'forward to ' + tgs.map((t) => '<b>' + esc(names[t] || shortName(t)) + '</b>').join(', ');
  }
  if (a.Type === 'fixed-response') {
    const f = a.FixedResponseConfig || {};
    return 'fixed response ' + esc(f.StatusCode || '');
  }
  if (a.Type === 'redirect') return 'redirect';
  return esc(a.Type);
}

VIEWS['load-balancers'] = {
  collections: ['elb', 'tasks'],
  actions: () => '',
  async render() {
    const [lbs, groups, addrs] = await Promise.all([
      elb('DescribeLoadBalancers', {}), targetGroups(),
      fetch('/_emulator/listeners').then((r) => r.json()).catch(() => ({})),
    ]);
    const names = {};
    for (const g of groups) names[g.TargetGroupArn] = g.TargetGroupName;
    let h = '<h1>Load balancers</h1>';
    for (const lb of list(lbs.LoadBalancers)) {
      h += '<section class="panel"><h2>' + esc(lb.LoadBalancerName) + ' ' + chip((lb.State || {}).Code)
        + '</h2><p class="muted mono">' + esc(lb.DNSName) + '</p>';
      const ls = await elb('DescribeListeners', { LoadBalancerArn: lb.LoadBalancerArn });
      for (const l of list(ls.Listeners)) {
        h += '<h3>Listener ' + esc(l.Protocol) + ':' + esc(l.Port) + (addrs[l.ListenerArn]
          ? ' <span class="muted">on <a href="http://' + esc(addrs[l.ListenerArn]) + '/">'
            + esc(addrs[l.ListenerArn]) + '</a></span>' : '') + '</h3>';
        const rs = await elb('DescribeRules', { ListenerArn: l.ListenerArn });
        const rules = list(rs.Rules).sort((a, b) => (a.Priority === 'default') - (b.Priority === 'default')
          || Number(a.Priority) - Number(b.Priority));
        h += '<table class="rules"><tr><th>Priority</th><th>If</th><th>Then</th></tr>';
        for (const r of rules) {
          const conds = list(r.Conditions).map(condition).join(' and ') || '<span class="muted">any request</span>';
          h += '<tr><td>' + esc(r.Priority) + '</td><td>' + conds + '</td><td>'
            + list(r.Actions).map((a) => action(a, names)).join('; ') + '</td></tr>';
        }
        h += '</table>';
      }
      h += '</section>';
    }
    if (!list(lbs.LoadBalancers).length) h += '<p class="muted">No load balancers.</p>';
    const tasks = [];
    for (const c of await clusters()) tasks.push(...await tasksOf(c.clusterName, {}));
    h += '<section class="panel"><h2>Target groups</h2>' + targetGroupsTable(groups, tasksByPort(tasks)) + '</section>';
    return h;
  },
};

// ---------- clusters and their container instances ----------

function resource(ci, kind, name) {
  const r = (ci[kind] || []).find((x) => x.name === name);
  return r ? r.integerValue : 0;
}

function usageBar(ci, name, unit) {
  const reg = resource(ci, 'registeredResources', name);
  const left = resource(ci, 'remainingResources', name);
  const used = reg - left;
  const pct = reg ? Math.round(100 * used / reg) : 0;
  return '<div class="bar" title="' + pct + '% reserved"><div style="width:' + pct + '%"></div></div>'
    + '<span class="muted">' + used + ' of ' + reg + ' ' + unit + ' reserved, ' + left + ' remaining</span>';
}

VIEWS.clusters = {
  collections: ['clusters', 'container_instances', 'tasks', 'services'],
  actions: () => '',
  async render([only]) {
    let h = '<h1>Clusters</h1>';
    for (const c of await clusters()) {
      if (only && c.clusterName !== only) continue;
      h += '<section class="panel cluster" data-cluster="' + esc(c.clusterName) + '"><h2>' + esc(c.clusterName)
        + ' ' + chip(c.status) + '</h2><p>' + c.activeServicesCount + ' services, ' + c.runningTasksCount
        + ' running tasks, ' + c.pendingTasksCount + ' pending, ' + c.registeredContainerInstancesCount
        + ' container instances</p>';
      const arns = await listAll('ListContainerInstances', { cluster: c.clusterName }, 'containerInstanceArns');
      if (!arns.length) { h += '</section>'; continue; }
      const v = await ecs('DescribeContainerInstances', { cluster: c.clusterName, containerInstances: arns });
      h += '<table class="instances"><tr><th>Instance</th><th>Zone</th><th>Type</th><th>Engine</th><th>Agent</th><th>Status</th>'
        + '<th>Tasks</th><th>CPU</th><th>Memory</th></tr>';
      for (const ci of v.containerInstances || []) {
        const attr = (n) => ((ci.attributes || []).find((a) => a.name === n) || {}).value || '';
        h += '<tr><td class="mono">' + esc(ci.ec2InstanceId) + '</td><td>' + esc(attr('ecs.availability-zone'))
          + '</td><td>' + esc(attr('ecs.instance-type')) + '</td><td class="mono">'
          + esc(attr('emulator.docker-host') || 'local') + '</td><td>'
          + chip(ci.agentConnected ? 'CONNECTED' : 'DISCONNECTED') + '</td><td>' + chip(ci.status) + '</td><td>'
          + ci.runningTasksCount + ' running, ' + ci.pendingTasksCount + ' pending</td><td>'
          + usageBar(ci, 'CPU', 'CPU units') + '</td><td>' + usageBar(ci, 'MEMORY', 'MiB') + '</td></tr>';
      }
      h += '</table></section>';
    }
    return h;
  },
};
