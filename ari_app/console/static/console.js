// The console's few scripts: JSON API calls with the session's CSRF token, forms sent as JSON,
// and the live views (Server-Sent Events) of the agent's desk and the wallboard. Data is always
// put on the page as text (textContent), never as markup.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf"]').content;
const $ = (id) => document.getElementById(id);
let clockOffset = 0; // server time minus this browser's time, in seconds

function serverNow() { return Date.now() / 1000 + clockOffset; }

function duration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

function toast(message, bad) {
  const box = $("toast");
  box.textContent = message;
  box.className = bad ? "bad shown" : "shown";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.className = ""; }, 6000);
}

async function api(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const message = (data && data.error) ? data.error : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return data;
}

function formBody(form) {
  const body = {};
  for (const field of form.elements) {
    if (!field.name || field.disabled) continue;
    if (field.dataset.type === "bool") { body[field.name] = field.checked; continue; }
    const value = field.value.trim();
    if (value === "") continue;
    body[field.name] = field.dataset.type === "int" ? parseInt(value, 10) : value;
  }
  return body;
}

function wireForms() {
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const out = form.querySelector("output");
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      try {
        const data = await api(form.dataset.method || "POST", form.dataset.api, formBody(form));
        const said = data && data.number ? `已提交：工单 ${data.number}（${data.state_label || ""}）` : "已提交";
        if (out) out.textContent = said;
        toast(said, false);
        form.dispatchEvent(new CustomEvent("api-done", { detail: data }));
        if (form.dataset.reload) setTimeout(() => location.reload(), 400);
      } catch (error) {
        if (out) out.textContent = error.message;
        toast(error.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }
}

function fill(list, items, render, empty) {
  list.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = empty;
    list.append(li);
    return;
  }
  for (const item of items) {
    const li = document.createElement("li");
    li.textContent = render(item);
    list.append(li);
  }
}

function cells(table, rows, render, empty) {
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const value of render(row, tr)) {
      const td = document.createElement("td");
      if (value instanceof Node) td.append(value); else td.textContent = value === null || value === undefined ? "" : value;
      tr.append(td);
    }
    body.append(tr);
  }
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = table.tHead.rows[0].cells.length;
    td.className = "muted";
    td.textContent = empty;
    tr.append(td);
    body.append(tr);
  }
}

function live(path, event, render) {
  const source = new EventSource(path);
  source.addEventListener(event, (message) => {
    const data = JSON.parse(message.data);
    clockOffset = data.now - Date.now() / 1000;
    render(data.view);
  });
  source.onerror = () => toast("实时连接中断，正在重连…", true);
  return source;
}

// ---- the agent's desk ------------------------------------------------------------------------
const desk = { view: null, callId: null, filledFor: null };

function renderAgent(view) {
  desk.view = view;
  if (!view.available) { $("agent-state").textContent = "系统启动中…"; return; }
  if (view.error) { $("agent-state").textContent = view.error; return; }
  const agent = view.agent;
  $("agent-state").textContent = agent.state_label;
  $("agent-state").dataset.state = agent.state;
  $("agent-phone").textContent = agent.phone === "registered" ? "话机已注册" : "话机未注册";
  const pause = $("pause-shown");
  pause.hidden = agent.state !== "paused";
  pause.textContent = agent.pause_reason ? `小休原因：${agent.pause_reason}` : "";
  renderCall(view.call);
  tickAgent();
}

function renderCall(call) {
  const shown = Boolean(call);
  $("pop-empty").hidden = shown;
  $("pop-details").hidden = !shown;
  if (!call) { desk.callId = null; $("pop-failure").hidden = true; return; }
  desk.callId = call.call_id;
  $("pop-caller").textContent = call.caller || "未知号码";
  $("pop-line").textContent = `${call.line.number} ${call.line.name}`;
  const merged = call.line.mode ? `${call.line.mode}` : "";
  $("pop-mode").textContent = merged + (call.line.department_name ? `；责任部门：${call.line.department_name}` : "");
  $("pop-route").textContent = call.route_label + (call.overflow ? `（${call.overflow}）` : "");
  $("pop-waited").textContent = call.waited === null ? "–" : `${duration(call.waited)}`;
  $("pop-status").textContent = call.ended ? "通话已结束" : (call.talking ? "通话中" : "振铃中");
  const dept = call.department;
  $("pop-department").textContent = dept ? `${dept.id}（${dept.mode}${dept.joined ? "，已接通" : "，呼叫中"}）` : "无";
  const failure = call.last_failure;
  $("pop-failure").hidden = !failure;
  $("pop-failure").textContent = failure ? `部门呼叫失败：${failure.department || failure.target || failure.action || ""} ${failure.reason || ""}` : "";
  fill($("pop-calls"), call.history.calls, (c) => `${c.started_at.slice(0, 16).replace("T", " ")} 拨打 ${c.hotline}（${c.outcome || "进行中"}）`, "无");
  fill($("pop-orders"), call.history.orders, (o) => `${o.number} ${o.state} ${o.department}：${o.content}`, "无");
  if (desk.filledFor !== call.call_id) {  // the order form, prefilled once per call
    desk.filledFor = call.call_id;
    $("order-call").value = call.call_id;
    if (call.line.department) $("order-department").value = call.line.department;
    $("order-result").textContent = "";
  }
}

