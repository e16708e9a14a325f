//! Accounts through the real server: sign-up, sessions, passwords, and their limits.

mod common;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::json;

use common::{PASSWORD, SESSION_COOKIE, TestServer, count};

#[tokio::test]
async fn sign_up_log_out_and_log_in_again() {
    let server = TestServer::start().await;
    let client = server.client();

    let ann = client.sign_up("ann").await;
    let (_, me) = client.post_form("current_user", &[]).await;

    assert_eq!(me["id"], json!(ann.id));
    assert_eq!(me["username"], "ann");

    let (status, _) = client.post_form("log_out", &[]).await;
    let (_, me) = client.post_form("current_user", &[]).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!(null));

    let (status, body) = client.log_in("ann", PASSWORD).await;
    let (_, me) = client.post_form("current_user", &[]).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(me["id"], json!(ann.id));
}

#[tokio::test]
async fn a_logged_out_cookie_replayed_later_is_unauthenticated() {
    let server = TestServer::start().await;
    let (client, _) = server.user("ann").await;
    let old = client.session_cookie().expect("a session cookie after sign-up");

    client.post_form("log_out", &[]).await;
    let thief = server.client();
    thief.set_session_cookie(&old);
    let (status, body) = thief.post_form("list_my_rooms", &[]).await;
    let (_, me) = thief.post_form("current_user", &[]).await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"error": "unauthenticated"}));
    assert_eq!(me, json!(null));
}

#[tokio::test]
async fn log_in_issues_a_new_session_id_and_kills_the_old_one() {
    let server = TestServer::start().await;
    let (client, _) = server.user("ann").await;
    let before = client.session_cookie().expect("a session cookie after sign-up");

    let (status, _) = client.log_in("ann", PASSWORD).await;
    let after = client.session_cookie().expect("a session cookie after log-in");

    assert_eq!(status, StatusCode::OK);
    assert_ne!(before, after, "log-in kept the session id (fixation)");

    let planted = server.client();
    planted.set_session_cookie(&before);
    let (_, me) = planted.post_form("current_user", &[]).await;

    assert_eq!(me, json!(null), "the pre-log-in session id still works");
}

#[tokio::test]
async fn change_password_ends_other_sessions_but_keeps_this_one() {
    let server = TestServer::start().await;
    let (laptop, ann) = server.user("ann").await;
    let phone = server.client();
    phone.log_in("ann", PASSWORD).await;
    let new_password = "a brand new passphrase";

    let (status, body) =
        laptop.post_form("change_password", &[("current", PASSWORD), ("new", new_password)]).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, on_laptop) = laptop.post_form("current_user", &[]).await;
    let (_, on_phone) = phone.post_form("current_user", &[]).await;
    assert_eq!(on_laptop["id"], json!(ann.id));
    assert_eq!(on_phone, json!(null));

    let (old, _) = phone.log_in("ann", PASSWORD).await;
    let (new, _) = phone.log_in("ann", new_password).await;

    assert_eq!(old, StatusCode::UNAUTHORIZED);
    assert_eq!(new, StatusCode::OK);
}

#[tokio::test]
async fn change_password_with_the_wrong_current_password_changes_nothing() {
    let server = TestServer::start().await;
    let (client, _) = server.user("ann").await;

    let (status, body) = client
        .post_form("change_password", &[("current", "not my password"), ("new", "whatever1234")])
        .await;
    let (relogin, _) = server.client().log_in("ann", PASSWORD).await;

    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, json!({"error": "wrong_password"}));
    assert_eq!(relogin, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let server = TestServer::start().await;
    server.user("ann").await;
    let client = server.client();

    let (wrong_status, wrong_body) = client.log_in("ann", "not the password").await;
    let (unknown_status, unknown_body) = client.log_in("nobody", PASSWORD).await;

    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_body, json!({"error": "wrong_credentials"}));
    assert_eq!((unknown_status, unknown_body), (wrong_status, wrong_body));
    assert!(client.session_cookie().is_none(), "a failed log-in started a session");
}

