//! Any standard OpenID Connect provider, configured and not coded: a real provider (npm
//! `oidc-provider`, tests/node/oidc-provider.mjs) issues access tokens shaped like Clerk's,
//! Microsoft Entra ID's and Okta's through the desktop's own sign-in flow, and a server given
//! only the issuer (keys found by discovery: the provider serves them at `/jwks`, not at
//! `/.well-known/jwks.json`) and the claim settings derives the firm, the firm-admin role and
//! the directory entry of each person from each layout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

extern crate local as hub_local;

mod common;
#[path = "../../crates/local/tests/support/oidc.rs"]
mod oidc;

use common::*;
use sync_server::auth::AuthError;
use sync_server::config::IdentitySettings;

const ADMIN: &str = "ada@firm.test";
const MEMBER: &str = "ben@firm.test";
/// The Entra "application (client) id" of the Lawyers Hub API in oidc-provider.mjs.
const ENTRA_APP_ID: &str = "6f0c3c1e-5b7a-4d0e-9a51-3c2b1d0e9f87";

/// A provider with the given claim layout, its tokens for an admin and an ordinary member, and
/// a server configured for it by `configure` on top of the issuer alone.
struct Deployment {
    /// Kept running for the test's length.
    _provider: oidc::OidcProvider,
    server: sync_server::app::Running,
    config: sync_server::config::ServeSettings,
    admin: String,
    member: String,
}

async fn deploy(
    profile: &str,
    firm: &str,
    configure: impl FnOnce(&mut IdentitySettings),
) -> Deployment {
    let provider = oidc::start_provider_with(
        300,
        &[
            ("OIDC_PROFILE", profile),
            ("OIDC_FIRM", firm),
            ("OIDC_ADMINS", ADMIN),
        ],
    )
    .await;
    let db = fresh_database().await;
    let mut config = settings(&db, None);
    config.dev_auth = false;
    config.identity.issuer = Some(provider.issuer.clone());
    config.identity.authorized_parties = vec![oidc::CLIENT_ID.into()];
    configure(&mut config.identity);
    assert_eq!(
        config.identity.key_location(),
        sync_server::config::KeyLocation::Discovery
    );
    let server = sync_server::app::start(&config)
        .await
        .expect("starts with keys found through discovery");
    let jwks = server
        .state
        .verifier
        .oidc()
        .and_then(|oidc| oidc.jwks())
        .map(|jwks| jwks.url().to_owned());
    assert_eq!(
        jwks,
        Some(format!("{}/jwks", provider.issuer)),
        "the key set is the one the discovery document names"
    );
    let admin = oidc::access_token_of(&provider, ADMIN).await;
    let member = oidc::access_token_of(&provider, MEMBER).await;
    Deployment {
        _provider: provider,
        server,
        config,
        admin,
        member,
    }
}

async fn get(server: &sync_server::app::Running, path: &str, token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("http://{}{path}", server.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The firm, role and directory entries each token yields, through the real server: the
/// admin-only `/api/v1/stats` answers the admin and refuses the member, and the directory
/// (firm-scoped) lists both with the names and emails their tokens carry.
async fn check(deployment: &Deployment, firm: &str) {
    let verifier = &deployment.server.state.verifier;
    let admin = verifier.verify(&deployment.admin).await.unwrap();
    let member = verifier.verify(&deployment.member).await.unwrap();
    assert_eq!(
        (admin.user_id.as_str(), admin.firm_id.as_str()),
        (ADMIN, firm)
    );
    assert_eq!(
        (member.user_id.as_str(), member.firm_id.as_str()),
        (MEMBER, firm)
    );
    assert!(admin.firm_admin, "the admin's token makes a firm admin");
    assert!(!member.firm_admin, "an ordinary member is not a firm admin");

    let server = &deployment.server;
    assert_eq!(get(server, "/api/v1/stats", &deployment.admin).await.0, 200);
    assert_eq!(
        get(server, "/api/v1/stats", &deployment.member).await.0,
        403
    );
    // Any recorded REST call puts its caller in the directory.
    assert_eq!(get(server, "/api/v1/cases", &deployment.admin).await.0, 200);
    let (status, body) = get(server, "/api/v1/directory", &deployment.member).await;
    assert_eq!(status, 200, "{body}");
    let people: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        people,
        serde_json::json!([
            {"id": ADMIN, "name": "Ada", "email": ADMIN},
            {"id": MEMBER, "name": "Ben", "email": MEMBER},
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_shaped_tokens_give_the_organization_and_its_admin_role() {
    // Clerk's defaults: firm `o.id`, admin `o.rol == "admin"`; no claim settings at all.
    let deployment = deploy("clerk", "org_acme", |identity| {
        identity.audiences = vec!["urn:lawyers-hub:sync".into()];
    })
    .await;
    let claims = oidc::jwt_payload(&deployment.member);
    assert_eq!(claims["o"]["rol"], "basic_member");
    check(&deployment, "org_acme").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_shaped_tokens_give_the_tenant_and_the_app_role() {
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let deployment = deploy("entra", tenant, |identity| {
        identity.firm_claim = Some("tid".into());
        identity.admin_claim = Some("roles".into());
        identity.admin_values = vec!["Hub.Admin".into()];
        // v1 access tokens carry the App ID URI, v2 ones the application id: accept both.
        identity.audiences = vec![format!("api://{ENTRA_APP_ID}"), ENTRA_APP_ID.into()];
    })
    .await;
    let claims = oidc::jwt_payload(&deployment.admin);
    assert_eq!(claims["aud"], format!("api://{ENTRA_APP_ID}"));
    assert_eq!(
        claims["roles"],
        serde_json::json!(["Hub.Admin", "Hub.User"])
    );
    assert!(claims.get("email").is_none() && claims.get("o").is_none());
    // No `email` claim: the email-shaped `preferred_username` stands in.
    check(&deployment, tenant).await;

    // A server that expects another audience refuses these tokens.
    let mut other = deployment.config.clone();
    other.identity.audiences = vec![ENTRA_APP_ID.into()];
    let verifier = sync_server::auth::build_verifier(&other).await.unwrap();
    assert_eq!(
        verifier.verify(&deployment.admin).await,
        Err(AuthError::Invalid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_shaped_tokens_give_the_custom_firm_claim_and_the_admin_group() {
    let deployment = deploy("okta", "firm-okta", |identity| {
        identity.firm_claim = Some("firm".into());
        identity.admin_claim = Some("groups".into());
        identity.admin_values = vec!["Hub Admins".into()];
        identity.audiences = vec!["https://hub.firm-okta.test/api".into()];
    })
    .await;
    let claims = oidc::jwt_payload(&deployment.member);
    assert_eq!(claims["aud"], "https://hub.firm-okta.test/api");
    assert_eq!(claims["groups"], serde_json::json!(["Everyone"]));
    assert!(claims.get("azp").is_none(), "Okta names the client in cid");
    check(&deployment, "firm-okta").await;

    // Without the admin settings, a group is just a group: nobody is a firm admin.
    let mut unconfigured = deployment.config.clone();
    unconfigured.identity.admin_claim = None;
    unconfigured.identity.admin_values = Vec::new();
    let verifier = sync_server::auth::build_verifier(&unconfigured)
        .await
        .unwrap();
    assert!(!verifier.verify(&deployment.admin).await.unwrap().firm_admin);
}
