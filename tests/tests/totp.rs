//! Two-factor sign-in over real HTTP (docs/protocol.md section 1): a staff
//! member enrols, confirms with a code computed from the answered secret,
//! then signs in with the password and a code; a code is accepted once per
//! time step, a recovery code once, and a code or recovery code turns it
//! off; code attempts share the sign-in throttle. Time is a manual clock, moved one 30-second step at a time.

use std::sync::Arc;

use cartroom::clock::{Clock, ManualClock};
use cartroom_e2e::{PASSWORD, TestServer};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::{
    ErrorBody, SessionResponse, TotpConfirmResponse, TotpEnrolResponse, TotpStatus,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

/// What the authenticator app would show at the clock's time.
fn app_code(secret: &str, clock: &ManualClock) -> String {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).expect("base32 secret"))
        .build()
        .expect("a valid TOTP");
    totp.generate(clock.now_ms() as u64 / 1000).to_string()
}

/// Six digits that no step of the window around the clock's time has.
fn wrong_code(secret: &str, clock: &ManualClock) -> String {
    let window: Vec<String> = [-30_000, 0, 30_000]
        .iter()
        .map(|d| app_code(secret, &ManualClock::at(clock.now_ms() + d)))
        .collect();
    ["000000", "000001", "000002", "000003"]
        .into_iter()
        .find(|c| !window.iter().any(|w| w == c))
        .expect("four codes cannot all be in a window of three")
        .to_owned()
}

/// A POST with an optional bearer token; the status and the JSON body.
async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut req = http.post(url).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await?;
    let status = res.status();
    let text = res.text().await?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)?
    };
    Ok((status, body))
}

fn code_of(body: Value) -> ErrorCode {
    serde_json::from_value::<ErrorBody>(body)
        .expect("an error body")
        .error
        .code
}

