"""BPMN 2.0 export of a programme version, with diagram interchange (DI), and the live state of a
course on that diagram.

The mapping (docs/PROGRAMMES.md, "How it maps to BPMN 2.0"): one pool (the agency's process) with a
lane per role; every human step is a `userTask` in its assignee's lane; tracks start from the start
event (a parallel gateway when there are several) or after another track's stage (a parallel split);
a stage with `after` begins at a parallel join; a repeated stage is a sub-process with sequential
multi-instance (`loopCardinality`: the definition's default, the source and bounds in its
documentation); `starts` and a meeting `schedule` are timer intermediate catch events with an ISO 8601
duration (`P10M`, as Camunda expects); a meeting kind's reminders are non-interrupting boundary timers
on the step that records the meeting as held (`timeDate`: a process variable named after the meeting
kind and reminder, set when the meeting is planned). Labels are the definitions' Danish names.

Element ids come from the definition's keys (`Task_workshop-afholdt`, `Stage_workshops`), so a diff
between two versions' XML shows what changed; the same definition gives the same bytes.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Literal

from models.programmes import ProgrammeDef, StageDef, StepDef
from models.tables import StageStatus, TaskStatus

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
for _prefix, _uri in (("bpmn", MODEL), ("bpmndi", BPMNDI), ("dc", DC), ("di", DI), ("xsi", XSI)):
    ET.register_namespace(_prefix, _uri)

SIZES = {
    "startEvent": (36, 36),
    "endEvent": (36, 36),
    "intermediateCatchEvent": (36, 36),
    "boundaryEvent": (36, 36),
    "parallelGateway": (50, 50),
    "userTask": (100, 80),
}
GAP = 50
"""Horizontal space between two nodes (left to right)."""
PAD = 30
"""Space around the nodes of a row and inside a sub-process."""
REMINDER_SPACE = 90
"""Below a task with reminders: its boundary timers and their end event."""
POOL_HEADER = 30
LANE_HEADER = 30


def _m(tag: str) -> str:
    return f"{{{MODEL}}}{tag}"


@dataclass
class Node:
    id: str
    tag: str
    name: str
    track: str
    lane: str
    """Role key: the assignee of a user task, else the track's owner."""
    doc: str = ""
    timer: tuple[str, str] | None = None
    """(timeDuration | timeDate, expression)."""
    cardinality: int | None = None
    """Sequential multi-instance (a sub-process of a repeated stage)."""
    inner: Graph | None = None
    attached_to: str | None = None
    reminders: list[Node] = field(default_factory=list)
    reminded: Node | None = None
    """The end event the reminders' flows lead to."""
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0

    def size(self) -> tuple[float, float]:
        if self.inner is not None:
            return self.inner.width + 2 * PAD, self.inner.height + 2 * PAD
        return SIZES[self.tag]

    @property
    def cy(self) -> float:
        return self.y + self.height / 2


@dataclass
class Flow:
    id: str
    source: str
    target: str
    waypoints: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    width: float = 0
    height: float = 0

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def connect(self, source: str, target: str) -> None:
        self.flows.append(Flow(f"Flow_{source}_{target}", source, target))

    def chain(self, nodes: list[Node]) -> None:
        for before, after in itertools.pairwise(nodes):
            self.connect(before.id, after.id)

    def all_nodes(self) -> list[Node]:
        """Every node with its boundary events and reminder ends, and sub-processes' children."""
        found = []
        for node in self.nodes:
            found.append(node)
            found += node.reminders
            if node.reminded is not None:
                found.append(node.reminded)
            if node.inner is not None:
                found += node.inner.all_nodes()
        return found

    def all_flows(self) -> list[Flow]:
        found = list(self.flows)
        for node in self.nodes:
            if node.inner is not None:
                found += node.inner.all_flows()
        return found


# --- the process ------------------------------------------------------------------------------


def process_id(programme: ProgrammeDef) -> str:
    return f"forloeb_{programme.key}_v{programme.version}"


def _var(text: str) -> str:
    return text.replace("-", "_")


def _ref_label(programme: ProgrammeDef, ref: str) -> str:
    """'opstartsmoede.afholdt_dato' -> 'opstartsmøde' (the step's meeting, else its title)."""
    step_key = ref.partition(".")[0]
    for stage in programme.stages:
        for step in stage.steps:
            if step.key == step_key:
                if step.meeting is not None:
                    return programme.meeting_title(step.meeting.kind).lower()
                return step.title.format(n="n").lower()
    return ref