#[tokio::test]
async fn usernames_differing_only_in_case_or_width_are_taken() {
    let server = TestServer::start().await;
    server.user("ann").await;

    for variant in ["ann", "ANN", "Ann", "ａｎｎ", " ann "] {
        let (status, body) = server
            .client()
            .post_form(
                "sign_up",
                &[("username", variant), ("display_name", "Impostor"), ("password", PASSWORD)],
            )
            .await;

        assert_eq!(status, StatusCode::CONFLICT, "{variant:?}: {body}");
        assert_eq!(body, json!({"error": "username_taken"}), "{variant:?}");
    }
    assert_eq!(count(&server.db().await, "users").await, 1);
}

#[tokio::test]
async fn display_names_with_bidi_controls_or_nothing_visible_are_refused() {
    let server = TestServer::start().await;
    let client = server.client();

    for (i, name) in ["\u{202E}nnA", "Ann\u{2066}", "   ", "\u{200B}\u{200B}", "\u{3164}", ""]
        .into_iter()
        .enumerate()
    {
        let username = format!("user{i}");
        let (status, body) = client
            .post_form(
                "sign_up",
                &[("username", &username), ("display_name", name), ("password", PASSWORD)],
            )
            .await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
        assert_eq!(body["error"], "invalid", "{name:?}");
        assert_eq!(body["field"], "display_name", "{name:?}");
    }
    assert_eq!(count(&server.db().await, "users").await, 0);
}

#[tokio::test]
async fn update_profile_refuses_a_bidi_display_name_and_keeps_the_old_one() {
    let server = TestServer::start().await;
    let (client, _) = server.user("ann").await;

    let (status, body) =
        client.post_form("update_profile", &[("display_name", "evil\u{202E}txt.exe")]).await;
    let (_, me) = client.post_form("current_user", &[]).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(me["display_name"], "ann");
}

#[tokio::test]
async fn log_in_is_rate_limited_with_retry_after() {
    let server = TestServer::start_with(&[("PARLEY_LOGIN_PER_MINUTE", "3")]).await;
    server.user("ann").await;
    let client = server.client();
    for _ in 0..3 {
        let (status, _) = client.log_in("ann", "guess guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    // Even the right password is refused once the limit is reached.
    let response = client
        .http
        .post(client.url("/api/log_in"))
        .form(&[("username", "ann"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After: {retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(body["retry_after_secs"], json!(retry_after));
    assert!(client.session_cookie().is_none());
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site_lax() {
    let server = TestServer::start().await;
    let client = server.client();

    let response = client
        .http
        .post(client.url("/api/sign_up"))
        .form(&[("username", "ann"), ("display_name", "Ann"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .cookies()
        .find(|c| c.name() == SESSION_COOKIE)
        .expect("the session cookie is set at sign-up");
    assert!(cookie.http_only());
    assert!(cookie.same_site_lax());
    assert!(!cookie.secure(), "Secure without PARLEY_SECURE_COOKIES breaks plain-HTTP dev");
}

#[tokio::test]
async fn session_cookie_is_secure_when_configured_for_https() {
    let server = TestServer::start_with(&[("PARLEY_SECURE_COOKIES", "true")]).await;
    let client = server.client();

    let response = client
        .http
        .post(client.url("/api/sign_up"))
        .form(&[("username", "ann"), ("display_name", "Ann"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();

    let cookie = response.cookies().find(|c| c.name() == SESSION_COOKIE).unwrap();
    assert!(cookie.secure());
    assert!(cookie.http_only());
}

#[tokio::test]
async fn stored_password_hash_is_argon2id_with_owasp_parameters() {
    let server = TestServer::start().await;
    server.user("ann").await;

    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'ann'")
            .fetch_one(&server.db().await)
            .await
            .unwrap();

    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}
