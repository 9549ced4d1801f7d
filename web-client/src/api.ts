// The HTTP API (docs/protocol.md sections 1-3). The browser's session lives
// in the HttpOnly `cartroom_session` cookie, so requests carry no token.

import { humanError } from "./errors";
import type { CartSummary, Member, Product, Role, User } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "You appear to be offline. Check your connection and try again.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: handled below */
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = err?.code ?? (res.status === 401 ? "unauthorized" : "internal");
    throw new ApiError(res.status, code, humanError(code, err?.message));
  }
  return json as T;
}

interface AuthAnswer {
  user: User;
  token: string;
  expires_at: number;
}

export const api = {
  me: () => call<{ user: User }>("GET", "/api/me").then((r) => r.user),
  signin: (email: string, password: string) =>
    call<AuthAnswer>("POST", "/api/auth/signin", { email, password }).then((r) => r.user),
  signup: (email: string, password: string, name: string) =>
    call<AuthAnswer>("POST", "/api/auth/signup", { email, password, name }).then((r) => r.user),
  guest: (name?: string) =>
    call<AuthAnswer>("POST", "/api/auth/guest", name ? { name } : {}).then((r) => r.user),
  signout: () => call<void>("POST", "/api/auth/signout"),

  store: () => call<{ id: string; name: string; currency: string }>("GET", "/api/store"),
  catalog: (q: string) =>
    call<{ products: Product[] }>("GET", `/api/catalog?q=${encodeURIComponent(q)}`).then((r) => r.products),

  carts: () => call<{ carts: CartSummary[] }>("GET", "/api/carts").then((r) => r.carts),
  createCart: (name: string) => call<{ id: string; name: string }>("POST", "/api/carts", { name }),
  renameCart: (id: string, name: string) => call<{ id: string; name: string }>("PATCH", `/api/carts/${id}`, { name }),

  members: (id: string) => call<{ members: Member[] }>("GET", `/api/carts/${id}/members`).then((r) => r.members),
  addMember: (id: string, email: string, role: Role) =>
    call<Member>("POST", `/api/carts/${id}/members`, { email, role }),
  setMemberRole: (id: string, userId: string, role: Role) =>
    call<Member>("PATCH", `/api/carts/${id}/members/${userId}`, { role }),
  removeMember: (id: string, userId: string) => call<void>("DELETE", `/api/carts/${id}/members/${userId}`),
};