def _reminder_label(days: int, working_days: int) -> str:
    if days:
        return f"Påmindelse {days} {'dag' if days == 1 else 'dage'} før"
    return f"Påmindelse {working_days} {'arbejdsdag' if working_days == 1 else 'arbejdsdage'} før"


def _reminders_sent(reminders: tuple[Any, ...]) -> str:
    """'Påmindelse sendt 14 og 7 dage og 1 arbejdsdag før mødet'."""
    days = [r.days for r in reminders if r.days]
    working = [r.working_days for r in reminders if not r.days]
    parts = []
    if days:
        parts.append(" og ".join(str(d) for d in days) + (" dag" if days == [1] else " dage"))
    if working:
        parts.append(
            " og ".join(str(d) for d in working) + (" arbejdsdag" if working == [1] else " arbejdsdage")
        )
    return f"Påmindelse sendt {' og '.join(parts)} før mødet"


def _step_nodes(programme: ProgrammeDef, stage: StageDef, step: StepDef, track: str, owner: str) -> Node:
    meeting = step.meeting
    if meeting is not None and meeting.action == "schedule":
        title = programme.meeting_title(meeting.kind)
        after = _ref_label(programme, meeting.after or "")
        return Node(
            f"Timer_{step.key}",
            "intermediateCatchEvent",
            f"{title}: {meeting.months} mdr. efter {after}",
            track,
            owner,
            doc=(
                f"Trin {step.key}: mødet ({title}) sættes {meeting.months} måneder efter {meeting.after}, "
                f"næste arbejdsdag kl. {meeting.at:%H:%M}. Ingen spørges."
            ),
            timer=("timeDuration", f"P{meeting.months}M"),
        )
    role = programme.role(step.assignee)
    how = "i dashboardets indbakke (login)" if role.answers == "login" else "via et signeret link i en mail"
    form = programme.form(step.form).model if step.form else "-"
    node = Node(
        f"Task_{step.key}",
        "userTask",
        step.title.format(n="n"),
        track,
        step.assignee,
        doc=(
            f"Trin {step.key}. Rolle: {role.name}, svarer {how}. Formular: {form}. "
            f"Frist: {step.due_working_days} arbejdsdage."
        ),
    )
    if meeting is not None and meeting.action == "hold":
        title = programme.meeting_title(meeting.kind)
        reminders = programme.meeting_reminders(meeting.kind)
        for reminder in reminders:
            node.reminders.append(
                Node(
                    f"Reminder_{step.key}_{reminder.kind}",
                    "boundaryEvent",
                    "",  # the labels would overlap on the task's edge: the end event says it all
                    track,
                    step.assignee,
                    doc=(
                        f"{title}: {_reminder_label(reminder.days, reminder.working_days).lower()} mødet, "
                        f"kl. {reminder.at:%H:%M}, til de inviterede (skabelon {reminder.template}); "
                        "tidspunktet sættes, når mødet planlægges."
                    ),
                    timer=("timeDate", f"paamindelse_{_var(meeting.kind)}_{_var(reminder.kind)}"),
                    attached_to=node.id,
                )
            )
        if node.reminders:
            node.reminded = Node(
                f"Reminded_{step.key}", "endEvent", _reminders_sent(reminders), track, step.assignee
            )
    return node


def _connect_reminders(graph: Graph, steps: list[Node]) -> None:
    for step in steps:
        for reminder in step.reminders:
            assert step.reminded is not None
            graph.connect(reminder.id, step.reminded.id)


