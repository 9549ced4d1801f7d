//! The examples of `docs/protocol.md` are the protocol: every code block
//! tagged `json <Type>` (optionally followed by who sends or receives it)
//! holds one or more JSON values that must parse as that wire type and
//! serialize back to exactly the same JSON, so that the page can show no
//! field the server does not send and miss none it does.

use std::path::Path;

use cartroom_protocol::back_office;
use cartroom_protocol::checkout;
use cartroom_protocol::http::{
    ActivityResponse, AddMemberRequest, CartResponse, CartsResponse, CatalogResponse, ErrorBody,
    GuestRequest, MeResponse, MembersResponse, NameRequest, OpAck, OpRequest, Product, RoleRequest,
    SessionResponse, SigninRequest, SignupRequest, StoreInfo, StoresResponse,
};
use cartroom_protocol::sharing;
use cartroom_protocol::support;
use cartroom_protocol::takeover;
use cartroom_protocol::webhooks;
use cartroom_protocol::{ClientMsg, ServerMsg};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A tagged example: where it starts, its type's name, its text.
struct Example {
    line: usize,
    type_name: String,
    text: String,
}

/// Every block fenced with `` ```json <Type> ``.
fn examples(doc: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut open: Option<Example> = None;
    for (i, line) in doc.lines().enumerate() {
        match &mut open {
            Some(example) if line.trim_start().starts_with("```") => {
                found.push(std::mem::replace(example, placeholder()));
                open = None;
            }
            Some(example) => {
                example.text.push_str(line);
                example.text.push('\n');
            }
            None => {
                if let Some(tag) = line.trim().strip_prefix("```json ") {
                    open = Some(Example {
                        line: i + 1,
                        type_name: tag.split_whitespace().next().unwrap_or("").to_owned(),
                        text: String::new(),
                    });
                }
            }
        }
    }
    assert!(open.is_none(), "a json block is never closed");
    found
}

fn placeholder() -> Example {
    Example {
        line: 0,
        type_name: String::new(),
        text: String::new(),
    }
}

/// Parses `value` as `T` and checks that it serializes back unchanged.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<(), String> {
    let parsed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let again = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    if &again != value {
        return Err(format!("it serializes back as {again}"));
    }
    Ok(())
}

