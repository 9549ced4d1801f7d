//! The web client's TypeScript types, rendered from the wire types by
//! [ts-rs](https://docs.rs/ts-rs), so that they are never typed twice.
//!
//! `web-client/src/generated/` holds one file per type (ts-rs's layout) and
//! an `index.ts` that re-exports them all. The test below renders every wire
//! type and its dependencies and fails when the checked-in files differ, are
//! missing or are left over; run it with `UPDATE_TS_TYPES=1` to rewrite them:
//!
//! ```sh
//! UPDATE_TS_TYPES=1 cargo test -p cartroom-protocol typescript
//! ```
//!
//! Integers are rendered as `number`, not ts-rs's default `bigint`: serde
//! writes them as JSON numbers, `JSON.parse` reads them as numbers, and every
//! integer of the protocol (minor units, Unix milliseconds, sequence numbers,
//! connection ids) stays far below 2^53.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS, TypeVisitor};

use crate::checkout::{
    Address, CartPhase, CheckoutQuote, CheckoutView, OrderStatusRequest, OrderView, OrdersResponse,
    PlaceOrderRequest, SplitPlan,
};
use crate::codes::ErrorCode;
use crate::http::{
    ActivityResponse, AddMemberRequest, CartResponse, CartSummary, CartView, CartsResponse,
    CatalogResponse, CreateCartRequest, ErrorBody, GuestRequest, MeResponse, MembersResponse,
    NameRequest, OpAck, OpRequest, RoleRequest, SessionResponse, SigninRequest, SignupRequest,
    StoreInfo, StoresResponse, TotpConfirmRequest, TotpConfirmResponse, TotpDisableRequest,
    TotpEnrolResponse, TotpStatus,
};
use crate::ids::{CartId, ConnId, Heads, LineId, OpId, SuggestionId, UserId};
use crate::merchant::{
    OfferAcceptRequest, OfferAcceptResponse, OfferPreview, OfferRequest, OffersResponse,
};
use crate::messages::{
    ActivityEvent, Capability, ClientMsg, MemberRole, Op, PresenceEntry, ServerMsg, SyncPayload,
};
use crate::sharing::{
    AcceptResponse, CreatedLink, InvitationsResponse, InvitePreview, InviteRequest, LinkRequest,
    LinksResponse, ResetConfirmRequest, ResetRequest, TokenRequest,
};
use crate::store::{
    AddStaffRequest, OpenSharedResponse, StaffResponse, StoreRoleResponse, StoreSettings,
    StoreShareRequest, StoreSharesResponse,
};
use crate::support::{
    ContactRequest, ConversationsResponse, MessagesResponse, OpenConversationRequest,
    PostMessageRequest, ReadRequest, StatusRequest,
};

use crate::takeover::{
    ConsentRequest, HelpCodeResponse, HistoryResponse, OpenTakeoverResponse, PanelLinesResponse,
    PanelResponse, StartTakeoverRequest,
};

/// The environment variable that makes the test rewrite the files.
const UPDATE_ENV: &str = "UPDATE_TS_TYPES";

/// Where the generated files live, from the repository root.
const OUT_DIR: &str = "web-client/src/generated";

/// Renders `T` and everything it refers to, each type once.
struct Render {
    cfg: Config,
    seen: HashSet<TypeId>,
    /// File name → contents; also the type's TypeScript name (the stem).
    files: BTreeMap<PathBuf, String>,
}

impl Render {
    fn new() -> Self {
        Self {
            cfg: Config::new().with_large_int("number"),
            seen: HashSet::new(),
            files: BTreeMap::new(),
        }
    }

