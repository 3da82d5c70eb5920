// The AWS APIs as the console calls them: ECS (JSON 1.1) and ELBv2 (Query,
// XML answers) on POST / of this same origin, plus small formatting
// helpers. Every call carries an Authorization header (the emulator
// accepts any signature but refuses unsigned calls) and the protocol's
// content type, like the AWS CLI's.
'use strict';

const AUTH = 'AWS4-HMAC-SHA256 Credential=console/20260101/us-east-1/ecs/aws4_request, '
  + 'SignedHeaders=host, Signature=console';
const ECS = 'AmazonEC2ContainerServiceV20141113';

class AwsError extends Error {
  constructor(code, message) {
    super(code + ': ' + message);
    this.code = code;
  }
}

// One ECS operation; the reply as JSON.
async function ecs(op, body) {
  const resp = await fetch('/', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': ECS + '.' + op,
      'Authorization': AUTH,
    },
    body: JSON.stringify(body || {}),
  });
  const text = await resp.text();
  let v = {};
  try { v = JSON.parse(text); } catch (e) { v = { message: text }; }
  if (!resp.ok) {
    throw new AwsError((v.__type || 'Error').split('#').pop(), v.message || v.Message || text);
  }
  return v;
}

// An XML element as plain data: a list when its children are `member`s, an
// object of its children otherwise, its text when it has none.
function xmlToJs(el) {
  const kids = Array.from(el.children);
  if (kids.length === 0) return el.textContent;
  if (kids.every((k) => k.tagName === 'member')) return kids.map(xmlToJs);
  const out = {};
  for (const k of kids) out[k.tagName] = xmlToJs(k);
  return out;
}

// One ELBv2 operation (Query protocol); the `<OpResult>` as plain data.
async function elb(op, params) {
  const form = new URLSearchParams({ Action: op, Version: '2015-12-01' });
  for (const [k, v] of Object.entries(params || {})) form.append(k, v);
  const resp = await fetch('/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Authorization': AUTH },
    body: form.toString(),
  });
  const text = await resp.text();
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (!resp.ok) {
    const code = doc.querySelector('Code');
    const msg = doc.querySelector('Message');
    throw new AwsError(code ? code.textContent : 'Error', msg ? msg.textContent : text);
  }
  const result = doc.getElementsByTagName(op + 'Result')[0];
  return result ? xmlToJs(result) : {};
}

// A value that should be a list (an empty XML element reads as '').
function list(v) {
  if (Array.isArray(v)) return v;
  return v && typeof v === 'object' ? [v] : [];
}

// In chunks of `n` (DescribeServices takes 10 names, DescribeTasks 100).
function chunks(xs, n) {
  const out = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

// Every page of a List* operation.
async function listAll(op, body, key) {
  let out = [];
  let token;
  do {
    const v = await ecs(op, Object.assign({}, body, token ? { nextToken: token } : {}));
    out = out.concat(v[key] || []);
    token = v.nextToken;
  } while (token);
  return out;
}

const esc = (s) => String(s == null ? '' : s)
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&#39;');

// The last part of an ARN (`.../cluster/name` -> `name`).
const shortName = (arn) => String(arn || '').split('/').pop();

// ECS timestamps are epoch seconds; ELBv2's ISO text.
function when(t) {
  if (t == null || t === '') return '';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

function ago(t) {
  if (t == null) return '';
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  return Math.floor(s / 3600) + ' h ago';
}

// A state as a coloured chip, in the API's own word.
function chip(state) {
  const s = String(state || '').toUpperCase();
  let cls = 'grey';
  if (['RUNNING', 'HEALTHY', 'COMPLETED', 'ACTIVE', 'PRIMARY', 'CONNECTED'].includes(s)) cls = 'ok';
  else if (['UNHEALTHY', 'FAILED', 'STOPPED', 'DEREGISTERING', 'DISCONNECTED'].includes(s)) cls = 'bad';
  else if (['DRAINING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'UNAVAILABLE'].includes(s)) cls = 'warn';
  else if (['INITIAL', 'PENDING', 'PROVISIONING', 'ACTIVATING', 'IN_PROGRESS'].includes(s)) cls = 'info';
  return '<span class="chip ' + cls + '">' + esc(state || 'UNKNOWN') + '</span>';
}
