//! What every HTTP and socket test shares: a real server on port 0 with its own data folder,
//! and a client with its own cookie jar, so each test user is a separate browser.
//!
//! Each test binary uses a different part of this module, hence the `dead_code` allowance.

#![allow(dead_code)]

pub mod binary;
pub mod cluster;
pub mod socket;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::messages::Message as ChatMessage;
use app::state::AppState;
use app::users::User;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{CONTENT_TYPE, HeaderValue, ORIGIN};
use reqwest::{StatusCode, Url};
use serde_json::Value;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use tempfile::TempDir;
use tokio::sync::oneshot;

use server::config::Config;

/// Every test account gets this password.
pub const PASSWORD: &str = "correct horse battery";
pub const SESSION_COOKIE: &str = "parley_session";
/// An origin no test server is ever allowed to trust.
pub const FOREIGN_ORIGIN: &str = "https://evil.example";

/// A running server. Dropping it starts a graceful shutdown; the data folder goes with it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub database: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    /// Kept so the folder outlives the server's use of it.
    _data: TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a server whose configuration also reads `env` (e.g. a tight rate limit).
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let (data, config) = test_config(env);
        let database = PathBuf::from(config.database.as_str());

        let listener = tokio::net::TcpListener::bind(config.addr).await.expect("bind port 0");
        let addr = listener.local_addr().expect("bound address");
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // A dropped sender stops the server just as a sent signal does.
            let stopped = async {
                stop.await.ok();
            };
            if let Err(e) = server::serve(config, listener, stopped).await {
                panic!("test server failed: {e:#}");
            }
        });

        let server = Self::running(addr, database, shutdown, data);
        server.wait_until_healthy().await;
        server
    }

    /// Starts a server and hands its state to the test, which may then write to the store and
    /// publish to the hub directly, in orders HTTP requests could not force. It serves the
    /// same router as `server::serve`, without the drain deadline.
    pub async fn start_exposed() -> (Self, AppState) {
        let (data, config) = test_config(&[]);
        let database = PathBuf::from(config.database.as_str());
        let (router, state) = server::router::build(&config).await.expect("router builds");

        let listener = tokio::net::TcpListener::bind(config.addr).await.expect("bind port 0");
        let addr = listener.local_addr().expect("bound address");
        let (shutdown, stop) = oneshot::channel::<()>();
        let hub = state.hub.clone();
        tokio::spawn(async move {
            let stopped = async move {
                stop.await.ok();
                hub.shut_down();
            };
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(stopped).await {
                panic!("test server failed: {e:#}");
            }
        });

        let server = Self::running(addr, database, shutdown, data);
        server.wait_until_healthy().await;
        (server, state)
    }

    fn running(
        addr: SocketAddr,
        database: PathBuf,
        shutdown: oneshot::Sender<()>,
        data: TempDir,
    ) -> Self {
        Self {
            addr,
            base: format!("http://{addr}"),
            database,
            shutdown: Some(shutdown),
            _data: data,
        }
    }

    /// `serve` opens the database before it accepts; poll until it answers.
    async fn wait_until_healthy(&self) {
        let http = plain_http();
        for _ in 0..200 {
            if let Ok(r) = http.get(self.url("/healthz")).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("test server at {} never became healthy", self.base);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The origin a browser on this server's own pages would send.
    pub fn origin(&self) -> String {
        self.base.clone()
    }

    /// A new visitor with an empty cookie jar.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A visitor that has signed up as `name`; returns both.
    pub async fn user(&self, name: &str) -> (Client, User) {
        let client = self.client();
        let user = client.sign_up(name).await;
        (client, user)
    }

    /// A second connection to the server's database, to check what was (not) stored.
    pub async fn db(&self) -> SqlitePool {
        let options = SqliteConnectOptions::new().filename(&self.database).read_only(true);
        SqlitePool::connect_with(options).await.expect("open the test database")
    }

    /// Asserts the server still answers: health check and a normal signed-in request.
    pub async fn assert_still_serving(&self, client: &Client) {
        let health = plain_http().get(self.url("/healthz")).send().await.expect("healthz");
        assert_eq!(health.status(), StatusCode::OK);

        let (status, me) = client.post_form("current_user", &[]).await;

        assert_eq!(status, StatusCode::OK, "{me}");
        assert!(me["id"].is_i64(), "not signed in any more: {me}");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server task may already be gone with its runtime; nothing left to stop.
            shutdown.send(()).ok();
        }
    }
}

/// A fresh data folder and a configuration on port 0 that uses it, also reading `env`.
fn test_config(env: &[(&str, &str)]) -> (TempDir, Config) {
    let data = tempfile::tempdir().expect("temporary data folder");
    let data_dir = data.path().to_string_lossy().into_owned();
    let site_root = data.path().join("no-site").to_string_lossy().into_owned();
    let config = Config::from_lookup(|name| match name {
        "PARLEY_ADDR" => Some("127.0.0.1:0".to_owned()),
        "PARLEY_DATA_DIR" => Some(data_dir.clone()),
        "PARLEY_SITE_ROOT" => Some(site_root.clone()),
        // Tests send as fast as they can; the send limit has tests of its own that lower it.
        _ => env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| (name == "PARLEY_SENDS_PER_MINUTE").then(|| "1000000".to_owned())),
    })
    .expect("test configuration is valid");
    (data, config)
}