    fn add<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives and std types have no file of their own.
        let Some(path) = T::output_path() else {
            return;
        };
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        let text = T::export_to_string(&self.cfg)
            .unwrap_or_else(|e| panic!("cannot render {}: {e}", std::any::type_name::<T>()));
        let previous = self.files.insert(path.clone(), text);
        assert!(previous.is_none(), "two types render to {}", path.display());
        T::visit_dependencies(self);
    }

    /// Every wire type: the messages of both directions, the HTTP bodies,
    /// the ids and codes. Types they refer to come along by themselves.
    fn all() -> BTreeMap<PathBuf, String> {
        let mut r = Self::new();
        // WebSocket messages.
        r.add::<ClientMsg>();
        r.add::<ServerMsg>();
        r.add::<Op>();
        r.add::<MemberRole>();
        r.add::<Capability>();
        r.add::<PresenceEntry>();
        r.add::<ActivityEvent>();
        r.add::<SyncPayload>();
        r.add::<ErrorCode>();
        // Ids.
        r.add::<CartId>();
        r.add::<UserId>();
        r.add::<OpId>();
        r.add::<LineId>();
        r.add::<SuggestionId>();
        r.add::<ConnId>();
        r.add::<Heads>();
        // HTTP bodies.
        r.add::<ErrorBody>();
        r.add::<SignupRequest>();
        r.add::<SigninRequest>();
        r.add::<TotpStatus>();
        r.add::<TotpEnrolResponse>();
        r.add::<TotpConfirmRequest>();
        r.add::<TotpConfirmResponse>();
        r.add::<TotpDisableRequest>();
        r.add::<GuestRequest>();
        r.add::<SessionResponse>();
        r.add::<MeResponse>();
        r.add::<StoreInfo>();
        r.add::<StoresResponse>();
        r.add::<CatalogResponse>();
        r.add::<NameRequest>();
        r.add::<CreateCartRequest>();
        r.add::<CartsResponse>();
        r.add::<CartSummary>();
        r.add::<CartView>();
        r.add::<CartResponse>();
        r.add::<OpRequest>();
        r.add::<OpAck>();
        r.add::<ActivityResponse>();
        r.add::<MembersResponse>();
        r.add::<AddMemberRequest>();
        r.add::<RoleRequest>();
        // Sharing.
        r.add::<InviteRequest>();
        r.add::<InvitationsResponse>();
        r.add::<LinkRequest>();
        r.add::<CreatedLink>();
        r.add::<LinksResponse>();
        r.add::<TokenRequest>();
        r.add::<InvitePreview>();
        r.add::<AcceptResponse>();
        r.add::<ResetRequest>();
        r.add::<ResetConfirmRequest>();
        r.add::<StaffResponse>();
        r.add::<AddStaffRequest>();
        r.add::<StoreRoleResponse>();
        r.add::<OfferRequest>();
        r.add::<OffersResponse>();
        r.add::<OfferPreview>();
        r.add::<OfferAcceptRequest>();
        r.add::<OfferAcceptResponse>();
        r.add::<StoreSettings>();
        r.add::<StoreShareRequest>();
        r.add::<StoreSharesResponse>();
        r.add::<OpenSharedResponse>();
        // Support desk: conversations.
        r.add::<OpenConversationRequest>();
        r.add::<ConversationsResponse>();
        r.add::<MessagesResponse>();
        r.add::<PostMessageRequest>();
        r.add::<ReadRequest>();
        r.add::<StatusRequest>();
        r.add::<ContactRequest>();
        // Support desk: takeovers, help codes, the cart panel, history.
        r.add::<StartTakeoverRequest>();
        r.add::<ConsentRequest>();
        r.add::<HelpCodeResponse>();
        r.add::<OpenTakeoverResponse>();
        r.add::<PanelResponse>();
        r.add::<PanelLinesResponse>();
        r.add::<HistoryResponse>();
        // Group checkout.
        r.add::<CartPhase>();
        r.add::<SplitPlan>();
        r.add::<Address>();
        r.add::<CheckoutView>();
        r.add::<CheckoutQuote>();
        r.add::<PlaceOrderRequest>();
        r.add::<OrderView>();
        r.add::<OrdersResponse>();
        r.add::<OrderStatusRequest>();
        // The store API: keys (the back-office page), sync and export.
        r.add::<crate::back_office::ApiKeysResponse>();
        r.add::<crate::back_office::CreateApiKeyRequest>();
        r.add::<crate::back_office::CreatedApiKey>();
        r.add::<crate::back_office::PingResponse>();
        r.add::<crate::back_office::UpsertProductsRequest>();
        r.add::<crate::back_office::UpsertProductsResponse>();
        r.add::<crate::back_office::ProductPatch>();
        r.add::<crate::back_office::SyncProduct>();
        r.add::<crate::back_office::ProductsPage>();
        r.add::<crate::back_office::ImportCustomersRequest>();
        r.add::<crate::back_office::ImportCustomersResponse>();
        r.add::<crate::back_office::CustomersPage>();
        r.add::<crate::back_office::StoreOrdersPage>();
        // The store owner's analytics.
        r.add::<crate::analytics::AnalyticsResponse>();
        // Webhooks (the back-office page manages endpoints).
        r.add::<crate::webhooks::WebhookEndpointsResponse>();
        r.add::<crate::webhooks::CreateWebhookRequest>();
        r.add::<crate::webhooks::CreatedWebhook>();
        r.add::<crate::webhooks::UpdateWebhookRequest>();
        r.add::<crate::webhooks::WebhookDeliveriesResponse>();
        let index = index(r.files.keys());
        r.files.insert(PathBuf::from("index.ts"), index);
        r.files
    }
}

impl TypeVisitor for Render {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        self.add::<T>();
    }
}

/// `index.ts`: every generated type, so the client imports from one place.
fn index<'a>(files: impl Iterator<Item = &'a PathBuf>) -> String {
    let mut out = String::from(
        "// Generated by protocol/src/typescript.rs from the Rust wire types. Do not edit;\n\
         // run `UPDATE_TS_TYPES=1 cargo test -p cartroom-protocol typescript` instead.\n\n",
    );
    for file in files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a generated file has a UTF-8 name");
        writeln!(out, "export type {{ {stem} }} from \"./{stem}\";").expect("writing to a String");
    }
    out
}

/// The `.ts` files in `dir` now, by name.
fn on_disk(dir: &Path) -> BTreeMap<PathBuf, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.expect("reading the generated folder").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ts"))
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (PathBuf::from(p.file_name().expect("a file name")), text)
        })
        .collect()
}

#[test]
fn typescript_types_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(OUT_DIR);
    let want = Render::all();
    let have = on_disk(&dir);

    let stale: Vec<&PathBuf> = have.keys().filter(|p| !want.contains_key(*p)).collect();
    let differing: Vec<&PathBuf> = want
        .iter()
        .filter(|(p, text)| have.get(*p) != Some(*text))
        .map(|(p, _)| p)
        .collect();
    if stale.is_empty() && differing.is_empty() {
        return;
    }

    if std::env::var_os(UPDATE_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::create_dir_all(&dir).expect("creating the generated folder");
        for path in stale {
            std::fs::remove_file(dir.join(path)).expect("removing a stale generated file");
        }
        for path in differing {
            std::fs::write(dir.join(path), &want[path]).expect("writing a generated file");
        }
        return;
    }

    let names = |ps: &[&PathBuf]| {
        ps.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    panic!(
        "{OUT_DIR} is out of date with the Rust wire types (differing or missing: [{}]; \
         no longer generated: [{}]). Regenerate with \
         `{UPDATE_ENV}=1 cargo test -p cartroom-protocol typescript` and commit the result.",
        names(&differing),
        names(&stale),
    );
}
