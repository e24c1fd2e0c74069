//! gRPC-web over the browser's own `fetch`: the one transport the dashboard needs (unary
//! calls and one server stream, binary protobuf), in place of tonic's client stack and
//! tonic-web-wasm-client.
//!
//! Why: those two brought `http`, `http-body`, tower's service machinery and tonic's
//! header codecs into the web app (about 20 KB gzip of its 200 KB budget) to do what
//! this file does: frame a message, POST it, read frames back. That room is what the
//! installed-package page is built in (decision 0016).
//!
//! Guarantees: the wire format is gRPC-web's (`application/grpc-web+proto`): each
//! message behind a 1-byte flag and a 4-byte big-endian length; the status comes in a
//! trailer frame (flag `0x80`) or, for a trailers-only answer, in the headers. A stream
//! cut before its trailers is an error (`Unavailable`), never a clean end. Dropping a
//! [`Streaming`] cancels its body, which closes the request.
//!
//! Caveats: no compression (the server sends none unless asked), no `-text` variant.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// gRPC status codes (the ones the dashboard tells apart, and the rest by number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    Unimplemented,
    Internal,
    Unavailable,
    Unauthenticated,
    PermissionDenied,
    Unknown,
    Other(i32),
}

impl Code {
    fn from_i32(n: i32) -> Code {
        match n {
            0 => Code::Ok,
            5 => Code::NotFound,
            6 => Code::AlreadyExists,
            9 => Code::FailedPrecondition,
            12 => Code::Unimplemented,
            13 => Code::Internal,
            14 => Code::Unavailable,
            16 => Code::Unauthenticated,
            7 => Code::PermissionDenied,
            2 => Code::Unknown,
            n => Code::Other(n),
        }
    }
}

/// A call's failure: code, message, and the encoded `google.rpc.Status` details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    code: Code,
    message: String,
    details: Vec<u8>,
}

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }
    pub fn code(&self) -> Code {
        self.code
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn details(&self) -> &[u8] {
        &self.details
    }
}

/// One frame of a gRPC-web body.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Data(Vec<u8>),
    Trailers(Status),
}

/// A message as a data frame.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Takes the first complete frame off `buf`; `None` until one is complete.
pub fn next_frame(buf: &mut Vec<u8>) -> Option<Frame> {
    if buf.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < 5 + len {
        return None;
    }
    let flag = buf[0];
    let body: Vec<u8> = buf[5..5 + len].to_vec();
    buf.drain(..5 + len);
    Some(if flag & 0x80 != 0 {
        Frame::Trailers(trailers(&String::from_utf8_lossy(&body)))
    } else {
        Frame::Data(body)
    })
}

/// The status in a trailer block (`grpc-status: 5\r\ngrpc-message: …\r\n`).
pub fn trailers(block: &str) -> Status {
    let mut status = Status::new(Code::Unknown, "");
    let mut saw_code = false;
    for line in block.split("\r\n").flat_map(|l| l.split('\n')) {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        status_field(&mut status, &mut saw_code, k.trim(), v.trim());
    }
    if !saw_code {
        status.message = "the answer carried no gRPC status".into();
    }
    status
}

fn status_field(status: &mut Status, saw_code: &mut bool, key: &str, value: &str) {
    match key.to_ascii_lowercase().as_str() {
        "grpc-status" => {
            *saw_code = true;
            status.code = value.parse().map_or(Code::Unknown, Code::from_i32);
        }
        "grpc-message" => status.message = percent_decode(value),
        "grpc-status-details-bin" => status.details = base64_decode(value).unwrap_or_default(),
        _ => {}
    }
}

/// `%XX` escapes decoded (gRPC percent-encodes its messages).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64, padded or not (gRPC's `-bin` headers omit the padding).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn js_error(what: &str, e: wasm_bindgen::JsValue) -> Status {
    let detail = e
        .as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_default();
    Status::new(
        Code::Unavailable,
        format!("cannot reach the backend ({what}: {detail})"),
    )
}

