"use strict";

// What Chromium sends for an <img>: format=auto answers here as it would on a web page.
const IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
// Typing in a number box renders once the typing pauses, not at every key.
const DEBOUNCE_MS = 300;

const $ = (id) => document.getElementById(id);
const form = $("controls");
const pathBox = $("path");
const sampleList = $("sample");
const image = $("image");
const metaBox = $("meta");

let inFlight = null;
let objectUrl = null;
let timer = 0;

function setState(state) {
  document.body.dataset.state = state;
}

function decodedSegment(segment) {
  // A pasted URL is already percent-encoded and a typed path is not: both end up encoded once.
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function parseTarget(text) {
  let raw = text.trim();
  // A pasted absolute URL keeps its path and query: the page only asks the server it came from.
  if (/^https?:\/\//i.test(raw)) {
    const parsed = new URL(raw);
    raw = parsed.pathname + parsed.search;
  }
  const mark = raw.indexOf("?");
  const path = (mark < 0 ? raw : raw.slice(0, mark)).replace(/^\/+/, "");
  const params = new URLSearchParams(mark < 0 ? "" : raw.slice(mark + 1));
  return { path, params };
}

// A pasted query is kept; the controls that are set add to it or replace its values.
function controlParams(params) {
  for (const control of form.elements) {
    if (!control.name) continue;
    if (control.type === "checkbox") {
      if (control.checked) params.set(control.name, "true");
      continue;
    }
    const value = control.value.trim();
    const atDefault = control.type === "range" && Number(value) === Number(control.defaultValue);
    if (value !== "" && !atDefault) params.set(control.name, value);
  }
  return params;
}

function urlFor(path, params) {
  const encoded = path.split("/").map((s) => encodeURIComponent(decodedSegment(s))).join("/");
  // Commas are legal in a query and keep crop=x,y,w,h readable.
  const query = params.toString().replace(/%2C/gi, ",");
  return `/${encoded}${query ? `?${query}` : ""}`;
}

function currentTarget() {
  const { path, params } = parseTarget(pathBox.value);
  if (!path) return null;
  return { path, params: controlParams(params) };
}

function showText(id, text) {
  $(id).textContent = text || "-";
}

function formatBytes(count) {
  if (!Number.isFinite(count)) return "";
  const kib = count / 1024;
  return kib < 1 ? `${count} B` : `${count} B (${kib.toFixed(1)} KiB)`;
}

function formatTiming(header) {
  if (!header) return "";
  return header
    .split(",")
    .map((entry) => {
      const [name, ...fields] = entry.trim().split(";");
      const duration = fields.find((field) => field.trim().startsWith("dur="));
      return duration ? `${name} ${duration.trim().slice(4)} ms` : name;
    })
    .join(", ");
}

function showFacts(response, blob, elapsedMs) {
  const headers = response.headers;
  const length = Number(headers.get("content-length") ?? blob.size);
  showText("status", `${response.status} ${response.statusText}`.trim());
  showText("content-type", headers.get("content-type"));
  showText("size", formatBytes(length));
  showText("cache", headers.get("x-cache"));
  showText("server-timing", formatTiming(headers.get("server-timing")));
  showText("request-id", headers.get("x-request-id"));
  showText("elapsed", `${Math.round(elapsedMs)} ms`);
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

async function errorText(response, blob) {
  try {
    const { error } = JSON.parse(await blob.text());
    const param = error.param ? ` (${error.param})` : "";
    return `${error.status} ${error.code}${param}: ${error.message}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

async function showImage(blob) {
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(blob);
  image.src = objectUrl;
  await image.decode();
  image.dataset.type = blob.type;
  showText("dimensions", `${image.naturalWidth} x ${image.naturalHeight}`);
}

async function showMeta(target, signal) {
  const pre = $("meta-json");
  if (!metaBox.checked) {
    pre.hidden = true;
    return;
  }
  const params = new URLSearchParams(target.params);
  params.set("meta", "true");
  const response = await fetch(urlFor(target.path, params), { cache: "no-store", signal });
  const body = await response.text();
  try {
    pre.textContent = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    pre.textContent = body;
  }
  pre.hidden = false;
}

function resetResult() {
  image.removeAttribute("src");
  delete image.dataset.type;
  showText("dimensions", "");
  $("meta-json").hidden = true;
}

async function render() {
  const target = currentTarget();
  inFlight?.abort();
  showError("");
  if (!target) {
    resetResult();
    setState("idle");
    return;
  }
  const controller = new AbortController();
  inFlight = controller;
  const url = urlFor(target.path, target.params);
  $("url").value = new URL(url, location.href).href;
  $("open").href = url;
  setState("loading");
  try {
    const started = performance.now();
    const response = await fetch(url, {
      headers: { Accept: IMAGE_ACCEPT },
      cache: "no-store",
      signal: controller.signal,
    });
    const blob = await response.blob();
    if (controller !== inFlight) return;
    showFacts(response, blob, performance.now() - started);
    if (!response.ok) {
      resetResult();
      showError(await errorText(response, blob));
      setState("error");
      return;
    }
    await showImage(blob);
    await showMeta(target, controller.signal);
    if (controller === inFlight) setState("ready");
  } catch (error) {
    if (error.name === "AbortError" || controller !== inFlight) return;
    resetResult();
    showError(String(error));
    setState("error");
  }
}

function renderSoon() {
  clearTimeout(timer);
  timer = setTimeout(render, DEBOUNCE_MS);
}

function showRangeValue(range) {
  range.nextElementSibling.textContent = range.value;
}

async function loadSamples() {
  const response = await fetch("/playground/samples.json", { cache: "no-store" });
  const { samples } = await response.json();
  for (const path of samples) sampleList.add(new Option(path, path));
  $("sample-label").hidden = samples.length === 0;
  if (samples.length && !pathBox.value) {
    sampleList.value = samples[0];
    pathBox.value = samples[0];
  }
}

async function copyUrl() {
  const box = $("url");
  box.select();
  try {
    await navigator.clipboard.writeText(box.value);
    $("copy").textContent = "copied";
    setTimeout(() => ($("copy").textContent = "copy"), 1500);
  } catch {
    // Without clipboard access the URL stays selected for a manual copy.
  }
}

function start() {
  for (const range of form.querySelectorAll("input[type=range]")) showRangeValue(range);
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("input", (event) => {
    if (event.target.type === "range") showRangeValue(event.target);
    if (event.target === sampleList) pathBox.value = sampleList.value;
    renderSoon();
  });
  $("copy").addEventListener("click", copyUrl);
  loadSamples()
    .catch((error) => showError(`samples: ${error}`))
    .finally(render);
}

start();