function tickAgent() {
  const view = desk.view;
  if (!view || !view.agent) return;
  const agent = view.agent;
  $("agent-since").textContent = `已持续 ${duration(serverNow() - agent.since)}`;
  const wrap = $("wrapup");
  wrap.hidden = agent.state !== "wrap_up";
  if (agent.wrap_up_until) $("wrapup-left").textContent = String(Math.max(0, Math.ceil(agent.wrap_up_until - serverNow())));
}

async function agentAction(action) {
  const agentId = document.querySelector(".desk").dataset.agent;
  const body = action === "pause" ? { reason: $("pause-reason").value } : {};
  try {
    const agent = await api("POST", `/agents/${encodeURIComponent(agentId)}/${action}`, body);
    toast(`状态已更新：${agent.state}`, false);
  } catch (error) { toast(error.message, true); }
}

async function party(action, department) {
  if (!desk.callId) { toast("当前没有通话", true); return; }
  try {
    await api("POST", `/calls/${encodeURIComponent(desk.callId)}/party`, department ? { action, department } : { action });
    toast("已发出指令", false);
  } catch (error) { toast(error.message, true); }
}

async function searchKnowledge(event) {
  event.preventDefault();
  const q = $("kb-q").value.trim();
  if (!q) return;
  const hotline = desk.view && desk.view.call ? desk.view.call.hotline : "";
  const params = new URLSearchParams({ q, limit: "5" });
  if (hotline && hotline !== "12345") params.set("hotline", hotline);
  const list = $("kb-results");
  try {
    let data = await api("GET", `/knowledge/search?${params}`);
    if (!data.results.length && params.has("hotline")) {  // nothing for this line: ask every department's entries
      params.delete("hotline");
      data = await api("GET", `/knowledge/search?${params}`);
    }
    list.replaceChildren();
    for (const hit of data.results) {
      const li = document.createElement("li");
      const q = document.createElement("strong");
      q.textContent = hit.question;
      const who = document.createElement("span");
      who.className = "muted";
      who.textContent = ` ${hit.department_name} v${hit.version}${hit.notice ? "（" + hit.notice + "）" : ""}`;
      const answer = document.createElement("p");
      answer.textContent = hit.answer;
      li.append(q, who, answer);
      list.append(li);
    }
    if (!data.results.length) fill(list, [], () => "", "没有找到相关答复口径");
  } catch (error) { toast(error.message, true); }
}

function startAgentDesk() {
  for (const button of document.querySelectorAll("[data-agent-action]")) {
    button.addEventListener("click", () => agentAction(button.dataset.agentAction));
  }
  for (const button of document.querySelectorAll("[data-party]")) {
    button.addEventListener("click", () => party(button.dataset.party, button.dataset.department));
  }
  $("escalate").addEventListener("click", async () => {
    if (!desk.callId) { toast("当前没有通话", true); return; }
    try {
      await api("POST", `/calls/${encodeURIComponent(desk.callId)}/escalate`, { group: $("escalate-group").value });
      toast("已转专家坐席", false);
    } catch (error) { toast(error.message, true); }
  });
  $("kb-form").addEventListener("submit", searchKnowledge);
  $("order-form").addEventListener("api-done", () => { $("order-content").value = ""; $("order-reply").value = ""; });
  live("/console/events/agent", "agent", renderAgent);
  setInterval(tickAgent, 1000);
}

