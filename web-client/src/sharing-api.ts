// The sharing API (docs/protocol.md section 11): invitations, share links,
// tokens (the password-reset calls are in ./api), through ./api's `call`: the session rides in the
// cookie, refusals become `ApiError` with words from ./errors.

import { call } from "./api";
import type {
  AcceptResponse,
  CreatedLink,
  Invitation,
  InvitationsResponse,
  InvitePreview,
  InviteRequest,
  LinkRequest,
  LinksResponse,
  ShareLink,
  TokenRequest,
} from "./generated";

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
