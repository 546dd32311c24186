// Compare page: per-task outcome grid across runs (flipped tasks first), and one task side by side.

// repo/task -> per run: {wins, trials, rows}
function outcomes() {
  const out = new Map();
  DATA.runs.forEach((run, i) => {
    for (const r of run.rows) {
      const id = `${r.repo}/${r.task}`;
      if (!out.has(id)) out.set(id, DATA.runs.map(() => ({wins: 0, trials: 0, rows: []})));
      const cell = out.get(id)[i];
      cell.wins += r.success ? 1 : 0; cell.trials += 1; cell.rows.push(r);
    }
  });
  return out;
}

function rate(c) { return c.trials ? c.wins / c.trials : null; }
function flipped(cells) { return new Set(cells.map(c => c.trials ? rate(c) : "missing")).size > 1; }

function cellPart(c) {
  if (!c.trials) return el("td", {class: "cell"}, pill(null, "—"));
  const text = c.trials === 1 ? (c.wins ? "pass" : "fail") : `${c.wins}/${c.trials}`;
  return el("td", {class: "cell", "data-outcome": text}, pill(c.wins === c.trials ? true : c.wins === 0 ? false : null, text));
}

function comparePage(main, params) {
  if (DATA.runs.length < 2) return append(main, [el("p", {}, "Comparing needs two or more runs: python -m evaluator.view RUN_A RUN_B.")]);
  const hashes = new Set(DATA.runs.map(r => r.meta.task_set_hash));
  append(main, [el("h1", {}, `Compare ${DATA.runs.length} runs`),
    hashes.size > 1 ? el("div", {class: "warnbox"}, "These runs used different task sets (task_set_hash differs); tasks are matched by repo/task id.") : null,
    table(["", "model", "run", "success", "mean score", "trials"], DATA.runs.map((r, i) => [`run ${i + 1}`, r.meta.model || "", r.name,
      r.stats ? pct(r.stats.overall.success_rate) : "–", r.stats ? num(r.stats.overall.mean_score, 2) : "–", String(r.rows.length)]))]);
  const f = new URLSearchParams(params);
  const all = [...outcomes().entries()].map(([id, cells]) => ({id, cells, flip: flipped(cells)}));
  all.sort((a, b) => (b.flip - a.flip) || (a.id < b.id ? -1 : 1));  // flipped first
  const only = f.get("flipped") === "1";
  const rows = all.filter(x => !only || x.flip);
  const box = el("input", {type: "checkbox", checked: only, onchange: () => { if (box.checked) f.set("flipped", "1"); else f.delete("flipped"); location.hash = route(["compare"], f); }});
  append(main, [el("h2", {}, `Tasks (${all.filter(x => x.flip).length} flipped of ${all.length})`),
    el("label", {class: "filters"}, box, "only flipped tasks"),
    el("table", {class: "grid", id: "grid"},
      el("thead", {}, el("tr", {}, el("th", {}, "task"), el("th", {}, "flipped"), DATA.runs.map((r, i) => el("th", {class: "cell"}, `run ${i + 1}`)))),
      el("tbody", {}, rows.map(x => el("tr", {"data-task": x.id, class: x.flip ? "flip" : ""},
        el("td", {}, el("a", {href: route(["compare", x.id])}, x.id)), el("td", {}, x.flip ? pill(false, "flipped") : ""),
        x.cells.map(cellPart)))))]);
  document.documentElement.dataset.ready = "compare";
}

async function compareTask(main, id) {
  const cells = outcomes().get(id);
  if (!cells) return append(main, [el("p", {}, "No such task in these runs.")]);
  append(main, [el("div", {}, el("a", {href: route(["compare"])}, "← back to the comparison")), el("h1", {}, id)]);
  const cols = el("div", {class: "cols", id: "side-by-side"});
  cols.style.gridTemplateColumns = `repeat(${cells.length}, minmax(0, 1fr))`;
  main.append(cols);
  const parts = await Promise.all(cells.map(async (c, i) => {
    const head = el("h2", {}, `run ${i + 1}: ${DATA.runs[i].meta.model || DATA.runs[i].name}`);
    if (!c.trials) return el("div", {}, head, el("p", {class: "muted"}, "Not in this run."));
    const r = c.rows[0], d = await loadBlob(r.blob);
    return el("div", {"data-run": String(i)}, head, el("div", {}, pill(r.success, r.success ? "pass" : "fail"), ` score ${num(r.score, 1)} · ${r.reason || r.stop}`,
      c.trials > 1 ? ` · epoch ${r.epoch} of ${c.trials}` : "", " · ", el("a", {href: route(["task", String(i), r.key])}, "task page")),
      checksPart(d), transcriptPart(d));
  }));
  append(cols, parts);
  document.documentElement.dataset.ready = "compare-task";
}

function render() {
  const main = clear(document.getElementById("app"));
  delete document.documentElement.dataset.ready;
  const {path, params} = parseHash();
  window.scrollTo(0, 0);
  if (path[0] === "task") return taskPage(main, Number(path[1]), path.slice(2).join("/"));
  if (path[0] === "compare" && path.length > 1) return compareTask(main, path.slice(1).join("/"));
  if (path[0] === "compare") return comparePage(main, params);
  if (path[0] === "run") return runPage(main, Number(path[1]), params);
  return DATA.runs.length > 1 ? comparePage(main, params) : runPage(main, 0, params);
}

setNav();
window.addEventListener("hashchange", render);
render();
