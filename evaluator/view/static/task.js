// Task page: output checks, safety events, answer files, patch/tests (change tasks), transcript.

let lastRunRoute = null;

function findRow(i, key) { return (DATA.runs[i] || {rows: []}).rows.find(r => r.key === key); }

function checksPart(d) {
  if (!d.checks.length) return el("p", {class: "muted"}, "No output checks.");
  const head = ["key", "expected", "actual", "comparator", "credit", "weight", "ok"];
  return el("table", {class: "checks", id: "checks"},
    el("thead", {}, el("tr", {}, head.map(h => el("th", {}, h)))),
    el("tbody", {}, d.checks.map(c => el("tr", {class: c.ok ? "good" : "bad", "data-check": c.key},
      el("td", {}, c.key), el("td", {class: "exp"}, show(c.expected)),
      el("td", {class: "act"}, c.actual === null || c.actual === undefined ? el("span", {class: "muted"}, "(none)") : show(c.actual), c.note ? el("div", {class: "meta"}, c.note) : null),
      el("td", {}, c.comparator), el("td", {class: "num"}, num(c.credit, 2)), el("td", {class: "num"}, num(c.weight, 1)),
      el("td", {}, pill(c.ok, c.ok ? "ok" : "fail"))))));
}

function eventBox(ev, n) {
  return el("div", {class: "event", "data-event": ev.type, id: "ev" + n},
    el("strong", {}, ev.type), ` (${ev.tool}${ev.refused ? ", refused" : ", carried out"}) `, el("code", {}, ev.call),
    el("div", {class: "meta"}, ev.detail));
}

// The command or path a tool call acted on: what a SafetyEvent's `call` records.
function callSubject(name, args) {
  if (!args || typeof args !== "object") return "";
  return String(name === "run_command" ? (args.command ?? "") : (args.path ?? ""));
}

// Attach each safety event to the first tool call it names; the rest are listed on their own.
function placeEvents(d) {
  const placed = new Map(), used = new Set();
  for (const rec of d.transcript) {
    for (const call of calls(rec.message)) {
      const fn = call.function || {};
      const subject = callSubject(fn.name, parseArgs(fn.arguments));
      d.safety_events.forEach((ev, n) => {
        if (used.has(n) || ev.tool !== fn.name) return;
        if (ev.call === subject || ev.call === subject.slice(0, 500) || (ev.call && subject.includes(ev.call))) {
          used.add(n);
          if (!placed.has(call)) placed.set(call, []);
          placed.get(call).push(n);
        }
      });
    }
  }
  return {placed, loose: d.safety_events.map((_, n) => n).filter(n => !used.has(n))};
}

// Tool calls as recorded; anything but a list of objects (a malformed reply) shows none.
function calls(m) {
  const list = (m || {}).tool_calls;
  return Array.isArray(list) ? list.filter(c => c && typeof c === "object") : [];
}

function parseArgs(text) {
  if (typeof text !== "string") return text;
  try { return JSON.parse(text); } catch (e) { return null; }
}

// Long output: the first few KB shown, the whole text behind a click, with its size and hash.
function longText(text, label, sha) {
  const n = bytesOf(text);
  if (n <= COLLAPSE_BYTES) return el("pre", {}, text);
  const head = el("pre", {}, text.slice(0, COLLAPSE_BYTES) + "\n…");
  const more = el("details", {}, el("summary", {}, `${label}: ${n} bytes${sha ? " · sha256 " + sha : ""} (show all)`));
  more.addEventListener("toggle", () => {  // the full text is drawn only when asked for
    if (more.open && more.children.length === 1) more.append(el("pre", {}, text));
    head.hidden = more.open;
  });
  return el("div", {class: "collapsed"}, head, more);
}

function execPart(x) {
  const parts = [el("div", {class: "meta"}, `exit ${x.exit_code}${x.timed_out ? " · timed out" : ""} · ${secs(x.duration_s)}` + (x.limit ? ` · limit: ${x.limit}` : ""))];
  for (const s of ["stdout", "stderr"]) {
    if (!x[s] && !x[s + "_bytes"]) continue;
    const kept = bytesOf(x[s]), full = x[s + "_bytes"];
    parts.push(el("div", {class: "meta"}, `${s}: ${full} bytes${kept < full ? ` (${kept} kept)` : ""} · sha256 ${x[s + "_sha256"] || "?"}`), longText(x[s] || "", s, x[s + "_sha256"]));
  }
  return parts;
}

function content(c) {
  if (c === null || c === undefined) return null;
  if (typeof c === "string") return longText(c, "content");
  return longText(JSON.stringify(c, null, 1), "content");  // multi-part content: shown as its JSON
}

