//! Server-rendered pages through the real server: user text stays text in the HTML, and the
//! data embedded for hydration carries no error in place of a page's content.

mod common;

use reqwest::StatusCode;

use common::TestServer;

#[tokio::test]
async fn the_room_page_escapes_message_room_name_and_display_name() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    ann.post_form("update_profile", &[("display_name", "<script>alert(3)</script>")]).await;
    let room = ann.create_channel("<script>alert(2)</script>", false).await;
    ann.say(room, "m1", "<script>alert(1)</script>").await;

    let (status, html) = ann.get_page(&format!("/r/{room}")).await;

    assert_eq!(status, StatusCode::OK, "{html}");
    let (_, body) = html.split_once("<body>").expect("a body");
    for n in 1..=3 {
        let escaped = format!("&lt;script&gt;alert({n})&lt;/script&gt;");
        assert!(body.contains(&escaped), "alert({n}) not rendered escaped:\n{body}");
    }
    assert!(!body.contains("<script>alert"), "user text became markup:\n{body}");
}

/// Regression: leptos_router builds a route's view twice during a server render, and the
/// extra copy's fetches ran without the request's context. About one render in three then
/// serialized an "internal" error for the browser, which hydrated the wrong branch and died.
#[tokio::test]
async fn server_rendered_pages_never_serialize_an_internal_error() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;
    ann.say(room, "m1", "hello").await;
    let pages =
        [format!("/r/{room}"), format!("/r/{room}/settings"), "/browse".into(), "/".into()];

    for _ in 0..10 {
        for page in &pages {
            let (status, html) = ann.get_page(page).await;

            assert_eq!(status, StatusCode::OK, "{page}");
            assert!(
                !html.contains(r#"\"error\":\"internal\""#),
                "{page} carried an error:\n{html}"
            );
        }
    }
}

/// leptos_meta writes `<title>` text unescaped, so a room name could close the title and
/// inject markup into the head of every member's page.
#[tokio::test]
async fn a_room_name_cannot_break_out_of_the_page_title() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let room = ann.create_channel("</title><script>alert(2)</script>", false).await;

    let (status, html) = ann.get_page(&format!("/r/{room}")).await;

    assert_eq!(status, StatusCode::OK);
    let (head, _) = html.split_once("<body>").expect("a head");
    assert!(!head.contains("</title><script>"), "the room name closed the title:\n{head}");
    assert!(head.contains("&lt;/title&gt;") || head.contains("&lt;/title>"), "{head}");
}