def build(programme: ProgrammeDef) -> Graph:
    """The process as nodes and flows (not yet laid out)."""
    graph = Graph()
    main = programme.main_track
    start = graph.add(Node("StartEvent", "startEvent", "Forløbet begynder", main.key, main.owner))
    successors: dict[str, list[str]] = {s.key: [] for s in programme.stages}
    for stage in programme.stages:
        for before in programme.predecessors(stage.key):
            successors[before].append(stage.key)
    entry: dict[str, str] = {}
    exit_: dict[str, str] = {}
    for track in programme.tracks:
        for stage in track.stages:
            nodes: list[Node] = []
            if len(programme.predecessors(stage.key)) > 1:
                waits = ", ".join(programme.stage(k).name for k in programme.predecessors(stage.key))
                nodes.append(
                    Node(
                        f"Join_{stage.key}", "parallelGateway", f"Venter på: {waits}", track.key, track.owner
                    )
                )
            if stage.starts is not None:
                timer = stage.starts
                weeks = f", {timer.weeks_before} uger før" if timer.weeks_before else ""
                nodes.append(
                    Node(
                        f"Timer_{stage.key}",
                        "intermediateCatchEvent",
                        f"{stage.name}: {timer.months} mdr. efter {_ref_label(programme, timer.after)}",
                        track.key,
                        track.owner,
                        doc=(
                            f"Fasen {stage.key} begynder på arbejdsdagen {timer.months} måneder efter "
                            f"{timer.after}{weeks}, og ikke før faserne før den er afsluttet."
                        ),
                        timer=("timeDuration", f"P{timer.months}M"),
                    )
                )
            steps = [_step_nodes(programme, stage, step, track.key, track.owner) for step in stage.steps]
            if stage.repeat is None:
                nodes += steps
                _connect_reminders(graph, steps)
            else:
                rule = stage.repeat
                inner = Graph()
                first = inner.add(
                    Node(f"Start_{stage.key}", "startEvent", "Runden begynder", track.key, track.owner)
                )
                for step in steps:
                    inner.add(step)
                last = inner.add(
                    Node(f"End_{stage.key}", "endEvent", "Runden er slut", track.key, track.owner)
                )
                inner.chain([first, *steps, last])
                _connect_reminders(inner, steps)
                source = ", ".join(rule.count_from) or "-"
                nodes.append(
                    Node(
                        f"Stage_{stage.key}",
                        "subProcess",
                        stage.name,
                        track.key,
                        track.owner,
                        doc=(
                            f"{stage.description} Gentages én gang pr. runde: antallet fra {source}, "
                            f"ellers {rule.default}; mindst {rule.minimum}, højst {rule.maximum}."
                        ),
                        cardinality=rule.default,
                        inner=inner,
                    )
                )
            if len(successors[stage.key]) > 1:
                nodes.append(Node(f"Split_{stage.key}", "parallelGateway", "", track.key, track.owner))
            for node in nodes:
                graph.add(node)
            graph.chain(nodes)
            entry[stage.key] = nodes[0].id
            exit_[stage.key] = nodes[-1].id
    first_stages = [t.stages[0].key for t in programme.tracks if not t.stages[0].after]
    fork = start.id
    if len(first_stages) > 1:
        fork = graph.add(Node("Split_start", "parallelGateway", "", main.key, main.owner)).id
        graph.connect(start.id, fork)
    for stage in programme.stages:
        befores = programme.predecessors(stage.key)
        if not befores:
            graph.connect(fork, entry[stage.key])
        for before in befores:
            graph.connect(exit_[before], entry[stage.key])
    ends = [s.key for s in programme.stages if not successors[s.key]]
    join = None
    if len(ends) > 1:
        join = graph.add(Node("Join_end", "parallelGateway", "Alle spor er færdige", main.key, main.owner))
    end = graph.add(Node("EndEvent", "endEvent", "Forløbet er afsluttet", main.key, main.owner))
    for key in ends:
        graph.connect(exit_[key], join.id if join else end.id)
    if join is not None:
        graph.connect(join.id, end.id)
    return graph


# --- layout: left to right; a row per (lane, track) -------------------------------------------


def _order(graph: Graph) -> list[Node]:
    """The nodes in topological order (creation order among the ready ones: deterministic)."""
    incoming: dict[str, int] = {n.id: 0 for n in graph.nodes}
    flows = [f for f in graph.flows if f.source in incoming and f.target in incoming]
    for flow in flows:
        incoming[flow.target] += 1
    position = {n.id: i for i, n in enumerate(graph.nodes)}
    by_id = {n.id: n for n in graph.nodes}
    ready = sorted((n.id for n in graph.nodes if incoming[n.id] == 0), key=position.__getitem__)
    done: list[Node] = []
    while ready:
        node_id = ready.pop(0)
        done.append(by_id[node_id])
        for flow in flows:
            if flow.source == node_id:
                incoming[flow.target] -= 1
                if incoming[flow.target] == 0:
                    ready.append(flow.target)
                    ready.sort(key=position.__getitem__)
    if len(done) != len(graph.nodes):
        raise ValueError("the process has a cycle")
    return done


