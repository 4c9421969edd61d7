/**
 * The live status page: one self-contained HTML document (inline CSS and script, no CDN, no build
 * step) for people without Grafana. It connects to /api/events and redraws on every snapshot: per
 * environment and probe, subscriber status by client kind, per-path latency and outcome counts,
 * a latency chart per path (SVG drawn by the script below), the latest events and SLO state.
 *
 * It lives in a TS module so `npm run build` ships it with no copy step. Everything from the
 * snapshot is inserted with textContent/attributes, never as markup, so names cannot inject HTML.
 * The script and style carry a per-response nonce that the Content-Security-Policy requires.
 */

export interface StatusPageOptions {
  /** Per-response nonce for the inline script and style (base64, no quotes). */
  nonce: string;
}

export function statusPageContentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function renderStatusPage(options: StatusPageOptions): string {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(options.nonce)) {
    throw new Error('status page nonce must be base64 characters only');
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Realtime Canary — live status</title>
<link rel="icon" href="data:,">
<style nonce="${options.nonce}">${STYLE}</style>
</head>
<body>
<header class="top">
  <h1>Realtime Canary <span class="sub">live delivery status</span></h1>
  <p id="connection" class="conn conn-connecting" role="status" aria-live="polite">Connecting…</p>
  <p id="generated" class="muted"></p>
</header>
<p id="harness" class="banner" role="alert" hidden></p>
<main id="environments" aria-busy="true">
  <p class="empty">Waiting for the first status update…</p>
</main>
<footer class="muted">
  Raw data: <a href="api/status">JSON status</a> · <a href="metrics">Prometheus metrics</a> ·
  <a href="readyz">readiness</a>. This page updates itself over server-sent events.
</footer>
<script nonce="${options.nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #656d76; --bg: #ffffff; --panel: #f6f8fa;
  --line: #d0d7de; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700;
  --c-postgres_changes: #0969da; --c-broadcast: #1a7f37; --c-polling: #8250df; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --panel: #161b22;
  --line: #30363d; --ok: #3fb950; --bad: #f85149; --warn: #d29922;
  --c-postgres_changes: #4493f8; --c-broadcast: #3fb950; --c-polling: #ab7df8; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 1rem 1.25rem 2rem; font: 14px/1.45 system-ui, -apple-system,
  "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.4rem; margin: 0; } h1 .sub { font-weight: 400; color: var(--muted); font-size: 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .5rem; } h4 { font-size: .95rem; margin: .75rem 0 .35rem; }
.top { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.25rem; }
.top p { margin: 0; }
.muted { color: var(--muted); }
.conn { font-weight: 600; } .conn-live { color: var(--ok); } .conn-connecting { color: var(--warn); }
.conn-lost { color: var(--bad); }
.banner { background: var(--bad); color: #fff; padding: .5rem .75rem; border-radius: 6px; }
.empty { color: var(--muted); font-style: italic; padding: 1rem; background: var(--panel); border-radius: 6px; }
.probe { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .25rem 1rem 1rem;
  margin: .75rem 0; }
.summary { margin: 0 0 .5rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: .75rem; }
.table-wrap { overflow-x: auto; margin: .5rem 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; background: var(--bg); }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid var(--line); padding: .2rem .45rem; text-align: right; white-space: nowrap; }
th[scope="row"], td.text, th.text { text-align: left; }
thead th { background: var(--panel); }
.ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); } .pending { color: var(--muted); }
figure { margin: 0; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .35rem; }
figcaption { font-weight: 600; margin-bottom: .2rem; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 2px; margin-right: .35em;
  vertical-align: -.05em; }
