//! One signed-up user speaking Parley's HTTP API: the same server functions the browser and
//! bots call, with the session cookie the server set at sign-up.

use anyhow::{Context, Result, bail};
use reqwest::header::{ACCEPT, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};

use app::ids::{RoomId, UserId};
use app::messages::{HistoryPage, Message};

/// The name of the session cookie the server sets.
const SESSION_COOKIE: &str = "parley_session";
/// Every generated account's password.
const PASSWORD: &str = "load generator password";

/// The HTTP side shared by every account: one connection pool to one server.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Self { http, base: base.to_owned() })
    }

    /// Signs up `username`; the account keeps the session cookie it was given.
    pub async fn sign_up(&self, username: &str) -> Result<Account> {
        let form = [("username", username), ("display_name", username), ("password", PASSWORD)];
        let response = self
            .http
            .post(format!("{}/api/sign_up", self.base))
            .header(ORIGIN, &self.base)
            .form(&form)
            .send()
            .await?;
        let cookie = session_cookie(&response);
        let user: Value = answer(response).await.with_context(|| format!("sign up {username}"))?;
        let cookie = cookie.context("sign-up set no session cookie")?;
        let id = user["id"].as_i64().context("sign-up answered no user id")?;
        Ok(Account { api: self.clone(), id: UserId(id), cookie })
    }
}

/// A signed-in user.
#[derive(Clone)]
pub struct Account {
    api: Api,
    pub id: UserId,
    /// `parley_session=...`, sent as the `Cookie` header of requests and the socket handshake.
    pub cookie: String,
}

impl Account {
    /// The same session against another address of the server, or another instance:
    /// sessions live in the database, so the cookie is good on every instance sharing it.
    pub fn with_api(self, api: Api) -> Self {
        Self { api, ..self }
    }

    pub fn base(&self) -> &str {
        &self.api.base
    }

    pub async fn create_channel(&self, name: &str) -> Result<RoomId> {
        let room: Value = self.form("create_channel", &[("name", name), ("topic", "")]).await?;
        Ok(RoomId(room.as_i64().context("create_channel answered no room id")?))
    }

    pub async fn join(&self, room: RoomId) -> Result<()> {
        self.form::<Value>("join_room", &[("room_id", &room.to_string())]).await.map(drop)
    }

    /// Sends through the real send path; answers once the message is committed.
    pub async fn send(&self, room: RoomId, client_id: &str, body: &str) -> Result<Message> {
        self.json("send_message", json!({"room_id": room, "client_id": client_id, "body": body}))
            .await
    }

    /// The newest page of a room's history.
    pub async fn newest_page(&self, room: RoomId) -> Result<HistoryPage> {
        self.json("list_messages", json!({"room_id": room, "before_seq": null})).await
    }

    /// A server-rendered page, answering its status once the headers are in (time to first
    /// byte) and then its body.
    pub fn get_page(&self, path: &str) -> reqwest::RequestBuilder {
        self.api
            .http
            .get(format!("{}{path}", self.api.base))
            .header(COOKIE, &self.cookie)
            .header(ACCEPT, "text/html")
    }

    async fn form<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &str,
        fields: &[(&str, &str)],
    ) -> Result<T> {
        let response = self.post(endpoint).form(fields).send().await?;
        answer(response).await.with_context(|| format!("{endpoint} for user {}", self.id))
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &str,
        body: Value,
    ) -> Result<T> {
        let response = self.post(endpoint).json(&body).send().await?;
        answer(response).await.with_context(|| format!("{endpoint} for user {}", self.id))
    }

    fn post(&self, endpoint: &str) -> reqwest::RequestBuilder {
        self.api
            .http
            .post(format!("{}/api/{endpoint}", self.api.base))
            .header(ORIGIN, &self.api.base)
            .header(COOKIE, &self.cookie)
    }
}

/// The body of a successful answer, or the server's error as text.
async fn answer<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("unexpected answer: {text}"))
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response.headers().get_all(SET_COOKIE).iter().find_map(|value| {
        let pair = value.to_str().ok()?.split(';').next()?.trim();
        pair.starts_with(SESSION_COOKIE).then(|| pair.to_owned())
    })
}
