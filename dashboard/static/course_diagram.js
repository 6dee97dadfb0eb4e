// The course page's BPMN diagram: the programme version's export drawn by bpmn-js (served by the
// dashboard from npm, no CDN), with the finished and current elements of the course marked.
(function () {
  'use strict';
  const box = document.getElementById('bpmn-diagram');
  if (!box) return;

  function fail(text) {
    box.textContent = '';
    const p = document.createElement('p');
    p.className = 'muted bpmn-wait';
    p.textContent = text;
    box.appendChild(p);
    box.dataset.failed = '1';
  }

  async function show() {
    if (!window.BpmnJS) {
      fail('Diagramviseren mangler (kør make run eller npm ci).');
      return;
    }
    const answer = await fetch(box.dataset.state, { headers: { Accept: 'application/json' } });
    if (!answer.ok) throw new Error('status ' + answer.status);
    const state = await answer.json();
    if (!state.bpmn_url) {
      fail('Forløbets program findes ikke længere som definition.');
      return;
    }
    const xml = await (await fetch(state.bpmn_url)).text();
    box.textContent = '';
    const viewer = new window.BpmnJS({ container: box });
    await viewer.importXML(xml);
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    for (const id of state.done) if (registry.get(id)) canvas.addMarker(id, 'forloeb-faerdig');
    for (const id of state.current) if (registry.get(id)) canvas.addMarker(id, 'forloeb-nu');
    // As high as the diagram needs at the page's width (within bounds), then fit it.
    const inner = canvas.viewbox().inner;
    const height = Math.round((box.clientWidth * inner.height) / Math.max(inner.width, 1)) + 40;
    box.style.height = Math.min(Math.max(height, 260), 720) + 'px';
    canvas.resized();
    canvas.zoom('fit-viewport');
    // One image with a name and a text alternative for screen readers (WCAG 1.1.1); the bpmn.io
    // link bpmn-js adds beside it stays a link of its own (no focusable element inside an image).
    const svg = box.querySelector('.djs-container > svg');
    if (svg) {
      svg.setAttribute('role', 'img');
      svg.setAttribute('aria-label', box.dataset.label);
      svg.setAttribute('aria-describedby', 'bpmn-tekst');
    }
    box.dataset.ready = '1';
  }

  show().catch(function (error) {
    fail('Diagrammet kunne ikke vises: ' + error.message);
  });
})();