// ---- the wallboard ---------------------------------------------------------------------------
const board = { view: null };
const percent = (value) => (value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`);
const COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d86", "#6e7781"];

function groupRows(groups) {
  return Object.entries(groups || {}).map(([key, g]) => [key, g.waiting_now, duration(g.longest_wait || 0),
    g.answered, g.abandoned, percent(g.service_level)]);
}

function drawChart(hourly) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const legend = $("chart-legend");
  legend.replaceChildren();
  const lines = Object.entries(hourly || {}).slice(0, COLOURS.length);
  const top = Math.max(1, ...lines.flatMap(([, counts]) => counts));
  const width = 960, height = 200, step = width / 24, bar = step / Math.max(1, lines.length) - 1;
  lines.forEach(([number, counts], i) => {
    counts.forEach((count, hour) => {
      if (!count) return;
      const rect = document.createElementNS(ns, "rect");
      const h = Math.max(1, (count / top) * (height - 10));
      rect.setAttribute("x", String(hour * step + i * (bar + 1)));
      rect.setAttribute("y", String(height - h));
      rect.setAttribute("width", String(Math.max(1, bar)));
      rect.setAttribute("height", String(h));
      rect.setAttribute("fill", COLOURS[i]);
      const title = document.createElementNS(ns, "title");
      title.textContent = `${number} ${hour}时：${count}`;
      rect.append(title);
      svg.append(rect);
    });
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch c${i}`;
    li.append(swatch, document.createTextNode(`${number}（${counts.reduce((a, b) => a + b, 0)}）`));
    legend.append(li);
  });
  for (let hour = 0; hour < 24; hour += 3) {
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", String(hour * step + 2));
    text.setAttribute("y", "216");
    text.setAttribute("class", "axis");
    text.textContent = `${hour}时`;
    svg.append(text);
  }
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function renderBoard(view) {
  board.view = view;
  const facts = view.facts || {};
  $("board-stale").hidden = !(facts.stale || facts.available === false);
  if (view.available) {
    const total = view.queues.total || {};
    $("tile-waiting").textContent = String(view.waiting.length);
    $("tile-sl").textContent = percent(total.service_level);
    cells($("by-hotline"), groupRows(view.queues.by_hotline), (r) => r, "暂无来电");
    cells($("by-queue"), groupRows(view.queues.by_queue), (r) => r, "暂无来电");
  }
  if (facts.available) {
    $("tile-answered").textContent = String(facts.answered_today);
    $("tile-abandoned").textContent = String(facts.abandoned_today);
    $("tile-visits").textContent = String(facts.visits.due);
    $("visits-due").textContent = String(facts.visits.due);
    $("visits-scheduled").textContent = String(facts.visits.scheduled);
    $("visits-dialling").textContent = String(facts.visits.dialling);
    drawChart(facts.hourly);
    cells($("overdue"), facts.overdue, (o) => [o.department, o.orders], "没有超期工单");
    cells($("latest-orders"), facts.latest_orders, (o) => [link(`/console/orders/${o.number}`, o.number), o.state_label,
      o.department, o.hotline], "今日暂无工单");
    cells($("for-supervisor"), facts.for_supervisor, (o) => [link(`/console/orders/${o.number}`, o.number), o.state_label,
      o.department, o.extension ? "延期申请待批" : (o.state === "sent_back" ? "退回待重新派发" : "待派发")], "无");
    cells($("manual"), facts.manual_visits, (v) => [link(`/console/orders/${v.number}`, v.number), v.phone,
      v.department, v.attempts, v.last_result], "无");
    renderStaffing(facts.staffing);
  }
  tickBoard();
}

function renderStaffing(staffing) {
  if (!staffing) return;
  const orders = Object.fromEntries((staffing.work_orders || []).map((o) => [o.department, o]));
  const rows = (staffing.departments || []).map((d) => {
    const o = orders[d.department] || { orders: 0, on_time: {}, return_visits: {} };
    return [d.name, d.required, d.agents, o.orders, percent(o.on_time.rate), percent(o.return_visits.satisfaction),
      o.return_visits.manual || 0];
  });
  cells($("staffing"), rows, (r) => r, "无");
}

function tickBoard() {
  const view = board.view;
  if (!view || !view.available) return;
  const now = serverNow();
  const oldest = view.waiting.length ? view.waiting[0].enqueued_at : null;
  $("tile-longest").textContent = oldest === null ? "0:00" : duration(now - oldest);
  $("board-updated").textContent = `（${new Date(now * 1000).toLocaleTimeString("zh-CN", { hour12: false })}）`;
  cells($("agents"), view.agents, (a, tr) => {
    tr.className = `state-${a.state}`;
    return [a.id, a.state_label, duration(now - a.since), a.phone === "registered" ? "已注册" : "未注册",
      a.pause_reason || (a.call_id ? "通话 " + a.call_id.slice(0, 8) : "")];
  }, "无座席");
}

function startWallboard() {
  live("/console/events/board", "board", renderBoard);
  setInterval(tickBoard, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  wireForms();
  const page = document.body.dataset.page;
  if (page === "agent") startAgentDesk();
  if (page === "wallboard") startWallboard();
});
