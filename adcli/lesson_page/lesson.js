/* adcli's lesson page: shows the steps adcli precomputed (the JSON in #lesson-data), one at a time.
   Nothing here computes a number: each step says which node is current and which texts change. */
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('lesson-data').textContent);
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const ROW = 17;
  const size = data.node_size;
  const nodeOf = new Map(data.nodes.map((n) => [n.id, n]));
  const users = new Map(data.nodes.map((n) => [n.id, []]));
  data.nodes.forEach((n) => n.args.forEach((a) => users.get(a).push(n.id)));
  const fileLines = data.nodes.some((n) => n.line);
  const local = !data.graph;  // a long trace: the graph around the current node only
  const ROWS = 1000;  // a longer trace's table holds this many rows, around the current node
  const index = new Map(data.nodes.map((n, k) => [n.id, k]));
  let rowsFrom = 0;  // the table's rows are data.nodes[rowsFrom … rowsFrom + ROWS - 1]

  let trackIndex = 0;
  let track = data.tracks[0];
  let step = -1;  // the steps 0 … step are applied
  let undo = [];
  let cells = [new Map(), new Map()];  // column (0 value, 1 adjoint or tangent) -> node -> [number, text]
  let dirty = new Set();
  let timer = null;
  let marked = [];

  function make(tag, attributes, text, space) {
    const element = space ? document.createElementNS(SVG, tag) : document.createElement(tag);
    Object.entries(attributes || {}).forEach(([k, v]) => element.setAttribute(k, v));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  // ------------------------------------------------------------ the page's fixed parts
  function header() {
    $('function').textContent = data.heading;
    $('point').textContent = Object.entries(data.at).map(([k, v]) => `${k} = ${v}`).join(', ');
    $('result').textContent = data.outputs.map((o) => `${o.name} = ${o.text}`).join(', ');
    $('version').textContent = `adcli ${data.version}`;
    $('made-by').textContent = `adcli ${data.version}`;
    data.conventions.forEach((text) => $('conventions').append(make('li', {}, text)));
    data.warnings.forEach((text) => $('notices').append(make('li', {class: 'warning'}, `warning: ${text}`)));
    data.notes.forEach((text) => $('notices').append(make('li', {}, `note: ${text}`)));
    data.tracks.forEach((t, k) => $('track').append(make('option', {value: k}, t.label)));
    if (data.source_lines) {
      $('source-panel').hidden = false;
      $('source-title').textContent = data.function;
      data.source_lines.forEach((text, k) => {
        const line = make('span', {id: `src-${k + 1}`, class: 'line'});
        line.append(make('span', {class: 'number'}, String(k + 1).padStart(3)), ` ${text}\n`);
        $('source').append(line);
      });
    }
  }

  function table() {
    const head = make('tr');
    ['node', 'operation', ...(fileLines ? ['line'] : []), 'value', ''].forEach((t) => head.append(make('th', {}, t)));
    head.lastChild.id = 'column-head';
    const thead = make('thead');
    thead.append(head);
    $('wengert').append(thead, make('tbody'));
    fillRows(0);
  }

  function tableRow(n) {
    const row = make('tr', {id: `row-${n.id}`, class: n.kind});
    row.append(make('td', {class: 'name'}, n.name), make('td', {class: 'equation'}, n.label.split(' = ').slice(1).join(' = ') || n.label));
    if (fileLines) row.append(make('td', {class: 'line'}, n.line ? (n.var ? `${n.line}: ${n.var}` : `${n.line}`) : ''));
    row.append(make('td', {class: 'value'}), make('td', {class: 'd'}));
    return row;
  }

  /* The table's rows from data.nodes[from] on (all of them for a trace of at most ROWS nodes). */
  function fillRows(from) {
    rowsFrom = from;
    const rows = data.nodes.slice(from, from + ROWS);
    $('wengert').tBodies[0].replaceChildren(...rows.map(tableRow));
    rows.forEach((n) => dirty.add(n.id));
    if (data.nodes.length > ROWS) {
      $('table-caption').textContent = `rows ${from + 1}–${from + rows.length} of ${data.nodes.length}: ` +
        'the table follows the current node.';
    }
  }

  /* A long trace: recentre the table's rows when the current node nears their ends. */
  function followRows(id) {
    const k = index.get(id);
    const margin = ROWS / 10;
    const end = data.nodes.length - ROWS;
    if (end > 0 && (k < rowsFrom + margin && rowsFrom > 0 || k >= rowsFrom + ROWS - margin && rowsFrom < end)) {
      fillRows(Math.max(0, Math.min(end, k - ROWS / 2)));
    }
  }

  function nodeBox(n, x, y) {
    const g = make('g', {id: `node-${n.id}`, class: `node ${n.kind}${data.outputs.some((o) => o.node === n.id) ? ' output' : ''}`,
                         transform: `translate(${x - size.w / 2},${y - size.h / 2})`}, undefined, true);
    g.append(make('rect', {width: size.w, height: size.h, rx: 7}, undefined, true),
             make('text', {x: size.w / 2, y: ROW, class: 'head'}, n.label, true),
             make('text', {x: size.w / 2, y: 2 * ROW, class: 'value'}, '', true),
             make('text', {x: size.w / 2, y: 3 * ROW, class: 'd'}, '', true));
    return g;
  }

  function svg(width, height) {
    const root = make('svg', {viewBox: `-8 -8 ${width + 16} ${height + 16}`, width: width + 16, height: height + 16,
                             role: 'img', 'aria-label': 'the computational graph'}, undefined, true);
    const marker = make('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9,
                                   markerUnits: 'userSpaceOnUse',
                                   orient: 'auto-start-reverse'}, undefined, true);
    marker.append(make('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'}, undefined, true));
    const defs = make('defs', {}, undefined, true);
    defs.append(marker);
    root.append(defs);
    return root;
  }

  function edge(a, b, d) {
    return make('path', {id: `edge-${a}-${b}`, d, class: 'edge', 'marker-end': 'url(#arrow)'}, undefined, true);
  }

  function fullGraph() {
    const g = data.graph;
    const root = svg(g.width, g.height);
    g.edges.forEach(([a, b, d]) => root.append(edge(a, b, d)));
    data.nodes.forEach((n) => root.append(nodeBox(n, ...g.centres[n.id])));
    $('graph').append(root);
    const least = 0.75;  // a wide graph is not shrunk past this to fit: it scrolls, following the current node
    if ($('graph').clientWidth < least * (g.width + 16)) {
      root.classList.add('wide');
      root.setAttribute('width', least * (g.width + 16));
      root.setAttribute('height', least * (g.height + 16));
    }
    $('graph-caption').textContent = `${data.nodes.length} nodes, laid out by ${g.by}.`;
  }

  /* A long trace: the current node, its arguments and theirs on the left, its users on the right. */
  function localGraph(centre) {
    if (centre < 0) centre = data.outputs.length ? data.outputs[0].node : data.nodes[data.nodes.length - 1].id;
    const most = 6;
    const unique = (ids) => [...new Set(ids)].slice(0, most);
    const left1 = unique(nodeOf.get(centre).args);
    const left2 = unique(left1.flatMap((a) => nodeOf.get(a).args)).filter((a) => !left1.includes(a));
    const right = users.get(centre).slice(0, most);
    const columns = [left2, left1, [centre], right].filter((c) => c.length);
    const tallest = Math.max(...columns.map((c) => c.length));
    const width = columns.length * (size.w + 56);
    const height = tallest * (size.h + 22) + 22;
    const centres = new Map();
    columns.forEach((members, c) => members.forEach((id, k) => centres.set(id, [
      28 + c * (size.w + 56) + size.w / 2, (height - members.length * (size.h + 22) + 22) / 2 + k * (size.h + 22) + size.h / 2])));
    const root = svg(width, height);
    centres.forEach(([x1, y1], id) => nodeOf.get(id).args.forEach((a) => {
      if (!centres.has(a) || centres.get(a)[0] >= x1) return;  // (an edge drawn backwards would cross the boxes)
      const [x0, y0] = centres.get(a);
      const start = x0 + size.w / 2;
      const end = x1 - size.w / 2 - 6;
      const middle = (start + end) / 2;
      root.append(edge(a, id, `M${start},${y0} C${middle},${y0} ${middle},${y1} ${end},${y1}`));
    }));
    centres.forEach(([x, y], id) => root.append(nodeBox(nodeOf.get(id), x, y)));
    $('graph').replaceChildren(root);
    centres.forEach((_, id) => dirty.add(id));
    const more = users.get(centre).length - right.length;
    $('graph-caption').textContent = `${data.nodes.length} nodes, more than ${data.graph_nodes}: the graph shows the ` +
      `current node, its arguments and theirs, and its users${more > 0 ? ` (${more} more not drawn)` : ''}.`;
  }

  // ------------------------------------------------------------ stepping
  function apply(k) {
    const before = [];
    track.steps[k].s.forEach(([id, column, number, text]) => {
      before.push([id, column, cells[column].get(id)]);
      cells[column].set(id, [number, text]);
      dirty.add(id);
    });
    undo.push(before);
  }

  function unapply() {
    const before = undo.pop();
    for (let j = before.length - 1; j >= 0; j--) {
      const [id, column, old] = before[j];
      if (old === undefined) cells[column].delete(id); else cells[column].set(id, old);
      dirty.add(id);
    }
  }

  function go(target) {
    target = Math.max(-1, Math.min(track.steps.length - 1, target));
    const wasReverse = inReverse();
    while (step < target) apply(++step);
    while (step > target) { unapply(); step--; }
    render(wasReverse !== inReverse());
  }

  function inReverse() {
    return track.reverse_start >= 0 && step >= track.reverse_start;
  }

  function shown(id, column) {
    const cell = cells[column].get(id);
    if (cell) return cell;
    if (column === 1 && inReverse() && nodeOf.get(id).kind !== 'const') return [0, '0'];  // adjoints start at 0
    return null;
  }

  function show(id) {
    const row = $(`row-${id}`);
    const box = $(`node-${id}`);
    const value = shown(id, 0);
    const d = shown(id, 1);
    if (!row && !box) return;  // (neither in the table's rows nor in the graph drawn)
    [row, box].forEach((element) => {
      if (!element) return;
      element.dataset.value = value ? String(value[0]) : '';
      element.dataset.d = d ? String(d[0]) : '';
      element.classList.toggle('done', Boolean(value));
      element.classList.toggle('has-d', Boolean(cells[1].get(id)));
    });
    if (row) {
      row.querySelector('.value').textContent = value ? value[1] : '';
      row.querySelector('.d').textContent = d ? d[1] : '';
    }
    if (box) {
      box.querySelector('.value').textContent = `value ${value ? value[1] : '·'}`;
      box.querySelector('.d').textContent = `${track.column} ${d ? d[1] : '·'}`;
    }
  }

  function render(everything) {
    const current = step >= 0 ? track.steps[step] : null;
    const centre = current ? current.n : -1;
    if (local) localGraph(centre);
    const last = step > 0 ? track.steps[step - 1].n : -1;  // (a sweep's closing step names no node: its last one's)
    if (centre >= 0 || last >= 0) followRows(centre >= 0 ? centre : last);
    marked.forEach((element) => element.classList.remove('current', 'receiving', 'active'));
    marked = [];
    if (everything) data.nodes.slice(rowsFrom, rowsFrom + ROWS).forEach((n) => dirty.add(n.id));
    dirty.forEach(show);
    dirty = new Set();
    if (current && current.n >= 0) {
      mark(`row-${current.n}`, 'current');
      mark(`node-${current.n}`, 'current');
      if (current.t >= 0) {
        mark(`row-${current.t}`, 'receiving');
        mark(`node-${current.t}`, 'receiving');
        mark(`edge-${current.t}-${current.n}`, 'active');
      } else if (current.p === 'f') {
        nodeOf.get(current.n).args.forEach((a) => mark(`edge-${a}-${current.n}`, 'active'));
      }
      scrollTo($(`row-${current.n}`), $('table-scroll'));
      const box = $(`node-${current.n}`);
      if (box && !local) centreGraph(current.n);
      const line = nodeOf.get(current.n).line;
      if (line && $(`src-${line}`)) {
        mark(`src-${line}`, 'current');
        scrollTo($(`src-${line}`), $('source'));
      }
    }
    explain();
    document.body.dataset.step = String(step);
    document.body.dataset.track = String(trackIndex);
  }

  function mark(id, name) {
    const element = $(id);
    if (!element) return;
    element.classList.add(name);
    marked.push(element);
  }

  /* Scroll box so that element (inside it) shows, below box's sticky table head if any. */
  function scrollTo(element, box) {
    if (!element || !box) return;
    const top = element.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    const head = box.querySelector('thead');
    const covered = head ? head.offsetHeight : 0;
    if (top < box.scrollTop + covered || top + element.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 2);
    }
  }

  function centreGraph(id) {
    const box = $('graph');
    const root = box.firstChild;
    if (!root || box.scrollWidth <= box.clientWidth && box.scrollHeight <= box.clientHeight) return;
    const scale = root.getBoundingClientRect().width / (data.graph.width + 16);
    const [x, y] = data.graph.centres[id];
    box.scrollLeft = Math.max(0, (x + 8) * scale - box.clientWidth / 2);
    box.scrollTop = Math.max(0, (y + 8) * scale - box.clientHeight / 2);
  }

  function explain() {
    const reverse = inReverse();
    const phase = track.reverse_start < 0 ? 'forward sweep (value and tangent together)'
      : reverse ? 'reverse sweep (adjoints, from the output back)' : 'forward evaluation (values)';
    $('phase').textContent = step < 0 ? 'explained step' : phase;
    $('counter').textContent = `step ${step + 1} of ${track.steps.length}`;
    const log = $('explain');
    log.replaceChildren();
    if (step < 0) {
      log.append(make('p', {class: 'hint'}, 'Press next ▶ (or →) to evaluate the trace node by node; then the reverse ' +
                                             'sweep carries the adjoints back.'));
      return;
    }
    const first = track.reverse_start >= 0 && reverse ? track.reverse_start : 0;
    for (let k = Math.max(first, step - 7); k <= step; k++) {
      const entry = make('div', {class: k === step ? 'entry now' : 'entry past'});
      track.steps[k].l.forEach((text) => entry.append(make('div', {class: 'line'}, text)));
      log.append(entry);
    }
  }

  function play() {
    if (timer) {
      clearInterval(timer);
      timer = null;
    } else {
      if (step >= track.steps.length - 1) go(-1);
      timer = setInterval(() => {
        go(step + 1);
        if (step >= track.steps.length - 1) play();
      }, 900);
    }
    $('play').textContent = timer ? '⏸ pause' : '▶ play';
  }

  function chooseTrack(k) {
    trackIndex = k;
    track = data.tracks[k];
    step = -1;
    undo = [];
    cells = [new Map(), new Map()];
    $('column-head').textContent = `${track.column} ${track.symbol}`;
    $('reverse').disabled = track.reverse_start < 0;
    render(true);
  }

  header();
  table();
  if (!local) fullGraph();
  $('first').addEventListener('click', () => go(-1));
  $('back').addEventListener('click', () => go(step - 1));
  $('next').addEventListener('click', () => go(step + 1));
  $('last').addEventListener('click', () => go(track.steps.length - 1));
  $('reverse').addEventListener('click', () => go(track.reverse_start));
  $('play').addEventListener('click', play);
  $('track').addEventListener('change', (event) => chooseTrack(Number(event.target.value)));
  document.addEventListener('keydown', (event) => {
    if (event.target.tagName === 'SELECT' || event.altKey || event.ctrlKey || event.metaKey) return;
    const keys = {ArrowRight: () => go(step + 1), ArrowLeft: () => go(step - 1), Home: () => go(-1),
                  End: () => go(track.steps.length - 1), ' ': play};
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });
  let beforePrint = null;  // print the final state
  window.addEventListener('beforeprint', () => { beforePrint = step; go(track.steps.length - 1); });
  window.addEventListener('afterprint', () => { if (beforePrint !== null) go(beforePrint); beforePrint = null; });
  chooseTrack(0);
})();
