//! The demo data of a fresh `make run`: two stores of one merchant, each
//! with its catalog, an owner of both and an agent each. A store is seeded
//! once (when the database does not have it); its staff with it.

use crate::catalog::demo::{DEMO_AGENTS, DEMO_OWNER, demo_catalogs};
use crate::services::StaffService;
use crate::services::staff::SeedStaff;
use crate::store::{StaffAccess, Stores};
use cartroom_protocol::store::StoreRole;

use crate::app::StartError;

/// Seeds every demo store the database does not have yet, with its staff,
/// who sign in with `password`.
pub async fn seed_demo(
    stores: &Stores,
    staff: &StaffService,
    password: &str,
) -> Result<(), StartError> {
    for catalog in demo_catalogs() {
        let store = &catalog.store.id;
        if !stores.catalog.seed(&catalog).await? {
            continue;
        }
        tracing::info!(store, "seeded a demo store");
        let (email, name) = DEMO_OWNER;
        let owner = SeedStaff {
            email,
            name,
            password,
            access: StaffAccess {
                role: StoreRole::Owner,
                customer_update: true,
            },
        };
        if staff.seed_staff(store, owner).await? {
            tracing::info!(store, email, "seeded the demo stores' owner");
        }
        for &(email, name, _, customer_update) in
            DEMO_AGENTS.iter().filter(|(_, _, s, _)| s == store)
        {
            let access = StaffAccess {
                role: StoreRole::Agent,
                customer_update,
            };
            let agent = SeedStaff {
                email,
                name,
                password,
                access,
            };
            if staff.seed_staff(store, agent).await? {
                tracing::info!(store, email, "seeded a demo agent");
            }
        }
    }
    Ok(())
}