function messagePart(rec, prevT, events, d, turn) {
  const m = rec.message || {};
  const dt = (typeof rec.t === "number" && typeof prevT === "number") ? ` · +${(rec.t - prevT).toFixed(2)} s` : "";
  const head = el("div", {class: "head"}, el("strong", {}, m.role || "?"), el("span", {}, `#${rec.seq}`),
    m.role === "assistant" ? el("span", {}, `turn ${turn}`) : null,
    typeof rec.t === "number" ? el("span", {title: "seconds since the attempt started · since the previous message"}, `t=${rec.t.toFixed(2)} s${dt}`) : null);
  const box = el("div", {class: "msg " + (m.role || ""), "data-seq": String(rec.seq)}, head);
  if (m.role === "system") {  // the same long prompt on every task: folded
    return append(box, [el("details", {}, el("summary", {}, `system prompt (${bytesOf(String(m.content || ""))} bytes)`), content(m.content))]);
  }
  if (m.reasoning_content) box.append(el("div", {class: "reasoning"}, el("div", {class: "meta"}, "reasoning"), longText(String(m.reasoning_content), "reasoning")));
  const execTool = m.role === "tool" && rec.exec;
  if (!execTool) append(box, [content(m.content)]);
  for (const call of calls(m)) {
    const fn = call.function || {}, args = parseArgs(fn.arguments);
    const flagged = events.placed.get(call) || [];
    box.append(el("div", {class: "call" + (flagged.length ? " flagged" : ""), "data-call": call.id || ""},
      el("div", {}, el("strong", {}, fn.name || "?"), " ", el("span", {class: "meta"}, call.id || "")),
      args === null ? longText(String(fn.arguments), "arguments") : longText(JSON.stringify(args, null, 1), "arguments"),
      flagged.map(n => eventBox(d.safety_events[n], n))));
    if (flagged.length) box.classList.add("flagged");
  }
  if (m.role === "tool") head.append(el("span", {}, m.tool_call_id || ""));
  if (execTool) {  // the sandbox's record (fuller than what the model saw), then the model's view
    append(box, [execPart(rec.exec)]);
    box.append(el("details", {}, el("summary", {}, "as the model saw it"), content(m.content)));
  }
  return box;
}

function transcriptPart(d) {
  const ref = d.transcript_ref;
  const wrap = el("section", {id: "transcript"}, el("h2", {}, "Transcript"),
    ref ? el("div", {class: "meta"}, `${ref.path} · attempt ${ref.attempt} · ${ref.messages} messages · sha256 ${ref.sha256}`) : null);
  const events = placeEvents(d);
  d._loose = events.loose;  // events not matched to a call are shown in full above
  if (!d.transcript.length) return append(wrap, [el("p", {class: "muted"}, "No transcript lines for this trial.")]);
  let prevT = null, turn = 0;
  for (const rec of d.transcript) {
    if ((rec.message || {}).role === "assistant") turn += 1;
    wrap.append(messagePart(rec, prevT, events, d, turn));
    if (typeof rec.t === "number") prevT = rec.t;
  }
  return wrap;
}

function diffPart(patch) {
  const pre = el("pre", {class: "diff"});
  for (const line of patch.split("\n")) {
    const cls = line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "";
    pre.append(el("span", {class: cls}, line + "\n"));
  }
  return pre;
}

function changePart(c) {
  if (!c) return null;
  return el("section", {id: "change"}, el("h2", {}, "Change"),
    c.patch ? [el("h3", {}, "patch.diff"), diffPart(c.patch)] : el("p", {class: "muted"}, "No patch recorded."),
    c.tests ? [el("h3", {}, "Tests"), table(["test", "outcome", "detail"], c.tests.map(t => [String(t.name ?? ""), pill(t.outcome === "passed", String(t.outcome ?? "")), String(t.detail ?? "")]))] : null);
}

function trialDetail(d, r) {
  const events = el("section", {id: "safety"}, el("h2", {}, `Safety events (${d.safety_events.length})`));
  const tx = transcriptPart(d);
  if (!d.safety_events.length) events.append(el("p", {class: "muted"}, "None."));
  else d.safety_events.forEach((ev, n) => events.append(el("div", {}, d._loose.includes(n) ? eventBox(ev, n) : el("a", {onclick: () => document.getElementById("ev" + n).scrollIntoView()}, `${ev.type}: ${ev.call} (at the call in the transcript)`))));
  const m = d.metrics || {};
  return [
    el("div", {class: "cards"}, card("result", r.success ? "pass" : "fail", r.reason || r.stop), card("score", num(r.score, 1)),
      card("turns", String(m.turns ?? r.turns), `${m.tool_calls ?? "?"} tool calls · ${m.commands_used ?? "?"} commands`),
      card("tokens", String(r.tokens), `in ${m.prompt_tokens ?? "?"} / out ${m.completion_tokens ?? "?"}`),
      card("time", secs(m.wall_time_s), `model ${secs(m.model_time_s)}`)),
    d.error ? el("div", {class: "warnbox"}, el("strong", {}, "error: "), el("pre", {}, d.error)) : null,
    el("h2", {}, "Output checks"), checksPart(d), events,
    el("section", {id: "answers"}, el("h2", {}, "Answer files"), d.answers.length ? d.answers.map(a => [el("h3", {}, `${a.name} (${a.bytes} bytes)`), longText(a.text, a.name)]) : el("p", {class: "muted"}, "The model left no answer file.")),
    changePart(d.change), tx];
}

async function taskPage(main, i, key) {
  const r = findRow(i, key);
  if (!r) return append(main, [el("p", {}, "No such task in this run.")]);
  append(main, [el("div", {}, el("a", {href: lastRunRoute || route(["run", String(i)])}, "← back to the run")),
    el("h1", {}, `${r.repo} / ${r.task}`, (DATA.runs[i].meta.epochs || 1) > 1 ? ` · epoch ${r.epoch}` : "", " ", pill(r.success, r.success ? "pass" : "fail")),
    el("div", {class: "meta"}, `${r.difficulty} · stop ${r.stop} · ${DATA.runs[i].meta.model || ""}`)]);
  const holder = el("div", {}, el("p", {class: "muted"}, "Decoding…"));
  main.append(holder);
  const d = await loadBlob(r.blob);
  append(clear(holder), [trialDetail(d, r)]);
  document.documentElement.dataset.ready = "task";
}
