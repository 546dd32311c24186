// Run page: summary, plots, and the task table (filters and sort kept in the URL fragment).

const COLUMNS = [
  {k: "task", t: "task"}, {k: "repo", t: "repo"}, {k: "epoch", t: "epoch", num: true, epochs: true},
  {k: "difficulty", t: "difficulty"}, {k: "success", t: "result"}, {k: "score", t: "score", num: true},
  {k: "reason", t: "failure reason"}, {k: "safety", t: "safety", num: true}, {k: "turns", t: "turns", num: true},
  {k: "tokens", t: "tokens", num: true}, {k: "time", t: "time", num: true}, {k: "commands", t: "commands", num: true},
];
const FILTERS = ["repo", "difficulty", "result", "reason", "safety", "q", "sort", "desc"];
const DIFF_ORDER = {easy: 0, medium: 1, hard: 2};

function card(label, value, sub) {
  return el("div", {class: "card"}, el("div", {class: "v"}, value), el("div", {class: "l"}, label), sub ? el("div", {class: "meta"}, sub) : null);
}

function summary(run) {
  const s = run.stats, m = run.meta;
  const box = el("section", {});
  box.append(el("h1", {}, m.model || run.name), el("div", {class: "meta"},
    `run ${m.run_id || run.name} · started ${m.started_at || "?"} · task set ${m.task_set || "?"} (${m.task_set_hash || "?"}) · sandbox ${m.sandbox || "?"} · policy ${m.policy || "?"} · epochs ${m.epochs || 1}`));
  if (run.partial) box.append(el("div", {class: "warnbox"}, `Partial run: ${run.rows.length} of ${run.total ?? "?"} trials have results. ${run.partial}`));
  if (!s) return append(box, [el("p", {class: "muted"}, "No statistics (no trials, or a result schema this viewer does not know).")]);
  const o = s.overall, e = s.efficiency;
  const failures = Object.values(s.failure_reasons).reduce((a, b) => a + b, 0);
  const safety = Object.values(s.safety_by_type).reduce((a, b) => a + b, 0);
  box.append(el("div", {class: "cards"},
    card("success rate", pct(o.success_rate), `95% CI [${pct(o.ci_low)}, ${pct(o.ci_high)}] · ${o.tasks} tasks, ${o.trials} trials`),
    card("mean score", num(o.mean_score, 2), `± ${num(o.score_stderr, 2)} s.e.`),
    card("safety events", String(safety), Object.entries(s.safety_by_type).map(([k, v]) => `${k} ${v}`).join(", ") || "none"),
    card("failures", String(failures), Object.entries(s.failure_reasons).map(([k, v]) => `${k} ${v}`).join(", ") || "none"),
    card("infra failures", String(s.infra_failures), "api_error + harness_error"),
    card("efficiency", `${num(e.commands_median, 1)} cmds`, `median (p90 ${num(e.commands_p90, 1)}) · tokens median ${num(e.tokens_median)} (p90 ${num(e.tokens_p90)}) · valid ${pct(e.valid_rate)} · in/out ${s.prompt_tokens}/${s.completion_tokens}`),
  ));
  if (s.epochs > 1) box.append(el("div", {class: "meta"}, Object.keys(s.pass_at_k).map(k => `pass@${k} ${pct(s.pass_at_k[k])} · pass^${k} ${pct(s.pass_hat_k[k])}`).join(" · ")));
  const groups = (title, gs) => gs.length ? [el("h3", {}, title), table(["", "tasks", "success", "95% CI", "mean score"],
    gs.map(g => [g.name, String(g.tasks), pct(g.success_rate), `[${pct(g.ci_low)}, ${pct(g.ci_high)}]`, num(g.mean_score, 2)]))] : [];
  append(box, [el("div", {class: "cols two"}, el("div", {}, groups("By repo", s.per_repo)), el("div", {}, groups("By difficulty", s.per_difficulty)))]);
  return box;
}

function plotsPart(run) {
  if (!run.plots.length) return null;
  return el("section", {class: "plots"}, el("h2", {}, "Plots"), run.plots.map(p => el("img", {src: p.src, alt: p.name, title: p.name})));
}

function matches(r, f) {
  if (f.get("repo") && r.repo !== f.get("repo")) return false;
  if (f.get("difficulty") && r.difficulty !== f.get("difficulty")) return false;
  if (f.get("result") === "pass" && !r.success) return false;
  if (f.get("result") === "fail" && r.success) return false;
  if (f.get("reason") && r.reason !== f.get("reason")) return false;
  if (f.get("safety") === "yes" && !r.safety) return false;
  if (f.get("safety") === "no" && r.safety) return false;
  const q = (f.get("q") || "").toLowerCase();
  return !q || r.task.toLowerCase().includes(q) || r.key.toLowerCase().includes(q);
}

