//! The example load balancer config, `deploy/nginx.conf`, in front of two real instances:
//! Debian's nginx on loopback, with only its ports and file paths rewritten. Pages, server
//! functions and the WebSocket upgrade all pass through it, any instance serves any
//! request, and losing an instance loses no message.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::time::Instant;

use app::ids::RoomId;
use app::live::protocol::ServerEvent;
use app::rooms::store as rooms;

use common::Client;
use common::binary::free_port;
use common::cluster::Cluster;
use common::socket::{Follower, Handshake, Socket};

const EXAMPLE: &str = include_str!("../../deploy/nginx.conf");
const NGINX_VAR: &str = "PARLEY_TEST_NGINX";

/// nginx running the example config, rewritten to listen on `port` and proxy to `upstreams`.
struct Nginx {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(binary: &Path, upstreams: [u16; 2]) -> Self {
        let dir = tempfile::tempdir().expect("nginx folder");
        let port = free_port();
        let at = |name: &str| dir.path().join(name).display().to_string();
        let config = rewrite(
            EXAMPLE,
            &[
                ("listen 80;", format!("listen 127.0.0.1:{port};")),
                ("server 127.0.0.1:3001", format!("server 127.0.0.1:{}", upstreams[0])),
                ("server 127.0.0.1:3002", format!("server 127.0.0.1:{}", upstreams[1])),
                ("/run/parley-nginx.pid", at("nginx.pid")),
                ("/var/log/nginx/parley-error.log", at("error.log")),
                ("/var/log/nginx/parley-access.log", at("access.log")),
            ],
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, config).expect("config written");

        let child = Command::new(binary)
            .args(["-p", &at(""), "-c", &path.display().to_string(), "-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "nginx never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self { child, base: format!("http://127.0.0.1:{port}"), _dir: dir }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Replaces each `from` exactly once, so the test breaks if the example changes shape.
fn rewrite(text: &str, replacements: &[(&str, String)]) -> String {
    let mut text = text.to_owned();
    for (from, to) in replacements {
        assert_eq!(text.matches(from).count(), 1, "{from:?} is not in deploy/nginx.conf once");
        text = text.replace(from, to);
    }
    text
}

fn nginx_binary() -> Option<PathBuf> {
    let found = std::env::var_os(NGINX_VAR)
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.exists()));
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no nginx ({NGINX_VAR} unset, none at /usr/sbin/nginx), and CI=true forbids skipping"
        );
        eprintln!("no nginx: skipping the load balancer test");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_example_nginx_config_balances_two_instances_with_websockets() {
    let Some(binary) = nginx_binary() else { return };
    let Some(mut cluster) = Cluster::start_with(&[("PARLEY_TRUSTED_PROXIES", "127.0.0.1")]).await
    else {
        return;
    };
    let nginx = Nginx::start(&binary, [cluster.a.port, cluster.b.port]).await;

    // Everything below goes through nginx only.
    let ann = Client::new(&nginx.base);
    ann.sign_up("ann").await;
    let bob = Client::new(&nginx.base);
    bob.sign_up("bob").await;
    let room = ann.create_channel("general", false).await;
    let (status, body) = bob.post_form("join_room", &[("room_id", &room.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (page_status, page) = bob.get_page(&format!("/r/{room}")).await;
    let (mut bob_socket, _) = Socket::open(&Handshake::new(&nginx.base, &bob)).await;

    assert_eq!(page_status, StatusCode::OK);
    assert!(page.contains("general"), "the room page rendered through nginx");
    // Requests alternate between the instances; each message reaches Bob's one socket.
    for k in 0..20 {
        ann.send_until_acked(room, &format!("m{k}"), &format!("message {k}")).await;
    }
    for k in 0..20 {
        let event = bob_socket.expect(|e| matches!(e, ServerEvent::MessageCreated { .. })).await;
        let ServerEvent::MessageCreated { message } = event else { unreachable!() };
        assert_eq!(message.body, format!("message {k}"));
    }
    bob_socket.close().await;

    // One instance dies: nginx sends everything to the other, and a client that follows the
    // room through nginx resumes there without losing a message.
    let mut follower = Follower::new("bob", Handshake::new(&nginx.base, &bob), [room]);
    follower.connect().await.expect("the socket opens through nginx");
    cluster.a.kill_9();
    for k in 20..60 {
        ann.send_until_acked(room, &format!("m{k}"), &format!("message {k}")).await;
    }
    let newest = rooms::last_seq(&cluster.db, RoomId(room)).await.unwrap();
    let targets = [(RoomId(room), newest)].into_iter().collect();

    assert_eq!(newest, 60);
    assert!(follower.catch_up(&targets, Duration::from_secs(20)).await, "{:?}", follower.cursors);
    assert!(follower.faults.is_empty(), "{:#?}", follower.faults);
    assert_eq!(follower.ids(RoomId(room)).len(), 60);
    for _ in 0..10 {
        let health = common::plain_http().get(format!("{}/healthz", nginx.base)).send().await;
        assert_eq!(health.expect("nginx answers").status(), StatusCode::OK);
    }
    cluster.restart_a(false).await;
}
