// The second BPMN validator (bpmn-moddle, what bpmn.io and Camunda Modeler read files with): for each
// file given, print one JSON line {file, warnings, elements, missingDi}. Run by tests/unit/test_bpmn.py
// through the project's package.json (`npm ci`): node devtools/bpmn_check.mjs a.bpmn b.bpmn ...
import { readFile } from 'node:fs/promises';
import { BpmnModdle } from 'bpmn-moddle';

const moddle = new BpmnModdle();

function collect(container, found) {
  for (const element of container.flowElements || []) {
    found.push(element);
    if (element.flowElements) collect(element, found);
  }
  for (const laneSet of container.laneSets || []) {
    for (const lane of laneSet.lanes || []) found.push(lane);
  }
  return found;
}

for (const file of process.argv.slice(2)) {
  const xml = await readFile(file, 'utf8');
  let parsed;
  try {
    parsed = await moddle.fromXML(xml, 'bpmn:Definitions');
  } catch (error) {
    console.log(JSON.stringify({ file, warnings: [String(error.message)], elements: 0, missingDi: [] }));
    continue;
  }
  const { rootElement, warnings } = parsed;
  const elements = [];
  for (const root of rootElement.rootElements || []) {
    if (root.$type === 'bpmn:Process') collect(root, elements);
    if (root.$type === 'bpmn:Collaboration') elements.push(...(root.participants || []));
  }
  const withDi = new Set();
  for (const diagram of rootElement.diagrams || []) {
    for (const shape of diagram.plane.planeElement || []) {
      if (shape.bpmnElement) withDi.add(shape.bpmnElement.id);
    }
  }
  const missingDi = elements.filter((e) => !withDi.has(e.id)).map((e) => e.id);
  console.log(JSON.stringify({
    file,
    warnings: warnings.map((w) => w.message),
    elements: elements.length,
    missingDi,
  }));
}
