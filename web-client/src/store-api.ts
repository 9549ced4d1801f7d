// The store's API (docs/protocol.md section 11): the caller's role, the
// staff (owners manage them), the store's settings, carts the staff send
// to customers ("offers") and carts shoppers share with the store. Same
// shape as ./sharing-api, whose `call` it uses.

import type {
  AddStaffRequest,
  Offer,
  OfferAcceptRequest,
  OfferAcceptResponse,
  OfferMode,
  OfferPreview,
  OfferRequest,
  OffersResponse,
  OpenSharedResponse,
  StaffMember,
  StaffResponse,
  StoreRole,
  StoreRoleResponse,
  StoreSettings,
  StoreShare,
  StoreShareRequest,
  StoreSharesResponse,
  TokenRequest,
} from "./generated";
import { call } from "./api";

export const storeApi = {
  role: () => call<StoreRoleResponse>("GET", "/api/store/role").then((r) => r.role),
  staff: () => call<StaffResponse>("GET", "/api/store/staff").then((r) => r.staff),
  addStaff: (email: string, role: StoreRole, customer_update = false) =>
    call<StaffMember>("POST", "/api/store/staff", { email, role, customer_update } satisfies AddStaffRequest),
  removeStaff: (userId: string) => call<void>("DELETE", `/api/store/staff/${userId}`),
  settings: () => call<StoreSettings>("GET", "/api/store/settings"),
  setSettings: (settings: StoreSettings) => call<StoreSettings>("PUT", "/api/store/settings", settings),

  sendOffer: (cart: string, req: OfferRequest) => call<Offer>("POST", `/api/carts/${cart}/offers`, req),
  offers: (cart: string) => call<OffersResponse>("GET", `/api/carts/${cart}/offers`).then((r) => r.offers),
  lookupOffer: (token: string) => call<OfferPreview>("POST", "/api/offers/lookup", { token } satisfies TokenRequest),
  acceptOffer: (token: string, mode: OfferMode) =>
    call<OfferAcceptResponse>("POST", "/api/offers/accept", { token, mode } satisfies OfferAcceptRequest),

  shareWithStore: (cart: string, req: StoreShareRequest) => call<StoreShare>("POST", `/api/carts/${cart}/store-share`, req),
  shared: () => call<StoreSharesResponse>("GET", "/api/store/shared").then((r) => r.shared),
  openShared: (id: string) => call<OpenSharedResponse>("POST", `/api/store/shared/${id}/open`),
};
