// The sharing API (docs/protocol.md section 11): invitations, share links,
// tokens (the password-reset calls are in ./api). Same shape as ./api: the session rides in the
// cookie, refusals become `ApiError` with words from ./errors.

import { ApiError, unreachableError } from "./api";
import { humanError } from "./errors";
import type {
  AcceptResponse,
  CreatedLink,
  ErrorBody,
  Invitation,
  InvitationsResponse,
  InvitePreview,
  InviteRequest,
  LinkRequest,
  LinksResponse,
  ShareLink,
  TokenRequest,
} from "./generated";

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
    throw unreachableError();
  }
  if (res.status === 204 || res.status === 202) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as Partial<ErrorBody> | undefined)?.error;
    const code = err?.code ?? (res.status === 401 ? "unauthorized" : "internal");
    throw new ApiError(res.status, code, humanError(code, err?.message));
  }
  return json as T;
}

export const sharingApi = {
  invitations: (cart: string) =>
    call<InvitationsResponse>("GET", `/api/carts/${cart}/invitations`).then((r) => r.invitations),
  invite: (cart: string, req: InviteRequest) => call<Invitation>("POST", `/api/carts/${cart}/invitations`, req),
  resend: (cart: string, id: string) => call<Invitation>("POST", `/api/carts/${cart}/invitations/${id}/resend`),
  revokeInvitation: (cart: string, id: string) => call<Invitation>("DELETE", `/api/carts/${cart}/invitations/${id}`),

  links: (cart: string) => call<LinksResponse>("GET", `/api/carts/${cart}/links`).then((r) => r.links),
  createLink: (cart: string, req: LinkRequest) => call<CreatedLink>("POST", `/api/carts/${cart}/links`, req),
  revokeLink: (cart: string, id: string) => call<ShareLink>("DELETE", `/api/carts/${cart}/links/${id}`),

  lookup: (token: string) => call<InvitePreview>("POST", "/api/invites/lookup", { token } satisfies TokenRequest),
  accept: (token: string) => call<AcceptResponse>("POST", "/api/invites/accept", { token } satisfies TokenRequest),
  decline: (token: string) => call<void>("POST", "/api/invites/decline", { token } satisfies TokenRequest),
};
