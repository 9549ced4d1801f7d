// The HTTP API (docs/protocol.md sections 1-3). The browser's session lives
// in the HttpOnly `cartroom_session` cookie, so requests carry no token.

import { humanError } from "./errors";
import type {
  ActivityResponse,
  AddMemberRequest,
  CartResponse,
  ErrorBody,
  CartsResponse,
  CatalogResponse,
  CreateCartRequest,
  GuestRequest,
  Member,
  MemberRole,
  MembersResponse,
  MeResponse,
  NameRequest,
  ResetConfirmRequest,
  ResetRequest,
  RoleRequest,
  SessionResponse,
  SigninRequest,
  SignupRequest,
  StoreInfo,
  StoresResponse,
  TotpConfirmRequest,
  TotpConfirmResponse,
  TotpDisableRequest,
  TotpEnrolResponse,
  TotpStatus,
} from "./generated";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** The request never got an answer from Cartroom: worth trying again by itself. */
  get unreachable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

/** No answer at all: the network is gone, or the server is. */
export function unreachableError(): ApiError {
  return navigator.onLine
    ? new ApiError(0, "server_down", "Cartroom isn't answering right now. We'll keep trying.")
    : new ApiError(0, "offline", "You're offline. We'll load this when you're back online.");
}

/**
 * The header the service worker (public/sw.js) puts on an answer it served
 * from its copy because the server could not be reached.
 */
export const OFFLINE_COPY_HEADER = "x-cartroom-offline-copy";

/** An answer, and whether it is only the service worker's copy. */
export interface Fresh<T> {
  value: T;
  /** True when the server could not be reached and this is the last answer it gave. */
  copy: boolean;
}

/** How a refusal is put into words for the page: by its code and the server's message. */
export type Explain = (code: string, message: string | undefined) => string;

/**
 * One request to the server's API: its JSON answer, or an `ApiError` with a
 * stable code and words from `explain` (./errors' by default).
 */
export function call<T>(method: string, path: string, body?: unknown, explain: Explain = humanError): Promise<T> {
  return callFresh<T>(method, path, body, explain).then((r) => r.value);
}

async function callFresh<T>(
  method: string,
  path: string,
  body?: unknown,
  explain: Explain = humanError,
): Promise<Fresh<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw unreachableError();
  }
  const copy = res.headers.has(OFFLINE_COPY_HEADER);
  if (res.status === 204) return { value: undefined as T, copy };
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: handled below */
  }
  if (!res.ok) {
    const err = (json as Partial<ErrorBody> | undefined)?.error;
    if (!err && res.status >= 502 && res.status <= 504) {
      // A proxy's page, not Cartroom's: the server itself is not answering.
      const down = unreachableError();
      throw new ApiError(res.status, down.code, down.message);
    }
    const code = err?.code ?? (res.status === 401 ? "unauthorized" : "internal");
    throw new ApiError(res.status, code, explain(code, err?.message));
  }
  return { value: json as T, copy };
}

/** Six digits (spaces aside) are an app's code; anything else is taken for a recovery code. */
function secondFactor(second: string | undefined): TotpDisableRequest {
  const text = second?.trim() ?? "";
  if (!text) return {};
  return /^\d{6}$/.test(text.replace(/\s/g, "")) ? { code: text } : { recovery_code: text };
}

// Request and answer bodies are the generated wire types (src/generated).
export const api = {
  me: () => call<MeResponse>("GET", "/api/me").then((r) => r.user),
  /** `second`: the authenticator app's code or a recovery code, for an account with two-factor sign-in. */
  signin: (email: string, password: string, second?: string) =>
    call<SessionResponse>("POST", "/api/auth/signin", { email, password, ...secondFactor(second) } satisfies SigninRequest).then(
      (r) => r.user,
    ),
  totpStatus: () => call<TotpStatus>("GET", "/api/auth/totp"),
  /** A pending two-factor secret with its QR code. */
  totpEnrol: () => call<TotpEnrolResponse>("POST", "/api/auth/totp/enrol"),
  /** Turns two-factor sign-in on; the recovery codes, shown once. */
  totpConfirm: (code: string) => call<TotpConfirmResponse>("POST", "/api/auth/totp/confirm", { code } satisfies TotpConfirmRequest),
  totpDisable: (second: string) =>
    call<void>("POST", "/api/auth/totp/disable", secondFactor(second) satisfies TotpDisableRequest),
  signup: (email: string, password: string, name: string) =>
    call<SessionResponse>("POST", "/api/auth/signup", { email, password, name } satisfies SignupRequest).then((r) => r.user),
  guest: (name?: string) =>
    call<SessionResponse>("POST", "/api/auth/guest", (name ? { name } : {}) satisfies GuestRequest).then((r) => r.user),
  signout: () => call<void>("POST", "/api/auth/signout"),
  /** Sends a password-reset e-mail (202 whether or not the address has an account). */
  requestReset: (email: string) => call<void>("POST", "/api/auth/password-reset", { email } satisfies ResetRequest),
  /** Sets a new password with the e-mail's token; a new session. */
  confirmReset: (token: string, password: string) =>
    call<SessionResponse>("POST", "/api/auth/password-reset/confirm", { token, password } satisfies ResetConfirmRequest).then((r) => r.user),

  /** A store; the default store (the first by id) without `id`. */
  store: (id?: string) => call<StoreInfo>("GET", id ? `/api/store?store=${encodeURIComponent(id)}` : "/api/store"),
  stores: () => call<StoresResponse>("GET", "/api/stores").then((r) => r.stores),
  catalog: (store: string, q: string) =>
    callFresh<CatalogResponse>("GET", `/api/catalog?store=${encodeURIComponent(store)}&q=${encodeURIComponent(q)}`).then((r) => ({
      value: r.value.products,
      copy: r.copy,
    })),
  /**
   * The store a cart buys from: from "My carts" (kept for offline use by
   * the service worker), else from the cart itself.
   */
  cartStore: async (id: string): Promise<string> => {
    const listed = (await api.carts()).value.find((c) => c.id === id);
    return listed?.store_id ?? (await call<CartResponse>("GET", `/api/carts/${id}`)).store_id;
  },

  carts: () => callFresh<CartsResponse>("GET", "/api/carts").then((r) => ({ value: r.value.carts, copy: r.copy })),
  activity: (id: string, limit: number) =>
    call<ActivityResponse>("GET", `/api/carts/${id}/activity?limit=${limit}`).then((r) => r.activity),
  createCart: (name: string, store_id?: string) =>
    call<CartResponse>("POST", "/api/carts", { name, store_id } satisfies CreateCartRequest),
  renameCart: (id: string, name: string) => call<CartResponse>("PATCH", `/api/carts/${id}`, { name } satisfies NameRequest),

  members: (id: string) => call<MembersResponse>("GET", `/api/carts/${id}/members`).then((r) => r.members),
  addMember: (id: string, email: string, role: MemberRole) =>
    call<Member>("POST", `/api/carts/${id}/members`, { email, role } satisfies AddMemberRequest),
  setMemberRole: (id: string, userId: string, role: MemberRole) =>
    call<Member>("PATCH", `/api/carts/${id}/members/${userId}`, { role } satisfies RoleRequest),
  removeMember: (id: string, userId: string) => call<void>("DELETE", `/api/carts/${id}/members/${userId}`),
};