fn check(type_name: &str, value: &Value) -> Result<(), String> {
    match type_name {
        "ClientMsg" => round_trip::<ClientMsg>(value),
        "ServerMsg" => round_trip::<ServerMsg>(value),
        "SignupRequest" => round_trip::<SignupRequest>(value),
        "SigninRequest" => round_trip::<SigninRequest>(value),
        "GuestRequest" => round_trip::<GuestRequest>(value),
        "SessionResponse" => round_trip::<SessionResponse>(value),
        "MeResponse" => round_trip::<MeResponse>(value),
        "StoreInfo" => round_trip::<StoreInfo>(value),
        "Product" => round_trip::<Product>(value),
        "StoresResponse" => round_trip::<StoresResponse>(value),
        "CatalogResponse" => round_trip::<CatalogResponse>(value),
        "NameRequest" => round_trip::<NameRequest>(value),
        "CartResponse" => round_trip::<CartResponse>(value),
        "CartsResponse" => round_trip::<CartsResponse>(value),
        "OpRequest" => round_trip::<OpRequest>(value),
        "OpAck" => round_trip::<OpAck>(value),
        "ActivityResponse" => round_trip::<ActivityResponse>(value),
        "MembersResponse" => round_trip::<MembersResponse>(value),
        "AddMemberRequest" => round_trip::<AddMemberRequest>(value),
        "RoleRequest" => round_trip::<RoleRequest>(value),
        "ErrorBody" => round_trip::<ErrorBody>(value),
        // Sharing (section 11).
        "InviteRequest" => round_trip::<sharing::InviteRequest>(value),
        "Invitation" => round_trip::<sharing::Invitation>(value),
        "InvitationsResponse" => round_trip::<sharing::InvitationsResponse>(value),
        "LinkRequest" => round_trip::<sharing::LinkRequest>(value),
        "CreatedLink" => round_trip::<sharing::CreatedLink>(value),
        "ShareLink" => round_trip::<sharing::ShareLink>(value),
        "LinksResponse" => round_trip::<sharing::LinksResponse>(value),
        "TokenRequest" => round_trip::<sharing::TokenRequest>(value),
        "InvitePreview" => round_trip::<sharing::InvitePreview>(value),
        "AcceptResponse" => round_trip::<sharing::AcceptResponse>(value),
        "ResetRequest" => round_trip::<sharing::ResetRequest>(value),
        "ResetConfirmRequest" => round_trip::<sharing::ResetConfirmRequest>(value),
        // Store staff (section 11).
        "StaffResponse" => round_trip::<cartroom_protocol::store::StaffResponse>(value),
        "AddStaffRequest" => round_trip::<cartroom_protocol::store::AddStaffRequest>(value),
        "StoreRoleResponse" => round_trip::<cartroom_protocol::store::StoreRoleResponse>(value),
        "OfferRequest" => round_trip::<cartroom_protocol::merchant::OfferRequest>(value),
        "OffersResponse" => round_trip::<cartroom_protocol::merchant::OffersResponse>(value),
        "OfferPreview" => round_trip::<cartroom_protocol::merchant::OfferPreview>(value),
        "OfferAcceptRequest" => {
            round_trip::<cartroom_protocol::merchant::OfferAcceptRequest>(value)
        }
        "OfferAcceptResponse" => {
            round_trip::<cartroom_protocol::merchant::OfferAcceptResponse>(value)
        }
        "StoreSettings" => round_trip::<cartroom_protocol::store::StoreSettings>(value),
        "StoreShareRequest" => round_trip::<cartroom_protocol::store::StoreShareRequest>(value),
        "StoreSharesResponse" => round_trip::<cartroom_protocol::store::StoreSharesResponse>(value),
        "OpenSharedResponse" => round_trip::<cartroom_protocol::store::OpenSharedResponse>(value),
        // Checkout (section 12).
        "CheckoutQuote" => round_trip::<checkout::CheckoutQuote>(value),
        "PlaceOrderRequest" => round_trip::<checkout::PlaceOrderRequest>(value),
        "OrderView" => round_trip::<checkout::OrderView>(value),
        "OrdersResponse" => round_trip::<checkout::OrdersResponse>(value),
        "OrderStatusRequest" => round_trip::<checkout::OrderStatusRequest>(value),
        // Store API (section 14).
        "CreateApiKeyRequest" => round_trip::<back_office::CreateApiKeyRequest>(value),
        "CreatedApiKey" => round_trip::<back_office::CreatedApiKey>(value),
        "ApiKeysResponse" => round_trip::<back_office::ApiKeysResponse>(value),
        "PingResponse" => round_trip::<back_office::PingResponse>(value),
        "UpsertProductsRequest" => round_trip::<back_office::UpsertProductsRequest>(value),
        "UpsertProductsResponse" => round_trip::<back_office::UpsertProductsResponse>(value),
        "ProductPatch" => round_trip::<back_office::ProductPatch>(value),
        "SyncProduct" => round_trip::<back_office::SyncProduct>(value),
        "ProductsPage" => round_trip::<back_office::ProductsPage>(value),
        "ImportCustomersRequest" => round_trip::<back_office::ImportCustomersRequest>(value),
        "ImportCustomersResponse" => round_trip::<back_office::ImportCustomersResponse>(value),
        "CustomersPage" => round_trip::<back_office::CustomersPage>(value),
        "StoreOrdersPage" => round_trip::<back_office::StoreOrdersPage>(value),
        // Analytics (section 16).
        "AnalyticsResponse" => round_trip::<cartroom_protocol::analytics::AnalyticsResponse>(value),
        // Webhooks (section 15).
        "CreateWebhookRequest" => round_trip::<webhooks::CreateWebhookRequest>(value),
        "CreatedWebhook" => round_trip::<webhooks::CreatedWebhook>(value),
        "WebhookEndpointsResponse" => round_trip::<webhooks::WebhookEndpointsResponse>(value),
        "UpdateWebhookRequest" => round_trip::<webhooks::UpdateWebhookRequest>(value),
        "WebhookEndpointView" => round_trip::<webhooks::WebhookEndpointView>(value),
        "WebhookDeliveriesResponse" => round_trip::<webhooks::WebhookDeliveriesResponse>(value),
        "WebhookEvent" => {
            round_trip::<webhooks::WebhookEvent>(value).and_then(|()| webhook_data(value))
        }
        "StartTakeoverRequest" => round_trip::<takeover::StartTakeoverRequest>(value),
        "ConsentRequest" => round_trip::<takeover::ConsentRequest>(value),
        "Takeover" => round_trip::<takeover::Takeover>(value),
        "HelpCodeResponse" => round_trip::<takeover::HelpCodeResponse>(value),
        "OpenTakeoverResponse" => round_trip::<takeover::OpenTakeoverResponse>(value),
        "PanelResponse" => round_trip::<takeover::PanelResponse>(value),
        "PanelLinesResponse" => round_trip::<takeover::PanelLinesResponse>(value),
        "HistoryResponse" => round_trip::<takeover::HistoryResponse>(value),
        // Support desk: customers and conversations (section 13).
        "Customer" => round_trip::<support::Customer>(value),
        "Conversation" => round_trip::<support::Conversation>(value),
        "ConversationsResponse" => round_trip::<support::ConversationsResponse>(value),
        "OpenConversationRequest" => round_trip::<support::OpenConversationRequest>(value),
        "PostMessageRequest" => round_trip::<support::PostMessageRequest>(value),
        "MessagesResponse" => round_trip::<support::MessagesResponse>(value),
        "ReadRequest" => round_trip::<support::ReadRequest>(value),
        "StatusRequest" => round_trip::<support::StatusRequest>(value),
        "ContactRequest" => round_trip::<support::ContactRequest>(value),
        other => Err(format!("no wire type named {other}")),
    }
}