.sw-postgres_changes { background: var(--c-postgres_changes); } .sw-broadcast { background: var(--c-broadcast); }
.sw-polling { background: var(--c-polling); }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .axis { stroke: var(--line); stroke-width: 1; }
svg.chart .tick { fill: var(--muted); font-size: 10px; }
svg.chart .series-line { fill: none; stroke-width: 1.75; stroke-linejoin: round; stroke-linecap: round; }
svg.chart .line-postgres_changes { stroke: var(--c-postgres_changes); }
svg.chart .line-broadcast { stroke: var(--c-broadcast); } svg.chart .line-polling { stroke: var(--c-polling); }
svg.chart .dot-postgres_changes { fill: var(--c-postgres_changes); } svg.chart .dot-broadcast { fill: var(--c-broadcast); }
svg.chart .dot-polling { fill: var(--c-polling); }
svg.chart .drop-mark { stroke: var(--bad); stroke-width: 1.75; }
footer { margin-top: 2rem; font-size: .85rem; }
a { color: var(--c-postgres_changes); }
`;

/*
 * Browser script, written as plain ES2019 so it runs as is in any current browser. It keeps no
 * state between snapshots except the connection: each snapshot redraws the page.
 */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var PATHS = ['postgres_changes', 'broadcast', 'polling'];
  var STATES = ['SUBSCRIBED', 'JOINING', 'CHANNEL_ERROR', 'TIMED_OUT', 'CLOSED'];
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var CHART = { width: 360, height: 150, left: 46, right: 10, top: 12, bottom: 22 };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function svgEl(tag, attrs, children) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      if (attrs[key] !== undefined && attrs[key] !== null) node.setAttribute(key, String(attrs[key]));
    });
  }
  function append(node, children) {
    if (children === undefined || children === null) return;
    (Array.isArray(children) ? children : [children]).forEach(function (child) {
      if (child === undefined || child === null || child === false) return;
      if (Array.isArray(child)) return append(node, child);
      node.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
    });
  }

  function formatMs(value) {
    if (value === null || value === undefined || !isFinite(value)) return '—';
    if (value === 0) return '0 ms';
    return (value < 10 ? value.toFixed(1) : String(Math.round(value))) + ' ms';
  }
  function formatRatio(value) {
    if (value === null || value === undefined || !isFinite(value)) return '—';
    return (value * 100).toFixed(value >= 0.9995 || value === 0 ? 0 : 2) + ' %';
  }
  function formatTime(iso) {
    var date = new Date(iso);
    return isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString();
  }
  function niceCeiling(value) {
    if (!(value > 0)) return 10;
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 4, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * magnitude >= value) return steps[i] * magnitude;
    return 10 * magnitude;
  }

  function subscriberTable(groups) {
    if (!groups.length) return el('p', { class: 'empty' }, 'No subscribers configured yet.');
    var head = el('tr', null, [el('th', { scope: 'col', class: 'text' }, 'Client')].concat(
      [el('th', { scope: 'col' }, 'Desired')],
      STATES.map(function (state) { return el('th', { scope: 'col' }, state); })));
    var rows = groups.map(function (group) {
      var subscribed = group.byStatus.SUBSCRIBED || 0;
      return el('tr', null, [el('th', { scope: 'row' }, group.client), el('td', null, group.desired)].concat(
        STATES.map(function (state) {
          var count = group.byStatus[state] || 0;
          var cls = state === 'SUBSCRIBED' ? (subscribed >= group.desired && count > 0 ? 'ok' : 'bad')
            : (count > 0 && state !== 'JOINING' ? 'bad' : null);
          return el('td', { class: cls }, count);
        })));
    });
    return el('table', null, [el('caption', null, 'Subscribers by status'), el('thead', null, head), el('tbody', null, rows)]);
  }

  function pathTable(paths) {
    if (!paths.length) return el('p', { class: 'empty' }, 'No deliveries measured yet.');
    var columns = ['Path', 'p50', 'p95', 'p99', 'Delivered', 'Late', 'Dropped', 'Duplicates', 'In time'];
    var head = el('tr', null, columns.map(function (name, index) {
      return el('th', { scope: 'col', class: index === 0 ? 'text' : null }, name);
    }));
    var rows = paths.map(function (path) {
      return el('tr', null, [
        el('th', { scope: 'row' }, [el('span', { class: 'swatch sw-' + path.path, 'aria-hidden': 'true' }), path.path]),
        el('td', null, formatMs(path.latencyMs.p50)),
        el('td', null, formatMs(path.latencyMs.p95)),
        el('td', null, formatMs(path.latencyMs.p99)),
        el('td', null, path.delivered),
        el('td', { class: path.late > 0 ? 'warn' : null }, path.late),
        el('td', { class: path.dropped > 0 ? 'bad' : null }, path.dropped),
        el('td', { class: path.duplicates > 0 ? 'warn' : null }, path.duplicates),
        el('td', { class: path.deliveredRatio === null ? null : path.deliveredRatio >= 0.99 ? 'ok' : 'bad' },
          formatRatio(path.deliveredRatio)),
      ]);
    });
    return el('table', null, [el('caption', null, 'Delivery by path'), el('thead', null, head), el('tbody', null, rows)]);
  }

  function latencyChart(path) {
    var points = path.series.map(function (point) { return { t: Date.parse(point.at), v: point.latencyMs }; })
      .filter(function (point) { return isFinite(point.t); });
    var caption = el('figcaption', null, [el('span', { class: 'swatch sw-' + path.path, 'aria-hidden': 'true' }),
      path.path + ' latency']);
    if (!points.length) return el('figure', null, [caption, el('p', { class: 'empty' }, 'No events yet.')]);
    var delivered = points.filter(function (point) { return point.v !== null; });
    var drops = points.length - delivered.length;
    var maxValue = niceCeiling(Math.max.apply(null, delivered.map(function (p) { return p.v; }).concat([1])) * 1.1);
    var t0 = points[0].t, t1 = points[points.length - 1].t;
    var plotW = CHART.width - CHART.left - CHART.right, plotH = CHART.height - CHART.top - CHART.bottom;
    // Evenly spaced by event, not by time: rounds publish in bursts, and a burst must not collapse into a spike.
    function x(index) { return CHART.left + (points.length > 1 ? index / (points.length - 1) * plotW : plotW / 2); }
    function y(v) { return CHART.top + plotH - Math.min(v, maxValue) / maxValue * plotH; }
    var label = path.path + ' latency over the last ' + points.length + ' events: p95 ' + formatMs(path.latencyMs.p95) +
      ', ' + drops + ' dropped';
    var nodes = [svgEl('title', null, label)];
    [0, 0.5, 1].forEach(function (fraction) {
      var value = maxValue * fraction, yy = y(value).toFixed(1);
      nodes.push(svgEl('line', { class: 'axis', x1: CHART.left, x2: CHART.width - CHART.right, y1: yy, y2: yy }));
      nodes.push(svgEl('text', { class: 'tick', x: CHART.left - 4, y: (+yy + 3).toFixed(1), 'text-anchor': 'end' },
        formatMs(value)));
    });
    nodes.push(svgEl('text', { class: 'tick', x: CHART.left, y: CHART.height - 6 }, new Date(t0).toLocaleTimeString()));
    nodes.push(svgEl('text', { class: 'tick', x: CHART.width - CHART.right, y: CHART.height - 6, 'text-anchor': 'end' },
      new Date(t1).toLocaleTimeString()));
    var d = '', penDown = false;
    points.forEach(function (point, index) {
      if (point.v === null) { penDown = false; return; }
      d += (penDown ? 'L' : 'M') + x(index).toFixed(1) + ' ' + y(point.v).toFixed(1) + ' ';
      penDown = true;
    });
    if (d) nodes.push(svgEl('path', { class: 'series-line line-' + path.path, d: d.trim() }));
    var lastIndex = -1;
    points.forEach(function (point, index) { if (point.v !== null) lastIndex = index; });
    var last = points[lastIndex];
    if (last) nodes.push(svgEl('circle', { class: 'dot-' + path.path, cx: x(lastIndex).toFixed(1), cy: y(last.v).toFixed(1), r: 2.5 }));
    points.forEach(function (point, index) {
      if (point.v !== null) return;
      var cx = x(index), cy = CHART.top + 4;
      nodes.push(svgEl('path', { class: 'drop-mark', d: 'M' + (cx - 3).toFixed(1) + ' ' + (cy - 3) + 'L' + (cx + 3).toFixed(1) + ' ' +
        (cy + 3) + 'M' + (cx + 3).toFixed(1) + ' ' + (cy - 3) + 'L' + (cx - 3).toFixed(1) + ' ' + (cy + 3) }));
    });
    var chart = svgEl('svg', { class: 'chart', viewBox: '0 0 ' + CHART.width + ' ' + CHART.height, role: 'img',
      'aria-label': label, 'data-path': path.path, 'data-points': points.length }, nodes);
    return el('figure', null, [caption, chart, drops ? el('p', { class: 'bad' }, drops + (drops === 1 ? ' event' : ' events') + ' dropped (marked ×)') : null]);
  }

  function eventsTable(events) {
    if (!events.length) return el('p', { class: 'empty' }, 'No events published yet.');
    var head = el('tr', null, [el('th', { scope: 'col', class: 'text' }, 'Event'), el('th', { scope: 'col', class: 'text' }, 'Published')]
      .concat(PATHS.map(function (path) { return el('th', { scope: 'col' }, path); })));
    var rows = events.slice(0, 20).map(function (event) {
      return el('tr', null, [el('th', { scope: 'row' }, el('code', null, event.id)), el('td', { class: 'text' }, formatTime(event.publishedAt))]
        .concat(PATHS.map(function (path) {
          var value = event.latencyMs[path];
          if (value === 'dropped') return el('td', { class: 'bad' }, 'dropped');
          if (typeof value === 'number') return el('td', null, formatMs(value));
          return el('td', { class: 'pending' }, 'pending');
        })));
    });
    return el('table', null, [el('caption', null, 'Latest events'), el('thead', null, head), el('tbody', null, rows)]);
  }

  function sloTable(slos) {
    if (!slos.length) return null;
    var head = el('tr', null, ['SLO', 'Objective', 'Current', 'State'].map(function (name, index) {
      return el('th', { scope: 'col', class: index === 0 ? 'text' : null }, name);
    }));
    var rows = slos.map(function (slo) {
      var state = slo.met === null ? 'no data' : slo.met ? 'met' : 'breached';
      return el('tr', null, [el('th', { scope: 'row' }, slo.name), el('td', null, formatRatio(slo.objective)),
        el('td', null, formatRatio(slo.current)), el('td', { class: slo.met === null ? 'pending' : slo.met ? 'ok' : 'bad' }, state)]);
    });
    return el('table', null, [el('caption', null, 'Service level objectives'), el('thead', null, head), el('tbody', null, rows)]);
  }

  function mechanicTable(mechanics) {
    if (!mechanics || !mechanics.length) return null;
    var head = el('tr', null, ['Mechanic', 'Token from', 'State', 'Expires', 'Renewals', 'Failures', 'Last error'].map(function (name, index) {
      return el('th', { scope: 'col', class: index === 0 || index === 6 ? 'text' : null }, name);
    }));
    var rows = mechanics.map(function (m) {
      var good = m.state === 'valid' || m.state === 'renewing';
      return el('tr', { 'data-mechanic': m.mechanicId }, [el('th', { scope: 'row' }, m.mechanicId.slice(0, 8)), el('td', null, m.source),
        el('td', { class: good ? 'ok' : m.state === 'pending' ? 'pending' : 'bad' }, m.state),
        el('td', null, m.expiresAt ? formatTime(m.expiresAt) : '—'), el('td', null, String(m.refreshes)),
        el('td', null, String(m.refreshFailures)), el('td', { class: 'text' }, m.lastError || '')]);
    });
    return el('table', null, [el('caption', null, 'Mechanic tokens'), el('thead', null, head), el('tbody', null, rows)]);
  }

  function probeSection(probe) {
    var verdict = probe.lastRoundSuccess === null ? el('span', { class: 'pending' }, 'no round finished yet')
      : probe.lastRoundSuccess ? el('span', { class: 'ok' }, 'last round: all delivered in time')
        : el('span', { class: 'bad' }, 'last round: missed or late deliveries');
    var summary = el('p', { class: 'summary' }, [verdict, ' · ' + probe.roundsCompleted + ' rounds',
      probe.lastRoundAt ? ' · last at ' + formatTime(probe.lastRoundAt) : '']);
    var charts = probe.paths.length ? el('div', { class: 'grid' }, probe.paths.map(latencyChart))
      : el('p', { class: 'empty' }, 'No latency data yet.');
    return el('article', { class: 'probe', 'data-probe': probe.name }, [
      el('h3', null, 'Probe ' + probe.name), summary,
      el('div', { class: 'table-wrap' }, subscriberTable(probe.subscribers)),
      el('div', { class: 'table-wrap' }, pathTable(probe.paths)),
      el('h4', null, 'Latency'), charts,
      el('h4', null, 'Events'), el('div', { class: 'table-wrap' }, eventsTable(probe.recentEvents)),
      el('div', { class: 'table-wrap' }, sloTable(probe.slos)),
    ]);
  }

  function environmentSection(environment) {
    return el('section', { class: 'environment', 'data-environment': environment.name, 'aria-label': 'Environment ' + environment.name }, [
      el('h2', null, 'Environment ' + environment.name),
      environment.probes.length ? environment.probes.map(probeSection)
        : el('p', { class: 'empty' }, 'No probe is running in this environment yet.'),
      el('div', { class: 'table-wrap' }, mechanicTable(environment.mechanics)),
    ]);
  }

  function render(snapshot) {
    var main = document.getElementById('environments');
    main.setAttribute('aria-busy', 'false');
    document.getElementById('generated').textContent = 'Updated ' + formatTime(snapshot.generatedAt);
    var harness = document.getElementById('harness');
    if (snapshot.harness && snapshot.harness.overloaded) {
      harness.hidden = false;
      harness.textContent = 'The harness is overloaded (event-loop p99 ' + formatMs(snapshot.harness.eventLoopLagP99Ms) +
        ', CPU ' + formatRatio(snapshot.harness.cpuRatio) + '): latency shown now is not trustworthy.';
    } else {
      harness.hidden = true;
    }
    main.replaceChildren.apply(main, snapshot.environments.length ? snapshot.environments.map(environmentSection)
      : [el('p', { class: 'empty' }, 'No environment is being probed yet. This page fills in by itself once a probe starts.')]);
    document.documentElement.setAttribute('data-updates', String(++updates));
  }

  var updates = 0;
  function setConnection(text, state) {
    var node = document.getElementById('connection');
    node.textContent = text;
    node.className = 'conn conn-' + state;
  }

  if (typeof EventSource === 'undefined') {
    setConnection('This browser cannot receive live updates; open api/status instead.', 'lost');
    return;
  }
  var source = new EventSource('api/events');
  source.addEventListener('open', function () { setConnection('Live', 'live'); });
  source.addEventListener('error', function () {
    setConnection(source.readyState === EventSource.CLOSED ? 'Disconnected — reload the page' : 'Reconnecting…',
      source.readyState === EventSource.CLOSED ? 'lost' : 'connecting');
  });
  source.addEventListener('snapshot', function (message) {
    try {
      render(JSON.parse(message.data));
    } catch (error) {
      console.error('status page: cannot render snapshot', error);
      setConnection('Could not show the latest update: ' + (error && error.message ? error.message : error), 'lost');
    }
  });
  source.addEventListener('failure', function () { setConnection('The harness could not produce a status', 'lost'); });
})();
`;
