//! Builds every service of a node on its stores: which service gets which
//! store trait, the rooms' environment, and the demo data on a first start.

use std::sync::Arc;
use std::time::Duration;

use crate::app::{Lifecycle, StartError};
use crate::cart::NodeId;
use crate::catalog::Catalogs;
use crate::checkout::{PayAtPickup, PaymentProvider};
use crate::clock::Clock;
use crate::cluster::bus::Shared;
use crate::cluster::{Bus, LeaseKeeper};
use crate::config::Config;
use crate::integrations::webhooks::{RetryPolicy, Targets, WebhookService, WebhookWorker};
use crate::mail::{MailQueue, PublicUrl};
use crate::room::{RoomEnv, RoomLimits, Rooms};
use crate::seed::seed_demo;
use crate::services::analytics::AnalyticsService;
use crate::services::back_office::{BackOfficeDeps, BackOfficeService};
use crate::services::checkout::CheckoutDeps;
use crate::services::deadlines::ReminderMailer;
use crate::services::offers::OfferDeps;
use crate::services::orders::OrderDeps;
use crate::services::panel::{PanelDeps, PanelService};
use crate::services::sharing::SharingDeps;
use crate::services::store_shares::StoreShareDeps;
use crate::services::support;
use crate::services::takeover::{TakeoverDeps, TakeoverService};
use crate::services::{
    AccountService, CartService, CheckoutService, DeadlineTimer, Feed, LiveConnections,
    MemberService, OfferService, OrderService, PasswordResetService, Services, SharingService,
    StaffService, StoreShareService, TotpService,
};
use crate::store::Stores;

/// What services share with the mail worker.
pub(crate) struct Mail {
    pub(crate) queue: MailQueue,
    pub(crate) public_url: PublicUrl,
}