function sortRows(rows, f) {
  const k = f.get("sort"), dir = f.get("desc") === "1" ? -1 : 1;
  if (!k) return rows;
  const val = r => k === "difficulty" ? (DIFF_ORDER[r.difficulty] ?? 9) : k === "success" ? Number(r.success) : r[k];
  return rows.slice().sort((a, b) => { const x = val(a), y = val(b); return (x < y ? -1 : x > y ? 1 : a.key < b.key ? -1 : 1) * dir; });
}

function select(name, label, options, f, onchange) {
  const s = el("select", {"data-filter": name, onchange}, el("option", {value: ""}, "all"));
  for (const [v, t] of options) s.append(el("option", {value: v, selected: f.get(name) === v}, t));
  return el("label", {}, label, s);
}

function runPage(main, i, params) {
  const run = DATA.runs[i];
  if (!run) return append(main, [el("p", {}, "No such run in this file.")]);
  lastRunRoute = route(["run", String(i)], params);
  append(main, [summary(run), plotsPart(run), el("h2", {}, "Tasks")]);
  const uniq = k => [...new Set(run.rows.map(r => r[k]).filter(Boolean))].sort();
  const f = new URLSearchParams(params);
  const filters = el("div", {class: "filters"});
  const body = el("div", {});
  const update = () => {
    for (const node of filters.querySelectorAll("[data-filter]")) {
      if (node.value) f.set(node.dataset.filter, node.value); else f.delete(node.dataset.filter);
    }
    lastRunRoute = route(["run", String(i)], f);
    history.replaceState(null, "", "#" + lastRunRoute);  // a link to the page keeps this view
    renderTable(body, run, i, f);
  };
  filters.append(
    select("repo", "repo", uniq("repo").map(v => [v, v]), f, update),
    select("difficulty", "difficulty", uniq("difficulty").sort((a, b) => (DIFF_ORDER[a] ?? 9) - (DIFF_ORDER[b] ?? 9)).map(v => [v, v]), f, update),
    select("result", "result", [["pass", "pass"], ["fail", "fail"]], f, update),
    select("reason", "failure reason", uniq("reason").map(v => [v, v]), f, update),
    select("safety", "safety events", [["yes", "with events"], ["no", "none"]], f, update),
    el("label", {}, "task", el("input", {"data-filter": "q", value: f.get("q") || "", placeholder: "search", oninput: update})));
  append(main, [filters, body]);
  body.sortBy = (k) => {
    if (f.get("sort") === k) f.set("desc", f.get("desc") === "1" ? "0" : "1"); else { f.set("sort", k); f.set("desc", "0"); }
    update();
  };
  renderTable(body, run, i, f);
  window.__agentgymReady = performance.now();
  // The next frame after the table is drawn: what the benchmark reports as the open time.
  requestAnimationFrame(() => setTimeout(() => {
    window.__agentgymPainted = performance.now();
    document.documentElement.dataset.ready = "run";
  }));
}

function renderTable(body, run, i, f) {
  const epochs = (run.meta.epochs || 1) > 1;
  const cols = COLUMNS.filter(c => !c.epochs || epochs);
  const rows = sortRows(run.rows.filter(r => matches(r, f)), f);
  const head = el("tr", {}, cols.map(c => el("th", {class: (c.num ? "num " : "") + (f.get("sort") === c.k ? "sorted" + (f.get("desc") === "1" ? " desc" : "") : ""), "data-sort": c.k, onclick: () => body.sortBy(c.k)}, c.t)));
  const tbody = el("tbody", {});
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    frag.append(el("tr", {class: r.success ? "pass" : "fail", "data-key": r.key},
      el("td", {}, el("a", {href: route(["task", String(i), r.key])}, r.task)), el("td", {}, r.repo),
      epochs ? el("td", {class: "num"}, String(r.epoch)) : null, el("td", {}, r.difficulty),
      el("td", {class: "res"}, r.success ? "pass" : "fail"), el("td", {class: "num"}, num(r.score, 1)),
      el("td", {}, r.reason), el("td", {class: "num"}, r.safety ? pill(false, String(r.safety)) : "0"),
      el("td", {class: "num"}, String(r.turns)), el("td", {class: "num"}, String(r.tokens)),
      el("td", {class: "num"}, secs(r.time)), el("td", {class: "num"}, String(r.commands))));
  }
  tbody.append(frag);
  clear(body).append(el("div", {class: "meta", id: "count"}, `${rows.length} of ${run.rows.length} trials shown`),
    el("table", {id: "tasks"}, el("thead", {}, head), tbody));
}
