//! Merchant shares ("offers") from the client's side: the store's staff
//! send a cart to a customer; the customer looks the token up and takes
//! the cart live or as a copy.

use cartroom_protocol::CartId;
use cartroom_protocol::merchant::{
    Offer, OfferAcceptRequest, OfferAcceptResponse, OfferMode, OfferPreview, OfferRequest,
    OffersResponse,
};
use cartroom_protocol::sharing::TokenRequest;
use reqwest::Method;

use crate::http::Account;

impl Account {
    /// `POST /api/carts/{id}/offers` (the store's staff, admins of the cart).
    pub async fn send_offer(&self, cart: CartId, request: &OfferRequest) -> anyhow::Result<Offer> {
        let path = format!("/api/carts/{cart}/offers");
        self.call(Method::POST, &path, Some(request)).await
    }

    /// `GET /api/carts/{id}/offers`, newest first.
    pub async fn offers(&self, cart: CartId) -> anyhow::Result<Vec<Offer>> {
        let path = format!("/api/carts/{cart}/offers");
        let answer: OffersResponse = self.call::<(), _>(Method::GET, &path, None).await?;
        Ok(answer.offers)
    }

    /// `POST /api/offers/lookup`.
    pub async fn lookup_offer(&self, token: &str) -> anyhow::Result<OfferPreview> {
        let body = TokenRequest {
            token: token.to_owned(),
        };
        self.call(Method::POST, "/api/offers/lookup", Some(&body))
            .await
    }

    /// `POST /api/offers/accept`: live or as a copy.
    pub async fn accept_offer(
        &self,
        token: &str,
        mode: OfferMode,
    ) -> anyhow::Result<OfferAcceptResponse> {
        let body = OfferAcceptRequest {
            token: token.to_owned(),
            mode,
        };
        self.call(Method::POST, "/api/offers/accept", Some(&body))
            .await
    }
}