#[tokio::test]
async fn staff_enrol_sign_in_with_a_code_once_and_a_recovery_code_once() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::at(1_795_302_600_000));
    let server = TestServer::start_with_clock(clock.clone(), |_| {}).await?;
    let sam = server.account("Sam").await?;
    server.make_staff(&sam).await?;
    let email = sam.email.clone().expect("a registered account");
    let base = &server.base_url;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{base}{path}");
    let signin = |extra: Value| {
        let mut body = json!({ "email": email, "password": PASSWORD });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        post(&http, url("/api/auth/signin"), None, body)
    };

    // Enrolment needs a session.
    let (status, body) = post(&http, url("/api/auth/totp/enrol"), None, json!({})).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code_of(body), ErrorCode::Unauthorized);

    let (status, body) = post(
        &http,
        url("/api/auth/totp/enrol"),
        Some(&sam.token),
        json!({}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let enrolment: TotpEnrolResponse = serde_json::from_value(body)?;
    assert!(
        enrolment
            .otpauth_uri
            .starts_with("otpauth://totp/Cartroom:")
    );
    assert!(enrolment.otpauth_uri.contains(&enrolment.secret));
    assert!(enrolment.qr_svg.contains("<svg"));

    // Pending: the password alone still signs in.
    let (status, _) = signin(json!({})).await?;
    assert_eq!(status, StatusCode::OK);

    // A wrong code does not confirm; the app's code does, once.
    let right = app_code(&enrolment.secret, &clock);
    let wrong = wrong_code(&enrolment.secret, &clock);
    let (status, body) = post(
        &http,
        url("/api/auth/totp/confirm"),
        Some(&sam.token),
        json!({ "code": wrong }),
    )
    .await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::TotpInvalid)
    );
    let (status, body) = post(
        &http,
        url("/api/auth/totp/confirm"),
        Some(&sam.token),
        json!({ "code": right }),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let recovery: TotpConfirmResponse = serde_json::from_value(body)?;
    assert_eq!(recovery.recovery_codes.len(), 10);
    let status: TotpStatus = http
        .get(url("/api/auth/totp"))
        .bearer_auth(&sam.token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert!(status.enabled);

    // Now the password alone is not enough, and starts no session.
    let (status, body) = signin(json!({})).await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::TotpRequired)
    );
    // The code confirmation used is spent: its step cannot sign in.
    let (status, body) = signin(json!({ "code": right })).await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::TotpReplayed)
    );

    // Next step: the new code signs in, once.
    clock.advance_ms(30_000);
    let code = app_code(&enrolment.secret, &clock);
    let (status, body) = signin(json!({ "code": code })).await?;
    assert_eq!(status, StatusCode::OK);
    let session: SessionResponse = serde_json::from_value(body)?;
    assert_eq!(session.user.id, sam.user_id);
    let (status, body) = signin(json!({ "code": code })).await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::TotpReplayed)
    );
    // The wrong password with a right code is still the wrong password.
    clock.advance_ms(30_000);
    let (status, body) = post(
        &http,
        url("/api/auth/signin"),
        None,
        json!({ "email": email, "password": "not the password", "code": app_code(&enrolment.secret, &clock) }),
    )
    .await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::BadCredentials)
    );

    // A recovery code signs in once, whatever its case and dash.
    let first = &recovery.recovery_codes[0];
    let (status, _) = signin(json!({ "recovery_code": first.to_uppercase() })).await?;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = signin(json!({ "recovery_code": first })).await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::TotpInvalid)
    );

    // Code attempts count against the sign-in throttle (10 a minute for
    // one e-mail from one address): the next try, even a right code, waits.
    clock.advance_ms(30_000);
    let (status, body) = signin(json!({ "code": app_code(&enrolment.secret, &clock) })).await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited)
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_code_or_an_unused_recovery_code_turns_it_off() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::at(1_795_302_600_000));
    let server = TestServer::start_with_clock(clock.clone(), |_| {}).await?;
    let ray = server.account("Ray").await?;
    let email = ray.email.clone().expect("a registered account");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base_url);
    let (_, body) = post(
        &http,
        url("/api/auth/totp/enrol"),
        Some(&ray.token),
        json!({}),
    )
    .await?;
    let enrolment: TotpEnrolResponse = serde_json::from_value(body)?;
    let code = app_code(&enrolment.secret, &clock);
    let (status, body) = post(
        &http,
        url("/api/auth/totp/confirm"),
        Some(&ray.token),
        json!({ "code": code }),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let recovery: TotpConfirmResponse = serde_json::from_value(body)?;

    // Enrolling again while on is refused.
    let (status, body) = post(
        &http,
        url("/api/auth/totp/enrol"),
        Some(&ray.token),
        json!({}),
    )
    .await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::CONFLICT, ErrorCode::TotpState)
    );

    // A recovery code used to sign in does not disable.
    let first = &recovery.recovery_codes[0];
    let (status, _) = post(
        &http,
        url("/api/auth/signin"),
        None,
        json!({ "email": email, "password": PASSWORD, "recovery_code": first }),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &http,
        url("/api/auth/totp/disable"),
        Some(&ray.token),
        json!({ "recovery_code": first }),
    )
    .await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::TotpInvalid)
    );
    // Nor does nothing.
    let (status, body) = post(
        &http,
        url("/api/auth/totp/disable"),
        Some(&ray.token),
        json!({}),
    )
    .await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::TotpRequired)
    );
    // A current code does.
    clock.advance_ms(30_000);
    let (status, _) = post(
        &http,
        url("/api/auth/totp/disable"),
        Some(&ray.token),
        json!({ "code": app_code(&enrolment.secret, &clock) }),
    )
    .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Off: the password alone signs in again, and there is nothing to disable.
    let (status, _) = post(
        &http,
        url("/api/auth/signin"),
        None,
        json!({ "email": email, "password": PASSWORD }),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &http,
        url("/api/auth/totp/disable"),
        Some(&ray.token),
        json!({ "recovery_code": recovery.recovery_codes[1] }),
    )
    .await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::CONFLICT, ErrorCode::TotpState)
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn guests_cannot_enrol() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let guest = cartroom_client::Account::guest(&server.base_url, "Gus").await?;
    let http = reqwest::Client::new();
    let (status, body) = post(
        &http,
        format!("{}/api/auth/totp/enrol", server.base_url),
        Some(&guest.token),
        json!({}),
    )
    .await?;
    assert_eq!(
        (status, code_of(body)),
        (StatusCode::FORBIDDEN, ErrorCode::Forbidden)
    );
    server.stop().await?;
    Ok(())
}