/// Builds every service of a node on `stores`; `leases` when it is one of
/// many nodes.
pub(crate) async fn services(
    config: &Config,
    stores: &Stores,
    leases: Option<Arc<LeaseKeeper>>,
    clock: Arc<dyn Clock>,
    lifecycle: &Lifecycle,
    mail: &Mail,
) -> Result<Services, StartError> {
    let staff = Arc::new(StaffService::new(
        stores.staff.clone(),
        stores.accounts.clone(),
        clock.clone(),
    ));
    if !config.no_seed {
        seed_demo(stores, &staff, &config.demo_owner_password).await?;
    }
    let catalogs = stores.catalog.load_catalogs().await?;
    if catalogs.is_empty() {
        return Err(StartError::NoStore);
    }
    let catalog = Catalogs::new(catalogs);
    let node = NodeId(0);
    // Rooms tell the support desk of committed edits; its worker makes tips.
    let live = Arc::new(LiveConnections::new(config.max_connections));
    let (tip_tap, tip_worker) = support::tip_queue(support::tips::EDIT_QUEUE, live.clone());
    let cluster = match (&config.nats_url, &leases) {
        (Some(url), Some(leases)) => Some(
            Bus::connect(
                url,
                leases.node(),
                Duration::from_millis(config.lease_ttl_ms),
                Shared {
                    live: live.clone(),
                    catalogs: catalog.clone(),
                    catalog_store: stores.catalog.clone(),
                },
                &lifecycle.tracker,
                lifecycle.shutdown.clone(),
            )
            .await?,
        ),
        (Some(_), None) => return Err(StartError::NatsWithoutPostgres),
        (None, _) => None,
    };
    let rooms = Rooms::new(
        RoomEnv {
            changes: stores.changes.clone(),
            catalogs: catalog.clone(),
            clock: clock.clone(),
            edits: Arc::new(tip_tap),
            node,
            leases: leases.clone(),
            cluster,
            limits: RoomLimits::new(config.room_idle(), config.epoch_every),
        },
        lifecycle.tracker.clone(),
        lifecycle.shutdown.clone(),
    );
    let support = Arc::new(support::SupportService::new(support::SupportDeps {
        support: stores.support.clone(),
        staff: stores.staff.clone(),
        catalogs: catalog.clone(),
        live: live.clone(),
        clock: clock.clone(),
    }));
    lifecycle
        .tracker
        .spawn(support.run_tips(tip_worker, lifecycle.shutdown.clone()));
    let feed = Feed::new(rooms.clone(), live.clone());
    let (checkout, orders, deadlines) = checkout_services(stores, &rooms, &catalog, &clock, mail);
    let offers = OfferService::new(OfferDeps {
        offers: stores.offers.clone(),
        staff: stores.staff.clone(),
        carts: CartService::new(
            stores.carts.clone(),
            stores.members.clone(),
            stores.changes.clone(),
            rooms.clone(),
            catalog.clone(),
            clock.clone(),
            node,
        ),
        feed: feed.clone(),
        clock: clock.clone(),
        mail: mail.queue.clone(),
    });
    let store_shares = StoreShareService::new(StoreShareDeps {
        shares: stores.store_shares.clone(),
        staff: stores.staff.clone(),
        sharing: stores.sharing.clone(),
        carts: stores.carts.clone(),
        feed: feed.clone(),
        catalogs: catalog.clone(),
        clock: clock.clone(),
        mail: mail.queue.clone(),
    });
    let totp = Arc::new(TotpService::new(stores.two_factor.clone(), clock.clone()));
    let takeovers = Arc::new(TakeoverService::new(TakeoverDeps {
        takeovers: stores.takeovers.clone(),
        members: stores.members.clone(),
        staff: stores.staff.clone(),
        rooms: rooms.clone(),
        live: live.clone(),
        clock: clock.clone(),
        settings: stores.store_shares.clone(),
    }));
    // Webhooks: the owner's endpoints, and the worker that delivers the
    // outbox the store's transactions write.
    let targets = Targets::from_private_allowed(config.webhook_private_targets);
    let webhooks = Arc::new(WebhookService::new(
        stores.webhooks.clone(),
        stores.staff.clone(),
        clock.clone(),
        targets,
    ));
    let webhook_worker = Arc::new(WebhookWorker {
        store: stores.webhooks.clone(),
        clock: clock.clone(),
        mail: mail.queue.clone(),
        policy: RetryPolicy::from_config(config),
        targets,
    });
    lifecycle
        .tracker
        .spawn(webhook_worker.run(lifecycle.shutdown.clone()));
    let panel = PanelService::new(PanelDeps {
        takeovers: stores.takeovers.clone(),
        conversations: stores.support.clone(),
        members: stores.members.clone(),
        staff: stores.staff.clone(),
        rooms: rooms.clone(),
        catalogs: catalog.clone(),
    });
    let back_office = Arc::new(BackOfficeService::new(BackOfficeDeps {
        store: stores.back_office.clone(),
        staff: stores.staff.clone(),
        orders: stores.orders.clone(),
        order_service: orders.clone(),
        catalogs: catalog.clone(),
        clock: clock.clone(),
    }));
    Ok(Services {
        accounts: AccountService::new(
            stores.accounts.clone(),
            stores.sessions.clone(),
            clock.clone(),
            config.session_ttl_ms(),
            live.clone(),
            totp.clone(),
        ),
        totp,
        carts: CartService::new(
            stores.carts.clone(),
            stores.members.clone(),
            stores.changes.clone(),
            rooms.clone(),
            catalog.clone(),
            clock.clone(),
            node,
        )
        .with_staff_access(takeovers.clone()),
        takeovers,
        panel,
        back_office,
        webhooks,
        analytics: AnalyticsService::new(stores.analytics.clone(), stores.staff.clone()),
        members: MemberService::new(
            stores.members.clone(),
            stores.accounts.clone(),
            rooms.clone(),
            clock.clone(),
            live.clone(),
        ),
        sharing: SharingService::new(SharingDeps {
            sharing: stores.sharing.clone(),
            accounts: stores.accounts.clone(),
            members: stores.members.clone(),
            feed: feed.clone(),
            clock: clock.clone(),
            mail: mail.queue.clone(),
            public_url: mail.public_url.clone(),
            opens: stores.analytics.clone(),
        }),
        password_reset: PasswordResetService::new(
            stores.resets.clone(),
            stores.accounts.clone(),
            clock,
            mail.queue.clone(),
        ),
        checkout,
        orders,
        deadlines,
        staff,
        offers,
        store_shares,
        support,
        catalogs: catalog,
        live,
        rooms,
        health: stores.health.clone(),
    })
}

/// Checkout, placed orders and the deadline timer, with the one payment
/// provider built in (pay at pickup / on invoice).
fn checkout_services(
    stores: &Stores,
    rooms: &Arc<Rooms>,
    catalog: &Catalogs,
    clock: &Arc<dyn Clock>,
    mail: &Mail,
) -> (CheckoutService, Arc<OrderService>, Arc<DeadlineTimer>) {
    let payments: Arc<dyn PaymentProvider> = Arc::new(PayAtPickup);
    let orders = Arc::new(OrderService::new(OrderDeps {
        orders: stores.orders.clone(),
        members: stores.members.clone(),
        rooms: rooms.clone(),
        catalogs: catalog.clone(),
        clock: clock.clone(),
        payments: payments.clone(),
        staff: stores.staff.clone(),
    }));
    let checkout = CheckoutService::new(CheckoutDeps {
        orders: stores.orders.clone(),
        members: stores.members.clone(),
        rooms: rooms.clone(),
        carts: stores.carts.clone(),
        catalogs: catalog.clone(),
        clock: clock.clone(),
        payments,
        placed: orders.clone(),
    });
    let deadlines = Arc::new(
        DeadlineTimer::new(
            stores.deadlines.clone(),
            rooms.clone(),
            clock.clone(),
            orders.clone(),
        )
        .with_mail(ReminderMailer {
            members: stores.members.clone(),
            outbox: stores.outbox.clone(),
            queue: mail.queue.clone(),
        }),
    );
    (checkout, orders, deadlines)
}