def _x_positions(graph: Graph, left: float) -> float:
    """Each node's x from its predecessors'; returns the right edge."""
    preds: dict[str, list[Node]] = {n.id: [] for n in graph.nodes}
    by_id = {n.id: n for n in graph.nodes}
    for flow in graph.flows:
        if flow.source in by_id and flow.target in by_id:
            preds[flow.target].append(by_id[flow.source])
    right = left
    for node in _order(graph):
        if node.inner is not None:
            _layout_inner(node.inner)
        node.width, node.height = node.size()
        node.x = max((p.x + p.width + GAP for p in preds[node.id]), default=left)
        right = max(right, node.x + node.width)
    return right


def _below(node: Node) -> float:
    """Space a node needs under its centre line."""
    return node.height / 2 + (REMINDER_SPACE if node.reminders else 0)


def _layout_inner(inner: Graph) -> None:
    right = _x_positions(inner, 0)
    half = max(n.height / 2 for n in inner.nodes)
    below = max(_below(n) for n in inner.nodes)
    for node in inner.nodes:
        node.y = half - node.height / 2
    inner.width = right
    inner.height = half + below


def _place(node: Node, x: float, y: float) -> None:
    """Put a node at (x, y), its reminders on its lower edge, a sub-process's children inside it
    (their coordinates are relative to the sub-process until then)."""
    node.x, node.y = x, y
    for i, reminder in enumerate(node.reminders):
        reminder.width, reminder.height = SIZES["boundaryEvent"]
        reminder.x = node.x + 2 + 30 * i
        reminder.y = node.y + node.height - 18
    if node.reminded is not None:
        end = node.reminded
        end.width, end.height = SIZES["endEvent"]
        end.x = node.x + node.width + 10
        end.y = node.y + node.height + 40
    if node.inner is not None:
        for child in node.inner.nodes:
            _place(child, node.x + PAD + child.x, node.y + PAD + child.y)


@dataclass
class Row:
    lane: str
    track: str
    top: float = 0
    centre: float = 0
    height: float = 0


@dataclass
class Layout:
    graph: Graph
    rows: list[Row]
    lanes: list[tuple[str, float, float]]
    """(role key, top, height)."""
    width: float
    height: float


def layout(programme: ProgrammeDef, graph: Graph) -> Layout:
    left = POOL_HEADER + LANE_HEADER + PAD
    right = _x_positions(graph, left)
    rows: list[Row] = []
    lanes: list[tuple[str, float, float]] = []
    top = 0.0
    for role in programme.roles:
        lane_top = top
        for track in programme.tracks:
            members = [n for n in graph.nodes if n.lane == role.key and n.track == track.key]
            if not members:
                continue
            half = max(n.height / 2 for n in members)
            below = max(_below(n) for n in members)
            row = Row(role.key, track.key, top, top + PAD + half, 2 * PAD + half + below)
            for node in members:
                _place(node, node.x, row.centre - node.height / 2)
            rows.append(row)
            top += row.height
        if top > lane_top:
            lanes.append((role.key, lane_top, top - lane_top))
    width = right + PAD - POOL_HEADER
    by_id = {n.id: n for n in graph.all_nodes()}
    for flow in graph.all_flows():
        flow.waypoints = _route(by_id[flow.source], by_id[flow.target])
    return Layout(graph, rows, lanes, width, top)


def _route(source: Node, target: Node) -> list[tuple[float, float]]:
    if source.tag == "boundaryEvent":  # down from the timer, then right into "Påmindelse sendt"
        cx = source.x + source.width / 2
        return [(cx, source.y + source.height), (cx, target.cy), (target.x, target.cy)]
    sx, sy = source.x + source.width, source.cy
    tx, ty = target.x, target.cy
    if abs(sy - ty) < 0.5:
        return [(sx, sy), (tx, ty)]
    if source.tag == "parallelGateway":  # a split leaves from the top or bottom corner
        gx = source.x + source.width / 2
        gy = source.y + (source.height if ty > sy else 0)
        return [(gx, gy), (gx, ty), (tx, ty)]
    if target.tag == "parallelGateway":  # a join is entered from the top or bottom corner
        gx = target.x + target.width / 2
        gy = target.y + (target.height if sy > ty else 0)
        return [(sx, sy), (gx, sy), (gx, gy)]
    mx = sx + GAP / 2
    return [(sx, sy), (mx, sy), (mx, ty), (tx, ty)]


