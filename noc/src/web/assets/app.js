// Outpost NOC web view: a small single-page app over the operator JSON API (/api/v1/...).
// No framework and no build step: views are plain functions that fetch JSON and build DOM nodes.
// Text from the API only ever goes into textContent, never innerHTML, so plugin output cannot inject markup.
// Live updates: one EventSource on /api/v1/events/stream; each message schedules a quick re-fetch of the
// current view (server-side paging and filtering keep that cheap at 100,000 objects). A slow poll covers
// the gaps when the stream is down.
'use strict';

(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const root = document.getElementById('view');
  const errorBox = document.getElementById('error');
  const liveBadge = document.getElementById('live');
  const PAGE = 100;
  const POLL_MS = 5000;
  const LIVE_DELAY_MS = 150;

  let current = null; // { refresh: async () => void, onEvent?: () => void }
  let liveTimer = null;
  let generation = 0; // bumps on every navigation, so stale responses are dropped

  // ---- small helpers -------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function showError(msg) {
    errorBox.textContent = msg || '';
    errorBox.hidden = !msg;
  }

  async function api(path, method) {
    const opts = { method: method || 'GET', credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (opts.method !== 'GET') opts.headers['X-CSRF-Token'] = csrf;
    const resp = await fetch(path, opts);
    if (resp.status === 401) {
      window.location.assign('/login');
      throw new Error('signed out');
    }
    const text = await resp.text();
    if (!resp.ok) throw new Error(`${opts.method} ${path}: ${resp.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : null;
  }

  const itemsOf = (x) => (Array.isArray(x) ? x : (x && Array.isArray(x.items) ? x.items : []));

  function toMillis(t) {
    if (t === null || t === undefined || t === '' || t === 0) return null;
    if (typeof t === 'number') return t;
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }

  function fmtTime(t) {
    const ms = toMillis(t);
    return ms === null ? '—' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function fmtAge(t) {
    const ms = toMillis(t);
    if (ms === null) return 'never';
    return fmtDuration(Date.now() - ms) + ' ago';
  }

  function fmtDuration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return '—';
    let s = Math.max(0, Math.round(Number(ms) / 1000));
    if (s < 120) return `${s}s`;
    if (s < 7200) return `${Math.round(s / 60)}m`;
    if (s < 172800) return `${Math.round(s / 3600)}h`;
    return `${Math.round(s / 86400)}d`;
  }

  function fmtBytes(n) {
    n = Number(n || 0);
    if (n < 1024) return `${n} B`;
    if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1048576).toFixed(1)} MiB`;
  }

  function fmtPerf(p) {
    if (p === null || p === undefined) return '';
    if (typeof p === 'string') return p;
    const list = Array.isArray(p) ? p : (Array.isArray(p.items) ? p.items : (Array.isArray(p.metrics) ? p.metrics : null));
    if (list) {
      return list.map((m) => (typeof m === 'string' ? m : `${m.label}=${m.value ?? ''}${m.unit ?? m.uom ?? ''}`)).join(' ');
    }
    return JSON.stringify(p);
  }

  // The API filters by state code; hosts and services share the codes (1 is WARNING or DOWN).
  const STATE_OPTIONS = [['', 'any'], ['2', 'CRITICAL / UNREACHABLE'], ['1', 'WARNING / DOWN'], ['3', 'UNKNOWN'],
    ['0', 'OK / UP']];
  const HOST_STATES = ['UP', 'DOWN', 'UNREACHABLE'];
  const SERVICE_STATES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];

  // An event's state as a name: the full event (`event`) says whether its object is a host or a service.
  function eventStateName(e) {
    if (e.state === null || e.state === undefined) return null;
    if (typeof e.state === 'string') return e.state;
    const inner = e.event && typeof e.event === 'object' ? Object.values(e.event)[0] : null;
    const key = inner && inner.key;
    const names = key && (key.service === null || key.service === undefined) ? HOST_STATES : SERVICE_STATES;
    return names[e.state] || String(e.state);
  }

  function stateBadge(name) {
    const n = String(name || 'PENDING');
    return el('span', { class: `badge s-${n.toLowerCase()}`, text: n });
  }

  function healthBadge(h) {
    return el('span', { class: `badge h-${h || 'pending'}`, text: h || 'pending' });
  }

  function hashParams() {
    const q = window.location.hash.split('?')[1] || '';
    return new URLSearchParams(q);
  }

  function setHashParams(base, params) {
    const clean = new URLSearchParams();
    for (const [k, v] of params) if (v !== '' && v !== null && v !== undefined) clean.set(k, v);
    const q = clean.toString();
    const target = q ? `${base}?${q}` : base;
    if (window.location.hash !== target) window.history.replaceState(null, '', target);
  }

  function query(params) {
    const clean = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) clean.set(k, v);
    return clean.toString();
  }

  function select(id, label, options, value, onchange) {
    const s = el('select', { id, onchange });
    for (const [v, text] of options) s.append(el('option', { value: v, text, selected: v === value }));
    return el('label', {}, `${label} `, s);
  }

  async function locationNames() {
    try {
      return itemsOf(await api('/api/v1/locations')).map((l) => l.location).sort();
    } catch (e) {
      return [];
    }
  }

  function pager(total, offset, limit, go) {
    const from = total === 0 ? 0 : offset + 1;
    const to = Math.min(offset + limit, total);
    return el('div', { class: 'pager' },
      el('button', { type: 'button', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, '‹ Previous'),
      el('span', { class: 'range', text: `${from}–${to} of ${total}` }),
      el('button', { type: 'button', disabled: to >= total, onclick: () => go(offset + limit) }, 'Next ›'));
  }

  // ---- tables ---------------------------------------------------------------------------------

  function problemCounts(p) {
    p = p || {};
    const parts = [];
    for (const [k, cls] of [['critical', 'c-critical'], ['down', 'c-critical'], ['unreachable', 'c-unknown'],
      ['unknown', 'c-unknown'], ['warning', 'c-warning']]) {
      if (p[k]) parts.push(el('span', { class: cls, text: `${p[k]} ${k}` }));
    }
    return parts.length ? el('span', { class: 'counts' }, parts) : el('span', { class: 'empty', text: 'none' });
  }

  function locationsTable(list) {
    const head = el('tr', {}, ['Location', 'Health', 'Last seen', 'Lag', 'Backlog', 'Oldest queued', 'Objects',
      'Problems', 'Version', 'Clock offset'].map((h) => el('th', { text: h })));
    const rows = list.map((l) => el('tr', { 'data-location': l.location },
      el('td', {}, el('a', { href: `#/location/${encodeURIComponent(l.location)}`, text: l.location })),
      el('td', { class: 'health' }, healthBadge(l.health)),
      el('td', { title: fmtTime(l.last_seen), text: fmtAge(l.last_seen) }),
      el('td', { class: 'num', text: fmtDuration(l.lag_ms) }),
      el('td', { class: 'num', text: `${l.backlog_items ?? 0} / ${fmtBytes(l.backlog_bytes)}` }),
      el('td', { class: 'num', text: l.backlog_oldest_ms ? fmtAge(l.backlog_oldest_ms) : '—' }),
      el('td', { class: 'num', text: l.objects ?? 0 }),
      el('td', { class: 'problems' }, problemCounts(l.problems)),
      el('td', { text: l.version || '—' }),
      el('td', { class: 'num', text: l.clock_offset_ms === undefined || l.clock_offset_ms === null ? '—' : `${l.clock_offset_ms} ms` })));
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 10, class: 'empty', text: 'No satellite has reported yet.' })));
    return el('table', { id: 'locations' }, el('thead', {}, head), el('tbody', {}, rows));
  }

  function objectsTable(id, items, withLocation) {
    const cols = (withLocation ? ['Location'] : []).concat(['Host', 'Service', 'State', 'Output', 'Perfdata', 'Last check', 'Since']);
    const head = el('tr', {}, cols.map((h) => el('th', { text: h })));
    const rows = items.map((o) => {
      const handled = o.acknowledged || o.in_downtime;
      return el('tr', { 'data-object': o.name, 'data-state': o.state_name, class: handled ? 'handled' : null },
        withLocation ? el('td', {}, el('a', { href: `#/location/${encodeURIComponent(o.location)}`, text: o.location })) : null,
        el('td', { text: o.host }),
        el('td', { text: o.service || '' }),
        el('td', { class: 'state' }, stateBadge(o.state_name),
          o.state_type === 'SOFT' || o.state_type === 0 ? el('span', { class: 'mark', text: 'soft' }) : null,
          o.acknowledged ? el('span', { class: 'mark ack', text: 'acknowledged' }) : null,
          o.in_downtime ? el('span', { class: 'mark downtime', text: 'in downtime' }) : null,
          o.stale ? el('span', { class: 'mark', text: 'stale' }) : null),
        el('td', { class: 'output', title: o.long_output || '', text: o.output || '' }),
        el('td', { class: 'perf', text: fmtPerf(o.perfdata) }),
        el('td', { title: fmtTime(o.last_check), text: fmtAge(o.last_check) }),
        el('td', { title: fmtTime(o.last_state_change), text: fmtAge(o.last_state_change) }));
    });
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: cols.length, class: 'empty', text: 'Nothing matches.' })));
    return el('table', { id }, el('thead', {}, head), el('tbody', {}, rows));
  }

  // ---- views ----------------------------------------------------------------------------------

  function overview() {
    const locBox = el('div', {});
    const probBox = el('div', {});
    root.replaceChildren(el('h2', { text: 'Locations' }), locBox,
      el('h2', {}, 'Problems, worst first ', el('a', { href: '#/problems', text: '(all)' })), probBox);
    return {
      refresh: async () => {
        const [locs, probs] = await Promise.all([api('/api/v1/locations'), api('/api/v1/objects?problems=true&limit=50')]);
        locBox.replaceChildren(locationsTable(itemsOf(locs)));
        probBox.replaceChildren(objectsTable('problems', itemsOf(probs), true));
      },
    };
  }

  function objectList(title, base, fixed) {
    const p = hashParams();
    const f = {
      location: fixed.location || p.get('location') || '', state: p.get('state') || '', acknowledged: p.get('acknowledged') || '',
      downtime: p.get('downtime') || '', q: p.get('q') || '', offset: Number(p.get('offset') || 0),
    };
    const box = el('div', {});
    const pagerBox = el('div', {});
    const reload = () => {
      setHashParams(base, Object.entries(fixed.location ? { ...f, location: '' } : f));
      view.refresh().catch((e) => showError(e.message));
    };
    const set = (k) => (ev) => { f[k] = ev.target.value; f.offset = 0; reload(); };
    const locSelect = select('f-location', 'Location', [['', 'all']], f.location, set('location'));
    const filters = el('div', { class: 'filters' },
      fixed.location ? null : locSelect,
      select('f-state', 'State', STATE_OPTIONS, f.state, set('state')),
      select('f-ack', 'Acknowledged', [['', 'any'], ['true', 'yes'], ['false', 'no']], f.acknowledged, set('acknowledged')),
      select('f-downtime', 'In downtime', [['', 'any'], ['true', 'yes'], ['false', 'no']], f.downtime, set('downtime')),
      el('label', {}, 'Search ', el('input', { id: 'f-q', type: 'search', value: f.q, placeholder: 'host, service or output',
        onchange: set('q') })));
    root.replaceChildren(el('h2', { text: title }), filters, pagerBox, box);
    if (!fixed.location) {
      locationNames().then((names) => {
        for (const n of names) locSelect.querySelector('select').append(el('option', { value: n, text: n, selected: n === f.location }));
      });
    }
    const view = {
      refresh: async () => {
        const qs = query({ location: f.location, problems: fixed.problems ? 'true' : '', state: f.state,
          acknowledged: f.acknowledged, downtime: f.downtime, q: f.q, offset: f.offset, limit: PAGE });
        const res = await api(`/api/v1/objects?${qs}`);
        const items = itemsOf(res);
        const total = typeof res.total === 'number' ? res.total : items.length;
        pagerBox.replaceChildren(pager(total, f.offset, PAGE, (o) => { f.offset = o; reload(); }));
        box.replaceChildren(objectsTable(fixed.location ? 'objects' : 'problems', items, !fixed.location));
      },
    };
    return view;
  }

  function locationView(name) {
    const v = objectList(`Location ${name}`, `#/location/${encodeURIComponent(name)}`, { location: name });
    const summary = el('div', {});
    root.insertBefore(summary, root.children[1]);
    const inner = v.refresh;
    v.refresh = async () => {
      const locs = itemsOf(await api('/api/v1/locations')).filter((l) => l.location === name);
      summary.replaceChildren(locationsTable(locs));
      await inner();
    };
    return v;
  }

  const EVENT_KINDS = ['state_change', 'notification', 'check_result', 'trap', 'acknowledgement_set', 'acknowledgement_removed',
    'downtime_scheduled', 'downtime_started', 'downtime_ended', 'downtime_cancelled', 'comment_added', 'comment_removed', 'lifecycle'];

  function eventsView() {
    const p = hashParams();
    const f = { location: p.get('location') || '', kind: p.get('kind') || '', state: p.get('state') || '' };
    let events = [];
    const tbody = el('tbody', {});
    const more = el('button', { type: 'button', id: 'older' }, 'Older events');
    const reset = () => { setHashParams('#/events', Object.entries(f)); events = []; view.refresh().catch((e) => showError(e.message)); };
    const set = (k) => (ev) => { f[k] = ev.target.value; reset(); };
    const locSelect = select('f-location', 'Location', [['', 'all']], f.location, set('location'));
    locationNames().then((names) => {
      for (const n of names) locSelect.querySelector('select').append(el('option', { value: n, text: n, selected: n === f.location }));
    });
    root.replaceChildren(el('h2', { text: 'Event log' }),
      el('div', { class: 'filters' }, locSelect,
        select('f-kind', 'Kind', [['', 'any']].concat(EVENT_KINDS.map((k) => [k, k])), f.kind, set('kind')),
        select('f-state', 'State', STATE_OPTIONS, f.state, set('state'))),
      el('table', { id: 'events' }, el('thead', {}, el('tr', {},
        ['Time (satellite)', 'Received', 'Location', 'Kind', 'Object', 'State', 'Summary'].map((h) => el('th', { text: h })))), tbody),
      more);

    const row = (e, fresh) => el('tr', { 'data-event-id': e.id, class: fresh ? 'new' : null },
      el('td', { text: fmtTime(e.time) }), el('td', { text: fmtTime(e.received_at) }),
      el('td', { text: e.location }), el('td', { text: e.kind }), el('td', { text: e.object || '' }),
      el('td', {}, eventStateName(e) ? stateBadge(eventStateName(e)) : ''), el('td', { class: 'output', text: e.summary || '' }));

    const fetchPage = (extra) => api(`/api/v1/events?${query({ ...f, ...extra, limit: PAGE })}`).then(itemsOf);
    const sortDesc = (list) => list.sort((a, b) => b.id - a.id);
    const view = {
      refresh: async () => {
        if (!events.length) {
          events = sortDesc(await fetchPage({}));
          tbody.replaceChildren(...events.map((e) => row(e, false)));
          if (!events.length) tbody.append(el('tr', { class: 'placeholder' }, el('td', { colspan: 7, class: 'empty', text: 'No events yet.' })));
          return;
        }
        const fresh = sortDesc((await fetchPage({ after_id: events[0].id })).filter((e) => e.id > events[0].id));
        if (!fresh.length) return;
        tbody.querySelectorAll('tr.placeholder').forEach((r) => r.remove());
        events = fresh.concat(events);
        tbody.prepend(...fresh.map((e) => row(e, true)));
      },
    };
    more.addEventListener('click', async () => {
      if (!events.length) return;
      const older = sortDesc(await fetchPage({ before_id: events[events.length - 1].id }));
      events = events.concat(older);
      tbody.append(...older.map((e) => row(e, false)));
      if (!older.length) more.disabled = true;
    });
    return view;
  }

  function detailsOf(item, skip) {
    return Object.entries(item).filter(([k]) => !skip.includes(k))
      .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : v}`).join(', ');
  }

  async function act(path, label) {
    try {
      await api(path, 'POST');
      showError('');
      await current.refresh();
    } catch (e) {
      showError(`${label} failed: ${e.message}`);
    }
  }

  function satellitesView() {
    const box = el('div', {});
    root.replaceChildren(el('h2', { text: 'Satellites' }),
      el('p', { class: 'empty', text: 'Satellites that enrolled with an unknown key wait here until an operator accepts or rejects them.' }), box);
    return {
      refresh: async () => {
        const list = itemsOf(await api('/api/v1/satellites'));
        const order = { pending: 0, accepted: 1, rejected: 2, revoked: 3 };
        list.sort((a, b) => (order[a.status] ?? 9) - (order[b.status] ?? 9) || String(a.location).localeCompare(b.location));
        const rows = list.map((s) => {
          const loc = encodeURIComponent(s.location);
          const buttons = [];
          if (s.status === 'pending' || s.status === 'rejected') {
            buttons.push(el('button', { type: 'button', class: 'accept', onclick: () => act(`/api/v1/satellites/${loc}/accept`, `Accept ${s.location}`) }, 'Accept'));
          }
          if (s.status === 'pending') {
            buttons.push(el('button', { type: 'button', class: 'reject', onclick: () => act(`/api/v1/satellites/${loc}/reject`, `Reject ${s.location}`) }, 'Reject'));
          }
          if (s.status === 'accepted') {
            buttons.push(el('button', { type: 'button', class: 'revoke', onclick: () => {
              if (window.confirm(`Revoke ${s.location}? Its key will be refused until it enrolls again and is accepted.`)) {
                act(`/api/v1/satellites/${loc}/revoke`, `Revoke ${s.location}`);
              }
            } }, 'Revoke'));
          }
          return el('tr', { 'data-satellite': s.location, 'data-status': s.status },
            el('td', { text: s.location }), el('td', { class: 'status', text: s.status }),
            el('td', { text: s.hostname || '' }), el('td', { text: s.version || '' }),
            el('td', { class: 'perf', text: s.key_fingerprint || '' }),
            el('td', { title: fmtTime(s.first_seen), text: fmtAge(s.first_seen) }),
            el('td', { title: fmtTime(s.updated_at), text: fmtAge(s.updated_at) }), el('td', {}, buttons));
        });
        if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 8, class: 'empty', text: 'No satellite has enrolled.' })));
        box.replaceChildren(el('table', { id: 'satellites' }, el('thead', {}, el('tr', {},
          ['Location', 'Status', 'Hostname', 'Version', 'Key', 'First seen', 'Changed', ''].map((h) => el('th', { text: h })))),
        el('tbody', {}, rows)));
      },
    };
  }

  function heldView() {
    const box = el('div', {});
    root.replaceChildren(el('h2', { text: 'Held suspect snapshots' }),
      el('p', { class: 'empty', text: 'A snapshot that would delete an unusual share of a location\'s objects is held until an operator releases it.' }), box);
    return {
      refresh: async () => {
        const list = itemsOf(await api('/api/v1/held'));
        const rows = list.map((h) => el('tr', { 'data-held': h.location },
          el('td', { text: h.location }), el('td', { title: fmtTime(h.received_at), text: fmtAge(h.received_at) }),
          el('td', { class: 'num', text: `${h.deletes ?? '?'} of ${h.existing ?? '?'}` }),
          el('td', { class: 'output', text: h.reason || detailsOf(h, ['location']) }),
          el('td', { text: h.release_requested ? 'release requested' : '' }),
          el('td', {}, el('button', { type: 'button', class: 'release',
            onclick: () => act(`/api/v1/held/${encodeURIComponent(h.location)}/release`, `Release ${h.location}`) }, 'Release'))));
        if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 6, class: 'empty', text: 'Nothing is held.' })));
        box.replaceChildren(el('table', { id: 'held' }, el('thead', {}, el('tr', {},
          ['Location', 'Received', 'Deletes', 'Reason', '', ''].map((h) => el('th', { text: h })))), el('tbody', {}, rows)));
      },
    };
  }

  // ---- routing and live updates ---------------------------------------------------------------

  function route() {
    const path = window.location.hash.replace(/^#/, '').split('?')[0] || '/';
    const parts = path.split('/').filter(Boolean);
    let name = parts[0] || 'overview';
    generation += 1;
    showError('');
    if (name === 'problems') current = objectList('Problems, worst first', '#/problems', { problems: true });
    else if (name === 'location' && parts[1]) current = locationView(decodeURIComponent(parts[1]));
    else if (name === 'events') current = eventsView();
    else if (name === 'satellites') current = satellitesView();
    else if (name === 'held') current = heldView();
    else { name = 'overview'; current = overview(); }
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === name);
    refreshNow();
  }

  function refreshNow() {
    const gen = generation;
    const view = current;
    return view.refresh().then(() => { if (gen === generation) showError(''); })
      .catch((e) => { if (gen === generation) showError(e.message); });
  }

  // Coalesces bursts of stream messages into one re-fetch shortly after the first.
  function onLive() {
    if (liveTimer) return;
    liveTimer = setTimeout(() => { liveTimer = null; refreshNow(); }, LIVE_DELAY_MS);
  }

  function connectStream() {
    const es = new EventSource('/api/v1/events/stream');
    es.onopen = () => { liveBadge.textContent = 'live'; liveBadge.classList.add('on'); };
    es.onerror = () => { liveBadge.textContent = 'reconnecting'; liveBadge.classList.remove('on'); };
    es.onmessage = onLive;
    // The NOC sends `event` (one per committed event) and `objects` (some location's objects changed).
    es.addEventListener('event', onLive);
    es.addEventListener('objects', onLive);
  }

  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshNow(); });
  setInterval(() => { if (!document.hidden) refreshNow(); }, POLL_MS);
  connectStream();
  route();
})();
