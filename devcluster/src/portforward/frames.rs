//! The channel framing of a port-forward WebSocket (`v4.channel.k8s.io`,
//! `v5.channel.k8s.io`), as the kubelet and kube-rs' `Portforwarder` speak it: the
//! `i`th requested port has data channel `2i` and error channel `2i+1`; a binary
//! message is one channel byte, then the payload; the server's first message on each
//! channel is the port, 2 bytes little-endian. v5 adds the CLOSE signal: channel 255,
//! then the channel the peer closes (half-closes) its writing side of.

/// At most this many ports in one request.
pub const MAX_PORTS: usize = 16;
/// v5's signal channel.
pub const CLOSE_CHANNEL: u8 = 255;

/// The subprotocols devcluster speaks, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `v5.channel.k8s.io`: v4 and the CLOSE signal.
    V5,
    /// `v4.channel.k8s.io`: binary channels.
    V4,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V5 => "v5.channel.k8s.io",
            Self::V4 => "v4.channel.k8s.io",
        }
    }
}

/// The protocol to answer with, of those `offered` (each `Sec-WebSocket-Protocol`
/// value, each a comma-separated list): v5 when offered, else v4; `None` when neither.
pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Protocol> {
    let offered: Vec<&str> = offered
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    [Protocol::V5, Protocol::V4]
        .into_iter()
        .find(|p| offered.contains(&p.as_str()))
}

/// The `ports` of a request (each value of every `ports` parameter, each a
/// comma-separated list), in order; why they cannot be forwarded otherwise.
pub fn parse_ports<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for text in values.into_iter().flat_map(|v| v.split(',')) {
        let text = text.trim();
        let port = match text.parse::<u32>() {
            Ok(0) => return Err(format!("port {text:?} must be > 0")),
            Ok(p) => {
                u16::try_from(p).map_err(|_| format!("port {text:?} must be at most 65535"))?
            }
            Err(_) => return Err(format!("unable to parse {text:?} as a port")),
        };
        if ports.contains(&port) {
            return Err(format!("port {port} is asked for more than once"));
        }
        ports.push(port);
    }
    if ports.is_empty() {
        return Err("at least one port must be given (the \"ports\" query parameter)".into());
    }
    if ports.len() > MAX_PORTS {
        return Err(format!(
            "{} ports asked for; devcluster forwards at most {MAX_PORTS} per request",
            ports.len()
        ));
    }
    Ok(ports)
}

/// The data channel of the `index`th port.
pub fn data_channel(index: usize) -> u8 {
    u8::try_from(2 * index).unwrap_or(u8::MAX - 1)
}

/// The error channel of the `index`th port.
pub fn error_channel(index: usize) -> u8 {
    data_channel(index) + 1
}

/// A message on `channel` carrying `payload`.
pub fn frame(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(channel);
    out.extend_from_slice(payload);
    out
}

/// The server's first message on `channel`: the port, little-endian.
pub fn port_frame(channel: u8, port: u16) -> Vec<u8> {
    frame(channel, &port.to_le_bytes())
}

/// What a client's binary message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Bytes for the `index`th port's target.
    Data { index: usize, bytes: &'a [u8] },
    /// The client wrote all it will to the `index`th port (v5).
    Close { index: usize },
    /// Nothing to act on: empty, an error channel, an unknown channel, or a signal
    /// the protocol does not have.
    Ignored,
}

/// Reads a client's binary message on a connection forwarding `ports` ports.
pub fn parse(protocol: Protocol, message: &[u8], ports: usize) -> Incoming<'_> {
    let Some((&channel, rest)) = message.split_first() else {
        return Incoming::Ignored;
    };
    let index = usize::from(channel) / 2;
    match channel {
        CLOSE_CHANNEL if protocol == Protocol::V5 => match rest.first() {
            Some(&closed) if closed % 2 == 0 && usize::from(closed) / 2 < ports => {
                Incoming::Close {
                    index: usize::from(closed) / 2,
                }
            }
            _ => Incoming::Ignored,
        },
        c if c % 2 == 0 && index < ports && !rest.is_empty() => {
            Incoming::Data { index, bytes: rest }
        }
        _ => Incoming::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_is_preferred_and_kube_rs_single_header_list_is_understood() {
        assert_eq!(
            negotiate(["v5.channel.k8s.io, v4.channel.k8s.io"]),
            Some(Protocol::V5)
        );
        assert_eq!(
            negotiate(["v4.channel.k8s.io", "base64.channel.k8s.io"]),
            Some(Protocol::V4)
        );
        assert_eq!(
            negotiate(["v4.channel.k8s.io, v5.channel.k8s.io"]),
            Some(Protocol::V5)
        );
        assert_eq!(negotiate(["SPDY/3.1+portforward.k8s.io"]), None);
        assert_eq!(negotiate([]), None);
    }

    #[test]
    fn ports_are_lists_or_repeats_and_bad_ones_say_why() {
        assert_eq!(parse_ports(["80,8080"]), Ok(vec![80, 8080]));
        assert_eq!(parse_ports(["80", "443"]), Ok(vec![80, 443]));
        for (bad, says) in [
            ("0", "must be > 0"),
            ("65536", "at most 65535"),
            ("http", "unable to parse"),
            ("80,80", "more than once"),
            ("", "unable to parse"),
        ] {
            let e = parse_ports([bad]).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(parse_ports([]).expect_err("none").contains("at least one"));
        let many: Vec<String> = (1..=17).map(|p| p.to_string()).collect();
        let e = parse_ports(many.iter().map(String::as_str)).expect_err("17");
        assert!(e.contains("at most 16"), "{e}");
    }

    #[test]
    fn channels_frames_and_the_close_signal() {
        assert_eq!((data_channel(0), error_channel(0)), (0, 1));
        assert_eq!((data_channel(3), error_channel(3)), (6, 7));
        assert_eq!(port_frame(1, 8080), vec![1, 0x90, 0x1f]);
        assert_eq!(frame(2, b"hi"), vec![2, b'h', b'i']);
        assert_eq!(
            parse(Protocol::V4, &[2, b'x'], 2),
            Incoming::Data {
                index: 1,
                bytes: b"x"
            }
        );
        assert_eq!(
            parse(Protocol::V4, &[4, b'x'], 2),
            Incoming::Ignored,
            "no 3rd port"
        );
        assert_eq!(
            parse(Protocol::V4, &[1, b'x'], 2),
            Incoming::Ignored,
            "error channel"
        );
        assert_eq!(parse(Protocol::V4, &[0], 2), Incoming::Ignored, "empty");
        assert_eq!(parse(Protocol::V4, &[], 2), Incoming::Ignored);
        assert_eq!(
            parse(Protocol::V5, &[255, 2], 2),
            Incoming::Close { index: 1 }
        );
        assert_eq!(
            parse(Protocol::V4, &[255, 2], 2),
            Incoming::Ignored,
            "v4 has no CLOSE"
        );
        assert_eq!(parse(Protocol::V5, &[255, 1], 2), Incoming::Ignored);
    }
}