# --- XML ----------------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _element(parent: ET.Element, node: Node, flows: list[Flow]) -> None:
    attrs: dict[str, str] = {"id": node.id}
    if node.name:
        attrs["name"] = node.name
    if node.tag == "boundaryEvent":
        attrs["cancelActivity"] = "false"
        attrs["attachedToRef"] = node.attached_to or ""
    el = ET.SubElement(parent, _m(node.tag), attrs)
    if node.doc:
        ET.SubElement(el, _m("documentation")).text = node.doc
    for flow in flows:
        if flow.target == node.id:
            ET.SubElement(el, _m("incoming")).text = flow.id
    for flow in flows:
        if flow.source == node.id:
            ET.SubElement(el, _m("outgoing")).text = flow.id
    if node.timer is not None:
        kind, expression = node.timer
        definition = ET.SubElement(el, _m("timerEventDefinition"), {"id": f"{node.id}_timer"})
        ET.SubElement(definition, _m(kind), {f"{{{XSI}}}type": "bpmn:tFormalExpression"}).text = expression
    if node.cardinality is not None:
        loop = ET.SubElement(
            el, _m("multiInstanceLoopCharacteristics"), {"id": f"{node.id}_loop", "isSequential": "true"}
        )
        ET.SubElement(loop, _m("loopCardinality"), {f"{{{XSI}}}type": "bpmn:tFormalExpression"}).text = str(
            node.cardinality
        )
    if node.inner is not None:
        _elements(el, node.inner)


def _elements(parent: ET.Element, graph: Graph) -> None:
    flows = graph.flows
    for node in graph.nodes:
        _element(parent, node, flows)
        for extra in node.reminders:
            _element(parent, extra, flows)
        if node.reminded is not None:
            _element(parent, node.reminded, flows)
    for flow in flows:
        ET.SubElement(
            parent, _m("sequenceFlow"), {"id": flow.id, "sourceRef": flow.source, "targetRef": flow.target}
        )


def _bounds(parent: ET.Element, x: float, y: float, w: float, h: float) -> None:
    ET.SubElement(parent, f"{{{DC}}}Bounds", {"x": _n(x), "y": _n(y), "width": _n(w), "height": _n(h)})


def export(programme: ProgrammeDef) -> bytes:
    """The programme version as BPMN 2.0 XML with diagram interchange (UTF-8 bytes, deterministic)."""
    graph = build(programme)
    laid = layout(programme, graph)
    ident = f"{programme.key}_v{programme.version}"
    pid = process_id(programme)
    root = ET.Element(
        _m("definitions"),
        {
            "id": f"Definitions_{ident}",
            "targetNamespace": f"urn:forloeb:programme:{programme.key}:{programme.version}",
            "exporter": "forloeb",
            "exporterVersion": "1",
        },
    )
    collaboration = ET.SubElement(root, _m("collaboration"), {"id": f"Collaboration_{ident}"})
    agency = next(o for o in programme.organisations if o.kind == "agency")
    ET.SubElement(
        collaboration,
        _m("participant"),
        {
            "id": f"Participant_{ident}",
            "name": f"{agency.name}: {programme.name} (version {programme.version})",
            "processRef": pid,
        },
    )
    process = ET.SubElement(
        root,
        _m("process"),
        {
            "id": pid,
            "name": f"{programme.name} ({programme.key} version {programme.version})",
            "isExecutable": "true",
        },
    )
    ET.SubElement(process, _m("documentation")).text = programme.description
    lane_set = ET.SubElement(process, _m("laneSet"), {"id": f"LaneSet_{ident}"})
    top_nodes = [n for n in graph.nodes]
    for role_key, _, _ in laid.lanes:
        lane = ET.SubElement(
            lane_set, _m("lane"), {"id": f"Lane_{role_key}", "name": programme.role(role_key).name}
        )
        for node in top_nodes:
            if node.lane == role_key:
                for member in (node, *node.reminders, *([node.reminded] if node.reminded else [])):
                    ET.SubElement(lane, _m("flowNodeRef")).text = member.id
    _elements(process, graph)

    diagram = ET.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", {"id": f"Diagram_{ident}"})
    plane = ET.SubElement(
        diagram, f"{{{BPMNDI}}}BPMNPlane", {"id": f"Plane_{ident}", "bpmnElement": f"Collaboration_{ident}"}
    )
    pool = ET.SubElement(
        plane,
        f"{{{BPMNDI}}}BPMNShape",
        {"id": f"Participant_{ident}_di", "bpmnElement": f"Participant_{ident}", "isHorizontal": "true"},
    )
    _bounds(pool, 0, 0, laid.width + POOL_HEADER, laid.height)
    for role_key, lane_top, lane_height in laid.lanes:
        shape = ET.SubElement(
            plane,
            f"{{{BPMNDI}}}BPMNShape",
            {"id": f"Lane_{role_key}_di", "bpmnElement": f"Lane_{role_key}", "isHorizontal": "true"},
        )
        _bounds(shape, POOL_HEADER, lane_top, laid.width, lane_height)
    for node in graph.all_nodes():
        attrs = {"id": f"{node.id}_di", "bpmnElement": node.id}
        if node.tag == "subProcess":
            attrs["isExpanded"] = "true"
        shape = ET.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", attrs)
        _bounds(shape, node.x, node.y, node.width, node.height)
    for flow in graph.all_flows():
        edge = ET.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", {"id": f"{flow.id}_di", "bpmnElement": flow.id})
        for x, y in flow.waypoints:
            ET.SubElement(edge, f"{{{DI}}}waypoint", {"x": _n(x), "y": _n(y)})
    ET.indent(root)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode() + b"\n"
    )


