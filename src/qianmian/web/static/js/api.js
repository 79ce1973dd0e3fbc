// The JSON API client: same origin only, the API key (when signed in) in the X-API-Key header.
const KEY = "qianmian.apiKey";

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.type = e.type || "HTTPError";
    this.field = e.field;
    this.expected = e.expected;
    this.received = e.received;
  }
}

export function apiKey() { return sessionStorage.getItem(KEY) || ""; }
export function setApiKey(key) { key ? sessionStorage.setItem(KEY, key) : sessionStorage.removeItem(KEY); }

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    (Array.isArray(v) ? v : [v]).forEach((x) => q.append(k, String(x)));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

async function call(method, path, { params, body } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path + query(params), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: { message: text.slice(0, 300) } }; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// Fetch a file (with the API key) and hand it to the browser as a download; returns the X-Rows header.
async function download(path, params, filename) {
  const key = apiKey();
  const res = await fetch(path + query(params), { headers: key ? { "X-API-Key": key } : {} });
  if (!res.ok) {
    let data = null;
    try { data = JSON.parse(await res.text()); } catch { data = null; }
    throw new ApiError(res.status, data);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return Number(res.headers.get("X-Rows"));
}

export const api = {
  download,
  get: (path, params) => call("GET", path, { params }),
  post: (path, body, params) => call("POST", path, { body, params }),
  put: (path, body) => call("PUT", path, { body }),
  del: (path) => call("DELETE", path),
};
