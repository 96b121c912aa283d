//! The framing of one signal for each server, as bench/signaling/README.md
//! describes it. The content is the same for both: an SDP offer or answer or
//! an ICE candidate, with a `bench` object of check fields placed first.

use std::io::Write;

/// The two servers under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `video-local`: `join` with a link token, then `signal` to a peer id.
    VideoLocal,
    /// PeerJS server 1.0.2: ids in the socket URL, `OFFER`, `ANSWER` and
    /// `CANDIDATE` with `dst`, as its browser client sends them.
    PeerJs,
}

/// Bytes at the start of a relayed message that the envelope must fit in.
const HEAD_BYTES: usize = 200;

impl Protocol {
    pub fn from_name(name: &str) -> anyhow::Result<Self> {
        match name {
            "video-local" => Ok(Self::VideoLocal),
            "PeerJS" => Ok(Self::PeerJs),
            _ => anyhow::bail!("unknown protocol {name:?}: use video-local or PeerJS"),
        }
    }

    /// Interval of the client's keepalive: `web/js/signaling.js` pings every
    /// 30 s, and the PeerJS client sends `HEARTBEAT` every 5 s by default.
    pub fn keepalive_interval(self) -> std::time::Duration {
        match self {
            Self::VideoLocal => std::time::Duration::from_secs(30),
            Self::PeerJs => std::time::Duration::from_secs(5),
        }
    }

