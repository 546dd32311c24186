"use strict";
// AgentGym viewer. Everything that came from a run (model text, tool output, task ids, values)
// is put on the page with textContent / text nodes only; no string is ever parsed as HTML.

const DATA = JSON.parse(document.getElementById("data").textContent);
const COLLAPSE_BYTES = 4096;

// el("div", {class: "x"}, "text", child, [more]) -> element. Strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "onclick") node.addEventListener("click", v);
    else if (k === "onchange") node.addEventListener("change", v);
    else if (k === "oninput") node.addEventListener("input", v);
    else if (k === "href") node.setAttribute("href", "#" + v);  // only in-page routes, built here
    else if (k.startsWith("data-") || ["id", "title", "type", "value", "alt", "colspan", "placeholder"].includes(k)) node.setAttribute(k, String(v));
    else if (k === "src" && /^data:image\/png;base64,[A-Za-z0-9+/=]*$/.test(v)) node.setAttribute("src", v);
    else if (k === "checked" || k === "selected" || k === "open") node[k] = true;
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

function pct(x) { return (x === null || x === undefined) ? "–" : (100 * x).toFixed(1) + "%"; }
function num(x, d) { return (x === null || x === undefined) ? "–" : Number(x).toFixed(d === undefined ? 0 : d); }
function secs(x) { return (x === null || x === undefined) ? "–" : Number(x).toFixed(x < 10 ? 2 : 1) + " s"; }
function show(v) { return typeof v === "string" ? v : JSON.stringify(v, null, 1); }
function bytesOf(s) { return new TextEncoder().encode(s || "").length; }
function pill(ok, text) { return el("span", {class: "pill " + (ok === null ? "na" : ok ? "ok" : "bad")}, text); }

// Per-trial details are zlib+base64 in inert script elements (id b<N>); decode one on first use.
const blobCache = new Map();
function loadBlob(i) {
  if (!blobCache.has(i)) {
    blobCache.set(i, (async () => {
      const b64 = document.getElementById("b" + i).textContent;
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
      return JSON.parse(await new Response(stream).text());
    })());
  }
  return blobCache.get(i);
}

// Routes live in the fragment: #/run/0?result=fail&sort=turns, #/task/0/<key>, #/compare?...
function parseHash() {
  const raw = location.hash.slice(1);
  const q = raw.indexOf("?");
  const path = (q < 0 ? raw : raw.slice(0, q)).split("/").filter(Boolean).map(safeDecode);
  const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  return {path, params};
}

function safeDecode(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }

function route(path, params) {
  const p = path.map(encodeURIComponent).join("/");
  const qs = params ? params.toString() : "";
  return "/" + p + (qs ? "?" + qs : "");
}

function setNav() {
  const nav = clear(document.getElementById("nav"));
  DATA.runs.forEach((r, i) => nav.append(el("a", {href: route(["run", String(i)])}, DATA.runs.length > 1 ? `run ${i + 1}: ${r.meta.model || r.name}` : (r.meta.model || r.name))));
  if (DATA.runs.length > 1) nav.append(el("a", {href: route(["compare"])}, "compare"));
}

function table(headers, rows, cls) {
  return el("table", {class: cls || ""},
    el("thead", {}, el("tr", {}, headers.map(h => el("th", {class: typeof h === "object" ? h.cls : ""}, typeof h === "object" ? h.t : h)))),
    el("tbody", {}, rows.map(r => el("tr", {}, r.map(c => (c instanceof Node && c.tagName === "TD") ? c : el("td", {}, c))))));
}