pub fn plain_http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("http client")
}

/// One browser: a cookie jar and the server it talks to.
pub struct Client {
    pub http: reqwest::Client,
    jar: Arc<Jar>,
    base: Url,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            // Server functions answer JSON to non-browser clients; a redirect is a finding.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Self { http, jar, base: base.parse().expect("base URL") }
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("valid path")
    }

    /// Signs up `name` with display name `name` and [`PASSWORD`]; panics unless it works.
    pub async fn sign_up(&self, name: &str) -> User {
        let (status, body) = self
            .post_form(
                "sign_up",
                &[("username", name), ("display_name", name), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "sign up {name}: {body}");
        serde_json::from_value(body).expect("a user")
    }

    pub async fn log_in(&self, name: &str, password: &str) -> (StatusCode, Value) {
        self.post_form("log_in", &[("username", name), ("password", password)]).await
    }

    /// Creates a channel; panics unless it works. Returns the room id.
    pub async fn create_channel(&self, name: &str, private: bool) -> i64 {
        let mut fields = vec![("name", name), ("topic", "")];
        if private {
            fields.push(("private", "on"));
        }
        let (status, body) = self.post_form("create_channel", &fields).await;
        assert_eq!(status, StatusCode::OK, "create channel {name}: {body}");
        body.as_i64().expect("a room id")
    }

    /// Sends a message over HTTP, as the composer does.
    pub async fn send(&self, room: i64, client_id: &str, body: &str) -> (StatusCode, Value) {
        let request = serde_json::json!({"room_id": room, "client_id": client_id, "body": body});
        self.post_json("send_message", request).await
    }

    /// Sends a message; panics unless it is stored. Returns the stored message.
    /// Sends as a client on a flaky network must: the same client id again after any
    /// transport error or 5xx, until the server answers. Panics on any other refusal.
    pub async fn send_until_acked(&self, room: i64, client_id: &str, body: &str) -> ChatMessage {
        for _ in 0..200 {
            match self.try_send(room, client_id, body).await {
                Ok(message) => return message,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        panic!("{client_id} was never acknowledged");
    }

    /// One attempt. `Err` means no answer (or a 5xx): the message may or may not be stored.
    pub async fn try_send(
        &self,
        room: i64,
        client_id: &str,
        body: &str,
    ) -> Result<ChatMessage, String> {
        let request = serde_json::json!({"room_id": room, "client_id": client_id, "body": body});
        let response = self
            .http
            .post(self.url("/api/send_message"))
            .json(&request)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if status.is_server_error() {
            return Err(format!("{status}: {text}"));
        }
        assert_eq!(status, StatusCode::OK, "send {client_id}: {text}");
        Ok(serde_json::from_str(&text).expect("a message"))
    }

    pub async fn say(&self, room: i64, client_id: &str, body: &str) -> Value {
        let (status, message) = self.send(room, client_id, body).await;
        assert_eq!(status, StatusCode::OK, "send {client_id}: {message}");
        message
    }

    /// Calls a form-encoded server function.
    pub async fn post_form(&self, endpoint: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self.http.post(self.api(endpoint)).form(fields).send().await;
        read(response.expect("request sent")).await
    }

    /// Calls a JSON server function.
    pub async fn post_json(&self, endpoint: &str, body: Value) -> (StatusCode, Value) {
        let response = self.http.post(self.api(endpoint)).json(&body).send().await;
        read(response.expect("request sent")).await
    }

    /// Posts bytes exactly as given, for bodies no well-behaved client would send.
    pub async fn post_raw(
        &self,
        endpoint: &str,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.api(endpoint))
            .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
            .body(body)
            .send()
            .await;
        read(response.expect("request sent")).await
    }

    /// A form post as a page on another site would make it.
    pub async fn post_form_from(
        &self,
        origin: &str,
        endpoint: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let response =
            self.http.post(self.api(endpoint)).header(ORIGIN, origin).form(fields).send().await;
        read(response.expect("request sent")).await
    }

    /// A server-rendered page, as the browser would load it.
    pub async fn get_page(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        (status, response.text().await.expect("page body"))
    }

    /// The session cookie's current value, if the server set one.
    pub fn session_cookie(&self) -> Option<String> {
        let header = self.jar.cookies(&self.base)?;
        let header = header.to_str().ok()?;
        header.split("; ").find_map(|pair| {
            pair.strip_prefix(SESSION_COOKIE)?.strip_prefix('=').map(str::to_owned)
        })
    }

    /// Puts `value` in the jar as the session cookie, as a thief replaying it would.
    pub fn set_session_cookie(&self, value: &str) {
        self.jar.add_cookie_str(&format!("{SESSION_COOKIE}={value}; Path=/"), &self.base);
    }

    /// The `Cookie` header this client would send, for the socket handshake.
    pub fn cookie_header(&self) -> String {
        self.jar
            .cookies(&self.base)
            .and_then(|h| h.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    fn api(&self, endpoint: &str) -> Url {
        self.url(&format!("/api/{endpoint}"))
    }
}

/// Status and body; a body that is not JSON comes back as a JSON string.
async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Counts the rows of `table`, to show a refused request stored nothing.
pub async fn count(db: &SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(db)
        .await
        .expect("count rows")
}