    pub fn keepalive_text(self) -> &'static str {
        match self {
            Self::VideoLocal => r#"{"type":"ping"}"#,
            Self::PeerJs => r#"{"type":"HEARTBEAT"}"#,
        }
    }

    /// Writes a description signal into `out`, which is cleared first.
    pub fn description(
        self,
        out: &mut Vec<u8>,
        target_id: &str,
        connection_id: &str,
        offer: bool,
        sdp_json: &str,
        bench: Bench,
    ) {
        out.clear();
        let kind = if offer { "offer" } else { "answer" };
        let result = match self {
            Self::VideoLocal => write!(
                out,
                r#"{{"type":"signal","to":"{target_id}","data":{{"description":{{"bench":{bench},"type":"{kind}","sdp":{sdp_json}}}}}}}"#
            ),
            Self::PeerJs => write!(
                out,
                r#"{{"type":"{upper}","payload":{{"bench":{bench},"sdp":{{"type":"{kind}","sdp":{sdp_json}}},"type":"media","connectionId":"{connection_id}","browser":"chrome"}},"dst":"{target_id}"}}"#,
                upper = if offer { "OFFER" } else { "ANSWER" },
            ),
        };
        result.expect("writing to a Vec cannot fail");
    }

    /// Writes a candidate signal into `out`, which is cleared first.
    /// `fields` are the members of `RTCIceCandidate.toJSON()` without braces.
    pub fn candidate(
        self,
        out: &mut Vec<u8>,
        target_id: &str,
        connection_id: &str,
        fields: &str,
        bench: Bench,
    ) {
        out.clear();
        let result = match self {
            Self::VideoLocal => write!(
                out,
                r#"{{"type":"signal","to":"{target_id}","data":{{"candidate":{{"bench":{bench},{fields}}}}}}}"#
            ),
            Self::PeerJs => write!(
                out,
                r#"{{"type":"CANDIDATE","payload":{{"bench":{bench},"candidate":{{{fields}}},"type":"media","connectionId":"{connection_id}"}},"dst":"{target_id}"}}"#
            ),
        };
        result.expect("writing to a Vec cannot fail");
    }

    /// Returns the bytes that the server adds to a signal from `sender_id` to
    /// `target_id`. video-local replaces `"to":TARGET` with `"from":SENDER`
    /// and passes `data` on as it came; PeerJS server parses the message,
    /// adds `"src":SENDER` and serializes it again, which keeps its text.
    pub fn relay_overhead(self, sender_id: &str, target_id: &str) -> isize {
        match self {
            Self::VideoLocal => {
                format!(r#""from":"{sender_id}""#).len() as isize
                    - format!(r#""to":"{target_id}""#).len() as isize
            }
            Self::PeerJs => format!(r#""src":"{sender_id}","#).len() as isize,
        }
    }

    /// Reads the envelope of a relayed signal: the sender's id, the target's
    /// id where the envelope names it, and the check fields. Returns `None`
    /// for any other message. Both servers write the envelope's fields
    /// first, in this order, and the payload strings are JSON-escaped, so
    /// they cannot contain `"bench":{`.
    pub fn parse_relayed(self, message: &[u8]) -> Option<Relayed<'_>> {
        let head = &message[..message.len().min(HEAD_BYTES)];
        let (sender, target, rest) = match self {
            Self::VideoLocal => {
                let rest = head.strip_prefix(br#"{"type":"signal","from":""#)?;
                let (sender, rest) = split_at_quote(rest)?;
                (sender, None, rest)
            }
            Self::PeerJs => {
                let rest = head.strip_prefix(br#"{"type":""#)?;
                let rest = [&b"OFFER"[..], b"ANSWER", b"CANDIDATE"]
                    .iter()
                    .find_map(|kind| rest.strip_prefix(*kind))?;
                let rest = rest.strip_prefix(br#"","src":""#)?;
                let (sender, rest) = split_at_quote(rest)?;
                let rest = rest.strip_prefix(br#","dst":""#)?;
                let (target, rest) = split_at_quote(rest)?;
                (sender, Some(target), rest)
            }
        };
        const BENCH: &[u8] = br#""bench":{"#;
        let start = rest
            .windows(BENCH.len())
            .position(|window| window == BENCH)?
            + BENCH.len();
        let bench = Bench::parse(&rest[start..])?;
        Some(Relayed {
            sender,
            target,
            bench,
        })
    }
}

/// Splits `text` at its first `"` into what comes before and after it.
fn split_at_quote(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = text.iter().position(|&byte| byte == b'"')?;
    Some((&text[..end], &text[end + 1..]))
}

/// The envelope of a relayed signal.
pub struct Relayed<'a> {
    pub sender: &'a [u8],
    pub target: Option<&'a [u8]>,
    pub bench: Bench,
}

/// The check fields of one signal: the participant numbers of sender and
/// target, and the signal's sequence number from this sender to this target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bench {
    pub from: u32,
    pub to: u32,
    pub seq: u64,
}

impl std::fmt::Display for Bench {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            r#"{{"from":{},"to":{},"seq":{}}}"#,
            self.from, self.to, self.seq
        )
    }
}

impl Bench {
    /// Parses `"from":F,"to":T,"seq":S}` as `Display` writes it after its
    /// `{`, with the members in any order: a server that sorts an object's
    /// members by name still relays the same signal.
    fn parse(mut text: &[u8]) -> Option<Self> {
        let (mut from, mut to, mut seq) = (None, None, None);
        for index in 0..3 {
            if index > 0 {
                text = text.strip_prefix(b",")?;
            }
            let (slot, rest) = if let Some(rest) = text.strip_prefix(br#""from":"#) {
                (&mut from, rest)
            } else if let Some(rest) = text.strip_prefix(br#""to":"#) {
                (&mut to, rest)
            } else {
                (&mut seq, text.strip_prefix(br#""seq":"#)?)
            };
            let (value, rest) = number(rest)?;
            if slot.replace(value).is_some() {
                return None;
            }
            text = rest;
        }
        text.starts_with(b"}").then_some(Self {
            from: u32::try_from(from?).ok()?,
            to: u32::try_from(to?).ok()?,
            seq: seq?,
        })
    }
}

/// Reads a decimal number at the start of `text`.
fn number(text: &[u8]) -> Option<(u64, &[u8])> {
    let digits = text.iter().take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let value = text[..digits]
        .iter()
        .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
    Some((value, &text[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCH: Bench = Bench {
        from: 3,
        to: 5,
        seq: 42,
    };

    #[test]
    fn video_local_relay_round_trip() {
        let mut sent = Vec::new();
        Protocol::VideoLocal.description(&mut sent, "bbbb", "", true, r#""v=0\r\n""#, BENCH);
        let sent = String::from_utf8(sent).unwrap();
        let relayed = sent.replace(r#""to":"bbbb""#, r#""from":"aaaaaa""#);
        assert_eq!(
            relayed.len() as isize - sent.len() as isize,
            Protocol::VideoLocal.relay_overhead("aaaaaa", "bbbb")
        );
        let parsed = Protocol::VideoLocal
            .parse_relayed(relayed.as_bytes())
            .unwrap();
        assert_eq!(parsed.sender, b"aaaaaa");
        assert_eq!(parsed.target, None);
        assert_eq!(parsed.bench, BENCH);
    }

    #[test]
    fn peerjs_relay_round_trip() {
        let mut sent = Vec::new();
        Protocol::PeerJs.candidate(&mut sent, "bbbb", "mc_x", r#""candidate":"c""#, BENCH);
        let sent = String::from_utf8(sent).unwrap();
        let payload = sent
            .strip_prefix(r#"{"type":"CANDIDATE","#)
            .unwrap()
            .strip_suffix(r#","dst":"bbbb"}"#)
            .unwrap();
        let relayed = format!(r#"{{"type":"CANDIDATE","src":"aaaa","dst":"bbbb",{payload}}}"#);
        assert_eq!(
            relayed.len() as isize - sent.len() as isize,
            Protocol::PeerJs.relay_overhead("aaaa", "bbbb")
        );
        let parsed = Protocol::PeerJs.parse_relayed(relayed.as_bytes()).unwrap();
        assert_eq!(parsed.sender, b"aaaa");
        assert_eq!(parsed.target, Some(&b"bbbb"[..]));
        assert_eq!(parsed.bench, BENCH);
    }

    #[test]
    fn bench_fields_in_any_order() {
        let parsed = Bench::parse(br#""seq":42,"from":3,"to":5}"#);
        assert_eq!(parsed, Some(BENCH));
        assert_eq!(Bench::parse(br#""seq":42,"seq":3,"to":5}"#), None);
    }

    #[test]
    fn other_messages_are_not_relayed_signals() {
        for message in [
            r#"{"type":"pong"}"#,
            r#"{"type":"signal","from":"x","data":{}}"#,
        ] {
            assert!(
                Protocol::VideoLocal
                    .parse_relayed(message.as_bytes())
                    .is_none()
            );
        }
        assert!(
            Protocol::PeerJs
                .parse_relayed(br#"{"type":"OPEN"}"#)
                .is_none()
        );
    }
}
