// The REST admin API of the gateway that served this page, called with
// fetch and the admin token of the signed-in user.

const TOKEN_KEY = "tollgate.adminToken";

/** The admin token, from this tab's session storage ("" when signed out). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

/** Keeps the token for this tab only; "" forgets it. */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** ApiError is a refused admin call: the google.rpc.Status the API answered. */
export class ApiError extends Error {
  constructor(httpStatus, status) {
    super(status.message || `HTTP ${httpStatus}`);
    this.httpStatus = httpStatus;
    this.code = status.code;
    this.details = status.details || [];
  }
}

/**
 * Calls the admin API: method and path ("/v1/apis"), an optional JSON body.
 * Resolves to the decoded response, or rejects with an ApiError.
 */
export async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Lists every page of a collection: field is the response's repeated field. */
export async function listAll(path, field) {
  const items = [];
  let pageToken = "";
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await call("GET", pageToken ? `${path}${sep}pageToken=${encodeURIComponent(pageToken)}` : path);
    items.push(...(page[field] || []));
    pageToken = page.nextPageToken || "";
  } while (pageToken);
  return items;
}

/** The ID of a resource: the last segment of its name. */
export function idOf(name) {
  return name.slice(name.lastIndexOf("/") + 1);
}
