//! The store's API from the client's side: the caller's role in the store,
//! the owners' list, additions and removals of staff, the store's settings,
//! and carts shared with the store.

use cartroom_protocol::store::{
    AddStaffRequest, OpenSharedResponse, StaffMember, StaffResponse, StoreRole, StoreRoleResponse,
    StoreSettings, StoreShare, StoreShareId, StoreShareRequest, StoreSharesResponse,
};
use cartroom_protocol::{CartId, UserId};
use reqwest::Method;

use crate::http::Account;

impl Account {
    /// `GET /api/store/role`: this account's role in the store.
    pub async fn store_role(&self) -> anyhow::Result<Option<StoreRole>> {
        let answer: StoreRoleResponse = self
            .call::<(), _>(Method::GET, "/api/store/role", None)
            .await?;
        Ok(answer.role)
    }

    /// `GET /api/store/staff` (owners).
    pub async fn store_staff(&self) -> anyhow::Result<Vec<StaffMember>> {
        let answer: StaffResponse = self
            .call::<(), _>(Method::GET, "/api/store/staff", None)
            .await?;
        Ok(answer.staff)
    }

    /// `POST /api/store/staff` (owners).
    pub async fn add_staff(
        &self,
        email: &str,
        role: Option<StoreRole>,
    ) -> anyhow::Result<StaffMember> {
        let body = AddStaffRequest {
            email: email.to_owned(),
            role,
            customer_update: false,
        };
        self.call(Method::POST, "/api/store/staff", Some(&body))
            .await
    }

    /// `POST /api/store/staff?store=<store>` (the store's owners).
    pub async fn add_staff_in(
        &self,
        store: &str,
        body: &AddStaffRequest,
    ) -> anyhow::Result<StaffMember> {
        let path = format!("/api/store/staff?store={store}");
        self.call(Method::POST, &path, Some(body)).await
    }

    /// `GET /api/store/role?store=<store>`: this account's place in a store.
    pub async fn store_role_in(&self, store: &str) -> anyhow::Result<StoreRoleResponse> {
        let path = format!("/api/store/role?store={store}");
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `DELETE /api/store/staff/{user_id}` (owners).
    pub async fn remove_staff(&self, user: UserId) -> anyhow::Result<()> {
        let path = format!("/api/store/staff/{user}");
        self.request(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// `GET /api/store/settings`.
    pub async fn store_settings(&self) -> anyhow::Result<StoreSettings> {
        self.call::<(), _>(Method::GET, "/api/store/settings", None)
            .await
    }

    /// `PUT /api/store/settings` (owners).
    pub async fn set_store_settings(
        &self,
        settings: &StoreSettings,
    ) -> anyhow::Result<StoreSettings> {
        self.call(Method::PUT, "/api/store/settings", Some(settings))
            .await
    }

    /// `POST /api/carts/{id}/store-share` (an admin of the cart).
    pub async fn share_with_store(
        &self,
        cart: CartId,
        request: &StoreShareRequest,
    ) -> anyhow::Result<StoreShare> {
        let path = format!("/api/carts/{cart}/store-share");
        self.call(Method::POST, &path, Some(request)).await
    }

    /// `GET /api/store/shared` (the store's staff).
    pub async fn shared_with_store(&self) -> anyhow::Result<Vec<StoreShare>> {
        let answer: StoreSharesResponse = self
            .call::<(), _>(Method::GET, "/api/store/shared", None)
            .await?;
        Ok(answer.shared)
    }

    /// `POST /api/store/shared/{id}/open` (the store's staff).
    pub async fn open_shared(&self, id: StoreShareId) -> anyhow::Result<OpenSharedResponse> {
        let path = format!("/api/store/shared/{id}/open");
        self.call::<(), _>(Method::POST, &path, None).await
    }
}
