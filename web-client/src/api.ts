// The HTTP API (docs/protocol.md sections 1-3). The browser's session lives
// in the HttpOnly `cartroom_session` cookie, so requests carry no token.

import { humanError } from "./errors";
import type {
  AddMemberRequest,
  CartResponse,
  ErrorBody,
  CartsResponse,
  CatalogResponse,
  GuestRequest,
  Member,
  MemberRole,
  MembersResponse,
  MeResponse,
  NameRequest,
  RoleRequest,
  SessionResponse,
  SigninRequest,
  SignupRequest,
  StoreInfo,
} from "./generated";

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
    const err = (json as Partial<ErrorBody> | undefined)?.error;
    const code = err?.code ?? (res.status === 401 ? "unauthorized" : "internal");
    throw new ApiError(res.status, code, humanError(code, err?.message));
  }
  return json as T;
}

// Request and answer bodies are the generated wire types (src/generated).
export const api = {
  me: () => call<MeResponse>("GET", "/api/me").then((r) => r.user),
  signin: (email: string, password: string) =>
    call<SessionResponse>("POST", "/api/auth/signin", { email, password } satisfies SigninRequest).then((r) => r.user),
  signup: (email: string, password: string, name: string) =>
    call<SessionResponse>("POST", "/api/auth/signup", { email, password, name } satisfies SignupRequest).then((r) => r.user),
  guest: (name?: string) =>
    call<SessionResponse>("POST", "/api/auth/guest", (name ? { name } : {}) satisfies GuestRequest).then((r) => r.user),
  signout: () => call<void>("POST", "/api/auth/signout"),

  store: () => call<StoreInfo>("GET", "/api/store"),
  catalog: (q: string) =>
    call<CatalogResponse>("GET", `/api/catalog?q=${encodeURIComponent(q)}`).then((r) => r.products),

  carts: () => call<CartsResponse>("GET", "/api/carts").then((r) => r.carts),
  createCart: (name: string) => call<CartResponse>("POST", "/api/carts", { name } satisfies NameRequest),
  renameCart: (id: string, name: string) => call<CartResponse>("PATCH", `/api/carts/${id}`, { name } satisfies NameRequest),

  members: (id: string) => call<MembersResponse>("GET", `/api/carts/${id}/members`).then((r) => r.members),
  addMember: (id: string, email: string, role: MemberRole) =>
    call<Member>("POST", `/api/carts/${id}/members`, { email, role } satisfies AddMemberRequest),
  setMemberRole: (id: string, userId: string, role: MemberRole) =>
    call<Member>("PATCH", `/api/carts/${id}/members/${userId}`, { role } satisfies RoleRequest),
  removeMember: (id: string, userId: string) => call<void>("DELETE", `/api/carts/${id}/members/${userId}`),
};
