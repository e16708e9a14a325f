//! The browser's socket: one per tab. Connects, hands each event to the handler, and reconnects
//! with exponential backoff and jitter. Every connection starts with the server's `Hello`, to
//! which the live state answers with `Resume`, so nothing missed while down is lost.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{MessageEvent, WebSocket};

use super::protocol::{
    ClientFrame, LOGGED_OUT, SESSION_ENDED, SESSION_OVER_CODE, SOCKET_PATH, ServerEvent,
};

type Handler = Rc<dyn Fn(ServerEvent)>;

const BACKOFF_START_MS: f64 = 500.0;
const BACKOFF_MAX_MS: f64 = 30_000.0;

/// The tab's connection. Held here rather than in a signal: sockets are not `Send`, and exactly
/// one exists per tab.
struct Connection {
    socket: Option<WebSocket>,
    handler: Handler,
    /// Failed attempts since the last open, for backoff.
    failures: u32,
    /// Set by [`stop`]: no more reconnects.
    stopped: bool,
    /// Callbacks of the current socket, kept alive as long as it is.
    callbacks: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

thread_local! {
    static CONNECTION: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// Opens the tab's socket, replacing any earlier one.
pub fn start(handler: impl Fn(ServerEvent) + 'static) {
    stop();
    CONNECTION.with(|c| {
        *c.borrow_mut() = Some(Connection {
            socket: None,
            handler: Rc::new(handler),
            failures: 0,
            stopped: false,
            callbacks: Vec::new(),
        })
    });
    connect();
}

/// Closes the socket for good (log-out, leaving the signed-in part of the app).
pub fn stop() {
    CONNECTION.with(|c| {
        if let Some(mut conn) = c.borrow_mut().take() {
            conn.stopped = true;
            if let Some(socket) = conn.socket.take() {
                // Every handler goes before its closure is dropped with `conn`: an event that
                // still arrived would otherwise call a freed closure and raise a page error.
                socket.set_onopen(None);
                socket.set_onmessage(None);
                socket.set_onclose(None);
                // A close that fails means the socket is already gone, which is the goal.
                socket.close().ok();
            }
        }
    });
}

fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}{SOCKET_PATH}", location.host().ok()?))
}

fn connect() {
    let Some(url) = socket_url() else { return };
    let socket = match WebSocket::new(&url) {
        Ok(socket) => socket,
        Err(_) => return reconnect_later(),
    };

    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(|_| {
        CONNECTION.with(|c| {
            if let Some(conn) = c.borrow_mut().as_mut() {
                conn.failures = 0;
            }
        });
    });
    let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
        let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) else {
            return;
        };
        match serde_json::from_str::<ServerEvent>(&text) {
            Ok(event) => {
                let handler = CONNECTION.with(|c| c.borrow().as_ref().map(|c| c.handler.clone()));
                if let Some(handler) = handler {
                    handler(event);
                }
            }
            // A newer server may send events this bundle does not know; skip them.
            Err(e) => leptos::logging::warn!("unreadable socket event: {e}"),
        }
    });
    let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
        if session_is_over(&event) {
            // Logged out, or the password changed on another device: reconnecting would only
            // be refused, and every request would say "log in", so go and do that. Stopping
            // is a flag here, not `stop()`, which would free this closure while it runs.
            CONNECTION.with(|c| {
                if let Some(conn) = c.borrow_mut().as_mut() {
                    conn.stopped = true;
                }
            });
            if let Some(window) = web_sys::window() {
                // If navigation fails the tab stays as it is, with its socket stopped.
                window.location().set_href("/login").ok();
            }
            return;
        }
        let handler = CONNECTION.with(|c| c.borrow().as_ref().map(|c| c.handler.clone()));
        // Reported as the server's "reconnect" so the live state marks itself disconnected.
        if let Some(handler) = handler {
            handler(ServerEvent::Reconnect);
        }
        reconnect_later();
    });

    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

    CONNECTION.with(|c| {
        if let Some(conn) = c.borrow_mut().as_mut() {
            conn.socket = Some(socket);
            conn.callbacks = vec![on_open, on_message, on_close];
        }
    });
}

/// Whether the server closed the socket because its session is over.
fn session_is_over(event: &web_sys::Event) -> bool {
    event.dyn_ref::<web_sys::CloseEvent>().is_some_and(|close| {
        close.code() == SESSION_OVER_CODE
            && [LOGGED_OUT, SESSION_ENDED].contains(&close.reason().as_str())
    })
}

/// Schedules the next attempt: 0.5 s doubling up to 30 s, each delay jittered to 50-100% so
/// a restarted server is not hit by every tab at the same instant.
fn reconnect_later() {
    let delay = CONNECTION.with(|c| {
        let mut c = c.borrow_mut();
        let conn = c.as_mut().filter(|conn| !conn.stopped)?;
        conn.socket = None;
        conn.failures = conn.failures.saturating_add(1);
        let exp = BACKOFF_START_MS * 2f64.powi(conn.failures.min(10) as i32 - 1);
        Some(exp.min(BACKOFF_MAX_MS) * (0.5 + js_sys::Math::random() / 2.0))
    });
    let (Some(delay), Some(window)) = (delay, web_sys::window()) else { return };

    let retry = Closure::once_into_js(connect);
    // If the timer cannot be set the tab stays offline until reload; nothing else to do.
    window
        .set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), delay as i32)
        .ok();
}

/// Sends a frame on the open socket; does nothing while disconnected.
pub fn send(frame: &ClientFrame) {
    let Ok(text) = serde_json::to_string(frame) else { return };
    CONNECTION.with(|c| {
        let c = c.borrow();
        let Some(socket) = c.as_ref().and_then(|c| c.socket.as_ref()) else { return };
        if socket.ready_state() == WebSocket::OPEN {
            // A failed send means the socket is closing; its close handler reconnects.
            socket.send_with_str(&text).ok();
        }
    });
}

/// Calls `on_visibility(visible)` when the tab is shown or hidden, and `on_online` when the
/// browser regains its network. Registered once per signed-in page load.
pub fn watch_page(on_visibility: impl Fn(bool) + 'static, on_online: impl Fn() + 'static) {
    let Some(window) = web_sys::window() else { return };
    let Some(document) = window.document() else { return };

    let doc = document.clone();
    let visibility = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        on_visibility(doc.visibility_state() == web_sys::VisibilityState::Visible)
    });
    let online = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_online());
    // If registration fails the page still works; it only reports presence less precisely.
    document
        .add_event_listener_with_callback("visibilitychange", visibility.as_ref().unchecked_ref())
        .ok();
    window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref()).ok();
    // The listeners live as long as the page; the page owns them from here.
    visibility.forget();
    online.forget();
}