/// A webhook event's `data` is exactly the type its `type` names.
fn webhook_data(event: &Value) -> Result<(), String> {
    use webhooks::*;
    let data = &event["data"];
    match event["type"].as_str().unwrap_or("") {
        "order.created" => round_trip::<WebhookOrderCreatedData>(data),
        "order.status_changed" => round_trip::<WebhookOrderStatusData>(data),
        "cart.locked" => round_trip::<WebhookCartLockedData>(data),
        "cart.item_added" | "cart.item_removed" => round_trip::<WebhookCartItemsData>(data),
        "share.accepted" => round_trip::<WebhookShareData>(data),
        "budget.exceeded" => round_trip::<WebhookBudgetData>(data),
        other => Err(format!("no webhook event type {other}")),
    }
}

#[test]
fn every_example_of_the_protocol_page_is_a_wire_message() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    let doc = std::fs::read_to_string(&path).expect("docs/protocol.md");
    let examples = examples(&doc);
    let mut failures = Vec::new();
    let mut checked = 0;
    for example in &examples {
        let values = serde_json::Deserializer::from_str(&example.text).into_iter::<Value>();
        for value in values {
            checked += 1;
            let outcome = value
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|value| {
                    check(&example.type_name, &value).map_err(|e| format!("{e}: {value}"))
                });
            if let Err(e) = outcome {
                failures.push(format!(
                    "line {} ({}): {e}",
                    example.line, example.type_name
                ));
            }
        }
    }
    assert!(checked >= 30, "only {checked} examples");
    assert!(
        failures.is_empty(),
        "docs/protocol.md examples that are not the protocol:\n{}",
        failures.join("\n")
    );
}
