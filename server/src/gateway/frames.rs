//! Reading client frames under the gateway's limits, and naming why a frame was refused with
//! the WebSocket close code that says so.

use app::live::protocol::ClientFrame;

/// Deepest JSON nesting accepted. Real frames nest three levels; serde_json's own limit (128)
/// would still spend stack and time on a hostile 128-deep frame.
pub const MAX_DEPTH: usize = 16;

/// RFC 6455 close codes the gateway uses.
pub mod close {
    /// Going away: idle timeout.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame type the protocol does not use (binary).
    pub const UNSUPPORTED: u16 = 1003;
    /// Text that is not valid UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Policy: rate, nesting, unreadable frames, or the session ended.
    pub const POLICY: u16 = 1008;
    /// A frame or message over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server is restarting; reconnect.
    pub const RESTART: u16 = 1012;
}

/// A frame the gateway will not act on, and the close it earns.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: &'static str,
}

pub fn decode(text: &str) -> Result<ClientFrame, Refusal> {
    if nesting_depth(text) > MAX_DEPTH {
        return Err(Refusal { code: close::POLICY, reason: "JSON nested too deeply" });
    }
    serde_json::from_str(text)
        .map_err(|_| Refusal { code: close::POLICY, reason: "unreadable frame" })
}

/// Maximum bracket nesting outside strings, found in one pass without parsing.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The close a transport error earns, if the peer should be told anything.
pub fn refusal_for(error: axum::Error) -> Option<Refusal> {
    let inner = error.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => {
            Some(Refusal { code: close::TOO_BIG, reason: "frame too large" })
        }
        Some(tungstenite::Error::Utf8(_)) => {
            Some(Refusal { code: close::INVALID_DATA, reason: "text is not UTF-8" })
        }
        Some(tungstenite::Error::Protocol(_)) => {
            Some(Refusal { code: close::POLICY, reason: "protocol error" })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_brackets_inside_strings() {
        assert_eq!(nesting_depth(r#"{"a":"[[[[{{{{\"]"}"#), 1);
        assert_eq!(nesting_depth("[[[]]]"), 3);
    }

    #[test]
    fn a_thousand_deep_frame_is_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));

        assert_eq!(decode(&deep).unwrap_err().code, close::POLICY);
    }

    #[test]
    fn frames_decode() {
        let frame = decode(r#"{"type":"typing","room_id":3,"active":true}"#).unwrap();

        assert_eq!(frame, ClientFrame::Typing { room_id: app::ids::RoomId(3), active: true });
    }
}