/// POSTs one framed message to `path` on the page's own origin; the response once its
/// headers are in (a trailers-only failure already turned into its status).
async fn post(path: &str, message: &[u8]) -> Result<web_sys::Response, Status> {
    let window = web_sys::window().ok_or_else(|| Status::new(Code::Internal, "no window"))?;
    let headers = web_sys::Headers::new().map_err(|e| js_error("headers", e))?;
    for (k, v) in [
        ("content-type", "application/grpc-web+proto"),
        ("accept", "application/grpc-web+proto"),
        ("x-grpc-web", "1"),
    ] {
        headers.set(k, v).map_err(|e| js_error("headers", e))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    let body = js_sys::Uint8Array::from(frame(message).as_slice());
    init.set_body(&body);
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|e| js_error("fetch failed", e))?
        .unchecked_into();
    if !response.ok() {
        let code = match response.status() {
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            _ => Code::Unavailable,
        };
        return Err(Status::new(
            code,
            format!("the backend answered HTTP {}", response.status()),
        ));
    }
    let h = response.headers();
    if let Ok(Some(code)) = h.get("grpc-status") {
        let mut status = Status::new(Code::Unknown, "");
        let mut saw = false;
        status_field(&mut status, &mut saw, "grpc-status", &code);
        if let Ok(Some(m)) = h.get("grpc-message") {
            status_field(&mut status, &mut saw, "grpc-message", &m);
        }
        if let Ok(Some(d)) = h.get("grpc-status-details-bin") {
            status_field(&mut status, &mut saw, "grpc-status-details-bin", &d);
        }
        if status.code != Code::Ok {
            return Err(status);
        }
    }
    Ok(response)
}

/// A unary call: the one message back, or the call's status.
pub async fn unary(path: &str, message: &[u8]) -> Result<Vec<u8>, Status> {
    let response = post(path, message).await?;
    let buffer = JsFuture::from(
        response
            .array_buffer()
            .map_err(|e| js_error("reading the answer", e))?,
    )
    .await
    .map_err(|e| js_error("reading the answer", e))?;
    let mut buf = js_sys::Uint8Array::new(&buffer).to_vec();
    let mut answer = None;
    while let Some(f) = next_frame(&mut buf) {
        match f {
            Frame::Data(m) if answer.is_none() => answer = Some(m),
            Frame::Data(_) => {}
            Frame::Trailers(s) if s.code != Code::Ok => return Err(s),
            Frame::Trailers(_) => break,
        }
    }
    answer.ok_or_else(|| Status::new(Code::Internal, "the answer carried no message"))
}

/// A server stream being read.
pub struct Streaming {
    reader: web_sys::ReadableStreamDefaultReader,
    buf: Vec<u8>,
}

/// Opens a server-streaming call.
pub async fn streaming(path: &str, message: &[u8]) -> Result<Streaming, Status> {
    let response = post(path, message).await?;
    let body = response
        .body()
        .ok_or_else(|| Status::new(Code::Internal, "the answer has no body"))?;
    let reader = body.get_reader().unchecked_into();
    Ok(Streaming {
        reader,
        buf: Vec::new(),
    })
}

impl Streaming {
    /// The next message; `None` when the server ended the stream with status OK.
    pub async fn message(&mut self) -> Result<Option<Vec<u8>>, Status> {
        loop {
            match next_frame(&mut self.buf) {
                Some(Frame::Data(m)) => return Ok(Some(m)),
                Some(Frame::Trailers(s)) if s.code == Code::Ok => return Ok(None),
                Some(Frame::Trailers(s)) => return Err(s),
                None => {}
            }
            let chunk = JsFuture::from(self.reader.read())
                .await
                .map_err(|e| js_error("the stream broke", e))?;
            let done = js_sys::Reflect::get(&chunk, &"done".into())
                .ok()
                .and_then(|d| d.as_bool())
                .unwrap_or(true);
            if done {
                return Err(Status::new(
                    Code::Unavailable,
                    "the stream was cut before the server said why",
                ));
            }
            if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) {
                self.buf.extend(js_sys::Uint8Array::new(&value).to_vec());
            }
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.reader.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_wait_until_complete() {
        let mut buf = frame(b"hello");
        buf.extend(frame(b""));
        let tail = buf.split_off(7);
        let mut head = buf;
        assert_eq!(next_frame(&mut head), None, "incomplete");
        head.extend(tail);
        assert_eq!(next_frame(&mut head), Some(Frame::Data(b"hello".to_vec())));
        assert_eq!(next_frame(&mut head), Some(Frame::Data(Vec::new())));
        assert!(head.is_empty());
    }

    #[test]
    fn trailers_carry_the_status_its_message_and_details() {
        let block = "grpc-status: 5\r\ngrpc-message: no%20such%20package\r\ngrpc-status-details-bin: AQID\r\n";
        let mut buf = vec![0x80];
        buf.extend((block.len() as u32).to_be_bytes());
        buf.extend(block.as_bytes());
        let Some(Frame::Trailers(s)) = next_frame(&mut buf) else {
            panic!("a trailer frame");
        };
        assert_eq!(s.code(), Code::NotFound);
        assert_eq!(s.message(), "no such package");
        assert_eq!(s.details(), &[1, 2, 3]);
        assert_eq!(trailers("grpc-status:0\r\n").code(), Code::Ok);
        assert_eq!(
            trailers("x: y").message(),
            "the answer carried no gRPC status"
        );
    }

    #[test]
    fn unpadded_base64_decodes() {
        assert_eq!(base64_decode("aGk"), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("a*b"), None);
    }
}