# --- a course on the diagram ------------------------------------------------------------------

State = Literal["done", "current"]


def course_state(
    programme: ProgrammeDef, stages: list[Any], tasks: list[Any], tracks: list[Any]
) -> dict[str, State]:
    """Element id -> 'done' or 'current' for a course (its stage rows, tasks and tracks as
    `services.read_model.course_detail` gives them); elements not named are planned."""
    marks: dict[str, State] = {}
    status = {row.stage_key: row.status for row in stages}
    latest: dict[str, tuple[int, Any]] = {}
    for task in tasks:
        found = programme.step_of_task(task.key)
        if found is None:
            continue
        _, step, round_no = found
        if step.key not in latest or round_no >= latest[step.key][0]:
            latest[step.key] = (round_no, task)
    for stage in programme.stages:
        stage_status = status.get(stage.key)
        ids = [_step_id(step) for step in stage.steps]
        if stage.repeat is not None:
            ids.append(f"Stage_{stage.key}")
        if stage.starts is not None:
            ids.append(f"Timer_{stage.key}")
        if len(programme.predecessors(stage.key)) > 1:
            ids.append(f"Join_{stage.key}")
        if stage_status == StageStatus.DONE:
            marks.update(dict.fromkeys(ids, "done"))
            continue
        if stage_status != StageStatus.ACTIVE:
            continue
        if stage.starts is not None:
            marks[f"Timer_{stage.key}"] = "done"
        if len(programme.predecessors(stage.key)) > 1:
            marks[f"Join_{stage.key}"] = "done"
        if stage.repeat is not None:
            marks[f"Stage_{stage.key}"] = "current"
        open_seen = False
        for i, step in enumerate(stage.steps):
            entry = latest.get(step.key)
            if entry is not None:
                task = entry[1]
                if task.status == TaskStatus.OPEN:
                    marks[_step_id(step)] = "current"
                    open_seen = True
                else:
                    marks[_step_id(step)] = "done"
            elif step.form is None:  # a schedule timer: done when a later step has a task
                later = any(s.key in latest for s in stage.steps[i + 1 :])
                if later:
                    marks[_step_id(step)] = "done"
                elif not open_seen and all(marks.get(_step_id(s)) == "done" for s in stage.steps[:i]):
                    marks[_step_id(step)] = "current"
    for track in tracks:  # a track waiting to begin a stage: on its timer or its join
        if getattr(track, "state", None) != "waiting" or not track.stage_key:
            continue
        stage = programme.stage(track.stage_key)
        if stage.starts is not None:
            marks[f"Timer_{stage.key}"] = "current"
        elif len(programme.predecessors(stage.key)) > 1:
            marks[f"Join_{stage.key}"] = "current"
    return marks


def _step_id(step: StepDef) -> str:
    meeting = step.meeting
    return f"Timer_{step.key}" if meeting is not None and meeting.action == "schedule" else f"Task_{step.key}"


def diagram_state(course_id: int) -> dict[str, Any]:
    """What the course page's diagram shows: the programme version's export and the marks."""
    from services import read_model

    detail = read_model.course_detail(course_id)
    if detail.programme is None:
        return {"programme": detail.course.programme, "version": detail.course.programme_version, "marks": {}}
    programme = detail.programme
    marks = course_state(programme, detail.stages, detail.tasks, detail.tracks)
    return {
        "programme": programme.key,
        "version": programme.version,
        "bpmn_url": f"/api/programmes/{programme.key}/{programme.version}/bpmn",
        "done": sorted(k for k, v in marks.items() if v == "done"),
        "current": sorted(k for k, v in marks.items() if v == "current"),
    }
